import Synchronization

/// camhost's database: one connection, shared between threads behind a lock.
///
/// Calls block the calling thread while another call runs or SQLite waits on a lock (up to
/// the busy timeout); keep transactions short. Do not call `read`/`write` from inside
/// another `read`/`write` on the same store: the lock is not reentrant. The `Database` given to
/// a closure is valid only during that call: do not store it or hand it to another thread.
public final class Store: Sendable {
    public let path: String
    private let lock = Mutex(())
    // The one unchecked spot: `database` is touched only inside `lock.withLock`. Swift cannot
    // prove that through `Mutex<Database>`, because handing the connection to a caller's
    // closure merges it into the caller's region; the closures must not keep `db` (documented).
    private nonisolated(unsafe) let database: Database

    /// Opens the database at `path` and, with a migrator, brings its schema up to date.
    public init(path: String, options: Database.Options = Database.Options(), migrator: Migrator? = nil) throws {
        let database = try Database(path: path, options: options)
        if let migrator { try migrator.migrate(database) }
        self.path = path
        self.database = database
    }

    /// Runs `body` in a read-only snapshot (`query_only`, deferred transaction).
    public func read<T>(_ body: (Database) throws -> sending T) throws -> sending T {
        try lock.withLock { _ throws -> sending T in
            try database.execute("PRAGMA query_only = ON")
            defer { try? database.execute("PRAGMA query_only = OFF") }
            return try database.inTransaction(.deferred) { try body($0) }
        }
    }

    /// Runs `body` in `BEGIN IMMEDIATE ... COMMIT`; rolls back and rethrows when it throws.
    public func write<T>(_ body: (Database) throws -> sending T) throws -> sending T {
        try lock.withLock { _ throws -> sending T in
            try database.inTransaction(.immediate) { try body($0) }
        }
    }

    /// Runs `body` with the connection and no transaction (VACUUM, pragmas, your own BEGIN).
    public func withDatabase<T>(_ body: (Database) throws -> sending T) throws -> sending T {
        try lock.withLock { _ throws -> sending T in
            try body(database)
        }
    }

    public func sizeInBytes() throws -> Int64 { try withDatabase { try $0.sizeInBytes() } }
    public func vacuum() throws { try withDatabase { try $0.vacuum() } }
    public func incrementalVacuum(pages: Int? = nil) throws {
        try withDatabase { try $0.incrementalVacuum(pages: pages) }
    }
}
