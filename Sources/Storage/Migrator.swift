/// One schema change, applied once, in order, in its own transaction.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    let apply: @Sendable (Database) throws -> Void
}

/// Why a database's schema cannot be used by this binary.
public enum MigrationError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file was migrated by a newer camhost.
    case schemaTooNew(path: String, found: Int, known: Int)
    /// An applied version has a different name than this binary's migration of that number.
    case nameMismatch(path: String, version: Int, found: String, expected: String)

    public var description: String {
        switch self {
        case let .schemaTooNew(path, found, known):
            return "The database '\(path)' has schema version \(found), but this camhost knows versions up to \(known): "
                + "it was written by a newer camhost. Run that newer version, or restore a backup made by this one. "
                + "camhost did not change the file."
        case let .nameMismatch(path, version, found, expected):
            return "The database '\(path)' records migration \(version) as '\(found)', but this camhost's migration \(version) "
                + "is '\(expected)': the file comes from a different build. Restore a backup made by this version. "
                + "camhost did not change the file."
        }
    }
}

/// Ordered, named migrations recorded in `schema_version`; safe to run on every start.
public struct Migrator: Sendable {
    public private(set) var migrations: [Migration] = []

    public init() {}

    /// The highest version this migrator knows.
    public var latestVersion: Int { migrations.count }

    /// Adds the next migration; its version is its position, counting from 1.
    public mutating func register(_ name: String, _ apply: @escaping @Sendable (Database) throws -> Void) {
        migrations.append(Migration(version: migrations.count + 1, name: name, apply: apply))
    }

    /// Adds the next migration as an SQL script.
    public mutating func register(_ name: String, sql: String) {
        register(name) { try $0.execute(script: sql) }
    }

    static let createVersionTable = """
        CREATE TABLE IF NOT EXISTS schema_version (
            version INTEGER PRIMARY KEY NOT NULL,
            name TEXT NOT NULL,
            applied_at TEXT NOT NULL
        ) STRICT
        """

    /// The highest applied version; 0 for a database without `schema_version`.
    public func appliedVersion(_ db: Database) throws -> Int {
        let exists = try db.scalar("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'", as: Int.self)
        guard exists != nil else { return 0 }
        return try db.scalar("SELECT max(version) FROM schema_version", as: Int.self) ?? 0
    }

    /// Applies pending migrations, each in its own IMMEDIATE transaction that re-reads the
    /// version, so two processes starting together apply each migration once.
    /// Throws `MigrationError` (nothing changed) when the file is newer or from another build.
    public func migrate(_ db: Database) throws {
        // Check before creating schema_version, so a refused file stays byte-for-byte unchanged.
        try check(db)
        while true {
            let done = try db.inTransaction(.immediate) { db -> Bool in
                try db.execute(Self.createVersionTable)
                let current = try check(db)
                guard current < latestVersion else { return true }
                let migration = migrations[current]
                try migration.apply(db)
                try db.execute("""
                    INSERT INTO schema_version (version, name, applied_at)
                    VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
                    """, migration.version, migration.name)
                return false
            }
            if done { return }
        }
    }

    @discardableResult
    private func check(_ db: Database) throws -> Int {
        let current = try appliedVersion(db)
        guard current <= latestVersion else {
            throw MigrationError.schemaTooNew(path: db.path, found: current, known: latestVersion)
        }
        guard current > 0 else { return 0 }
        for row in try db.query("SELECT version, name FROM schema_version ORDER BY version") {
            let version: Int = try row.get(0)
            let name: String = try row.get(1)
            guard version >= 1, version <= migrations.count else { continue }
            let expected = migrations[version - 1].name
            if name != expected {
                throw MigrationError.nameMismatch(path: db.path, version: version, found: name, expected: expected)
            }
        }
        return current
    }
}
