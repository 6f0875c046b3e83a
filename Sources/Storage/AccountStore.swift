/// The tables of `AccountsSchema` (users, sessions, API tokens, log-in failures, set-up tokens)
/// and every statement that touches them. Rules (who may, lock-out arithmetic, constant-time
/// comparison of secrets) stay with the caller; this type only reads and writes rows.
/// Roles and scopes are the stored words (`admin`, `viewer`; `read`, `commands`, `admin`).
/// Times are Unix seconds.
public struct AccountStore: Sendable {
    /// A row of `users`.
    public struct UserRow: Sendable, Equatable {
        public let id: Int64
        public let name: String
        public let role: String
        public let passwordHash: String
        public let createdAt: Int64
        public let lastLoginAt: Int64?
    }

    /// A row of `api_tokens`.
    public struct TokenRow: Sendable, Equatable {
        public let id: Int64
        public let name: String
        public let tokenHash: [UInt8]
        public let scope: String
        public let createdBy: String
        public let createdAt: Int64
        public let expiresAt: Int64?
        public let revokedAt: Int64?
        public let lastUsedAt: Int64?
    }

    /// A row of `sessions` with its user's name and role.
    public struct SessionRow: Sendable, Equatable {
        public let idHash: [UInt8]
        public let csrfToken: String
        public let createdAt: Int64
        public let lastSeenAt: Int64
        public let userName: String
        public let role: String
    }

    /// What a log-in failure counts against: the client's address or the (lower-cased) name.
    public enum FailureSubject: Sendable, Hashable {
        case address(String)
        case user(String)

        var kind: String { if case .address = self { "address" } else { "user" } }
        var subject: String { switch self { case .address(let s), .user(let s): s } }
    }

    /// Why `removeUser` removed nobody.
    public enum RemovalRefusal: Error, Sendable, Equatable { case notFound, lastAdmin }

    /// Why `completeSetup` made no user.
    public enum SetupRefusal: Error, Sendable, Equatable { case setupDone, invalidToken }

    public let store: Store

    public init(store: Store) { self.store = store }

    // MARK: users

    public func userCount() throws -> Int {
        try store.read { try Self.userCount($0) }
    }

    private static func userCount(_ db: Database) throws -> Int {
        try db.scalar("SELECT count(*) FROM users", as: Int.self) ?? 0
    }

    /// Adds a user; a taken name fails with `SQLiteError` code `.constraint`. Returns the id.
    @discardableResult
    public func addUser(name: String, role: String, passwordHash: String, at time: Int64) throws -> Int64 {
        try store.write { db in try Self.insertUser(db, name: name, role: role, passwordHash: passwordHash, at: time) }
    }

    private static func insertUser(_ db: Database, name: String, role: String, passwordHash: String, at time: Int64) throws -> Int64 {
        try db.execute("INSERT INTO users (name, role, password_hash, created_at, password_changed_at) VALUES (?, ?, ?, ?, ?)",
                       name, role, passwordHash, time, time)
        return db.lastInsertRowID
    }

    /// Sets a new password hash and ends that user's sessions; false when there is no such user.
    public func setPassword(name: String, passwordHash: String, at time: Int64) throws -> Bool {
        try store.write { db -> Bool in
            try db.execute("UPDATE users SET password_hash = ?, password_changed_at = ? WHERE name = ?", passwordHash, time, name)
            guard db.changes == 1 else { return false }
            try db.execute("DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?)", name)
            return true
        }
    }

    /// Removes a user (sessions go with it) unless it is unknown or the last admin.
    public func removeUser(name: String) throws -> Result<Void, RemovalRefusal> {
        try store.write { db -> Result<Void, RemovalRefusal> in
            guard let role = try db.scalar("SELECT role FROM users WHERE name = ?", name, as: String.self) else { return .failure(.notFound) }
            if role == "admin", try db.scalar("SELECT count(*) FROM users WHERE role = 'admin'", as: Int.self) ?? 0 <= 1 {
                return .failure(.lastAdmin)
            }
            try db.execute("DELETE FROM users WHERE name = ?", name)
            return .success(())
        }
    }

    /// Every user, by name.
    public func users() throws -> [UserRow] {
        try store.read { db in
            try db.query("SELECT id, name, role, password_hash, created_at, last_login_at FROM users ORDER BY name").map(Self.user(from:))
        }
    }

