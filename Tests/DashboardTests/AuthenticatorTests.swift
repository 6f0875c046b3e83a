#if canImport(Glibc)
import Glibc
#endif
import Security
import Storage
import Synchronization
import Testing
import TestSupport
import Web
@testable import Dashboard

/// A database, an authenticator with a clock the test moves, and fast password hashing.
final class AuthFixture: @unchecked Sendable {
    let directory: TemporaryDirectory
    let store: Store
    let clock = TestClock()
    let auth: Authenticator

    init(settings: AuthSettings = AuthSettings(sessionIdleSeconds: 600, sessionAbsoluteSeconds: 3600, lockoutThreshold: 3, lockoutBaseSeconds: 10)) throws {
        directory = try TemporaryDirectory(prefix: "auth")
        store = try Store.open(directory.file("camhost.db"))
        auth = Authenticator(store: store, settings: settings, hasher: PasswordHasher(iterations: 1000), now: clock.now)
    }

    func advance(_ seconds: Int64) { clock.value.withLock { $0 += seconds } }

    func session(_ name: String = "alice", password: String = "correct horse battery", role: Role = .admin) throws -> Session {
        if try !auth.accounts.users().contains(where: { $0.name == name }) {
            try auth.accounts.addUser(name: name, role: role, password: password, actor: "test")
        }
        guard case .success(let session, _) = auth.login(name: name, password: password, client: "10.0.0.9") else {
            throw TestFailure("login failed")
        }
        return session
    }

    func request(_ method: String = "GET", _ path: String = "/api/v1/recordings", cookie: String? = nil, bearer: String? = nil,
                 headers: [String: String] = [:], body: String = "") -> HTTPRequest {
        var all = headers
        if let bearer { all["authorization"] = "Bearer \(bearer)" }
        return HTTPRequest(method: method, path: path, headers: all, cookies: cookie.map { [Authenticator.sessionCookie: $0] } ?? [:],
                           body: Array(body.utf8), clientAddress: "10.0.0.9")
    }

    /// The product's request path (Dashboard.handle) over this authenticator, as serve wires it.
    lazy var dashboard: Dashboard = {
        _ = mkdir(directory.file("recordings"), 0o750)
        return Dashboard(environment: DashboardEnvironment(
            store: store, recordingsRoot: directory.file("recordings"), auth: AuthenticatorAuth(auth), cameras: nil,
            health: { HealthReport(status: "ok", version: "test", uptimeSeconds: 1, checks: [:]) },
            retentionPolicy: RetentionPolicy(maxAgeDays: 30, minAgeDays: 0, freeSpaceFloorPercent: 0, safetyMaxSharePercent: 100, orphanGraceMinutes: 0, settleSeconds: 0),
            certificateExpiry: 1_900_000_000, metricsAccess: MetricsAccess()))
    }()

    /// The status the dashboard answers; 0 when the request passed every check and its answer
    /// is deferred (a camera command waiting for the camera).
    func status(_ request: HTTPRequest) -> Int {
        let response = dashboard.handle(request)
        if case .deferred = response.body { return 0 }
        return response.status
    }
}

/// Unix seconds that only the test moves.
final class TestClock: Sendable {
    let value = Mutex<Int64>(1_700_000_000)
    @Sendable func now() -> Int64 { value.withLock { $0 } }
}

@Suite("Authenticator: sessions, CSRF, lock-outs, tokens, set-up")
struct AuthenticatorTests {
    @Test func bearerTokenIsReadFromTheAuthorizationValue() {
        #expect(Authenticator.bearerToken("Bearer camhost_abc") == "camhost_abc")
        #expect(Authenticator.bearerToken("bearer camhost_abc") == "camhost_abc")
        #expect(Authenticator.bearerToken("BEARER   camhost_abc  ") == "camhost_abc")
        #expect(Authenticator.bearerToken("  Bearer camhost_abc") == "camhost_abc")
        #expect(Authenticator.bearerToken("Bearer camhost_ab c") == nil)
        #expect(Authenticator.bearerToken("Bearer ") == nil)
        #expect(Authenticator.bearerToken("Bearer") == nil)
        #expect(Authenticator.bearerToken("Bearercamhost_abc") == nil)
        #expect(Authenticator.bearerToken("Basic Y2FtaG9zdDpw") == nil)
        #expect(Authenticator.bearerToken("Béarer camhost_abc") == nil)
        #expect(Authenticator.bearerToken("") == nil)
        #expect(Authenticator.bearerToken("Bearer camhost_é") == "camhost_é")
    }

