/// Who did what to which thing, and how it ended: the `audit_log` table.
public struct AuditLog: Sendable {
    /// How an audited action ended.
    public struct Outcome: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }

        public static let success: Outcome = "success"
        public static let failure: Outcome = "failure"
        /// Refused before it ran (permissions, CSRF, rate limit).
        public static let denied: Outcome = "denied"
    }

    /// One row of the audit log.
    public struct Entry: Hashable, Sendable {
        public let id: Int64
        /// UTC, ISO 8601 with milliseconds, e.g. "2025-11-25T13:19:02.123Z".
        public let at: String
        public let actor: String
        public let action: String
        public let target: String?
        public let detail: String?
        public let outcome: Outcome
    }

    public let store: Store

    public init(store: Store) { self.store = store }

    /// Records one action in its own transaction; returns the entry's id.
    @discardableResult
    public func append(actor: String, action: String, target: String? = nil, detail: String? = nil,
                       outcome: Outcome) throws -> Int64 {
        try store.write { db in
            try Self.append(in: db, actor: actor, action: action, target: target, detail: detail, outcome: outcome)
        }
    }

    /// Records one action inside the caller's transaction (a write on `db`), so the row commits
    /// or rolls back with the change it describes; returns the entry's id.
    @discardableResult
    public static func append(in db: Database, actor: String, action: String, target: String? = nil, detail: String? = nil,
                              outcome: Outcome) throws -> Int64 {
        try db.execute("INSERT INTO audit_log (actor, action, target, detail, outcome) VALUES (?, ?, ?, ?, ?)",
                       actor, action, target, detail, outcome.rawValue)
        return db.lastInsertRowID
    }

    /// The newest entries first.
    public func recent(limit: Int = 50) throws -> [Entry] {
        let rows = try store.read { db in
            try db.query("""
                SELECT id, at, actor, action, target, detail, outcome FROM audit_log
                ORDER BY id DESC LIMIT ?
                """, max(limit, 0))
        }
        return try rows.map { row in
            Entry(id: try row.get("id"), at: try row.get("at"), actor: try row.get("actor"),
                  action: try row.get("action"), target: try row.get("target"), detail: try row.get("detail"),
                  outcome: Outcome(rawValue: try row.get("outcome")))
        }
    }
}