    /// The user with this name (names compare without case), or nil.
    public func user(named name: String) throws -> UserRow? {
        try store.read { db in
            try db.query("SELECT id, name, role, password_hash, created_at, last_login_at FROM users WHERE name = ?", name).first.map(Self.user(from:))
        }
    }

    private static func user(from row: Row) throws -> UserRow {
        UserRow(id: try row.get("id"), name: try row.get("name"), role: try row.get("role"), passwordHash: try row.get("password_hash"),
                createdAt: try row.get("created_at"), lastLoginAt: try row.get("last_login_at"))
    }

    // MARK: tokens

    /// Adds a token (only its hash is stored); returns its id.
    public func addToken(name: String, tokenHash: [UInt8], scope: String, createdBy: String, at time: Int64, expiresAt: Int64?) throws -> Int64 {
        try store.write { db -> Int64 in
            try db.execute("INSERT INTO api_tokens (name, token_hash, scope, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                           name, tokenHash, scope, createdBy, time, expiresAt)
            return db.lastInsertRowID
        }
    }

    /// Every token, by id.
    public func tokens() throws -> [TokenRow] {
        try store.read { db in try db.query("SELECT * FROM api_tokens ORDER BY id").map(Self.token(from:)) }
    }

    /// The token whose hash this is, or nil.
    public func token(hash: [UInt8]) throws -> TokenRow? {
        try store.read { db in try db.query("SELECT * FROM api_tokens WHERE token_hash = ?", hash).first.map(Self.token(from:)) }
    }

    /// Marks a token revoked (keeping the first revocation time); false when there is no such token.
    public func revokeToken(id: Int64, at time: Int64) throws -> Bool {
        try store.write { db -> Bool in
            try db.execute("UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?", time, id)
            return db.changes == 1
        }
    }

    /// Notes a token's use. Skipped (false) rather than waiting while another write runs: the
    /// next request tries again, and a request never stalls behind a cleanup for bookkeeping.
    @discardableResult
    public func touchToken(id: Int64, at time: Int64) throws -> Bool {
        try store.writeIfIdle { db in try db.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", time, id) } != nil
    }

    private static func token(from row: Row) throws -> TokenRow {
        TokenRow(id: try row.get("id"), name: try row.get("name"), tokenHash: try row.get("token_hash"), scope: try row.get("scope"),
                 createdBy: try row.get("created_by"), createdAt: try row.get("created_at"), expiresAt: try row.get("expires_at"),
                 revokedAt: try row.get("revoked_at"), lastUsedAt: try row.get("last_used_at"))
    }

    // MARK: sessions

    /// The session whose id hashes to `idHash`, with its user, or nil.
    public func session(idHash: [UInt8]) throws -> SessionRow? {
        try store.read { db in
            try db.query("""
                SELECT s.id_hash, s.csrf_token, s.created_at, s.last_seen_at, u.name, u.role
                FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?
                """, idHash).first.map { row in
                SessionRow(idHash: try row.get("id_hash"), csrfToken: try row.get("csrf_token"), createdAt: try row.get("created_at"),
                           lastSeenAt: try row.get("last_seen_at"), userName: try row.get("name"), role: try row.get("role"))
            }
        }
    }

    public func deleteSession(idHash: [UInt8]) throws {
        try store.write { db in try db.execute("DELETE FROM sessions WHERE id_hash = ?", idHash) }
    }

    /// Notes a session's activity; skipped (false) while another write runs, like `touchToken`.
    @discardableResult
    public func touchSession(idHash: [UInt8], at time: Int64) throws -> Bool {
        try store.writeIfIdle { db in try db.execute("UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?", time, idHash) } != nil
    }

    /// A log-in: adds the session, notes the log-in time (and a re-hashed password), forgets
    /// the failures of `failures`, and drops sessions created at or before `expireCreatedBefore`
    /// or last seen at or before `expireSeenBefore`, in one transaction.
    public func startSession(idHash: [UInt8], userID: Int64, csrfToken: String, client: String, at time: Int64, rehash: String?,
                             clearing failures: [FailureSubject], expireCreatedBefore: Int64, expireSeenBefore: Int64) throws {
        try store.write { db in
            try db.execute("INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, client) VALUES (?, ?, ?, ?, ?, ?)",
                           idHash, userID, csrfToken, time, time, client)
            try db.execute("UPDATE users SET last_login_at = ? WHERE id = ?", time, userID)
            if let rehash { try db.execute("UPDATE users SET password_hash = ? WHERE id = ?", rehash, userID) }
            let forget = try db.prepare("DELETE FROM login_failures WHERE kind = ? AND subject = ?")
            for failure in failures { try forget.execute([.text(failure.kind), .text(failure.subject)]) }
            try db.execute("DELETE FROM sessions WHERE created_at <= ? OR last_seen_at <= ?", expireCreatedBefore, expireSeenBefore)
        }
    }

    // MARK: log-in failures

    /// The latest `locked_until` of these subjects, or nil when none has a row.
    public func lockedUntil(_ subjects: [FailureSubject]) throws -> Int64? {
        try store.read { db in
            var latest: Int64?
            let statement = try db.prepare("SELECT locked_until FROM login_failures WHERE kind = ? AND subject = ?")
            for subject in subjects {
                for row in try statement.rows([.text(subject.kind), .text(subject.subject)]) {
                    let until: Int64 = try row.get(0)
                    latest = max(latest ?? until, until)
                }
            }
            return latest
        }
    }

    /// Counts one failure for each subject: a failure within `memorySeconds` of the previous
    /// one adds to its count, an older one starts again at 1; `lockUntil(count)` gives the
    /// lock-out end for the new count (0 for none). Forgets rows quiet for `memorySeconds`.
    public func recordFailure(_ subjects: [FailureSubject], at time: Int64, memorySeconds: Int64,
                              lockUntil: (Int) -> Int64) throws {
        try store.write { db in
            for subject in subjects {
                let previous = try db.query("SELECT failures, last_failure_at FROM login_failures WHERE kind = ? AND subject = ?",
                                            subject.kind, subject.subject).first
                var count = 1
                if let previous, let n: Int = try? previous.get("failures"), let last: Int64 = try? previous.get("last_failure_at"),
                   time - last < memorySeconds {
                    count = n + 1
                }
                try db.execute("""
                    INSERT INTO login_failures (kind, subject, failures, last_failure_at, locked_until) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (kind, subject) DO UPDATE SET failures = excluded.failures,
                        last_failure_at = excluded.last_failure_at, locked_until = excluded.locked_until
                    """, subject.kind, subject.subject, count, time, lockUntil(count))
            }
            try db.execute("DELETE FROM login_failures WHERE last_failure_at < ? AND locked_until < ?", time - memorySeconds, time)
        }
    }

    // MARK: first start

    /// With no users, replaces any set-up token by this one (true); with users, removes it (false).
    public func replaceSetupToken(hash: [UInt8], at time: Int64) throws -> Bool {
        try store.write { db -> Bool in
            try db.execute("DELETE FROM setup_tokens")
            guard try Self.userCount(db) == 0 else { return false }
            try db.execute("INSERT INTO setup_tokens (token_hash, created_at) VALUES (?, ?)", hash, time)
            return true
        }
    }

    /// The hashes of the current set-up token(s).
    public func setupTokenHashes() throws -> [[UInt8]] {
        try store.read { db in try db.query("SELECT token_hash FROM setup_tokens").compactMap { try? $0.get(0, as: [UInt8].self) } }
    }

    /// In one transaction: with no users and a set-up token that `isValid` accepts (given the
    /// stored hashes), adds the first admin and spends the token; returns the new user's id.
    public func completeSetup(name: String, passwordHash: String, at time: Int64,
                              isValid: ([[UInt8]]) -> Bool) throws -> Result<Int64, SetupRefusal> {
        try store.write { db -> Result<Int64, SetupRefusal> in
            guard try Self.userCount(db) == 0 else { return .failure(.setupDone) }
            let stored = try db.query("SELECT token_hash FROM setup_tokens").compactMap { try? $0.get(0, as: [UInt8].self) }
            guard isValid(stored) else { return .failure(.invalidToken) }
            let id = try Self.insertUser(db, name: name, role: "admin", passwordHash: passwordHash, at: time)
            try db.execute("DELETE FROM setup_tokens")
            return .success(id)
        }
    }
}