    @Test func loginGivesASessionWithASecureCookie() throws {
        let f = try AuthFixture()
        try f.auth.accounts.addUser(name: "alice", role: .admin, password: "correct horse battery", actor: "test")
        guard case .success(let session, let cookie) = f.auth.login(name: "alice", password: "correct horse battery", client: "10.0.0.9") else {
            Issue.record("login failed"); return
        }
        #expect(cookie.hasPrefix("camhost_session=\(session.id); Secure; HttpOnly; SameSite=Strict; Path=/"))
        let principal = try #require(f.auth.authenticate(f.request(cookie: session.id)))
        #expect(principal.name == "alice" && principal.role == .admin && principal.kind == .session)
        #expect(principal.csrfToken == session.csrfToken)
        // Only the hash is stored.
        let stored = try f.store.read { try $0.query("SELECT id_hash FROM sessions") }
        #expect(stored.count == 1)
        #expect(try stored[0].get(0, as: [UInt8].self) == Digest.sha256(session.id))
        #expect(f.auth.login(name: "alice", password: "wrong password!", client: "10.0.0.9") == .failed)
        #expect(f.auth.login(name: "nobody", password: "correct horse battery", client: "10.0.0.9") == .failed)
    }

    @Test func forgedExpiredAndLoggedOutSessionsAreRefused() throws {
        let f = try AuthFixture()
        let session = try f.session()
        #expect(f.auth.authenticate(f.request(cookie: SecureRandom.token())) == nil, "forged")
        #expect(f.auth.authenticate(f.request(cookie: "x")) == nil)
        #expect(f.auth.authenticate(f.request()) == nil)
        // Idle expiry: used within the idle time it lives on, unused past it it is gone.
        f.advance(500)
        #expect(f.auth.authenticate(f.request(cookie: session.id)) != nil)
        f.advance(599)
        #expect(f.auth.authenticate(f.request(cookie: session.id)) != nil)
        f.advance(601)
        #expect(f.auth.authenticate(f.request(cookie: session.id)) == nil, "idle")
        // Absolute expiry even when busy.
        let busy = try f.session()
        for _ in 0..<12 {
            f.advance(300)
            _ = f.auth.authenticate(f.request(cookie: busy.id))
        }
        #expect(f.auth.authenticate(f.request(cookie: busy.id)) == nil, "absolute")
        // Log-out deletes the session.
        let third = try f.session()
        let cleared = f.auth.logout(f.request(cookie: third.id))
        #expect(cleared.hasSuffix("Max-Age=0"))
        #expect(f.auth.authenticate(f.request(cookie: third.id)) == nil, "logged out")
        // A password change ends every session of that user.
        let fourth = try f.session()
        try f.auth.accounts.setPassword(name: "alice", password: "another long password", actor: "test")
        #expect(f.auth.authenticate(f.request(cookie: fourth.id)) == nil)
    }

