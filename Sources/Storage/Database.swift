import CSQLite

/// One SQLite connection; owns its `sqlite3` handle and closes it when released.
///
/// Not Sendable: use it from one thread at a time. `Store` shares one across threads.
public final class Database {
    /// How a connection is opened and set up.
    public struct Options: Sendable {
        /// How long a statement waits for another connection's lock before failing with `.busy`.
        public var busyTimeout: Duration = .milliseconds(5000)
        /// Run `PRAGMA quick_check` on open and fail with `.corrupt` if it finds damage.
        /// Reads the whole file: seconds on a large database.
        public var checkIntegrity: Bool = false
        /// `PRAGMA synchronous`: NORMAL is durable against process crashes in WAL mode; a power
        /// cut can lose the last transactions but never corrupts the file.
        public var synchronous: Synchronous = .normal
        /// Open for reading only (`SQLITE_OPEN_READONLY`, `query_only`): a `Store`'s reader
        /// connections. Nothing is set up or written; the file must exist, in WAL mode.
        public var readOnly = false

        public enum Synchronous: String, Sendable { case off = "OFF", normal = "NORMAL", full = "FULL" }

        public init(busyTimeout: Duration = .milliseconds(5000), checkIntegrity: Bool = false,
                    synchronous: Synchronous = .normal) {
            self.busyTimeout = busyTimeout
            self.checkIntegrity = checkIntegrity
            self.synchronous = synchronous
        }
    }

    /// `BEGIN DEFERRED` takes locks when first needed; `IMMEDIATE` takes the write lock at once,
    /// so a write transaction fails (or waits) at BEGIN rather than half-way through.
    public enum TransactionKind: String, Sendable { case deferred = "DEFERRED", immediate = "IMMEDIATE", exclusive = "EXCLUSIVE" }

    public let path: String
    let handle: OpaquePointer

