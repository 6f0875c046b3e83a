import Glibc
import Storage
import Synchronization
import Testing

/// Issue 16: readers have their own WAL connections and never wait behind the writer.
@Suite struct ReadersAndWriter {
    @Test func readDoesNotWaitForAnOpenWriteTransaction() throws {
        let dir = TemporaryDirectory(); defer { dir.remove() }
        let store = try Store.open(dir.file("camhost.db"))
        try AuditLog(store: store).append(actor: "test", action: "before", outcome: .success)
        struct Shared { var writing = false; var readDone = false; var failure: String? }
        let shared = Mutex(Shared())
        let writer = TestThread {
            do {
                try store.write { db in
                    try AuditLog.append(in: db, actor: "test", action: "during", outcome: .success)
                    shared.withLock { $0.writing = true }
                    // Hold the write transaction (and the writer lock) until the read is done, 2 s at most.
                    for _ in 0..<2000 where !shared.withLock({ $0.readDone }) { usleep(1000) }
                }
            } catch {
                shared.withLock { $0.failure = "\(error)" }
            }
        }
        defer { writer.join() }
        for _ in 0..<2000 where !shared.withLock({ $0.writing }) { usleep(1000) }
        #expect(shared.withLock { $0.writing })
        let start = ContinuousClock.now
        let seen = try AuditLog(store: store).recent().map(\.action)
        let waited = ContinuousClock.now - start
        let writerStillInside = shared.withLock { state -> Bool in
            let inside = !state.readDone
            state.readDone = true
            return inside
        }
        writer.join()
        #expect(shared.withLock { $0.failure } == nil)
        #expect(writerStillInside, "the read finished while the write transaction was open")
        #expect(waited < .milliseconds(500), "the read waited \(waited)")
        #expect(seen == ["before"], "a reader sees the last commit, not the open transaction")
        #expect(try AuditLog(store: store).recent().map(\.action) == ["during", "before"], "and the commit once it is made")
    }

    @Test func writeIfIdleSkipsWhileAnotherWriteRuns() throws {
        let dir = TemporaryDirectory(); defer { dir.remove() }
        let store = try Store.open(dir.file("camhost.db"))
        let inner = try store.write { _ in try store.writeIfIdle { _ in 1 } }
        #expect(inner == nil)
        #expect(try store.writeIfIdle { _ in 2 } == 2)
    }

    @Test func versionChangesWithOwnAndOtherWrites() throws {
        let dir = TemporaryDirectory(); defer { dir.remove() }
        let path = dir.file("camhost.db")
        let store = try Store.open(path)
        let first = try store.version(othersRecheck: .zero)
        try AuditLog(store: store).append(actor: "test", action: "own", outcome: .success)
        let second = try store.version(othersRecheck: .seconds(60))
        #expect(second != first, "own writes show at once")
        let other = try Store.open(path)
        try AuditLog(store: other).append(actor: "test", action: "other", outcome: .success)
        #expect(try store.version(othersRecheck: .seconds(60)) == second, "another connection's commit waits for the recheck")
        #expect(try store.version(othersRecheck: .zero) != second)
    }

    @Test func readersAreReadOnlyAndWALIsUsed() throws {
        let dir = TemporaryDirectory(); defer { dir.remove() }
        let store = try Store.open(dir.file("camhost.db"))
        #expect(try store.withDatabase { try $0.journalMode() } == "wal")
        #expect(try store.ping())
        let error = try #require(throws: SQLiteError.self) {
            try store.read { try $0.execute("CREATE TEMP TABLE t (x)") }
        }
        #expect(error.code == .readOnly)
    }
}

@Suite struct Timestamps {
    @Test func matchesSQLiteStrftime() throws {
        let db = try Database(path: ":memory:")
        for milliseconds: Int64 in [0, 1, 999, 86_399_999, 951_782_400_000, 1_709_164_800_123, 4_102_444_799_999, -86_400_000,
                                    -62_135_596_800_000, 253_402_300_799_999] {
            let expected = try db.scalar("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', ? / 1000.0, 'unixepoch')", milliseconds, as: String.self)
            #expect(Timestamp.iso8601(unixMilliseconds: milliseconds) == expected, "\(milliseconds) ms")
        }
        let now = Timestamp.iso8601(secondsAgo: 0)
        let sqliteNow = try #require(try db.scalar("SELECT strftime('%Y-%m-%dT%H:%M:%S', 'now')", as: String.self))
        #expect(now.hasPrefix(String(sqliteNow.prefix(16))))
    }
}

@Suite struct RecordingLists {
    @Test func filterSelectsOrdersAndCounts() throws {
        let dir = TemporaryDirectory(); defer { dir.remove() }
        let store = try Store.open(dir.file("camhost.db"))
        try store.write { db in
            for camera in ["gate", "yard"] {
                try db.execute("INSERT INTO cameras (id, name, profile, address) VALUES (?, ?, 'p', '')", camera, camera)
            }
            for day in 1...9 {
                for camera in ["gate", "yard"] {
                    try db.execute("INSERT INTO recordings (camera_id, path, start_at, end_at, bytes) VALUES (?, ?, ?, ?, 10)",
                                   camera, Array("\(camera)/\(day).mp4".utf8), "2025-11-0\(day)T23:59:00.000Z", "2025-11-0\(day)T23:59:30.000Z")
                }
            }
        }
        let index = RecordingIndex(store: store, root: dir.path)
        let all = try index.list(RecordingIndex.Filter())
        #expect(all.total == 18 && all.recordings.count == 18)
        #expect(all.recordings.first?.endAt == "2025-11-01T23:59:30.000Z")
        let page = try index.list(.init(camera: "gate", since: "2025-11-03", until: "2025-11-07", limit: 2, offset: 1, order: .newestFirst))
        #expect(page.total == 5)
        #expect(page.recordings.map(\.startAt) == ["2025-11-06T23:59:00.000Z", "2025-11-05T23:59:00.000Z"])
        #expect(try index.list(.init(offset: 30)).total == 18)
        #expect(try index.list(camera: "yard", since: "2025-11-09").map(\.cameraID) == ["yard"])
        #expect(try index.cameraIDs() == ["gate", "yard"])
        #expect(try index.usage().map(\.bytes) == [90, 90])
    }
}