    /// Through Dashboard.handle, the path serve runs: a dry-run cleanup is a state-changing
    /// request any session may make, with the CSRF token.
    @Test func csrfIsRequiredForStateChangesWithASession() throws {
        let f = try AuthFixture()
        let session = try f.session()
        let cleanup = "/api/v1/recordings/cleanup", json = ["content-type": "application/json"], body = #"{"older_than_days":30}"#
        func post(_ headers: [String: String], _ body: String = body) -> HTTPRequest {
            f.request("POST", cleanup, cookie: session.id, headers: headers, body: body)
        }
        #expect(f.status(f.request("GET", cookie: session.id)) == 200)
        let missing = f.dashboard.handle(post(json))
        #expect(missing.status == 403)
        #expect(String(decoding: missing.bodyBytes, as: UTF8.self).contains(#""code":"csrf""#))
        #expect(f.status(post(json.merging(["x-csrf-token": "wrong"]) { $1 })) == 403)
        #expect(f.status(post(json.merging(["x-csrf-token": session.csrfToken]) { $1 })) == 200)
        // A form carries the token as a field.
        let form = ["content-type": "application/x-www-form-urlencoded"]
        #expect(f.status(post(form, "older_than_days=30&csrf=\(FormData.encode(session.csrfToken))")) == 200)
        #expect(f.status(post(form, "older_than_days=30&csrf=nope")) == 403)
        // Right token, foreign origin.
        #expect(f.status(post(json.merging(["x-csrf-token": session.csrfToken, "origin": "https://evil.example", "host": "cam:5000"]) { $1 })) == 403)
        #expect(f.status(post(json.merging(["x-csrf-token": session.csrfToken, "origin": "https://cam:5000", "host": "cam:5000"]) { $1 })) == 200)
        // Bearer tokens need none.
        let (_, secret) = try f.auth.accounts.createToken(scope: .read, name: "script", expiresInSeconds: nil, actor: "test")
        #expect(f.status(f.request("POST", cleanup, bearer: secret, headers: json, body: body)) == 200)
    }

    @Test func unauthenticatedRequestsGet401OrARedirect() throws {
        let f = try AuthFixture()
        try f.auth.accounts.addUser(name: "alice", role: .admin, password: "correct horse battery", actor: "test")
        let api = f.dashboard.handle(f.request())
        #expect(api.status == 401)
        #expect(api.header("WWW-Authenticate") == #"Bearer realm="camhost""#)
        #expect(String(decoding: api.bodyBytes, as: UTF8.self).hasPrefix(#"{"error":{"code":"unauthorized","message":"#))
        let page = f.dashboard.handle(HTTPRequest(method: "GET", path: "/cameras"))
        #expect(page.status == 303)
        #expect(page.header("Location") == "/login?next=%2Fcameras")
        // Dot segments reach no file, with or without a session.
        let traversal = f.request("GET", "/assets/../../etc/passwd")
        #expect(f.status(traversal) == 303)
        let session = try f.session("alice")
        #expect(f.status(f.request("GET", "/assets/../../etc/passwd", cookie: session.id)) == 404)
    }

