import Foundation
import Testing
import TestSupport

/// live: the live view end to end: `camhost serve` receiving a GStreamer camera in a network
/// namespace (`[[media.streams]]`, the stream manager, the live fan-out), watched by Python's
/// `websockets` (Debian's) and by headless Chromium through the real log-in form.
@Suite("Live view end to end", .serialized)
struct LiveViewE2ETests {
    static var repository: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }
    static let password = "correct-horse-battery"

    /// serve with the lab's camera(s) as `[[media.streams]]`, an admin account and a read token.
    final class LiveServe {
        let lab: StreamLab
        let directory: TemporaryDirectory
        let serve: RunningServe
        let token: String
        let cameras: [String]

        init(queueKB: Int = 6144, slowViewerSeconds: Int = 5, twoCameras: Bool = false) throws {
            lab = try StreamLab()
            directory = try TemporaryDirectory(prefix: "live-serve")
            cameras = twoCameras ? ["lab-cam", "lab-cam-2"] : ["lab-cam"]
            var config = """
                [media]
                port_range = "\(lab.rtpPort)-\(lab.rtpPort + 3)"
                stream_cameras = false
                segment_seconds = 2
                live_queue_kb = \(queueKB)
                live_slow_viewer_seconds = \(slowViewerSeconds)

                [rate_limit]
                burst = 500

                """
            for (index, camera) in cameras.enumerated() {
                config += """
                    [[media.streams]]
                    camera = "\(camera)"
                    source = "\(lab.cameraAddress)"
                    port = \(lab.rtpPort + UInt16(index * 2))

                    """
            }
            try writeFile(directory.file("camhost.toml"), config)
            let data = ["--data-dir", directory.file("var")]
            let added = try TestProcess.run(TestEnvironment.camhostBinary, ["user", "add", "admin", "--role", "admin"] + data,
                                            environment: TestEnvironment.clean, stdin: LiveViewE2ETests.password + "\n")
            guard added.status == 0 else { throw TestFailure("user add: \(added.stderr)") }
            let created = try TestProcess.run(TestEnvironment.camhostBinary, ["token", "create", "--scope", "read", "--name", "live"] + data,
                                              environment: TestEnvironment.clean)
            token = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            guard created.status == 0, token.hasPrefix("camhost_") else { throw TestFailure("token create: \(created.stderr)") }
            serve = try RunningServe(extraArguments: ["--config", directory.file("camhost.toml")], directory: directory)
        }

        func url(_ camera: String = "lab-cam") -> String { "wss://127.0.0.1:\(serve.port)/api/v1/cameras/\(camera)/live" }

        /// Logs in through POST /login; the session cookie as a `Cookie` header value.
        func sessionCookie() throws -> String {
            let jar = directory.file("jar")
            let login = try serve.curl(["-c", jar, "-o", "/dev/null", "-w", "%{http_code}", "--data",
                                        "name=admin&password=\(LiveViewE2ETests.password)", serve.url("/login")])
            guard login.stdout == "303" else { throw TestFailure("log-in answered \(login.stdout): \(login.stderr)") }
            let line = try #require(try readFile(jar).split(separator: "\n").first { $0.contains("camhost_session") })
            let fields = line.split(separator: "\t")
            return "\(fields[fields.count - 2])=\(fields[fields.count - 1])"
        }

        /// Waits until the camera's live view answers 101 (its stream started and a keyframe came).
        func waitUntilLive(_ camera: String = "lab-cam") throws -> Bool {
            Loopback.waitUntil(timeout: .seconds(20)) {
                ((try? LiveViewE2ETests.client(["upgrade", self.url(camera), "--token", self.token]))?["first"] as? String)?.contains("codec") == true
            }
        }

        deinit {
            serve.process.kill()
            lab.tearDown()
        }
    }

    static func client(_ arguments: [String], timeout: Duration = .seconds(90)) throws -> [String: Any] {
        let run = try TestProcess.run("/usr/bin/python3", [repository + "/scripts/live-client.py"] + arguments, timeout: timeout)
        guard run.status == 0, let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any] else {
            throw TestFailure("live-client.py \(arguments.first ?? ""): exit \(run.status): \(run.stdout)\(run.stderr)")
        }
        return object
    }

    @Test func upgradesAreRefusedOrServedAndFiftyViewersWatchOneStream() throws {
        let live = try LiveServe()
        #expect(live.serve.waitUntilServing(), "\(live.serve.process.errors())")
        try live.lab.startCamera(frames: 600, bitrateKbps: 2000, pattern: "snow")
        #expect(try live.waitUntilLive(), "\(live.serve.process.errors())")
        let cookie = try live.sessionCookie()
        let origin = "https://127.0.0.1:\(live.serve.port)"
        func status(_ extra: [String], _ url: String? = nil) throws -> Int? { try Self.client(["upgrade", url ?? live.url()] + extra)["status"] as? Int }
        #expect(try status([]) == 401, "no session, no token")
        #expect(try status(["--cookie", cookie, "--origin", "https://attacker.example"]) == 403, "wrong Origin")
        #expect(try status(["--cookie", cookie]) == 403, "a session without Origin")
        #expect(try status(["--token", live.token], live.url("no-such-camera")) == 404)
        // The real session from the log-in form, same origin: status JSON, init segment, fragments.
        let watched = try Self.client(["watch", live.url(), "--cookie", cookie, "--origin", origin, "--seconds", "2"])
        let viewer = try #require((watched["viewers"] as? [[String: Any]])?.first)
        #expect((viewer["texts"] as? [String])?.first == #"{"codec":"avc1.42c01e","width":640,"height":360}"#, "\(viewer)")
        #expect(viewer["binary_types"] as? [String] == ["ftyp", "moof", "moof"], "\(viewer)")
        #expect(viewer["first_sync"] as? Bool == true, "\(viewer)")

        // 50 viewers of one stream, 4 s: each starts at a keyframe and misses nothing.
        let fifty = try Self.client(["watch", live.url(), "--token", live.token, "--viewers", "50", "--seconds", "4"])
        let viewers = try #require(fifty["viewers"] as? [[String: Any]])
        #expect(viewers.count == 50)
        for viewer in viewers {
            #expect((viewer["texts"] as? [String])?.count == 1 && viewer["first_sync"] as? Bool == true, "\(viewer)")
            #expect((viewer["fragments"] as? Int ?? 0) >= 75 && viewer["gaps"] as? Int == 0, "\(viewer)")
        }
        // serve still up after 50 sockets closed at once, five rounds over (with libmicrohttpd's
        // thread pool, server.threads > 1, a round in five to twenty corrupted its heap:
        // docs/websocket.md), its metrics counting them.
        for round in 1...5 {
            let again = try Self.client(["watch", live.url(), "--token", live.token, "--viewers", "50", "--seconds", "1"])
            #expect((again["viewers"] as? [[String: Any]])?.count == 50, "round \(round)")
            #expect(live.serve.process.isRunning, "round \(round): \(live.serve.process.errors().suffix(2000))")
        }
        let scrape = try live.serve.curl([live.serve.url("/metrics")])
        #expect(live.serve.process.isRunning && scrape.stdout.contains(#"camhost_live_first_frame_seconds_count{camera="lab-cam"}"#),
                "curl: \(scrape.status) \(scrape.stderr)\n\(live.serve.process.errors().suffix(2000))")
    }

    @Test func aViewerThatStopsReadingDelaysNeitherTheOthersNorTheRecorder() throws {
        // A small queue (256 KB) and 3 s of patience, so a stalled viewer is found out within the test.
        let live = try LiveServe(queueKB: 256, slowViewerSeconds: 3)
        #expect(live.serve.waitUntilServing(), "\(live.serve.process.errors())")
        // 2 Mbit/s: the stalled viewer's socket buffers fill within seconds.
        try live.lab.startCamera(frames: 950, bitrateKbps: 2000, pattern: "snow")
        #expect(try live.waitUntilLive())
        // First 4 steady viewers alone (the control), then 3 steady ones beside one that stops
        // reading, as long and with the same recorder running (its segments and thumbnails cost CPU).
        let control = try Self.client(["watch", live.url(), "--token", live.token, "--viewers", "4", "--seconds", "14", "--frames"])
        let before = try recordings(live)
        let run = try Self.client(["watch", live.url(), "--token", live.token, "--viewers", "4", "--stalled", "1", "--seconds", "14", "--frames"])
        let viewers = try #require(run["viewers"] as? [[String: Any]])
        let stalled = try #require(viewers.first { $0["stalled"] as? Bool == true })
        let steady = viewers.filter { $0["stalled"] as? Bool == false }
        #expect(steady.count == 3)
        for viewer in steady {
            // All 14 s of pictures, in order, none skipped.
            #expect((viewer["fragments"] as? Int ?? 0) >= 14 * 25 - 25 && viewer["gaps"] as? Int == 0, "\(viewer["close"] ?? "")")
        }
        // Arrival against the stream's own clock, past each viewer's kept-GOP burst: the spread
        // beside a stalled viewer compared with the control's.
        let alone = try Self.spread(try #require(control["viewers"] as? [[String: Any]]))
        let beside = try Self.spread(steady)
        let stalledClose = stalled["close"] as? [String: Any]
        #expect(beside.p99 <= alone.p99 + 0.1, "arrival spread p50/p99: alone \(alone), beside a stalled viewer \(beside)")
        // The stalled one was found out: skipped to keyframes and then closed with 1008.
        let metrics = try live.serve.curl([live.serve.url("/metrics")]).stdout
        #expect(metrics.contains(#"camhost_live_viewers_dropped_total{camera="lab-cam"} 1"#), "\(stalledClose ?? [:])\n\(metrics)")
        #expect((stalledClose?["code"] as? Int).map { $0 == 1008 || $0 == 1006 } ?? true, "\(stalledClose ?? [:])")
        // The recorder went on: a 2 s segment every 2 s or so while the viewer stalled.
        let after = try recordings(live)
        #expect(after - before >= 5, "segments before \(before), after \(after)")
    }

    /// p50 and p99 of fragment arrival minus decode time, from the fastest, past each viewer's
    /// first second (the kept GOP arrives at once, by design late against its own clock).
    static func spread(_ viewers: [[String: Any]]) throws -> (p50: Double, p99: Double) {
        var lateness: [Double] = []
        for viewer in viewers {
            let frames = try #require(viewer["frames"] as? [[Double]])
            guard let opened = frames.first?[1] else { continue }
            lateness += frames.filter { $0[1] - opened > 1.5 }.map { $0[1] - $0[0] / 90_000 }
        }
        lateness.sort()
        guard let base = lateness.first else { return (.infinity, .infinity) }
        return (lateness[lateness.count / 2] - base, lateness[lateness.count * 99 / 100] - base)
    }

    /// The camera's recordings in the index.
    func recordings(_ live: LiveServe) throws -> Int {
        let answer = try live.serve.curl(["-H", "Authorization: Bearer \(live.token)", live.serve.url("/api/v1/recordings?camera=lab-cam&limit=1")])
        guard let object = try? JSONSerialization.jsonObject(with: Data(answer.stdout.utf8)) as? [String: Any] else {
            throw TestFailure("/api/v1/recordings: curl \(answer.status) \(answer.stderr); serve running: \(live.serve.process.isRunning)\n"
                              + String(live.serve.process.errors().suffix(3000)))
        }
        return object["total"] as? Int ?? -1
    }

    @Test func thePlayerReconnectsWhenServeComesBack() throws {
        let live = try LiveServe()
        #expect(live.serve.waitUntilServing(), "\(live.serve.process.errors())")
        try live.lab.startCamera(frames: 1000, bitrateKbps: 1000)
        #expect(try live.waitUntilLive())
        let out = live.directory.file("browser-reconnect")
        let browser = try TestProcess("python3", [Self.repository + "/scripts/browser-live-test.py", live.serve.url(""), "admin", Self.password,
                                                  out, "lab-cam", "--seconds", "3", "--hold", "20"])
        // While the page plays: serve stops (SIGTERM: its viewers get 1001) and starts again on
        // the same port and data; the stream manager opens the stream anew.
        Thread.sleep(forTimeInterval: 8)
        live.serve.process.signal(SIGTERM)
        #expect(live.serve.process.wait(timeout: .seconds(15)) != nil)
        Thread.sleep(forTimeInterval: 1)
        var environment = TestEnvironment.clean
        environment["CAMHOST_MQTT_MANAGED_BROKER_PORT"] = "\(live.serve.brokerPort)"
        let again = try TestProcess(TestEnvironment.camhostBinary,
                                    ["serve", "--listen", "127.0.0.1:\(live.serve.port)", "--data-dir", live.directory.file("var"),
                                     "--config", live.directory.file("camhost.toml")], environment: environment)
        defer { again.signal(SIGTERM); if again.wait(timeout: .seconds(10)) == nil { again.kill() } }
        #expect(browser.wait(timeout: .seconds(90)) == 0, "\(browser.output())\(browser.errors())")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(readFile(out + "/live.json").utf8)) as? [String: Any])
        let hold = try #require(result["hold"] as? [[Any]])
        let reconnects = hold.compactMap { ($0[2] as? String).flatMap { Int($0) } }.max() ?? 0
        #expect(reconnects >= 1, "\(hold.map { "\($0[3])" })")
        // Playing again at the end: the last 3 s of samples advance and say live.
        let tail = hold.suffix(12)
        let times = tail.compactMap { $0[1] as? Double }
        #expect((times.last ?? 0) - (times.first ?? 0) >= 2, "currentTime at the end: \(times)")
        #expect(tail.last?[3] as? String == "live", "\(tail.map { "\($0[3])" })")
    }

    @Test func chromiumLogsInAndPlaysTheCameraAndTheGrid() throws {
        let live = try LiveServe(twoCameras: true)
        #expect(live.serve.waitUntilServing(), "\(live.serve.process.errors())")
        try live.lab.startCamera(frames: 650, bitrateKbps: 1500)
        try live.lab.startCamera(frames: 650, bitrateKbps: 500, port: live.lab.rtpPort + 2, size: (320, 240))
        #expect(try live.waitUntilLive("lab-cam") && live.waitUntilLive("lab-cam-2"))
        let out = live.directory.file("browser")
        let run = try TestProcess.run("python3", [Self.repository + "/scripts/browser-live-test.py", live.serve.url(""), "admin", Self.password,
                                                  out, "lab-cam", "--seconds", "6", "--grid"], timeout: .seconds(90))
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(readFile(out + "/live.json").utf8)) as? [String: Any])
        #expect(result["logged_in"] as? Bool == true)
        let load = try #require((result["loads"] as? [[String: Any]])?.first)
        #expect(load["path"] as? String == "/cameras/lab-cam/live")
        #expect((load["advance"] as? Double ?? 0) >= 3, "currentTime advanced \(load["advance"] ?? 0) s within 6 s: \(load["state"] ?? "")")
        #expect(load["width"] as? Int == 640 && load["height"] as? Int == 360, "\(load["width"] ?? 0)×\(load["height"] ?? 0)")
        #expect((result["console_errors"] as? [String])?.isEmpty == true, "\(result["console_errors"] ?? [])")
        let grid = try #require(result["grid"] as? [[String: Any]])
        #expect(Set(grid.compactMap { $0["camera"] as? String }) == ["lab-cam", "lab-cam-2"], "\(grid)")
        for tile in grid { #expect((tile["width"] as? Int ?? 0) > 0, "\(tile)") }
        #expect(grid.first { $0["camera"] as? String == "lab-cam-2" }?["width"] as? Int == 320)
    }
}
