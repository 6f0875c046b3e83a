import Testing
import Storage

@Suite struct BindingAndReading {
    let db: Database

    init() throws {
        db = try Database(path: ":memory:")
        try db.execute("CREATE TABLE v (id INTEGER PRIMARY KEY, a ANY, b ANY) STRICT")
    }

    func roundTrip(_ value: (any SQLBindable)?) throws -> DatabaseValue {
        try db.execute("DELETE FROM v")
        try db.execute("INSERT INTO v (a) VALUES (?)", value)
        return try #require(try db.query("SELECT a FROM v").first)[0]
    }

    @Test func scalarsRoundTrip() throws {
        #expect(try roundTrip(42) == .integer(42))
        #expect(try roundTrip(Int64.min) == .integer(.min))
        #expect(try roundTrip(Int64.max) == .integer(.max))
        #expect(try roundTrip(3.25) == .real(3.25))
        #expect(try roundTrip(true) == .integer(1))
        #expect(try roundTrip(false) == .integer(0))
        #expect(try roundTrip(nil) == .null)
        let missing: String? = nil
        #expect(try roundTrip(missing) == .null)
        let present: String? = "here"
        #expect(try roundTrip(present) == .text("here"))
    }

    @Test(arguments: ["", "plain", "héllo wörld", "日本語のテキスト", "emoji 📷🎥 zwj 👨‍👩‍👧", "nul\u{0}inside", "quote ' and \" and ;--"])
    func textRoundTrips(_ text: String) throws {
        #expect(try roundTrip(text) == .text(text))
        #expect(try db.scalar("SELECT length(CAST(a AS BLOB)) FROM v", as: Int.self) == text.utf8.count)
    }

    @Test func blobsKeepEveryByte() throws {
        let bytes: [UInt8] = [0, 1, 0, 255, 0, 0, 128, 0]
        #expect(try roundTrip(bytes) == .blob(bytes))
        let all = (0...255).map { UInt8($0) }
        #expect(try roundTrip(all) == .blob(all))
        #expect(try roundTrip([UInt8]()) == .blob([]), "empty blob is not NULL")
        #expect(try roundTrip("") == .text(""), "empty text is not NULL")
    }

    @Test func columnsByIndexAndName() throws {
        try db.execute("INSERT INTO v (a, b) VALUES (?, ?)", "name", 7)
        let row = try #require(try db.query("SELECT id, a AS Label, b FROM v").first)
        #expect(row.columnNames == ["id", "Label", "b"])
        #expect(try row.get(1, as: String.self) == "name")
        #expect(try row.get("Label", as: String.self) == "name")
        #expect(try row.get("label", as: String.self) == "name")
        #expect(try row.get("b", as: Int.self) == 7)
        #expect(try row.get("b", as: Double.self) == 7)
        #expect(try row.get("b", as: Int?.self) == 7)
        #expect(throws: SQLiteError.self) { try row.get("missing", as: Int.self) }
        #expect(throws: SQLiteError.self) { try row.get("Label", as: Int.self) }
        #expect(throws: SQLiteError.self) { try row.get(9, as: Int.self) }
    }

    @Test func nullReadsAsOptionalNilAndRefusesNonOptional() throws {
        try db.execute("INSERT INTO v (a) VALUES (NULL)")
        let row = try #require(try db.query("SELECT a FROM v").first)
        #expect(try row.get("a", as: String?.self) == nil)
        let error = try #require(throws: SQLiteError.self) { try row.get("a", as: String.self) }
        #expect(error.code == .mismatch)
    }

    @Test func scalarLastInsertRowIDAndChanges() throws {
        try db.execute("INSERT INTO v (a) VALUES (?)", 1)
        let first = db.lastInsertRowID
        try db.execute("INSERT INTO v (a) VALUES (?)", 2)
        #expect(db.lastInsertRowID == first + 1)
        try db.execute("UPDATE v SET b = 0")
        #expect(db.changes == 2)
        #expect(try db.scalar("SELECT sum(a) FROM v", as: Int.self) == 3)
        #expect(try db.scalar("SELECT a FROM v WHERE id = -1", as: Int.self) == nil)
    }

    @Test func argumentCountMismatchAndSyntaxErrorsCarryTheSQL() throws {
        let wrongCount = try #require(throws: SQLiteError.self) { try db.execute("INSERT INTO v (a) VALUES (?)", 1, 2) }
        #expect(wrongCount.code == .range)
        let syntax = try #require(throws: SQLiteError.self) { try db.execute("SELEC 1") }
        #expect(syntax.code == .error)
        #expect(syntax.sql == "SELEC 1")
        #expect(syntax.message.contains("syntax error"))
        #expect(throws: SQLiteError.self) { try db.execute("SELECT 1; SELECT 2") }
    }

