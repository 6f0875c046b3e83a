import Security
import Storage
import Synchronization
import Web

/// Who is asking, and may they: sessions (cookie `camhost_session`), API tokens
/// (`Authorization: Bearer`), log-in with persistent lock-outs, CSRF, and first-start set-up.
///
/// Thread-safe; one instance per process, shared by every route.
public final class Authenticator: Sendable {
    public static let sessionCookie = "camhost_session"
    /// Session and token rows are written back at most this often (last seen, last used), so a
    /// busy API client does not turn every read into a database write.
    static let touchInterval: Int64 = 30
    /// Token look-ups are cached this long; a revocation from another process (the CLI) takes
    /// effect within it, one from this process at once.
    static let tokenCacheSeconds: Int64 = 2
    /// Failure rows for names and addresses quiet this long are forgotten.
    static let failureMemorySeconds: Int64 = 86_400

    public let accounts: Accounts
    public let settings: AuthSettings
    let now: @Sendable () -> Int64
    private let tokenCache = Mutex<[[UInt8]: CachedToken]>([:])
    private let dummyHash = Mutex<String?>(nil)
    private let failures = Atomic<Int>(0)
    private let lockouts = Atomic<Int>(0)

    struct CachedToken {
        let token: APIToken
        /// What the token authenticates as, made once per fetch rather than per request.
        let principal: Principal
        let fetchedAt: Int64
    }

    public init(store: Store, settings: AuthSettings = AuthSettings(), hasher: PasswordHasher = PasswordHasher(),
                now: @escaping @Sendable () -> Int64 = WallClock.unixSeconds) {
        self.accounts = Accounts(store: store, hasher: hasher, now: now)
        self.settings = settings
        self.now = now
    }

    var store: Store { accounts.store }
    var audit: AuditLog { AuditLog(store: store) }
    var rows: AccountStore { accounts.rows }

    /// Failed log-ins since start (for /metrics).
    public var loginFailureCount: Int { failures.load(ordering: .relaxed) }
    /// Log-ins refused because of a lock-out since start (for /metrics).
    public var lockoutCount: Int { lockouts.load(ordering: .relaxed) }

    // MARK: authenticate

    /// The principal behind `request`: a valid bearer token, else a valid session cookie; nil
    /// when neither (forged, expired, revoked, logged out).
    public func authenticate(_ request: HTTPRequest) -> Principal? {
        if let authorization = request.headers["authorization"] {
            return authenticateToken(authorization)
        }
        if let id = request.cookies[Self.sessionCookie] {
            return authenticateSession(id)
        }
        return nil
    }

    func authenticateToken(_ authorization: String) -> Principal? {
        guard let secret = Self.bearerToken(authorization),
              secret.utf8.starts(with: Accounts.tokenPrefix.utf8), secret.utf8.count <= 128 else { return nil }
        let hash = Digest.sha256(secret)
        let time = now()
        var cached = tokenCache.withLock { cache -> CachedToken? in
            guard let entry = cache[hash], time - entry.fetchedAt < Self.tokenCacheSeconds, time >= entry.fetchedAt else { return nil }
            return entry
        }
        if cached == nil {
            guard let row = try? rows.token(hash: hash), constantTimeEqual(row.tokenHash, hash) else { return nil }
            let token = Accounts.token(from: row)
            let entry = CachedToken(token: token, principal: Self.principal(of: token), fetchedAt: time)
            cached = entry
            tokenCache.withLock { cache in
                if cache.count >= 1024 { cache.removeAll() }
                cache[hash] = entry
            }
        }
        guard let cached, cached.token.isUsable(at: time) else { return nil }
        if (cached.token.lastUsedAt ?? 0) + Self.touchInterval <= time {
            if (try? rows.touchToken(id: cached.token.id, at: time)) == true {
                tokenCache.withLock { $0[hash] = nil }
            }
        }
        return cached.principal
    }

    static func principal(of token: APIToken) -> Principal {
        Principal(name: "token:\(token.name)", role: token.scope == .admin ? .admin : .viewer, kind: .token,
                  scope: token.scope, tokenID: token.id)
    }

