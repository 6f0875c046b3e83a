/// A dashboard account's role.
public enum Role: String, Sendable, CaseIterable, Codable {
    /// Everything, including accounts, tokens, deletions and camera commands.
    case admin
    /// Looks only: pages and read-only API calls.
    case viewer
}

/// What an API token may do; chosen when it is created.
public enum TokenScope: String, Sendable, CaseIterable, Codable {
    /// Read-only API calls (monitoring, scripts that list recordings).
    case read
    /// Reads plus camera commands.
    case commands
    /// Everything an admin may do.
    case admin
}

/// One thing a request may want to do, checked with `Principal.may`. Each route of the
/// dashboard's table names the one it needs (`Routes`).
public enum Permission: Sendable, CaseIterable {
    case read
    /// Camera commands (reboot, mode change, stream start/stop) and captures.
    case command
    /// Deleting recordings.
    case delete
    /// Accounts, tokens, the audit log.
    case admin

    /// The least token scope that grants it, as refusals name it.
    var scope: TokenScope {
        switch self {
        case .read: .read
        case .command: .commands
        case .delete, .admin: .admin
        }
    }
}

/// Who a request comes from: a logged-in user (session cookie) or a script (API token).
public struct Principal: Sendable, Equatable {
    public enum Kind: String, Sendable { case session, token }

    /// The user's name, or `token:LABEL` for API tokens; what audit rows record as the actor.
    public let name: String
    /// The user's role; for tokens the role their scope corresponds to (admin for `admin`).
    public let role: Role
    public let kind: Kind
    /// The token's scope; nil for sessions.
    public let scope: TokenScope?
    /// The session's CSRF token, to put in forms (`csrf` field) and pages (`X-CSRF-Token`); nil for tokens.
    public let csrfToken: String?
    /// The token's id (`camhost token list`); nil for sessions.
    public let tokenID: Int64?

    public init(name: String, role: Role, kind: Kind, scope: TokenScope? = nil, csrfToken: String? = nil, tokenID: Int64? = nil) {
        self.name = name
        self.role = role
        self.kind = kind
        self.scope = scope
        self.csrfToken = kind == .session ? csrfToken : nil
        self.tokenID = tokenID
    }

    /// Whether this principal may do `permission`: the one permission check of the dashboard.
    public func may(_ permission: Permission) -> Bool {
        switch access {
        case .admin: true
        case .commands: permission == .read || permission == .command
        case .read: permission == .read
        }
    }

    /// What the principal may do in the words of token scopes: a viewer session reads like a
    /// `read` token, an admin session does everything like an `admin` token.
    public var access: TokenScope {
        switch kind {
        case .session: role == .admin ? .admin : .read
        case .token: scope ?? .read
        }
    }

    /// Sessions carry an ambient credential (the cookie), so their state changes need CSRF tokens.
    public var isSession: Bool { kind == .session }

    /// For the audit log: `user:alice` or `token:deploy`.
    public var actor: String { isSession ? "user:" + name : name.hasPrefix("token:") ? name : "token:" + name }
}