    @Test func preparedStatementIsReusable() throws {
        let insert = try db.prepare("INSERT INTO v (a) VALUES (?)")
        for i in 0..<10 { try insert.execute([.integer(Int64(i))]) }
        let select = try db.prepare("SELECT a FROM v WHERE a >= ? ORDER BY a")
        #expect(try select.rows([5]).map { $0[0] } == [5, 6, 7, 8, 9])
        #expect(try select.rows([8]).count == 2)
    }
}

@Suite struct Transactions {
    struct Boom: Error {}

    @Test func writeRollsBackWhenBodyThrows() throws {
        let dir = TemporaryDirectory(); defer { dir.remove() }
        let store = try Store(path: dir.file("tx.db"))
        try store.write { try $0.execute("CREATE TABLE t (x INTEGER)") }
        #expect(throws: Boom.self) {
            try store.write { db in
                try db.execute("INSERT INTO t VALUES (1)")
                throw Boom()
            }
        }
        #expect(try store.read { try $0.scalar("SELECT count(*) FROM t", as: Int.self) } == 0)
        try store.write { try $0.execute("INSERT INTO t VALUES (2)") }
        #expect(try store.read { try $0.scalar("SELECT count(*) FROM t", as: Int.self) } == 1)
        #expect(try store.withDatabase { $0.isInTransaction } == false)
    }

    @Test func readRefusesWrites() throws {
        let dir = TemporaryDirectory(); defer { dir.remove() }
        let store = try Store(path: dir.file("ro.db"))
        try store.write { try $0.execute("CREATE TABLE t (x INTEGER)") }
        #expect(throws: SQLiteError.self) { try store.read { try $0.execute("INSERT INTO t VALUES (1)") } }
        try store.write { try $0.execute("INSERT INTO t VALUES (1)") }
    }

    @Test func storeIsUsableFromManyTasks() async throws {
        let dir = TemporaryDirectory(); defer { dir.remove() }
        let store = try Store(path: dir.file("tasks.db"))
        try store.write { try $0.execute("CREATE TABLE t (x INTEGER)") }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<8 {
                group.addTask { for j in 0..<25 { try store.write { try $0.execute("INSERT INTO t VALUES (?)", i * 100 + j) } } }
            }
            try await group.waitForAll()
        }
        #expect(try store.read { try $0.scalar("SELECT count(*) FROM t", as: Int.self) } == 200)
    }
}

@Suite struct Maintenance {
    @Test func sizeAndIncrementalVacuum() throws {
        let dir = TemporaryDirectory(); defer { dir.remove() }
        let store = try Store.open(dir.file("size.db"))
        try store.write { db in
            for _ in 0..<200 { try db.execute("INSERT INTO health_history (check_name, ok, detail) VALUES ('mqtt', 1, ?)", String(repeating: "d", count: 2000)) }
        }
        let full = try store.sizeInBytes()
        #expect(full > 200 * 2000)
        try store.write { try $0.execute("DELETE FROM health_history") }
        #expect(try store.withDatabase { try $0.freePageCount() } > 50)
        try store.incrementalVacuum(pages: 10)
        let partly = try store.sizeInBytes()
        #expect(partly == full - 10 * 4096)
        try store.incrementalVacuum()
        #expect(try store.withDatabase { try $0.freePageCount() } == 0)
        #expect(try store.sizeInBytes() < partly)
        try store.vacuum()
        #expect(try store.sizeInBytes() > 0)
    }
}

@Suite struct AuditLogTests {
    @Test func appendAndReadNewestFirst() throws {
        let dir = TemporaryDirectory(); defer { dir.remove() }
        let store = try Store.open(dir.file("audit.db"))
        let log = AuditLog(store: store)
        let first = try log.append(actor: "admin", action: "camera.reboot", target: "cam1", outcome: .success)
        let second = try log.append(actor: "viewer", action: "camera.mode", target: "cam2", detail: "night → day 🌙", outcome: .denied)
        #expect(second > first)

        let entries = try log.recent(limit: 10)
        #expect(entries.map(\.id) == [second, first])
        #expect(entries[0].actor == "viewer")
        #expect(entries[0].detail == "night → day 🌙")
        #expect(entries[0].outcome == .denied)
        #expect(entries[1].detail == nil)
        #expect(entries[1].at.hasSuffix("Z"))
        #expect(try log.recent(limit: 1).map(\.id) == [second])
        #expect(try log.recent(limit: 0).isEmpty)
    }
}