    /// The token of an `Authorization: Bearer TOKEN` value: the scheme in any case, spaces around
    /// the token ignored; nil for another scheme, no token, or a token with a space inside.
    /// Read on UTF-8 bytes (this runs on every API request; splitting and filtering Characters
    /// was half of the cost of authenticating).
    static func bearerToken(_ authorization: String) -> Substring? {
        var text = authorization
        let bounds: (Int, Int)? = text.withUTF8 { bytes in
            let space = UInt8(ascii: " ")
            var index = 0
            while index < bytes.count, bytes[index] == space { index += 1 }
            for expected in "bearer".utf8 {
                guard index < bytes.count, bytes[index] | 0x20 == expected else { return nil }
                index += 1
            }
            guard index < bytes.count, bytes[index] == space else { return nil }
            while index < bytes.count, bytes[index] == space { index += 1 }
            var end = bytes.count
            while end > index, bytes[end - 1] == space { end -= 1 }
            guard index < end, !bytes[index..<end].contains(space) else { return nil }
            return (index, end)
        }
        guard let (start, end) = bounds else { return nil }
        let utf8 = authorization.utf8
        return authorization[utf8.index(utf8.startIndex, offsetBy: start)..<utf8.index(utf8.startIndex, offsetBy: end)]
    }

    func authenticateSession(_ id: String) -> Principal? {
        guard (20...128).contains(id.utf8.count) else { return nil }
        let hash = Digest.sha256(id)
        let time = now()
        guard let row = try? rows.session(idHash: hash), constantTimeEqual(row.idHash, hash),
              let role = Role(rawValue: row.role)
        else { return nil }
        let created = row.createdAt, lastSeen = row.lastSeenAt, name = row.userName, csrf = row.csrfToken
        if time - created >= settings.sessionAbsoluteSeconds || time - lastSeen >= settings.sessionIdleSeconds {
            try? rows.deleteSession(idHash: hash)
            return nil
        }
        if lastSeen + Self.touchInterval <= time {
            _ = try? rows.touchSession(idHash: hash, at: time)
        }
        return Principal(name: name, role: role, kind: .session, csrfToken: csrf)
    }

    // MARK: CSRF

    /// Whether a state-changing request made with a session carries the session's CSRF token
    /// (header `X-CSRF-Token` or form field `csrf`) and, when the browser sent `Origin`, comes
    /// from this origin. Safe methods and bearer-token requests need none.
    public func verifyCSRF(_ request: HTTPRequest, _ principal: Principal) -> Bool {
        guard request.isStateChanging, principal.kind == .session else { return true }
        guard let expected = principal.csrfToken,
              let given = request.headers["x-csrf-token"] ?? request.form["csrf"]
        else { return false }
        if let origin = request.headers["origin"], let host = request.headers["host"], origin != "https://\(host)" {
            return false
        }
        return constantTimeEqual(Array(given.utf8), Array(expected.utf8))
    }

    // MARK: log-in, log-out

    /// Checks a name and password from `client`. Lock-outs are checked first (no password is
    /// tried while locked); failures are counted per address and per name, in the database, so
    /// they survive restarts. Blocks for one PBKDF2 derivation (~0.3 s at 600k iterations).
    public func login(name: String, password: String, client: String) -> LoginResult {
        let time = now()
        let allowListed = settings.isAllowListed(client)
        let subjectName = name.lowercased()
        if !allowListed {
            let lockedUntil = (try? rows.lockedUntil([.address(client), .user(subjectName)])) ?? nil
            if let lockedUntil, lockedUntil > time {
                lockouts.add(1, ordering: .relaxed)
                _ = try? audit.append(actor: name, action: "login", target: client, detail: "locked out", outcome: .denied)
                return .lockedOut(retryAfter: Int(lockedUntil - time))
            }
        }

        let row = try? rows.user(named: name)
        let storedHash = row?.passwordHash
        // Unknown names cost the same PBKDF2 work as known ones: timing does not tell which exist.
        let verified = accounts.hasher.verify(password, against: storedHash ?? dummy())
        guard verified, let row, let storedHash, let role = Role(rawValue: row.role) else {
            failures.add(1, ordering: .relaxed)
            if !allowListed { recordFailure(client: client, name: subjectName, at: time) }
            _ = try? audit.append(actor: name, action: "login", target: client, detail: row == nil ? "unknown user" : "wrong password", outcome: .failure)
            return .failed
        }
        let newHash = PasswordHasher.needsRehash(storedHash, minimumIterations: accounts.hasher.iterations)
            ? try? accounts.hasher.hash(password) : nil
        let userName = row.name
        guard let session = try? createSession(userID: row.id, userName: userName, role: role, client: client, at: time, rehash: newHash) else {
            return .failed
        }
        _ = try? audit.append(actor: userName, action: "login", target: client, detail: newHash == nil ? nil : "password hash upgraded", outcome: .success)
        return .success(session, cookie: Cookie.set(Self.sessionCookie, session.id, maxAge: Int(settings.sessionAbsoluteSeconds)))
    }

