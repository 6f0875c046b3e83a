import Synchronization

/// camhost's database: one writer connection behind a lock, and a small pool of read-only
/// connections, so readers never wait behind the writer (WAL; like GRDB's `DatabasePool`).
///
/// `write` and `withDatabase` block the calling thread while another write runs (or SQLite waits
/// for another process's write lock, up to the busy timeout); keep them short. `read` takes an
/// idle reader connection (opening one when all are busy) and sees the last committed state,
/// whatever the writer is doing. Do not call `read`/`write` from inside a `write` on the same
/// store: the writer lock is not reentrant. The `Database` given to a closure is valid only
/// during that call: do not store it or hand it to another thread.
public final class Store: Sendable {
    public let path: String
    private let lock = Mutex(())
    // The one unchecked spot: `database` is touched only inside `lock.withLock`. Swift cannot
    // prove that through `Mutex<Database>`, because handing the connection to a caller's
    // closure merges it into the caller's region; the closures must not keep `db` (documented).
    private nonisolated(unsafe) let database: Database
    private let readers: ReaderPool
    /// `totalChanges` of the writer after its last use: this process's writes, for `version()`.
    private let ownChanges = Atomic<Int64>(0)
    private let others: DataVersionWatch

    /// Opens the database at `path` and, with a migrator, brings its schema up to date.
    public init(path: String, options: Database.Options = Database.Options(), migrator: Migrator? = nil) throws {
        let database = try Database(path: path, options: options)
        if let migrator { try migrator.migrate(database) }
        self.path = path
        self.database = database
        var readerOptions = options
        readerOptions.readOnly = true
        readerOptions.checkIntegrity = false
        // An in-memory or temporary database exists only on its one connection.
        let shared = path.isEmpty || path == ":memory:" || path.hasPrefix("file::memory:")
        self.readers = ReaderPool(path: path, options: readerOptions, shared: shared ? database : nil)
        self.others = DataVersionWatch(readers: readers)
        ownChanges.store(database.totalChanges, ordering: .relaxed)
    }

    /// camhost's database at `path`, migrated to `CamhostSchema`: how `serve`, the CLI and the
    /// tests open it.
    public static func open(_ path: String, options: Database.Options = Database.Options()) throws -> Store {
        try Store(path: path, options: options, migrator: CamhostSchema.migrator)
    }

    deinit {
        // Readers first: the last connection to close checkpoints and removes the WAL, and a
        // read-only connection cannot.
        readers.closeAll()
        others.close()
    }

    /// Runs `body` on a reader connection in one read transaction: one consistent snapshot of
    /// what was committed when it began; writes fail (`query_only`). Never waits for the writer.
    public func read<T>(_ body: (Database) throws -> sending T) throws -> sending T {
        try readers.withReader { reader in
            try reader.inTransaction(.deferred) { try body($0) }
        }
    }

    /// Runs `body` in `BEGIN IMMEDIATE ... COMMIT` on the writer; rolls back and rethrows when it throws.
    public func write<T>(_ body: (Database) throws -> sending T) throws -> sending T {
        try lock.withLock { _ throws -> sending T in
            defer { ownChanges.store(database.totalChanges, ordering: .relaxed) }
            return try database.inTransaction(.immediate) { try body($0) }
        }
    }

    /// Like `write`, but returns nil at once instead of waiting when another write is running:
    /// for bookkeeping a request can skip (a session's last-seen time), never for real changes.
    public func writeIfIdle<T>(_ body: (Database) throws -> sending T) throws -> sending T? {
        try lock.withLockIfAvailable { _ throws -> sending T in
            defer { ownChanges.store(database.totalChanges, ordering: .relaxed) }
            return try database.inTransaction(.immediate) { try body($0) }
        }
    }

    /// Runs `body` with the writer connection and no transaction (VACUUM, pragmas, your own BEGIN).
    public func withDatabase<T>(_ body: (Database) throws -> sending T) throws -> sending T {
        try lock.withLock { _ throws -> sending T in
            defer { ownChanges.store(database.totalChanges, ordering: .relaxed) }
            return try body(database)
        }
    }

    /// Whether the database answers a trivial read (the health check).
    public func ping() throws -> Bool {
        try read { try $0.scalar("SELECT 1", as: Int.self) } == 1
    }

    /// A number that changes whenever the database does, for response caches; cheap enough for
    /// every request and never waits for the writer. This process's writes show at once;
    /// commits by other processes (the CLI) within `othersRecheck`, because seeing them takes
    /// `PRAGMA data_version`, a read transaction (two fcntl locks and a step of the VM, about
    /// 7 % of an API request's CPU).
    public func version(othersRecheck: Duration = .milliseconds(100)) throws -> Int64 {
        let own = ownChanges.load(ordering: .relaxed)
        return own &* 1_000_003 &+ (try others.version(recheck: othersRecheck))
    }

    public func sizeInBytes() throws -> Int64 { try withDatabase { try $0.sizeInBytes() } }
    public func vacuum() throws { try withDatabase { try $0.vacuum() } }
    public func incrementalVacuum(pages: Int? = nil) throws {
        try withDatabase { try $0.incrementalVacuum(pages: pages) }
    }
}

/// A reader connection handed between threads, one at a time: taken out of the pool for one
/// `read`, then put back. That hand-over is what the unchecked conformance stands for.
private final class Reader: @unchecked Sendable {
    let database: Database
    init(_ database: Database) { self.database = database }
}

/// Idle read-only connections. A `read` takes one or, when all are busy, opens another, so a
/// reader never waits for another reader either; at most `keep` idle ones stay open.
private final class ReaderPool: Sendable {
    static let keep = 4
    let path: String
    let options: Database.Options
    /// For an in-memory database, the writer itself (behind no lock: such stores are for tests
    /// and tools that use one thread).
    private let shared: Reader?
    private let idle = Mutex<[Reader]>([])

    init(path: String, options: Database.Options, shared: Database?) {
        self.path = path
        self.options = options
        self.shared = shared.map(Reader.init)
    }

    func withReader<T>(_ body: (Database) throws -> sending T) throws -> sending T {
        if let shared {
            try shared.database.execute("PRAGMA query_only = ON")
            defer { try? shared.database.execute("PRAGMA query_only = OFF") }
            return try body(shared.database)
        }
        let reader = try idle.withLock { $0.popLast() } ?? Reader(Database(path: path, options: options))
        defer {
            idle.withLock { pool in if pool.count < Self.keep { pool.append(reader) } }
        }
        return try body(reader.database)
    }

    func closeAll() { idle.withLock { $0.removeAll() } }
}

/// `PRAGMA data_version` of one reader connection of its own: it changes whenever another
/// connection (this process's writer, or another process) commits
/// (https://sqlite.org/pragma.html#pragma_data_version). Read at most once per recheck interval.
private final class DataVersionWatch: Sendable {
    private struct Seen {
        var version: Int64 = 0
        var checkedAt: ContinuousClock.Instant?
        var reader: Reader?
    }
    private let readers: ReaderPool
    private let seen = Mutex(Seen())

    init(readers: ReaderPool) { self.readers = readers }

    func version(recheck: Duration) throws -> Int64 {
        let now = ContinuousClock.now
        return try seen.withLock { seen -> Int64 in
            if let checkedAt = seen.checkedAt, now - checkedAt < recheck { return seen.version }
            let reader = try seen.reader ?? Reader(Database(path: readers.path, options: readers.options))
            seen.reader = reader
            seen.version = try reader.database.dataVersion()
            seen.checkedAt = now
            return seen.version
        }
    }

    func close() { seen.withLock { $0.reader = nil } }
}
