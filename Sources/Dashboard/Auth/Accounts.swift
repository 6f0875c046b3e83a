import Security
import Storage

/// A dashboard user as listed (never with the password hash).
public struct User: Sendable, Equatable {
    public let id: Int64
    public let name: String
    public let role: Role
    /// Unix seconds.
    public let createdAt: Int64
    public let lastLoginAt: Int64?
    /// PBKDF2 iterations of the stored hash (raised on the next log-in when below the current).
    public let passwordIterations: Int?
}

/// An API token as listed; the secret itself is shown once, when created.
public struct APIToken: Sendable, Equatable {
    public let id: Int64
    public let name: String
    public let scope: TokenScope
    public let createdBy: String
    public let createdAt: Int64
    public let expiresAt: Int64?
    public let revokedAt: Int64?
    public let lastUsedAt: Int64?

    /// Neither revoked nor expired at `now`.
    public func isUsable(at now: Int64) -> Bool {
        revokedAt == nil && (expiresAt.map { $0 > now } ?? true)
    }
}

/// Why an account or token change was refused, with what to do instead.
public struct AccountError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable { case invalidName, weakPassword, exists, notFound, lastAdmin, invalidToken, setupDone }
    public let code: Code
    public let message: String
    public init(_ code: Code, _ message: String) { self.code = code; self.message = message }
    public var description: String { message }
}

/// Users and API tokens in the database: create, change, remove, list. Every change is audited.
public struct Accounts: Sendable {
    public static let minimumPasswordLength = 10
    /// API tokens start with this, so leaked ones are recognisable (secret scanners, logs).
    public static let tokenPrefix = "camhost_"

    public let store: Store
    public let hasher: PasswordHasher
    let now: @Sendable () -> Int64
    var audit: AuditLog { AuditLog(store: store) }
    var rows: AccountStore { AccountStore(store: store) }

    public init(store: Store, hasher: PasswordHasher = PasswordHasher(), now: @escaping @Sendable () -> Int64 = WallClock.unixSeconds) {
        self.store = store
        self.hasher = hasher
        self.now = now
    }

    /// Names are 1–64 characters of letters, digits, `.`, `_`, `-` and `@`.
    public static func validateName(_ name: String) throws(AccountError) {
        let allowed = name.unicodeScalars.allSatisfy { s in
            ("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s) || "._-@".unicodeScalars.contains(s)
        }
        guard (1...64).contains(name.count), allowed else {
            throw AccountError(.invalidName, "user name '\(name)' is not allowed: use 1 to 64 letters, digits, '.', '_', '-' or '@'")
        }
    }

    public static func validatePassword(_ password: String) throws(AccountError) {
        guard password.count >= minimumPasswordLength else {
            throw AccountError(.weakPassword, "the password is too short: use at least \(minimumPasswordLength) characters (a passphrase of a few words is easiest)")
        }
        guard password.count <= 1024 else { throw AccountError(.weakPassword, "the password is longer than 1024 characters") }
    }

    // MARK: users

    public var userCount: Int {
        get throws { try rows.userCount() }
    }

    public func addUser(name: String, role: Role, password: String, actor: String) throws {
        try Self.validateName(name)
        try Self.validatePassword(password)
        let hash = try hasher.hash(password)
        let time = now()
        do {
            try rows.addUser(name: name, role: role.rawValue, passwordHash: hash, at: time)
        } catch SQLiteError.Code.constraint {
            throw AccountError(.exists, "a user named '\(name)' exists already; change the password with `camhost user passwd \(name)`")
        }
        try audit.append(actor: actor, action: "user.add", target: name, detail: "role=\(role.rawValue)", outcome: .success)
    }

    /// Sets a new password and ends that user's sessions.
    public func setPassword(name: String, password: String, actor: String) throws {
        try Self.validatePassword(password)
        let hash = try hasher.hash(password)
        let time = now()
        let changed = try rows.setPassword(name: name, passwordHash: hash, at: time)
        guard changed else { throw AccountError(.notFound, "no user named '\(name)' (see `camhost user list`)") }
        try audit.append(actor: actor, action: "user.passwd", target: name, outcome: .success)
    }

    /// Removes a user and their sessions; refuses to remove the last admin.
    public func removeUser(name: String, actor: String) throws {
        switch try rows.removeUser(name: name) {
        case .failure(.notFound): throw AccountError(.notFound, "no user named '\(name)' (see `camhost user list`)")
        case .failure(.lastAdmin): throw AccountError(.lastAdmin, "'\(name)' is the last admin; add another admin first (`camhost user add NAME --role admin`)")
        case .success: break
        }
        try audit.append(actor: actor, action: "user.remove", target: name, outcome: .success)
    }

    public func users() throws -> [User] {
        try rows.users().map { row in
            let parts = row.passwordHash.split(separator: "$")
            return User(id: row.id, name: row.name, role: Role(rawValue: row.role) ?? .viewer,
                        createdAt: row.createdAt, lastLoginAt: row.lastLoginAt,
                        passwordIterations: parts.count == 4 ? Int(parts[1]) : nil)
        }
    }

    // MARK: tokens

    /// Creates a token; the returned secret is not stored and cannot be shown again.
    public func createToken(scope: TokenScope, name: String, expiresInSeconds: Int64?, actor: String) throws -> (token: APIToken, secret: String) {
        let secret = Self.tokenPrefix + SecureRandom.token(bytes: 32)
        let time = now()
        let expires = expiresInSeconds.map { time + $0 }
        let id = try rows.addToken(name: name, tokenHash: Digest.sha256(secret), scope: scope.rawValue, createdBy: actor, at: time, expiresAt: expires)
        try audit.append(actor: actor, action: "token.create", target: "\(id)",
                         detail: "name=\(name) scope=\(scope.rawValue)" + (expires.map { " expires=\($0)" } ?? ""), outcome: .success)
        let token = APIToken(id: id, name: name, scope: scope, createdBy: actor, createdAt: time, expiresAt: expires, revokedAt: nil, lastUsedAt: nil)
        return (token, secret)
    }

    public func tokens() throws -> [APIToken] {
        try rows.tokens().map(Self.token(from:))
    }

    public func revokeToken(id: Int64, actor: String) throws {
        let time = now()
        guard try rows.revokeToken(id: id, at: time) else { throw AccountError(.notFound, "no token with id \(id) (see `camhost token list`)") }
        try audit.append(actor: actor, action: "token.revoke", target: "\(id)", outcome: .success)
    }

    static func token(from row: AccountStore.TokenRow) -> APIToken {
        APIToken(id: row.id, name: row.name, scope: TokenScope(rawValue: row.scope) ?? .read, createdBy: row.createdBy,
                 createdAt: row.createdAt, expiresAt: row.expiresAt, revokedAt: row.revokedAt, lastUsedAt: row.lastUsedAt)
    }
}
