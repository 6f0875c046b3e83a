import Glibc
import Storage
import Synchronization
import Testing

@Suite struct OpeningAndMigrating {
    @Test func libraryVersionIsReported() {
        #expect(Storage.libraryVersion.hasPrefix("3."))
    }

    @Test func freshFileIsMigratedAndRecorded() throws {
        let dir = TemporaryDirectory(); defer { dir.remove() }
        let store = try Store.open(dir.file("camhost.db"))
        let rows = try store.read { try $0.query("SELECT version, name, applied_at FROM schema_version") }
        try #require(rows.count == CamhostSchema.migrator.latestVersion)
        #expect(try rows[0].get("version", as: Int.self) == 1)
        #expect(try rows[0].get("name", as: String.self) == CamhostSchema.migrator.migrations[0].name)
        let appliedAt: String = try rows[0].get("applied_at")
        #expect(appliedAt.count == 24 && appliedAt.hasSuffix("Z"), "ISO 8601 UTC: \(appliedAt)")
        let tables = try store.read { db in
            try db.query("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").map { try $0.get(0, as: String.self) }
        }
        #expect(tables == ["api_tokens", "audit_log", "cameras", "cleanup_runs", "deletion_ledger", "health_history", "kurento_objects", "login_failures", "recordings", "schema_version", "sessions", "setup_tokens", "users"])
    }

    @Test func reopeningIsIdempotent() throws {
        let dir = TemporaryDirectory(); defer { dir.remove() }
        let path = dir.file("camhost.db")
        do {
            let store = try Store.open(path)
            try store.write { try $0.execute("INSERT INTO cameras (id, name, profile, address) VALUES ('cam1', 'Gate', 'acme-v2', '10.0.0.5')") }
        }
        for _ in 0..<2 {
            let store = try Store.open(path)
            #expect(try store.read { try $0.scalar("SELECT count(*) FROM schema_version", as: Int.self) } == CamhostSchema.migrator.latestVersion)
            #expect(try store.read { try $0.scalar("SELECT name FROM cameras WHERE id = 'cam1'", as: String.self) } == "Gate")
        }
    }

    @Test func laterMigrationsApplyInOrderOnReopen() throws {
        let dir = TemporaryDirectory(); defer { dir.remove() }
        let path = dir.file("camhost.db")
        _ = try Store.open(path)
        var next = CamhostSchema.migrator
        next.register("later", sql: "CREATE TABLE later (id INTEGER PRIMARY KEY, camera_id TEXT NOT NULL REFERENCES cameras(id)) STRICT")
        let store = try Store(path: path, migrator: next)
        let versions = try store.read { db in try db.query("SELECT version FROM schema_version ORDER BY version").map { try $0.get(0, as: Int.self) } }
        #expect(versions == Array(1...next.latestVersion))
        #expect(try next.appliedVersion(try Database(path: path)) == next.latestVersion)
    }

    @Test func newerSchemaIsRefusedAndFileUntouched() throws {
        let dir = TemporaryDirectory(); defer { dir.remove() }
        let path = dir.file("camhost.db")
        var newer = CamhostSchema.migrator
        newer.register("from the future", sql: "CREATE TABLE future (x INTEGER) STRICT")
        do { _ = try Store(path: path, migrator: newer) }
        // Fold the WAL into the main file so the byte comparison below sees everything.
        do { let db = try Database(path: path); try db.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
        let before = try #require(readBytes(path))

        let error = try #require(throws: MigrationError.self) {
            _ = try Store.open(path)
        }
        #expect(error == .schemaTooNew(path: path, found: newer.latestVersion, known: CamhostSchema.migrator.latestVersion))
        #expect(error.description.contains(path))
        #expect(error.description.contains("newer camhost"))
        #expect(readBytes(path) == before)
    }

