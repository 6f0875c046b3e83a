import CSQLite

/// A prepared SQL statement; owns its `sqlite3_stmt` and finalizes it when released.
public final class Statement {
    public let sql: String
    /// Keeps the connection alive as long as the statement exists.
    private let database: Database
    private let handle: OpaquePointer

    init(database: Database, sql: String) throws {
        var statement: OpaquePointer?
        var tail: UnsafePointer<CChar>?
        let rc = sql.withCString { sqlite3_prepare_v2(database.handle, $0, -1, &statement, &tail) }
        guard rc == SQLITE_OK, let statement else {
            sqlite3_finalize(statement)
            throw database.error(rc, sql: sql)
        }
        if let tail, tail.pointee != 0, !String(cString: tail).allSatisfy(\.isWhitespace) {
            sqlite3_finalize(statement)
            throw SQLiteError(code: .misuse,
                message: "one statement expected; use execute(script:) for several",
                sql: sql, path: database.path)
        }
        self.database = database
        self.sql = sql
        self.handle = statement
    }

    deinit { sqlite3_finalize(handle) }

    public var columnCount: Int { Int(sqlite3_column_count(handle)) }

    public var columnNames: [String] {
        (0..<sqlite3_column_count(handle)).map { String(cString: sqlite3_column_name(handle, $0)) }
    }

    /// Whether the statement leaves the database unchanged (`sqlite3_stmt_readonly`).
    public var isReadOnly: Bool { sqlite3_stmt_readonly(handle) != 0 }

    /// Resets the statement and binds positional parameters (`?`, `?NNN`, `:name` in order).
    public func bind(_ arguments: [DatabaseValue]) throws {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        let expected = Int(sqlite3_bind_parameter_count(handle))
        guard arguments.count == expected else {
            throw SQLiteError(code: .range,
                message: "statement takes \(expected) argument(s), \(arguments.count) given",
                sql: sql, path: database.path)
        }
        for (offset, value) in arguments.enumerated() {
            let rc = bind(value, at: Int32(offset + 1))
            guard rc == SQLITE_OK else { throw database.error(rc, sql: sql) }
        }
    }

    private func bind(_ value: DatabaseValue, at index: Int32) -> Int32 {
        switch value {
        case .null:
            return sqlite3_bind_null(handle, index)
        case .integer(let v):
            return sqlite3_bind_int64(handle, index, v)
        case .real(let v):
            return sqlite3_bind_double(handle, index, v)
        case .text(var v):
            // withUTF8 keeps embedded NULs; an empty string has no base address, and a null
            // pointer would bind NULL instead of ''.
            return v.withUTF8 { bytes in
                guard let base = bytes.baseAddress, bytes.count > 0 else {
                    return csqlite_bind_text_transient(handle, index, "", 0)
                }
                return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                    csqlite_bind_text_transient(handle, index, $0, Int32(bytes.count))
                }
            }
        case .blob(let v):
            return v.withUnsafeBytes { bytes in
                guard let base = bytes.baseAddress, bytes.count > 0 else {
                    return sqlite3_bind_zeroblob(handle, index, 0)
                }
                return csqlite_bind_blob_transient(handle, index, base, Int32(bytes.count))
            }
        }
    }

    /// Advances to the next row: true when a row is available, false when done.
    public func step() throws -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let rc:
            let error = database.error(rc, sql: sql)
            sqlite3_reset(handle)
            throw error
        }
    }

    public func reset() { sqlite3_reset(handle) }

    /// The value of a column of the current row.
    public func value(at index: Int) -> DatabaseValue {
        let i = Int32(index)
        switch sqlite3_column_type(handle, i) {
        case SQLITE_INTEGER:
            return .integer(sqlite3_column_int64(handle, i))
        case SQLITE_FLOAT:
            return .real(sqlite3_column_double(handle, i))
        case SQLITE_TEXT:
            let count = Int(sqlite3_column_bytes(handle, i))
            guard let text = sqlite3_column_text(handle, i) else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(handle, i))
            guard let blob = sqlite3_column_blob(handle, i), count > 0 else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: blob, count: count)))
        default:
            return .null
        }
    }

    /// The current row, copied out.
    public func row(columnNames names: [String]? = nil) -> Row {
        let names = names ?? columnNames
        return Row(columnNames: names, values: (0..<names.count).map { value(at: $0) })
    }

    /// Binds, runs to completion and discards any rows.
    public func execute(_ arguments: [DatabaseValue] = []) throws {
        try bind(arguments)
        while try step() {}
        sqlite3_reset(handle)
    }

    /// Binds, runs and returns every row.
    public func rows(_ arguments: [DatabaseValue] = []) throws -> [Row] {
        try bind(arguments)
        let names = columnNames
        var rows: [Row] = []
        while try step() { rows.append(row(columnNames: names)) }
        sqlite3_reset(handle)
        return rows
    }
}