    /// Opens (creating if missing) the database at `path` and sets it up: WAL, foreign keys,
    /// busy timeout, `synchronous`, and `auto_vacuum=INCREMENTAL` on a new file.
    ///
    /// A file that is not a database, or (with `checkIntegrity`) is damaged, fails with
    /// `.notADatabase` or `.corrupt` before anything is written to it.
    public init(path: String, options: Options = Options()) throws {
        var db: OpaquePointer?
        let flags = options.readOnly ? SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX
            : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            let code = db.map { sqlite3_extended_errcode($0) } ?? rc
            sqlite3_close_v2(db)
            throw SQLiteError(code: .init(rawValue: code), message: message, path: path)
        }
        self.path = path
        self.handle = db
        // From here a throw releases self, and deinit closes the handle.
        try configure(options)
    }

    deinit {
        sqlite3_finalize(dataVersionStatement)
        sqlite3_close_v2(handle)
    }

    /// `PRAGMA data_version`, prepared once (parsing it cost more than running it).
    private var dataVersionStatement: OpaquePointer?

    /// Rows changed by this connection since it opened (`sqlite3_total_changes64`); no statement.
    public var totalChanges: Int64 { sqlite3_total_changes64(handle) }

    /// `PRAGMA data_version`: changes when another connection commits (https://sqlite.org/pragma.html#pragma_data_version).
    public func dataVersion() throws -> Int64 {
        if dataVersionStatement == nil {
            var statement: OpaquePointer?
            let rc = sqlite3_prepare_v3(handle, "PRAGMA data_version", -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
            guard rc == SQLITE_OK, let statement else {
                sqlite3_finalize(statement)
                throw error(rc, sql: "PRAGMA data_version")
            }
            dataVersionStatement = statement
        }
        let statement = dataVersionStatement
        defer { sqlite3_reset(statement) }
        let rc = sqlite3_step(statement)
        guard rc == SQLITE_ROW else { throw error(rc, sql: "PRAGMA data_version") }
        return sqlite3_column_int64(statement, 0)
    }

    private func configure(_ options: Options) throws {
        sqlite3_extended_result_codes(handle, 1)
        let attoseconds = options.busyTimeout.components.attoseconds / 1_000_000_000_000_000
        let milliseconds = options.busyTimeout.components.seconds * 1000 + attoseconds
        sqlite3_busy_timeout(handle, Int32(clamping: milliseconds))
        // Double-quoted strings are identifiers, never string literals (a classic silent typo).
        _ = csqlite_db_config_int(handle, SQLITE_DBCONFIG_DQS_DML, 0, nil)
        _ = csqlite_db_config_int(handle, SQLITE_DBCONFIG_DQS_DDL, 0, nil)
        if options.readOnly {
            // A reader beside the writer: no set-up (the writer did it), and not even temp
            // tables may be written through it.
            try execute("PRAGMA query_only = ON")
            return
        }

        // Without write permission SQLite silently falls back to read-only; say so now rather
        // than at the first write.
        if sqlite3_db_readonly(handle, "main") == 1 {
            throw SQLiteError(code: .readOnly, message: "opened read-only: no write permission on the file or its directory", path: path)
        }
        // Read before any write: a file that is not a database fails here, untouched.
        _ = try query("SELECT count(*) FROM sqlite_schema")
        if options.checkIntegrity { try quickCheck() }
        if try scalar("PRAGMA page_count", as: Int.self) == 0 {
            // Only takes effect before the first table exists (https://sqlite.org/pragma.html#pragma_auto_vacuum).
            try execute("PRAGMA auto_vacuum = INCREMENTAL")
        }
        _ = try query("PRAGMA journal_mode = WAL")
        try execute("PRAGMA synchronous = \(options.synchronous.rawValue)")
        try execute("PRAGMA foreign_keys = ON")
    }

    /// An error for result code `rc`, with the connection's message, the SQL and the file.
    func error(_ rc: Int32, sql: String?) -> SQLiteError {
        let extended = sqlite3_extended_errcode(handle)
        let code = (extended & 0xFF) == (rc & 0xFF) ? extended : rc
        return SQLiteError(code: .init(rawValue: code), message: String(cString: sqlite3_errmsg(handle)),
                           sql: sql, path: path)
    }

    // MARK: Statements

    /// Prepares one statement.
    public func prepare(_ sql: String) throws -> Statement {
        try Statement(database: self, sql: sql)
    }

    /// Runs one statement with positional arguments, discarding rows.
    public func execute(_ sql: String, _ arguments: (any SQLBindable)?...) throws {
        try prepare(sql).execute(databaseValues(arguments))
    }

    public func execute(_ sql: String, arguments: [DatabaseValue]) throws {
        try prepare(sql).execute(arguments)
    }

    /// Runs several `;`-separated statements without arguments (migrations, schema scripts).
    public func execute(script sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        defer { sqlite3_free(message) }
        guard rc == SQLITE_OK else {
            var error = self.error(rc, sql: sql)
            if let message { error = SQLiteError(code: error.extendedCode, message: String(cString: message), sql: sql, path: path) }
            throw error
        }
    }

    /// Runs one statement and returns every row.
    public func query(_ sql: String, _ arguments: (any SQLBindable)?...) throws -> [Row] {
        try prepare(sql).rows(databaseValues(arguments))
    }

    public func query(_ sql: String, arguments: [DatabaseValue]) throws -> [Row] {
        try prepare(sql).rows(arguments)
    }

    /// The first column of the first row; nil when there is no row or the value is NULL.
    public func scalar<T: DatabaseValueConvertible>(_ sql: String, _ arguments: (any SQLBindable)?...,
                                                    as type: T.Type = T.self) throws -> T? {
        let statement = try prepare(sql)
        try statement.bind(databaseValues(arguments))
        guard try statement.step() else { return nil }
        let value = statement.value(at: 0)
        statement.reset()
        if value == .null { return nil }
        guard let result = T.decode(from: value) else {
            throw SQLiteError(code: .mismatch, message: "\(value) does not convert to \(T.self)", sql: sql, path: path)
        }
        return result
    }

    /// The rowid of the last successful INSERT on this connection.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows changed by the last INSERT, UPDATE or DELETE on this connection.
    public var changes: Int { Int(sqlite3_changes64(handle)) }

    // MARK: Transactions

    public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Runs `body` in a transaction: commits when it returns, rolls back when it throws.
    public func inTransaction<T>(_ kind: TransactionKind = .immediate, _ body: (Database) throws -> sending T) throws -> sending T {
        try execute("BEGIN \(kind.rawValue) TRANSACTION")
        do {
            let result = try body(self)
            try execute("COMMIT TRANSACTION")
            return result
        } catch {
            // SQLite may already have rolled back (e.g. after SQLITE_FULL); do not mask the cause.
            if isInTransaction { try? execute("ROLLBACK TRANSACTION") }
            throw error
        }
    }

    // MARK: Maintenance

    /// `journal_mode` as SQLite reports it ("wal" once opened).
    public func journalMode() throws -> String {
        try scalar("PRAGMA journal_mode", as: String.self) ?? ""
    }

    /// Size of the main database file in bytes (page_count × page_size), excluding the WAL.
    public func sizeInBytes() throws -> Int64 {
        let pages = try scalar("PRAGMA page_count", as: Int64.self) ?? 0
        let pageSize = try scalar("PRAGMA page_size", as: Int64.self) ?? 0
        return pages * pageSize
    }

    /// Pages on the free list: what `incrementalVacuum` can give back to the file system.
    public func freePageCount() throws -> Int {
        try scalar("PRAGMA freelist_count", as: Int.self) ?? 0
    }

    /// Rebuilds the file, returning all free pages. Cannot run inside a transaction; needs
    /// free disk space about the size of the database.
    public func vacuum() throws {
        try execute("VACUUM")
    }

    /// Returns up to `pages` free pages (all when nil) to the file system. Cheap; needs
    /// `auto_vacuum=INCREMENTAL`, which new databases get.
    public func incrementalVacuum(pages: Int? = nil) throws {
        if let pages {
            try execute("PRAGMA incremental_vacuum(\(max(pages, 0)))")
        } else {
            try execute("PRAGMA incremental_vacuum")
        }
    }

    /// `PRAGMA quick_check`; throws `.corrupt` with SQLite's findings when it is not "ok".
    public func quickCheck() throws {
        let findings = try query("PRAGMA quick_check").compactMap { try? $0.get(0, as: String.self) }
        guard findings != ["ok"] else { return }
        throw SQLiteError(code: .corrupt, message: "quick_check: " + findings.prefix(10).joined(separator: "; "),
                          sql: "PRAGMA quick_check", path: path)
    }
}