    @Test func lockOutAfterFailuresAndReleaseAfterTheBackOff() throws {
        let f = try AuthFixture()
        try f.auth.accounts.addUser(name: "bob", role: .viewer, password: "correct horse battery", actor: "test")
        for _ in 0..<2 { #expect(f.auth.login(name: "bob", password: "wrong-wrong", client: "192.0.2.1") == .failed) }
        // Third failure reaches the threshold: locked for the base time, even with the right password.
        #expect(f.auth.login(name: "bob", password: "wrong-wrong", client: "192.0.2.1") == .failed)
        #expect(f.auth.login(name: "bob", password: "correct horse battery", client: "192.0.2.1") == .lockedOut(retryAfter: 10))
        // The name is locked from other addresses too; the address for other names.
        #expect(f.auth.login(name: "bob", password: "correct horse battery", client: "192.0.2.2") == .lockedOut(retryAfter: 10))
        f.advance(4)
        #expect(f.auth.login(name: "carol", password: "whatever-pass", client: "192.0.2.1") == .lockedOut(retryAfter: 6))
        // After the back-off: one more failure locks twice as long.
        f.advance(6)
        #expect(f.auth.login(name: "bob", password: "wrong-wrong", client: "192.0.2.1") == .failed)
        #expect(f.auth.login(name: "bob", password: "correct horse battery", client: "192.0.2.3") == .lockedOut(retryAfter: 20))
        // Released after it; success clears the counters.
        f.advance(20)
        guard case .success = f.auth.login(name: "bob", password: "correct horse battery", client: "192.0.2.1") else {
            Issue.record("not released after the back-off"); return
        }
        let rows = try f.store.read { try $0.scalar("SELECT count(*) FROM login_failures WHERE locked_until > 0", as: Int.self) }
        #expect(rows == 0)
        #expect(f.auth.loginFailureCount == 4)
    }

    @Test func lockOutsSurviveARestartAndNeverExceedTheMaximum() throws {
        let settings = AuthSettings(lockoutThreshold: 1, lockoutBaseSeconds: 10, lockoutMaximumSeconds: 100)
        let f = try AuthFixture(settings: settings)
        for _ in 0..<40 {
            _ = f.auth.login(name: "x", password: "y", client: "192.0.2.7")
            f.advance(200)
        }
        _ = f.auth.login(name: "x", password: "y", client: "192.0.2.7")
        // A new authenticator on the same file (a restart) sees the lock-out.
        let restarted = Authenticator(store: f.store, settings: settings, hasher: PasswordHasher(iterations: 1000), now: f.clock.now)
        #expect(restarted.login(name: "x", password: "y", client: "192.0.2.7") == .lockedOut(retryAfter: 100))
    }

    @Test func allowListedAddressesAreNeverLocked() throws {
        let settings = AuthSettings(lockoutThreshold: 1, lockoutBaseSeconds: 60, allowList: ["10.1.0.0/16", "::1"])
        let f = try AuthFixture(settings: settings)
        try f.auth.accounts.addUser(name: "admin", role: .admin, password: "correct horse battery", actor: "test")
        _ = f.auth.login(name: "admin", password: "bad", client: "192.0.2.9")
        #expect(f.auth.login(name: "admin", password: "correct horse battery", client: "192.0.2.9") == .lockedOut(retryAfter: 60))
        for _ in 0..<5 { #expect(f.auth.login(name: "admin", password: "bad", client: "10.1.2.3") == .failed) }
        guard case .success = f.auth.login(name: "admin", password: "correct horse battery", client: "10.1.2.3") else {
            Issue.record("allow-listed address was locked"); return
        }
        #expect(settings.isAllowListed("::1") && !settings.isAllowListed("10.2.0.1") && !settings.isAllowListed("garbage"))
    }

    @Test func sqlInjectionInTheLoginNameIsHarmless() throws {
        let f = try AuthFixture()
        try f.auth.accounts.addUser(name: "alice", role: .admin, password: "correct horse battery", actor: "test")
        for name in ["' OR '1'='1", "alice' --", "alice'; DROP TABLE users; --", "\" OR 1=1 --", "alice\u{0}"] {
            #expect(f.auth.login(name: name, password: "' OR '1'='1", client: "192.0.2.50") != .success(Session.none, cookie: ""))
            if case .success = f.auth.login(name: name, password: "correct horse battery", client: "192.0.2.51") { Issue.record("\(name) logged in") }
        }
        #expect(try f.auth.accounts.users().map(\.name) == ["alice"])
        let audit = try AuditLog(store: f.store).recent(limit: 100)
        #expect(audit.contains { $0.actor == "alice'; DROP TABLE users; --" && $0.action == "login" })
    }

    @Test func tokenScopesExpiryRevocationAndLastUse() throws {
        let f = try AuthFixture()
        let (readToken, readSecret) = try f.auth.accounts.createToken(scope: .read, name: "grafana", expiresInSeconds: 3600, actor: "admin")
        let (_, commandSecret) = try f.auth.accounts.createToken(scope: .commands, name: "ops", expiresInSeconds: nil, actor: "admin")
        #expect(readSecret.hasPrefix("camhost_") && readSecret.count > 40)
        // Stored hashed only.
        let hashes = try f.store.read { try $0.query("SELECT token_hash FROM api_tokens").map { try $0.get(0, as: [UInt8].self) } }
        #expect(hashes.contains(Digest.sha256(readSecret)))
        #expect(try f.store.read { try $0.scalar("SELECT count(*) FROM api_tokens WHERE CAST(token_hash AS TEXT) LIKE '%camhost_%'", as: Int.self) } == 0)

        // Through the product's request path: reading, commanding (deferred: it passed every
        // check and waits for the camera), deleting.
        let command = { (secret: String) in f.request("POST", "/api/v1/cameras/cam-1/commands", bearer: secret, headers: ["content-type": "application/json"], body: #"{"command":"get-status"}"#) }
        let delete = { (secret: String) in f.request("DELETE", "/api/v1/recordings/1", bearer: secret) }
        #expect(f.status(f.request(bearer: readSecret)) == 200)
        #expect(f.status(command(readSecret)) == 403)
        #expect(f.status(command(commandSecret)) == 0)
        #expect(f.status(delete(commandSecret)) == 403)
        #expect(f.status(f.request(bearer: readSecret + "x")) == 401)
        #expect(f.status(f.request(bearer: "camhost_" + SecureRandom.token())) == 401)
        #expect(try f.auth.accounts.tokens().first { $0.id == readToken.id }?.lastUsedAt == f.clock.now())

        // Viewer sessions cannot command or delete either.
        let viewer = try f.session("victor", role: .viewer)
        let csrf = ["x-csrf-token": viewer.csrfToken, "content-type": "application/json"]
        for request in [f.request("POST", "/api/v1/cameras/cam-1/commands", cookie: viewer.id, headers: csrf, body: #"{"command":"get-status"}"#),
                        f.request("DELETE", "/api/v1/recordings/1", cookie: viewer.id, headers: csrf)] {
            let refused = f.dashboard.handle(request)
            // Refused for the role, not for the CSRF token (which is right).
            #expect(refused.status == 403 && String(decoding: refused.bodyBytes, as: UTF8.self).contains(#""code":"forbidden""#))
        }

        f.advance(3601)
        #expect(f.status(f.request(bearer: readSecret)) == 401, "expired")
        try f.auth.revokeToken(id: 2, actor: "admin")
        #expect(f.status(command(commandSecret)) == 401, "revoked")
    }

    @Test func firstStartSetUpCreatesTheAdminOnce() throws {
        let f = try AuthFixture()
        #expect(f.auth.needsSetup)
        let token = try #require(try f.auth.prepareSetup())
        #expect(f.auth.isValidSetupToken(token) && !f.auth.isValidSetupToken("nope"))
        #expect { _ = try f.auth.completeSetup(token: "wrong", name: "root", password: "correct horse battery") } throws: { ($0 as? AccountError)?.code == .invalidToken }
        let (session, cookie) = try f.auth.completeSetup(token: token, name: "root", password: "correct horse battery")
        #expect(cookie.contains("Secure; HttpOnly; SameSite=Strict"))
        #expect(f.auth.authenticate(f.request(cookie: session.id))?.role == .admin)
        #expect(!f.auth.needsSetup)
        #expect(try f.auth.prepareSetup() == nil)
        #expect(throws: AccountError.self) { _ = try f.auth.completeSetup(token: token, name: "evil", password: "correct horse battery") }
        #expect(try f.auth.accounts.users().map(\.name) == ["root"])
    }

    @Test func weakHashesAreRaisedOnLogin() throws {
        let f = try AuthFixture()
        let weak = Accounts(store: f.store, hasher: PasswordHasher(iterations: 10))
        try weak.addUser(name: "old", role: .viewer, password: "correct horse battery", actor: "test")
        #expect(try f.auth.accounts.users().first?.passwordIterations == 10)
        _ = try f.session("old", role: .viewer)
        #expect(try f.auth.accounts.users().first?.passwordIterations == 1000)
    }

    @Test func accountRulesAndTheLastAdmin() throws {
        let f = try AuthFixture()
        try f.auth.accounts.addUser(name: "alice", role: .admin, password: "correct horse battery", actor: "test")
        #expect(throws: AccountError.self) { try f.auth.accounts.addUser(name: "ALICE", role: .viewer, password: "correct horse battery", actor: "t") }
        #expect(throws: AccountError.self) { try f.auth.accounts.addUser(name: "bad name", role: .viewer, password: "correct horse battery", actor: "t") }
        #expect(throws: AccountError.self) { try f.auth.accounts.addUser(name: "short", role: .viewer, password: "short", actor: "t") }
        #expect(throws: AccountError.self) { try f.auth.accounts.removeUser(name: "alice", actor: "t") }
        #expect(throws: AccountError.self) { try f.auth.accounts.removeUser(name: "ghost", actor: "t") }
    }
}

extension Session {
    static let none = Session(id: "", userName: "", role: .viewer, csrfToken: "", createdAt: 0, expiresAt: 0)
}

extension AccountError {
    static func ~= (pattern: AccountError, error: any Error) -> Bool { (error as? AccountError)?.code == pattern.code }
}
