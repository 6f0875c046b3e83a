import Capture
import Control
import Dashboard
import Foundation
import Media
import Security
import Storage
import Synchronization
import TestSupport
import Web

/// Accounts for tests: bearer tokens and session cookies with fixed values, standing in for
/// the real Authenticator so the dashboard's own rules are tested alone.
final class FakeAuth: DashboardAuth, Sendable {
    static let csrf = "csrf-token-123"
    let setupDone = Atomic<Bool>(true)
    let loggedOut = Mutex<Set<String>>([])

    func authenticate(_ request: HTTPRequest) -> Principal? {
        if let header = request.header("authorization"), header.hasPrefix("Bearer ") {
            switch header.dropFirst(7) {
            case "admin-token": return Principal(name: "deploy", role: .admin, kind: .token, scope: .admin)
            case "commands-token": return Principal(name: "ops", role: .viewer, kind: .token, scope: .commands)
            case "read-token": return Principal(name: "reader", role: .viewer, kind: .token, scope: .read)
            default: return nil
            }
        }
        guard let session = request.cookies["camhost_session"], !loggedOut.withLock({ $0.contains(session) }) else { return nil }
        switch session {
        case "admin-session": return Principal(name: "alice", role: .admin, kind: .session, csrfToken: FakeAuth.csrf)
        case "viewer-session": return Principal(name: "victor", role: .viewer, kind: .session, csrfToken: FakeAuth.csrf)
        default: return nil
        }
    }

    func verifyCSRF(_ request: HTTPRequest, form: [String: String], principal: Principal) -> Bool {
        (request.header("x-csrf-token") ?? form["csrf"]) == principal.csrfToken
    }

    func login(name: String, password: String, request: HTTPRequest) -> LoginOutcome {
        if name == "alice" && password == "correct horse battery" { return .success(setCookie: ["camhost_session=admin-session; Path=/; Secure; HttpOnly; SameSite=Strict"]) }
        if name == "locked" { return .lockedOut(retryAfterSeconds: 30) }
        return .invalid
    }

    func logout(_ request: HTTPRequest) -> [String] {
        if let session = request.cookies["camhost_session"] { loggedOut.withLock { _ = $0.insert(session) } }
        return ["camhost_session=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict"]
    }

    var needsSetup: Bool { !setupDone.load(ordering: .relaxed) }

    func setup(token: String, name: String, password: String, request: HTTPRequest) -> Result<[String], SetupRefusal> {
        guard token == "setup-token" else { return .failure(SetupRefusal("That set-up token is not valid.")) }
        setupDone.store(true, ordering: .relaxed)
        return .success(["camhost_session=admin-session; Path=/; Secure; HttpOnly; SameSite=Strict"])
    }
}

struct NoBroker: Error, CustomStringConvertible { var description: String { "no broker in this test" } }

/// No broker: every command fails with `NoBroker`; to `slow-cam` only after 2 s (a camera
/// that does not answer before its time-out).
struct FakeCameras: DashboardCameras {
    func snapshot() -> [CameraStatus] { [] }
    func send(_ command: CameraCommand, to camera: CameraID, actor: String) async throws -> CommandResult {
        if camera.rawValue == "slow-cam" { try await Task.sleep(for: .seconds(2)) }
        throw NoBroker()
    }
    func modes(of camera: CameraID) -> [String] { ["day", "night"] }
    var connectionState: String { "connected" }
}

/// A dashboard over real HTTPS with a database, a recordings root and sample files.
final class DashboardFixture: @unchecked Sendable {
    let directory: TemporaryDirectory
    let store: Store
    let server: HTTPSServer
    let dashboard: Dashboard
    let auth = FakeAuth()
    let certificate: String
    var root: String { directory.file("recordings") }
    var base: String { "https://127.0.0.1:\(server.port)" }

