import Foundation
import Testing
import TestSupport

/// The dashboard's rules through real HTTPS (curl): who may see and do what, files, errors.
@Suite("Dashboard over HTTPS", .serialized)
struct DashboardHTTPSTests {
    @Test func nothingAnswersWithoutSessionOrTokenExceptLoginSetupHealthAndAssets() throws {
        let f = try DashboardFixture()
        for path in ["/", "/cameras", "/recordings", "/recordings/1", "/diagnostics", "/health", "/audit", "/nonexistent"] {
            let r = try f.request(path)
            #expect(r.code == 303, "\(path): \(r.code)")
            #expect(r.headers.lowercased().contains("location: /login?next="), "\(path)")
        }
        for path in ["/api/v1/cameras", "/api/v1/recordings", "/api/v1/recordings/1/media", "/api/v1/recordings/1/thumbnail",
                     "/api/v1/health", "/api/v1/audit", "/api/v1/overview", "/api/v1/nonexistent"] {
            let r = try f.request(path)
            #expect(r.code == 401, "\(path): \(r.code)")
            #expect(r.body.contains(#"{"error":{"code":"unauthorized","message":"#), "\(path): \(r.body)")
            #expect(r.headers.lowercased().contains(#"www-authenticate: bearer realm="camhost""#), "\(path): a 401 carries its challenge")
        }
        for (method, path) in [("POST", "/api/v1/recordings/delete"), ("DELETE", "/api/v1/recordings/1"), ("POST", "/api/v1/cameras/cam-1/commands"), ("POST", "/recordings/delete")] {
            let r = try f.request(path, method: method, json: #"{"ids":[1]}"#)
            #expect(r.code == 401 || r.code == 303, "\(method) \(path): \(r.code)")
        }
        #expect(try f.request("/healthz").code == 200)
        #expect(try f.request("/login").code == 200)
        #expect(try f.request("/assets/app.css").code == 200)
        // Forged sessions and tokens are nobody.
        #expect(try f.request("/api/v1/recordings", token: "forged").code == 401)
        #expect(try f.request("/", session: "forged-session").code == 303)
        // Every response carries the security headers.
        let headers = try f.request("/login").headers.lowercased()
        for header in ["strict-transport-security:", "content-security-policy: default-src 'none'; script-src 'self'", "x-content-type-options: nosniff", "frame-ancestors 'none'", "referrer-policy: no-referrer"] {
            #expect(headers.contains(header), "\(header)")
        }
    }

    @Test func logInLogOutAndLockOut() throws {
        let f = try DashboardFixture()
        let wrong = try f.request("/login", method: "POST", form: "name=alice&password=nope")
        #expect(wrong.code == 401)
        #expect(wrong.body.contains("Wrong name or password"))
        let locked = try f.request("/login", method: "POST", form: "name=locked&password=x")
        #expect(locked.code == 429)
        #expect(locked.headers.lowercased().contains("retry-after: 30"))
        let good = try f.request("/login", method: "POST", form: "name=alice&password=correct+horse+battery&next=%2Frecordings")
        #expect(good.code == 303)
        #expect(good.headers.contains("Location: /recordings"))
        #expect(good.headers.contains("camhost_session=admin-session"))
        // An open redirect is not possible through next=.
        let away = try f.request("/login", method: "POST", form: "name=alice&password=correct+horse+battery&next=%2F%2Fevil.example")
        #expect(away.headers.contains("Location: /\r\n"))
        // Log out needs the CSRF token; afterwards the session is gone.
        #expect(try f.request("/logout", method: "POST", session: "admin-session", form: "").code == 403)
        #expect(try f.request("/logout", method: "POST", session: "admin-session", form: "csrf=\(FakeAuth.csrf)").code == 303)
        #expect(try f.request("/", session: "admin-session").code == 303)
        let metrics = try f.request("/metrics")
        #expect(metrics.body.contains("camhost_login_failures_total 2"), "\(metrics.body)")
    }

    @Test func pagesRenderForAdminAndViewer() throws {
        let f = try DashboardFixture()
        for path in ["/", "/cameras", "/recordings", "/recordings/1", "/diagnostics", "/health", "/audit"] {
            let r = try f.request(path, session: "admin-session")
            #expect(r.code == 200, "\(path): \(r.code) \(r.body.prefix(300))")
            #expect(r.body.contains("<meta name=\"csrf-token\" content=\"\(FakeAuth.csrf)\">"))
            #expect(!r.body.contains("<script>"), "no inline script on \(path)")
        }
        let overview = try f.request("/", session: "admin-session").body
        #expect(overview.contains("RTCP loopback trap on camera 192.0.2.10"))
        #expect(overview.contains("<svg class=\"chart\""))
        let recordings = try f.request("/recordings", session: "admin-session").body
        #expect(recordings.contains("Delete selected"))
        #expect(recordings.contains("6 recording(s)"))
        let viewer = try f.request("/recordings", session: "viewer-session")
        #expect(viewer.code == 200)
        #expect(!viewer.body.contains("Delete selected"))
        #expect(try f.request("/audit", session: "viewer-session").code == 403)
        // Filtering by camera and date.
        let filtered = try f.request("/recordings?camera=cam-2&from=2000-01-01", session: "admin-session").body
        #expect(filtered.contains("3 recording(s)"))
    }

    @Test func viewerCannotDeleteOrCommandAndCSRFIsRequired() throws {
        let f = try DashboardFixture()
        #expect(try f.request("/api/v1/recordings/delete", method: "POST", token: "read-token", json: #"{"ids":[1]}"#).code == 403)
        #expect(try f.request("/api/v1/recordings/1", method: "DELETE", token: "read-token").code == 403)
        #expect(try f.request("/api/v1/recordings/1", method: "DELETE", token: "commands-token").code == 403)
        let command = try f.request("/api/v1/cameras/cam-1/commands", method: "POST", token: "read-token", json: #"{"command":"reboot"}"#)
        #expect(command.code == 403)
        #expect(command.body.contains(#""code":"forbidden""#))
        #expect(try f.request("/api/v1/recordings/cleanup", method: "POST", token: "read-token", json: #"{"older_than_days":1,"dry_run":false}"#).code == 403)
        // A viewer session posting a form, with the right CSRF token, is still refused.
        #expect(try f.request("/recordings/delete", method: "POST", session: "viewer-session", form: "csrf=\(FakeAuth.csrf)&id=1").code == 403)
        #expect(try f.request("/cameras/cam-1/command", method: "POST", session: "viewer-session", form: "csrf=\(FakeAuth.csrf)&command=reboot").code == 403)
        // Admin session without or with a wrong CSRF token: 403, nothing deleted.
        #expect(try f.request("/api/v1/recordings/1", method: "DELETE", session: "admin-session").code == 403)
        #expect(try f.request("/api/v1/recordings/1", method: "DELETE", session: "admin-session", csrf: "wrong").body.contains(#""code":"csrf""#))
        #expect(try f.request("/recordings/delete", method: "POST", session: "admin-session", form: "id=1").code == 403)
        #expect(try f.request("/api/v1/recordings/1", token: "read-token").code == 200)
        // With it: deleted, file gone, audit row written.
        let deleted = try f.request("/api/v1/recordings/1", method: "DELETE", session: "admin-session", csrf: FakeAuth.csrf)
        #expect(deleted.code == 200, "\(deleted.body)")
        #expect(try f.request("/api/v1/recordings/1", token: "read-token").code == 404)
        #expect(!fileExists(f.root + "/cam-1/clip-0.webm"))
        let page = try f.request("/recordings/delete", method: "POST", session: "admin-session", form: "csrf=\(FakeAuth.csrf)&id=2&id=3")
        #expect(page.body.contains("Deleted 2 recording(s)"), "\(page.body)")
        let audit = try f.request("/api/v1/audit", token: "admin-token").body
        #expect(audit.contains(#""action":"recordings.delete""#))
        #expect(audit.contains(#""actor":"user:alice""#))
        // A camera command with a token reaches camera control (here: an error, shown in the one shape).
        let sent = try f.request("/api/v1/cameras/cam-1/commands", method: "POST", token: "commands-token", json: #"{"command":"reboot"}"#)
        #expect(sent.code == 502)
        #expect(sent.body.contains("no broker in this test"))
    }

    /// A camera command waits for the camera (seconds, up to its time-out) without holding one
    /// of the server's threads: with more slow commands in flight than the server has threads,
    /// other requests are still answered at once.
    @Test func slowCameraCommandsDoNotHoldServerThreads() throws {
        let f = try DashboardFixture()
        let slow = try (0..<3).map { n in
            try TestProcess("curl", ["-sS", "--cacert", f.certificate, "-o", f.directory.file("slow-\(n)"), "-w", "%{http_code} %{time_total}",
                                     "-X", "POST", "-H", "Authorization: Bearer commands-token", "-H", "Content-Type: application/json",
                                     "--data-binary", #"{"command":"reboot"}"#, f.base + "/api/v1/cameras/slow-cam/commands"])
        }
        usleep(500_000)  // the three commands are waiting for the camera now
        let started = ContinuousClock.now
        let health = try f.request("/healthz")
        let page = try f.request("/api/v1/recordings", token: "read-token")
        #expect(health.code == 200 && page.code == 200)
        #expect(ContinuousClock.now - started < .seconds(1), "requests waited behind the slow commands")
        for (n, process) in slow.enumerated() {
            #expect(process.wait(timeout: .seconds(10)) == 0)
            let parts = process.output().split(separator: " ")
            #expect(parts.first == "502", "\(process.output())")
            #expect((Double(parts.last ?? "") ?? 0) >= 1.9, "answered only when the camera gave up")
            #expect(((try? readFile(f.directory.file("slow-\(n)"))) ?? "").contains("no broker in this test"))
        }
        // The deferred answers carry the same security headers as every other answer.
        let late = try f.request("/api/v1/cameras/slow-cam/commands", method: "POST", token: "commands-token", json: #"{"command":"reboot"}"#)
        #expect(late.code == 502 && late.headers.contains("Content-Security-Policy:") && late.headers.contains("Strict-Transport-Security:"))
    }

    @Test func recordingFilesServeRangesAndRefuseTraversal() throws {
        let f = try DashboardFixture()
        let full = try f.request("/api/v1/recordings/2/media", token: "read-token")
        #expect(full.code == 200)
        #expect(full.headers.contains("Accept-Ranges: bytes"))
        let etag = try #require(full.headers.split(separator: "\r\n").first { $0.hasPrefix("ETag:") }).dropFirst(6)
        let part = try f.request("/api/v1/recordings/2/media", token: "read-token", headers: ["Range: bytes=100-199"])
        #expect(part.code == 206)
        #expect(part.headers.contains("Content-Range: bytes 100-199/"))
        #expect(try f.request("/api/v1/recordings/2/media", token: "read-token", headers: ["Range: bytes=-10"]).code == 206)
        #expect(try f.request("/api/v1/recordings/2/media", token: "read-token", headers: ["Range: bytes=999999-"]).code == 416)
        #expect(try f.request("/api/v1/recordings/2/media", token: "read-token", headers: ["Range: bytes=0-9", "If-Range: \"stale\""]).code == 200)
        #expect(try f.request("/api/v1/recordings/2/media", token: "read-token", headers: ["Range: bytes=0-9", "If-Range: \(etag)"]).code == 206)
        #expect(try f.request("/api/v1/recordings/2/media", token: "read-token", headers: ["If-None-Match: \(etag)"]).code == 304)
        let download = try f.request("/api/v1/recordings/2/media?download=1", token: "read-token")
        #expect(download.headers.contains("Content-Disposition: attachment; filename=\"clip-2.webm\""))
        // Traversal: through the URL, and through a path planted in the database.
        for path in ["/api/v1/recordings/..%2F..%2Fetc%2Fpasswd/media", "/api/v1/recordings/../../etc/passwd", "/api/v1/recordings/-1/media",
                     "/api/v1/recordings/1%20OR%201=1/media"] {
            let r = try f.request(path, token: "read-token")
            #expect([400, 404].contains(r.code), "\(path): \(r.code)")
            #expect(!r.body.contains("root:"))
        }
        try f.store.write { db in
            try db.execute("INSERT OR IGNORE INTO cameras (id, name, profile, address) VALUES ('evil', 'evil', 'unknown', '')")
            try db.execute("INSERT INTO recordings (id, camera_id, path, start_at, end_at, bytes) VALUES (900, 'evil', CAST('../../../../etc/passwd' AS BLOB), '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 10)")
        }
        let planted = try f.request("/api/v1/recordings/900/media", token: "read-token")
        #expect(planted.code == 403, "\(planted.code)")
        #expect(!planted.body.contains("root:"))
        // Thumbnails: the file when there is one, the placeholder otherwise.
        #expect(try f.request("/api/v1/recordings/1/thumbnail", token: "read-token").headers.contains("Content-Type: image/jpeg"))
        #expect(try f.request("/api/v1/recordings/4/thumbnail", token: "read-token").body.contains("no thumbnail"))
    }

    @Test func oversizedBodiesAndSQLInjection() throws {
        let f = try DashboardFixture(maximumBodyBytes: 4096)
        let big = String(repeating: "1,", count: 5000)
        let r = try f.request("/api/v1/recordings/delete", method: "POST", token: "admin-token", json: "{\"ids\":[\(big)1]}")
        #expect(r.code == 413)
        #expect(r.body.contains(#""code":"payload-too-large""#))
        for evil in ["' OR 1=1 --", "cam-1'; DROP TABLE recordings; --", "\" OR \"\"=\""] {
            let encoded = evil.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let list = try f.request("/api/v1/recordings?camera=\(encoded)", token: "read-token")
            #expect(list.code == 200)
            #expect(list.body.contains(#""total":0"#), "\(list.body)")
        }
        #expect(try f.request("/api/v1/recordings?from=2026-01-01'--", token: "read-token").code == 400)
        #expect(try f.request("/api/v1/recordings?limit=1;DROP", token: "read-token").code == 400)
        let injected = try f.request("/api/v1/recordings/delete", method: "POST", token: "admin-token", json: #"{"ids":["1 OR 1=1"]}"#)
        #expect(injected.code == 400)
        #expect(try f.request("/api/v1/recordings", token: "read-token").body.contains(#""total":6"#))
        #expect(try f.request("/api/v1/recordings/delete", method: "POST", token: "admin-token", json: "{not json").code == 400)
        #expect(try f.request("/api/v1/recordings/delete", method: "POST", token: "admin-token", form: "ids=1").code == 200)
    }

    @Test func cleanupDryRunThenRealRun() throws {
        let f = try DashboardFixture()
        // Recordings are 0, 10, 20, 30, 40, 50 days old: older than 25 days are three.
        let preview = try f.request("/recordings/cleanup?days=25", session: "admin-session")
        #expect(preview.code == 200, "\(preview.body)")
        #expect(preview.body.contains("would delete"), "\(preview.body)")
        #expect(preview.body.contains("3 recording(s)"))
        let dry = try f.request("/api/v1/recordings/cleanup", method: "POST", token: "admin-token", json: #"{"older_than_days":25,"dry_run":true}"#)
        #expect(dry.body.contains(#""dry_run":true"#))
        #expect(dry.body.contains(#""age":3"#))
        #expect(try f.request("/api/v1/recordings", token: "read-token").body.contains(#""total":6"#))
        let done = try f.request("/recordings/cleanup", method: "POST", session: "admin-session", form: "csrf=\(FakeAuth.csrf)&days=25&camera=")
        #expect(done.code == 200)
        #expect(done.body.contains("deleted 3 recording(s)"), "\(done.body)")
        #expect(try f.request("/api/v1/recordings", token: "read-token").body.contains(#""total":3"#))
        let runs = try f.request("/api/v1/recordings/cleanup/runs", token: "read-token").body
        #expect(runs.contains(#""actor":"user:alice""#))
        #expect(try f.request("/recordings", session: "admin-session").body.contains("user:alice"))
    }
}