    func createSession(userID: Int64, userName: String, role: Role, client: String, at time: Int64, rehash: String?) throws -> Session {
        let id = SecureRandom.token(bytes: 32)
        let csrf = SecureRandom.token(bytes: 32)
        try rows.startSession(idHash: Digest.sha256(id), userID: userID, csrfToken: csrf, client: client, at: time, rehash: rehash,
                              clearing: [.address(client), .user(userName.lowercased())],
                              expireCreatedBefore: time - settings.sessionAbsoluteSeconds, expireSeenBefore: time - settings.sessionIdleSeconds)
        return Session(id: id, userName: userName, role: role, csrfToken: csrf, createdAt: time, expiresAt: time + settings.sessionAbsoluteSeconds)
    }

    /// Counts one failure for the address and the name; past the threshold each failure locks
    /// for base × 2^(failures − threshold) seconds, capped: lock-outs always end.
    func recordFailure(client: String, name: String, at time: Int64) {
        let settings = settings
        try? rows.recordFailure([.address(client), .user(name)], at: time, memorySeconds: Self.failureMemorySeconds) { count in
            guard count >= settings.lockoutThreshold else { return 0 }
            let exponent = min(count - settings.lockoutThreshold, 30)
            let seconds = settings.lockoutBaseSeconds.multipliedReportingOverflow(by: Int64(1) << exponent)
            return time + (seconds.overflow ? settings.lockoutMaximumSeconds : min(seconds.partialValue, settings.lockoutMaximumSeconds))
        }
    }

    private func dummy() -> String {
        dummyHash.withLock { cached in
            if let cached { return cached }
            let made = (try? accounts.hasher.hash(SecureRandom.token())) ?? ""
            cached = made
            return made
        }
    }

    /// Ends the request's session (if any) and returns the `Set-Cookie` value that clears it.
    @discardableResult
    public func logout(_ request: HTTPRequest) -> String {
        if let id = request.cookies[Self.sessionCookie], let principal = authenticateSession(id) {
            try? rows.deleteSession(idHash: Digest.sha256(id))
            _ = try? audit.append(actor: principal.name, action: "logout", target: request.clientAddress, outcome: .success)
        }
        return Cookie.expire(Self.sessionCookie)
    }

    /// Revokes a token and forgets it from this process's cache at once.
    public func revokeToken(id: Int64, actor: String) throws {
        try accounts.revokeToken(id: id, actor: actor)
        tokenCache.withLock { $0 = $0.filter { $0.value.token.id != id } }
    }

    // MARK: first start

    /// Whether no user exists yet (the dashboard offers only /setup).
    public var needsSetup: Bool { ((try? accounts.userCount) ?? 1) == 0 }

    /// With no users, makes a new one-time set-up token (replacing any earlier one) and returns
    /// it; serve logs `https://HOST:PORT/setup?token=TOKEN`. Nil when users exist.
    public func prepareSetup() throws -> String? {
        let token = SecureRandom.token(bytes: 32)
        let time = now()
        return try rows.replaceSetupToken(hash: Digest.sha256(token), at: time) ? token : nil
    }

    /// Whether `token` is the current set-up token (for showing the set-up form).
    public func isValidSetupToken(_ token: String) -> Bool {
        let hash = Digest.sha256(token)
        let stored = (try? rows.setupTokenHashes()) ?? []
        return stored.contains { constantTimeEqual($0, hash) }
    }

    /// Creates the first admin with the set-up token, spends the token, and logs the admin in.
    /// Throws `AccountError` (.invalidToken, .setupDone, .invalidName, .weakPassword).
    public func completeSetup(token: String, name: String, password: String, client: String = "setup") throws -> (session: Session, cookie: String) {
        try Accounts.validateName(name)
        try Accounts.validatePassword(password)
        let hash = try accounts.hasher.hash(password)
        let tokenHash = Digest.sha256(token)
        let time = now()
        let outcome = try rows.completeSetup(name: name, passwordHash: hash, at: time) { stored in
            stored.contains { constantTimeEqual($0, tokenHash) }
        }
        let userID: Int64
        switch outcome {
        case .success(let id): userID = id
        case .failure(.setupDone):
            throw AccountError(.setupDone, "set-up is done already: log in, or ask an admin for an account")
        case .failure(.invalidToken):
            throw AccountError(.invalidToken, "the set-up link is not valid: use the newest one from camhost's log (a restart makes a new one)")
        }
        try audit.append(actor: name, action: "user.add", target: name, detail: "role=admin (first start set-up)", outcome: .success)
        let session = try createSession(userID: userID, userName: name, role: .admin, client: client, at: time, rehash: nil)
        return (session, Cookie.set(Self.sessionCookie, session.id, maxAge: Int(settings.sessionAbsoluteSeconds)))
    }
}