    init(maximumBodyBytes: Int = 64 * 1024, recordings: Int = 6, live: LiveRegistry? = nil, streams: StreamManager? = nil,
         alarms: [RTCPWatchEntry]? = nil) throws {
        directory = try TemporaryDirectory(prefix: "dashboard")
        let credentials = try TLSCredentials.ensure(keyPath: directory.file("key.pem"), certPath: directory.file("cert.pem"))
        certificate = directory.file("cert.pem")
        store = try Store.open(directory.file("camhost.db"))
        try DashboardFixture.makeRecordings(root: directory.file("recordings"), count: recordings)
        _ = try RecordingIndex(store: store, root: directory.file("recordings")).scan(settleSeconds: 0)
        var environment = DashboardEnvironment(
            store: store, recordingsRoot: directory.file("recordings"), auth: auth, cameras: FakeCameras(),
            rtcpWatch: { alarms ?? [RTCPWatchEntry(camera: "192.0.2.10", state: "trap", since: 1, feedbackToCamera: 0, misroutedFeedback: 12, misroutedTo: "127.0.0.1:5005")] },
            health: { HealthReport(status: "ok", version: "test", uptimeSeconds: 1, checks: ["database": .init(ok: true, detail: "fine")]) },
            diagnose: { request in
                throw PcapError(.open, "no capture in unit tests", input: "\(request.camera)")
            },
            retentionPolicy: RetentionPolicy(maxAgeDays: 30, minAgeDays: 0, freeSpaceFloorPercent: 0, safetyMaxSharePercent: 100, orphanGraceMinutes: 0, settleSeconds: 0),
            certificateExpiry: 1_900_000_000, metricsAccess: MetricsAccess(allow: ["127.0.0.1"], token: "metrics-secret"))
        environment.live = live   // live: the live view's fan-outs, when a test has them
        environment.streams = streams
        let dashboard = Dashboard(environment: environment)
        self.dashboard = dashboard
        server = try HTTPSServer(
            configuration: .init(host: "127.0.0.1", port: 0, keyPEM: credentials.keyPEM, certificatePEM: credentials.certPEM,
                                 priorities: TLSPolicy.serverPriorities, connectionTimeoutSeconds: 5, maximumBodyBytes: maximumBodyBytes),
            handler: { dashboard.handle($0) }, onCompleted: { dashboard.completed($0, status: $1, duration: $2) })
    }

    deinit { server.stop(grace: .zero) }

    /// Recordings under `<root>/cam-1|cam-2/2026/...webm`, days apart, with thumbnails for some.
    static func makeRecordings(root: String, count: Int) throws {
        let now = Int(Date().timeIntervalSince1970)
        for index in 0..<count {
            let camera = index % 2 == 0 ? "cam-1" : "cam-2"
            let relative = "\(camera)/clip-\(index).webm"
            let path = root + "/" + relative
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            var bytes = [UInt8](repeating: 0, count: 4096 + index * 1000)
            for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 7 &+ index) }
            try writeFile(path, bytes)
            let age = Double(index * 10 * 86_400 + 3600)
            let date = Date(timeIntervalSince1970: Double(now) - age)
            try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: path)
            if index % 2 == 0 {
                let thumb = root + "/.thumbnails/" + relative + ".jpg"
                try FileManager.default.createDirectory(atPath: (thumb as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try writeFile(thumb, [0xFF, 0xD8, 0xFF, 0xD9])
                try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: thumb)
            }
        }
    }

    func curl(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try TestProcess.run("curl", ["-sS", "--cacert", certificate] + arguments)
    }

    /// Status code and body of one request.
    func request(_ path: String, method: String = "GET", token: String? = nil, session: String? = nil, csrf: String? = nil,
                 json: String? = nil, form: String? = nil, headers: [String] = []) throws -> (code: Int, body: String, headers: String) {
        var arguments = ["-X", method, "-o", directory.file("body"), "-D", directory.file("headers"), "-w", "%{http_code}"]
        if let token { arguments += ["-H", "Authorization: Bearer \(token)"] }
        if let session { arguments += ["-b", "camhost_session=\(session)"] }
        if let csrf { arguments += ["-H", "X-CSRF-Token: \(csrf)"] }
        if let json { arguments += ["-H", "Content-Type: application/json", "--data-binary", json] }
        if let form { arguments += ["-H", "Content-Type: application/x-www-form-urlencoded", "--data-binary", form] }
        for header in headers { arguments += ["-H", header] }
        let result = try curl(arguments + [base + path])
        return (Int(result.stdout) ?? 0, (try? readFile(directory.file("body"))) ?? "", (try? readFile(directory.file("headers"))) ?? "")
    }
}
