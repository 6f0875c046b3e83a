import Foundation
import Testing
import TestSupport

/// `camhost serve --demo` with the real accounts, through curl and a real browser (headless Chromium).
@Suite("Dashboard end to end", .serialized)
struct DashboardE2ETests {
    static var repository: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    /// Starts serve --demo and creates the first admin through /setup; returns the cookie jar.
    func start() throws -> (RunningServe, String) {
        let serve = try RunningServe(extraArguments: ["--demo"])
        #expect(serve.waitUntilServing(), "\(serve.process.errors())")
        let output = serve.process.output() + serve.process.errors()
        let token = try #require(output.firstRange(of: "setup?token=").map { String(output[$0.upperBound...].prefix { !$0.isWhitespace && $0 != "\"" }) })
        let jar = serve.directory.file("jar")
        let setup = try serve.curl(["-c", jar, "-b", jar, "-o", "/dev/null", "-w", "%{http_code}", "--data",
                                    "token=\(token)&name=admin&password=correct-horse-battery&confirm=correct-horse-battery", serve.url("/setup")])
        #expect(setup.stdout == "303", "\(setup.stderr)")
        return (serve, jar)
    }

    @Test func onlyLoginSetupAndHealthzAnswerWithoutASession() throws {
        let (serve, jar) = try start()
        for path in ["/", "/cameras", "/recordings", "/diagnostics", "/health", "/audit"] {
            #expect(try serve.curl(["-o", "/dev/null", "-w", "%{http_code}", serve.url(path)]).stdout == "303", "\(path)")
            #expect(try serve.curl(["-b", jar, "-o", "/dev/null", "-w", "%{http_code}", serve.url(path)]).stdout == "200", "\(path)")
        }
        for path in ["/api/v1/cameras", "/api/v1/recordings", "/api/v1/recordings/1/media", "/api/v1/audit"] {
            #expect(try serve.curl(["-o", "/dev/null", "-w", "%{http_code}", serve.url(path)]).stdout == "401", "\(path)")
        }
        #expect(try serve.curl(["-o", "/dev/null", "-w", "%{http_code}", serve.url("/healthz")]).stdout == "200")
        #expect(try serve.curl(["-o", "/dev/null", "-w", "%{http_code}", serve.url("/login")]).stdout == "200")
        // The demo's sample recordings and simulated cameras are there.
        #expect(Loopback.waitUntil(timeout: .seconds(60)) { (try? serve.curl(["-b", jar, serve.url("/api/v1/recordings")]).stdout.contains(#""total":8"#)) ?? false })
        #expect(Loopback.waitUntil(timeout: .seconds(10)) { (try? serve.curl(["-b", jar, serve.url("/api/v1/cameras")]).stdout.contains("demo-cam-3")) ?? false })
        // A session without the CSRF token cannot command; with it, the ack comes back.
        let page = try serve.curl(["-b", jar, serve.url("/cameras")]).stdout
        let csrf = try #require(page.firstRange(of: "name=\"csrf-token\" content=\"").map { String(page[$0.upperBound...].prefix { $0 != "\"" }) })
        let refused = try serve.curl(["-b", jar, "-o", "/dev/null", "-w", "%{http_code}", "-H", "Content-Type: application/json", "--data", #"{"command":"get-status"}"#, serve.url("/api/v1/cameras/demo-cam-1/commands")])
        #expect(refused.stdout == "403")
        let sent = try serve.curl(["-b", jar, "-H", "X-CSRF-Token: \(csrf)", "-H", "Content-Type: application/json", "--data", #"{"command":"get-status"}"#, serve.url("/api/v1/cameras/demo-cam-1/commands")]).stdout
        #expect(sent.contains(#""outcome":"#), "\(sent)")
        // /metrics from 127.0.0.1 passes promtool.
        let metrics = serve.directory.file("metrics.txt")
        _ = try serve.curl(["-o", metrics, serve.url("/metrics")])
        let check = try TestProcess.run("/bin/sh", ["-c", "promtool check metrics < \(metrics)"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(try readFile(metrics).contains("camhost_camera_commands_total{command=\"get-status\""))
    }

    @Test func aRealBrowserLogsInAndSeesEveryPage() throws {
        let (serve, jar) = try start()
        #expect(Loopback.waitUntil(timeout: .seconds(60)) { (try? serve.curl(["-b", jar, serve.url("/api/v1/recordings")]).stdout.contains(#""total":8"#)) ?? false })
        let shots = serve.directory.file("browser")
        let run = try TestProcess.run("python3", [Self.repository + "/scripts/browser-test.py", serve.url(""), "admin", "correct-horse-battery", shots])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let summary = try readFile(shots + "/summary.json")
        #expect(summary.contains(#""logged_in": true"#), "\(summary)")
        let expectations = [
            "overview": ["Cameras online", "RTCP loopback trap", "Recorded per day", "<svg class=\"chart\""],
            "cameras": ["demo-cam-1", "Reboot", "Set mode"],
            "recordings": ["8 recording(s)", "Delete selected", "Preview (dry run)", "Cleanup history"],
            "recordings-1": ["<video", "/api/v1/recordings/1/media", "Download"],
            "diagnostics": ["Run capture", "Camera address"],
            "health": ["Overall:", "database"],
            "audit": ["user.add", "login", "retention.cleanup"],
        ]
        for (page, needles) in expectations {
            let html = try readFile(shots + "/\(page).html")
            for needle in needles { #expect(html.contains(needle), "\(page): \(needle)") }
            #expect(fileExists(shots + "/\(page).png"), "\(page).png")
        }
    }
}
