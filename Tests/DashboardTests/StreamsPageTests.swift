import Foundation
import Media
import Storage
import Testing
import TestSupport
import Web
import Wire
@testable import Dashboard

/// The streams on the cameras page and in the API (issue 12), through the product's request
/// path with real accounts: admins see Stop and Start (CSRF-checked, audited), viewers neither.
@Suite(.serialized) struct StreamsPageTests {
    @Test func theCamerasPageShowsStreamsAndAdminsStopAndStartThem() throws {
        let f = try AuthFixture()
        let port = UInt16.random(in: 40_000...49_000) & ~1
        // 192.0.2.10 (TEST-NET-1) sends nothing: the stream stays "starting".
        let spec = StreamSpec(camera: "gate", source: IPAddress("192.0.2.10")!, port: port, record: false, origin: .configured)
        var timing = StreamManager.Timing()
        timing.restartAfter = .seconds(120)
        let manager = StreamManager(settings: .init(portRange: port...port + 1, recordingsRoot: f.directory.path, timing: timing),
                                    configured: [spec], cameras: nil, store: nil)
        manager.run()
        defer { manager.shutDown() }
        #expect(Loopback.waitUntil(timeout: .seconds(5)) { manager.status(camera: "gate")?.port == port })
        var environment = DashboardEnvironment(
            store: f.store, recordingsRoot: f.directory.path, auth: AuthenticatorAuth(f.auth), cameras: nil,
            health: { HealthReport(status: "ok", version: "test", uptimeSeconds: 1, checks: [:]) },
            retentionPolicy: RetentionPolicy(maxAgeDays: 30, minAgeDays: 0, freeSpaceFloorPercent: 0, safetyMaxSharePercent: 100, orphanGraceMinutes: 0, settleSeconds: 0),
            certificateExpiry: 1_900_000_000, metricsAccess: MetricsAccess())
        environment.streams = manager
        let dashboard = Dashboard(environment: environment)
        func body(_ response: HTTPResponse) -> String { String(decoding: response.bodyBytes, as: UTF8.self) }

        let admin = try f.session("alice", role: .admin)
        let page = body(dashboard.handle(f.request("GET", "/cameras", cookie: admin.id)))
        #expect(page.contains("<h2>Streams</h2>"))
        #expect(page.contains(#"data-camera="gate" data-state="starting""#))
        #expect(page.contains(#"action="/streams/gate/stop""#))
        #expect(page.contains(#"name="csrf""#))

        let form = ["content-type": "application/x-www-form-urlencoded"]
        let forged = dashboard.handle(f.request("POST", "/streams/gate/stop", cookie: admin.id, headers: form, body: "csrf=nope"))
        #expect(forged.status == 403)
        #expect(manager.status(camera: "gate")?.state == "starting")
        let stopped = dashboard.handle(f.request("POST", "/streams/gate/stop", cookie: admin.id, headers: form,
                                                 body: "csrf=\(FormData.encode(admin.csrfToken))"))
        #expect(stopped.status == 200)
        #expect(body(stopped).contains("Stream gate: stopped."))
        #expect(body(stopped).contains(#"action="/streams/gate/start""#))
        #expect(manager.status(camera: "gate")?.state == "stopped" && manager.status(camera: "gate")?.port == nil)
        let audit = try AuditLog(store: f.store).recent(limit: 10)
        #expect(audit.contains { $0.action == "stream.stop" && $0.actor == "user:alice" && $0.target == "gate" && $0.outcome == .success })

        // A viewer sees the table, no buttons, and cannot start it.
        let viewer = try f.session("victor", role: .viewer)
        let viewed = body(dashboard.handle(f.request("GET", "/cameras", cookie: viewer.id)))
        #expect(viewed.contains(#"data-camera="gate" data-state="stopped""#))
        #expect(!viewed.contains(#"action="/streams/gate/start""#))
        let refused = dashboard.handle(f.request("POST", "/streams/gate/start", cookie: viewer.id, headers: form,
                                                 body: "csrf=\(FormData.encode(viewer.csrfToken))"))
        #expect(refused.status == 403)
        #expect(manager.status(camera: "gate")?.state == "stopped")

        // The API, with a token: the list, then start.
        let (_, secret) = try f.auth.accounts.createToken(scope: .commands, name: "ops", expiresInSeconds: nil, actor: "test")
        let list = body(dashboard.handle(f.request("GET", "/api/v1/streams", bearer: secret)))
        #expect(list.hasPrefix(#"{"streams":[{"camera":"gate","state":"stopped","engine":"builtin""#), "\(list)")
        let started = dashboard.handle(f.request("POST", "/api/v1/streams/gate/start", bearer: secret))
        #expect(started.status == 200)
        #expect(Loopback.waitUntil(timeout: .seconds(5)) { manager.status(camera: "gate")?.port == port })
        let unknown = dashboard.handle(f.request("POST", "/api/v1/streams/nobody/start", bearer: secret))
        #expect(unknown.status == 404)
        #expect(body(unknown).contains("no stream for camera nobody"))
        let (_, reader) = try f.auth.accounts.createToken(scope: .read, name: "viewer-script", expiresInSeconds: nil, actor: "test")
        let forbidden = dashboard.handle(f.request("POST", "/api/v1/streams/gate/stop", bearer: reader))
        #expect(forbidden.status == 403)

        // Every answer has the shape docs/openapi.yaml gives it.
        let listed = dashboard.handle(f.request("GET", "/api/v1/streams", bearer: secret))
        let cases: [[String: Any]] = [
            ["method": "GET", "path": "/api/v1/streams", "status": Int(listed.status), "body": body(listed)],
            ["method": "POST", "path": "/api/v1/streams/{camera}/start", "status": Int(started.status), "body": body(started)],
            ["method": "POST", "path": "/api/v1/streams/{camera}/start", "status": Int(unknown.status), "body": body(unknown)],
            ["method": "POST", "path": "/api/v1/streams/{camera}/stop", "status": Int(forbidden.status), "body": body(forbidden)],
        ]
        let casesPath = f.directory.file("stream-cases.json")
        try JSONSerialization.data(withJSONObject: cases).write(to: URL(fileURLWithPath: casesPath))
        let result = try TestProcess.run("python3", [OpenAPITests.repository + "/Tests/DashboardTests/Fixtures/validate_openapi.py",
                                                     OpenAPITests.repository + "/docs/openapi.yaml", casesPath])
        #expect(result.status == 0 && !result.stdout.contains("FAIL"), "\(result.stdout)\(result.stderr)")
    }
}
