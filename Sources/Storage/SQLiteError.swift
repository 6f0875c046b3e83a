import CSQLite

/// A failure reported by SQLite: its result codes, its own message, the SQL and the file involved.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    /// An SQLite result code, primary (`.busy`) or extended (`.constraintUnique`).
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        /// The primary code: the low byte of an extended code.
        public var primary: Code { Code(rawValue: rawValue & 0xFF) }
        public var isExtended: Bool { rawValue > 0xFF }

        public var description: String {
            "\(rawValue) (\(String(cString: sqlite3_errstr(rawValue))))"
        }

        public static let ok = Code(rawValue: SQLITE_OK)
        public static let error = Code(rawValue: SQLITE_ERROR)
        public static let `internal` = Code(rawValue: SQLITE_INTERNAL)
        public static let permission = Code(rawValue: SQLITE_PERM)
        public static let abort = Code(rawValue: SQLITE_ABORT)
        public static let busy = Code(rawValue: SQLITE_BUSY)
        public static let locked = Code(rawValue: SQLITE_LOCKED)
        public static let noMemory = Code(rawValue: SQLITE_NOMEM)
        public static let readOnly = Code(rawValue: SQLITE_READONLY)
        public static let interrupt = Code(rawValue: SQLITE_INTERRUPT)
        public static let ioError = Code(rawValue: SQLITE_IOERR)
        public static let corrupt = Code(rawValue: SQLITE_CORRUPT)
        public static let notFound = Code(rawValue: SQLITE_NOTFOUND)
        public static let full = Code(rawValue: SQLITE_FULL)
        public static let cantOpen = Code(rawValue: SQLITE_CANTOPEN)
        public static let `protocol` = Code(rawValue: SQLITE_PROTOCOL)
        public static let schema = Code(rawValue: SQLITE_SCHEMA)
        public static let tooBig = Code(rawValue: SQLITE_TOOBIG)
        public static let constraint = Code(rawValue: SQLITE_CONSTRAINT)
        public static let mismatch = Code(rawValue: SQLITE_MISMATCH)
        public static let misuse = Code(rawValue: SQLITE_MISUSE)
        public static let auth = Code(rawValue: SQLITE_AUTH)
        public static let range = Code(rawValue: SQLITE_RANGE)
        public static let notADatabase = Code(rawValue: SQLITE_NOTADB)

        // Extended codes worth matching on (sqlite3.h: "Extended Result Codes").
        public static let constraintCheck = Code(rawValue: SQLITE_CONSTRAINT | (1 << 8))
        public static let constraintForeignKey = Code(rawValue: SQLITE_CONSTRAINT | (3 << 8))
        public static let constraintNotNull = Code(rawValue: SQLITE_CONSTRAINT | (5 << 8))
        public static let constraintPrimaryKey = Code(rawValue: SQLITE_CONSTRAINT | (6 << 8))
        public static let constraintUnique = Code(rawValue: SQLITE_CONSTRAINT | (8 << 8))
        public static let busySnapshot = Code(rawValue: SQLITE_BUSY | (2 << 8))
        public static let readOnlyDatabaseMoved = Code(rawValue: SQLITE_READONLY | (4 << 8))

        /// `catch SQLiteError.Code.busy { ... }`: a primary code matches every extended code
        /// under it; an extended code matches only itself.
        public static func ~= (pattern: Code, error: any Error) -> Bool {
            guard let error = error as? SQLiteError else { return false }
            return pattern.isExtended ? error.extendedCode == pattern : error.code == pattern
        }
    }

    /// The primary result code; compare with `.busy`, `.constraint`, `.notADatabase`...
    public var code: Code { extendedCode.primary }
    /// The extended result code, e.g. `.constraintUnique`.
    public let extendedCode: Code
    /// SQLite's own message (`sqlite3_errmsg`), or ours when the failure is in the wrapper.
    public let message: String
    /// The SQL that failed, if any.
    public let sql: String?
    /// The database file, if known.
    public let path: String?

    public init(code: Code, message: String, sql: String? = nil, path: String? = nil) {
        self.extendedCode = code
        self.message = message
        self.sql = sql
        self.path = path
    }

    /// What a person should do about it, for the codes where there is something to do.
    public var remedy: String? {
        let file = path ?? "the database file"
        let moveAside = path.map { "mv '\($0)' '\($0).bad'" } ?? "mv FILE FILE.bad"
        switch code {
        case .notADatabase:
            return "The file is not an SQLite database (a wrong path, or it was overwritten); camhost did not "
                + "change it. Restore it from a backup, or move it aside (\(moveAside)) and camhost will create "
                + "an empty database on the next start."
        case .corrupt:
            return "The database is damaged; camhost did not change it. Restore it from a backup, or move it "
                + "aside together with its -wal and -shm files (\(moveAside)) and camhost will create an empty "
                + "database on the next start."
        case .busy, .locked:
            return "Another process holds a lock on \(file): check that only one camhost runs, or raise the busy timeout."
        case .readOnly, .permission, .cantOpen:
            return "Check that \(file) and its directory exist and are writable by the user camhost runs as."
        case .full:
            return "The disk holding \(file) is full: free space (run retention) and retry."
        default:
            return nil
        }
    }

    /// "database '/var/lib/camhost/camhost.db': file is not a database (SQLite code 26, in: SELECT ...). Restore ..."
    public var description: String {
        var text = path.map { "database '\($0)': \(message)" } ?? "SQLite: \(message)"
        text += " (SQLite code \(extendedCode.rawValue)"
        if let sql { text += ", in: \(sql.count > 200 ? sql.prefix(200) + "…" : sql)" }
        text += ")"
        if let remedy { text += ". " + remedy }
        return text
    }
}