    @Test func renamedMigrationIsRefused() throws {
        let dir = TemporaryDirectory(); defer { dir.remove() }
        let path = dir.file("camhost.db")
        var other = Migrator()
        other.register("something else", sql: "CREATE TABLE t (x INTEGER)")
        _ = try Store(path: path, migrator: other)
        #expect(throws: MigrationError.nameMismatch(path: path, version: 1, found: "something else",
                                                     expected: CamhostSchema.migrator.migrations[0].name)) {
            _ = try Store.open(path)
        }
    }

    @Test func pragmasAreSet() throws {
        let dir = TemporaryDirectory(); defer { dir.remove() }
        let db = try Database(path: dir.file("camhost.db"))
        try CamhostSchema.migrator.migrate(db)
        #expect(try db.journalMode() == "wal")
        #expect(try db.scalar("PRAGMA foreign_keys", as: Int.self) == 1)
        #expect(try db.scalar("PRAGMA synchronous", as: Int.self) == 1) // NORMAL
        #expect(try db.scalar("PRAGMA busy_timeout", as: Int.self) == 5000)
        #expect(try db.scalar("PRAGMA auto_vacuum", as: Int.self) == 2) // INCREMENTAL
    }

    @Test func foreignKeysAreEnforced() throws {
        let dir = TemporaryDirectory(); defer { dir.remove() }
        let db = try Database(path: dir.file("fk.db"))
        try db.execute(script: """
            CREATE TABLE parent (id INTEGER PRIMARY KEY);
            CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent(id));
            """)
        let error = try #require(throws: SQLiteError.self) {
            try db.execute("INSERT INTO child (parent_id) VALUES (?)", 42)
        }
        #expect(error.code == .constraint)
        #expect(error.extendedCode == .constraintForeignKey)
        #expect(error.sql == "INSERT INTO child (parent_id) VALUES (?)")
        var matched = false
        do { try db.execute("INSERT INTO child (parent_id) VALUES (7)") } catch SQLiteError.Code.constraint { matched = true }
        #expect(matched)
    }

    @Test func busyTimeoutIsHonouredAgainstAnotherWriter() throws {
        let dir = TemporaryDirectory(); defer { dir.remove() }
        let path = dir.file("busy.db")
        let holder = try Database(path: path)
        try holder.execute("CREATE TABLE t (x INTEGER)")
        let waiter = try Database(path: path, options: .init(busyTimeout: .milliseconds(200)))
        try holder.execute("BEGIN IMMEDIATE")
        defer { try? holder.execute("ROLLBACK") }

        let clock = ContinuousClock()
        let start = clock.now
        let error = try #require(throws: SQLiteError.self) {
            try waiter.execute("BEGIN IMMEDIATE")
        }
        let waited = clock.now - start
        #expect(error.code == .busy)
        #expect(error.description.contains(path))
        #expect(waited >= .milliseconds(150), "gave up after \(waited)")
        #expect(waited < .seconds(3), "waited \(waited)")
    }

    /// The holder runs on its own OS thread and commits only once the waiter is about to ask for
    /// the lock, so neither side needs the (two-thread) concurrency pool and no sleep decides the
    /// outcome: whenever the waiter's BEGIN IMMEDIATE returns, it must be after the holder's
    /// COMMIT, see the holder's row and take less than the busy timeout.
    @Test func busyWriterGetsTheLockWhenTheOtherCommits() throws {
        let dir = TemporaryDirectory(); defer { dir.remove() }
        let path = dir.file("busy.db")
        try Database(path: path).execute("CREATE TABLE t (x INTEGER)")
        struct Shared { var locked = false; var waiting = false; var committedAt: ContinuousClock.Instant?; var failure: String? }
        let shared = Mutex(Shared())
        func waitFor(_ condition: (Shared) -> Bool) {
            while !shared.withLock({ condition($0) || $0.failure != nil }) { usleep(1000) }
        }
        let holder = TestThread {
            do {
                let holder = try Database(path: path)
                try holder.execute("BEGIN IMMEDIATE")
                try holder.execute("INSERT INTO t VALUES (1)")
                shared.withLock { $0.locked = true }
                while !shared.withLock({ $0.waiting }) { usleep(1000) }
                usleep(200_000)   // the waiter is (almost certainly) inside SQLite's busy handler now
                shared.withLock { $0.committedAt = ContinuousClock.now }
                try holder.execute("COMMIT")
            } catch {
                shared.withLock { $0.failure = "holder: \(error)"; $0.committedAt = ContinuousClock.now }
            }
        }
        defer { holder.join() }
        waitFor(\.locked)
        let waiter = try Database(path: path, options: .init(busyTimeout: .seconds(5)))
        let start = ContinuousClock.now
        shared.withLock { $0.waiting = true }
        try waiter.execute("BEGIN IMMEDIATE")
        let acquired = ContinuousClock.now
        #expect(try waiter.scalar("SELECT count(*) FROM t", as: Int.self) == 1, "the holder's row is visible")
        try waiter.execute("COMMIT")
        holder.join()
        let state = shared.withLock { $0 }
        #expect(state.failure == nil)
        let committedAt = try #require(state.committedAt)
        #expect(committedAt <= acquired, "the waiter got the lock before the holder committed")
        #expect(acquired - start < .seconds(5), "waited \(acquired - start), past the busy timeout")
    }

    @Test func garbageFileIsNotADatabaseAndIsLeftAlone() throws {
        let dir = TemporaryDirectory(); defer { dir.remove() }
        let path = dir.file("camhost.db")
        let garbage = (0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 7) }
        writeBytes(path, garbage)

        let error = try #require(throws: SQLiteError.self) {
            _ = try Store.open(path)
        }
        #expect(error.code == .notADatabase)
        #expect(error.path == path)
        #expect(error.description.contains(path))
        #expect(error.description.contains("backup"))
        #expect(error.description.contains("move it aside"))
        #expect(readBytes(path) == garbage)
        #expect(!fileExists(path + "-wal"))
    }

    @Test func damagedPagesAreReportedAsCorrupt() throws {
        let dir = TemporaryDirectory(); defer { dir.remove() }
        let path = dir.file("camhost.db")
        do {
            let db = try Database(path: path)
            try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
            try db.inTransaction { db in
                for i in 0..<500 { try db.execute("INSERT INTO t (body) VALUES (?)", String(repeating: "x", count: 100 + i)) }
            }
            try db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            try db.execute("PRAGMA journal_mode = DELETE")
        }
        var bytes = try #require(readBytes(path))
        let pageSize = 4096
        try #require(bytes.count > pageSize * 4)
        for i in (pageSize * 2 + 8)..<(pageSize * 3) { bytes[i] = 0xA5 } // page 3: a b-tree page body
        writeBytes(path, bytes)

        let error = try #require(throws: SQLiteError.self) {
            _ = try Database(path: path, options: .init(checkIntegrity: true))
        }
        #expect(error.code == .corrupt)
        #expect(error.description.contains(path))
        #expect(error.description.contains("backup"))
        #expect(readBytes(path) == bytes)
    }
}
