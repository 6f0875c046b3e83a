/// A logged-in browser session. `id` is the secret cookie value; the database keeps only its hash.
public struct Session: Sendable, Equatable {
    public let id: String
    public let userName: String
    public let role: Role
    public let csrfToken: String
    /// Unix seconds.
    public let createdAt: Int64
    /// When the session ends however busy it is (absolute expiry), Unix seconds.
    public let expiresAt: Int64
}

/// How a log-in attempt ended.
public enum LoginResult: Sendable, Equatable {
    /// Logged in: send `cookie` as `Set-Cookie` and redirect.
    case success(Session, cookie: String)
    /// Wrong name or password (never says which).
    case failed
    /// Too many failures from this address or for this name: try again in `retryAfter` seconds.
    case lockedOut(retryAfter: Int)
}
