/// One registered recording: a row of `recordings`.
public struct Recording: Sendable, Equatable {
    public var id: Int64
    public var cameraID: String
    /// Relative to the recordings root, raw bytes.
    public var path: [UInt8]
    /// UTC ISO 8601 with milliseconds.
    public var startAt: String
    public var endAt: String
    public var durationMilliseconds: Int64?
    public var bytes: Int64
    public var codec: String?
    public var thumbnail: [UInt8]?
    public var isProtected: Bool
}

/// What a scan found and registered.
public struct ScanReport: Sendable, Equatable {
    public var filesSeen = 0
    public var directoriesSeen = 0
    public var registered = 0
    public var thumbnailsLinked = 0
    /// Recording files left alone because they are still being written (recent or open).
    public var unsettled = 0
    /// Recordings whose duration or codec ffprobe filled in.
    public var probed = 0
    /// Thumbnails ffmpeg made.
    public var thumbnailsMade = 0
    /// Said once per scan: a media tool is missing or switched off.
    public var notes: [String] = []
    public var errors: [PathError] = []
    public var durationMilliseconds: Int64 = 0

    public func json() -> String {
        "{\"files_seen\":\(filesSeen),\"directories_seen\":\(directoriesSeen),\"registered\":\(registered),"
            + "\"thumbnails_linked\":\(thumbnailsLinked),\"unsettled\":\(unsettled),\"probed\":\(probed),"
            + "\"thumbnails_made\":\(thumbnailsMade),\"notes\":[" + notes.map(JSON.string).joined(separator: ",") + "],\"errors\":["
            + errors.map { "{\"path\":\(JSON.string($0.path)),\"error\":\(JSON.string($0.error))}" }.joined(separator: ",")
            + "],\"duration_ms\":\(durationMilliseconds)}"
    }
}

/// The recordings root and its index in the database: walks the tree, registers new recording
/// files (camera = first directory under the root), links thumbnails, lists recordings.
///
/// Layout: `<root>/<camera id>/.../<name>.webm|.mp4|.mkv`; thumbnails at
/// `<root>/.thumbnails/<recording path>.jpg`. Nothing below the root is reached through a
/// symbolic link. Blocking: call from a thread that may block, not from a Swift `Task`.
public struct RecordingIndex: Sendable {
    public static let thumbnailDirectory: [UInt8] = Array(".thumbnails".utf8)
    public static let mediaExtensions: Set<String> = ["webm", "mp4", "mkv"]

    public let store: Store
    public let root: String

    public init(store: Store, root: String) {
        self.store = store
        self.root = root
    }

    /// The thumbnail path for a recording path.
    public static func thumbnailPath(for path: [UInt8]) -> [UInt8] {
        thumbnailDirectory + [0x2F] + path + Array(".jpg".utf8)
    }

    /// Walks the root and registers settled recording files that have no row yet, one directory
    /// at a time against the index (`IndexScan`); links thumbnails found at `.thumbnails/<path>.jpg`.
    /// With `media`, then fills durations and codecs and makes missing thumbnails (`MediaScan`).
    public func scan(settleSeconds: Int = 60, now: Int64? = nil, media: MediaTools? = nil) throws -> ScanReport {
        let started = FileOps.monotonicMilliseconds()
        let rootFD: Int32
        switch FileOps.openRoot(root) {
        case .success(let fd): rootFD = fd
        case .failure(let error): throw error
        }
        defer { FileOps.close(rootFD) }
        let settled = ((now ?? FileOps.now()) - Int64(settleSeconds)) * 1_000_000_000
        let busy = openFiles()
        let scan = try IndexScan(store: store, rootFD: rootFD, settled: settled, busy: busy)
        try scan.run()
        var report = scan.report
        if let media { try MediaScan(store: store, tools: media, rootFD: rootFD).run(report: &report) }
        report.durationMilliseconds = FileOps.monotonicMilliseconds() - started
        return report
    }

    /// Files under the root some process holds open (a recorder still writing), relative to the root.
    func openFiles() -> Set<[UInt8]> {
        guard let canonicalRoot = FileOps.canonical(root) else { return [] }
        let prefix = canonicalRoot + [0x2F]
        return Set(FileOps.openFiles(under: prefix).map { Array($0.dropFirst(prefix.count)) })
    }

    /// Which recordings a list shows, in which order, which page.
    public struct Filter: Sendable, Hashable {
        public enum Order: Sendable, Hashable { case oldestFirst, newestFirst }
        /// Only this camera's.
        public var camera: String?
        /// Only those that end at or after this UTC ISO 8601 prefix (`2025-11-01`, `2025-11-01T08:00`).
        public var since: String?
        /// Only those that start at or before the end of this UTC ISO 8601 prefix (`2025-11-30`
        /// includes all of that day).
        public var until: String?
        /// At most this many (nil: all), after skipping `offset`.
        public var limit: Int?
        public var offset = 0
        /// By end time, then id.
        public var order = Order.oldestFirst

        public init(camera: String? = nil, since: String? = nil, until: String? = nil, limit: Int? = nil, offset: Int = 0,
                    order: Order = .oldestFirst) {
            self.camera = camera
            self.since = since
            self.until = until
            self.limit = limit
            self.offset = offset
            self.order = order
        }
    }

    /// One page of a list, and how many recordings match the filter in all.
    public struct Page: Sendable, Equatable {
        public var recordings: [Recording]
        public var total: Int
    }

    /// The recordings `filter` selects, and their total, from one snapshot (a reader connection:
    /// never waits for a cleanup or a scan).
    public func list(_ filter: Filter) throws -> Page {
        try store.read { db in
            // '~' sorts after every character of a timestamp: the end of the `until` prefix.
            let arguments: [DatabaseValue] = [filter.camera.databaseValue, filter.since.databaseValue,
                                              filter.until.map { .text($0 + "~") } ?? .null]
            let where_ = "(?1 IS NULL OR camera_id = ?1) AND (?2 IS NULL OR end_at >= ?2) AND (?3 IS NULL OR start_at <= ?3)"
            let order = filter.order == .oldestFirst ? "end_at, id" : "end_at DESC, id DESC"
            let statement = try db.prepare("SELECT \(Self.columns) FROM recordings WHERE \(where_) ORDER BY \(order) LIMIT ?4 OFFSET ?5")
            try statement.bind(arguments + [.integer(Int64(filter.limit ?? -1)), .integer(Int64(max(filter.offset, 0)))])
            var recordings: [Recording] = []
            if let limit = filter.limit { recordings.reserveCapacity(min(limit, 1000)) }
            while try statement.step() { recordings.append(Self.recording(statement)) }
            let total: Int
            if filter.offset == 0, filter.limit.map({ recordings.count < $0 }) ?? true {
                total = recordings.count
            } else {
                let count = try db.prepare("SELECT count(*) FROM recordings WHERE \(where_)")
                try count.bind(arguments)
                total = try count.step() ? Int(Int64.decode(from: count.value(at: 0)) ?? 0) : 0
            }
            return Page(recordings: recordings, total: total)
        }
    }

    /// Recordings, oldest first; `since` is an ISO 8601 prefix compared with `end_at`.
    public func list(camera: String? = nil, since: String? = nil, limit: Int? = nil) throws -> [Recording] {
        try list(Filter(camera: camera, since: since, limit: limit)).recordings
    }

    /// The recording with this id, or nil.
    public func recording(id: Int64) throws -> Recording? {
        try store.read { db in
            let statement = try db.prepare("SELECT \(Self.columns) FROM recordings WHERE id = ?")
            try statement.bind([.integer(id)])
            return try statement.step() ? Self.recording(statement) : nil
        }
    }

    /// The cameras that have recordings, by id.
    public func cameraIDs() throws -> [String] {
        try store.read { db in try db.query("SELECT DISTINCT camera_id FROM recordings ORDER BY camera_id").map { try $0.get(0, as: String.self) } }
    }

    /// How many recordings and bytes one camera holds.
    public struct Usage: Sendable, Equatable {
        public var camera: String
        public var count: Int64
        public var bytes: Int64
    }

    /// Recordings and bytes per camera, by camera id.
    public func usage() throws -> [Usage] {
        try store.read { db in
            try db.query("SELECT camera_id, count(*), coalesce(sum(bytes), 0) FROM recordings GROUP BY camera_id ORDER BY camera_id").map {
                Usage(camera: try $0.get(0), count: try $0.get(1), bytes: try $0.get(2))
            }
        }
    }

    /// Bytes of recordings ending on each of the last `days` days (UTC, today last).
    public func bytesPerDay(days: Int) throws -> [(day: String, bytes: Int64)] {
        try store.read { db in
            let rows = try db.query("""
                SELECT substr(end_at, 1, 10) AS day, sum(bytes) FROM recordings
                WHERE end_at >= strftime('%Y-%m-%d', 'now', ?) GROUP BY day ORDER BY day
                """, "-\(days - 1) days")
            let found = Dictionary(uniqueKeysWithValues: try rows.map { (try $0.get(0, as: String.self), try $0.get(1, as: Int64.self)) })
            let dayList = try (0..<days).reversed().map { offset in
                try db.scalar("SELECT strftime('%Y-%m-%d', 'now', ?)", "-\(offset) days", as: String.self) ?? ""
            }
            return dayList.map { ($0, found[$0] ?? 0) }
        }
    }

    /// Marks a recording as protected (never deleted by retention) or not.
    @discardableResult
    public func setProtected(_ id: Int64, _ isProtected: Bool) throws -> Bool {
        try store.write { db in
            try db.execute("UPDATE recordings SET protected = ? WHERE id = ?", isProtected, id)
            return db.changes == 1
        }
    }

    /// The columns every query that reads recordings selects, in the order `recording(_:)` reads them.
    public static let columns = "id, camera_id, path, start_at, end_at, duration_ms, bytes, codec, thumbnail, protected"

    /// One recording from a statement that selected `columns`.
    public static func recording(_ statement: Statement) -> Recording {
        func bytes(_ index: Int) -> [UInt8]? {
            switch statement.value(at: index) {
            case .blob(let b): return b
            case .text(let t): return Array(t.utf8)
            default: return nil
            }
        }
        return Recording(
            id: Int64.decode(from: statement.value(at: 0)) ?? 0,
            cameraID: String.decode(from: statement.value(at: 1)) ?? "",
            path: bytes(2) ?? [],
            startAt: String.decode(from: statement.value(at: 3)) ?? "",
            endAt: String.decode(from: statement.value(at: 4)) ?? "",
            durationMilliseconds: Int64.decode(from: statement.value(at: 5)),
            bytes: Int64.decode(from: statement.value(at: 6)) ?? 0,
            codec: String.decode(from: statement.value(at: 7)),
            thumbnail: bytes(8),
            isProtected: Bool.decode(from: statement.value(at: 9)) ?? false)
    }

    // MARK: Walking

    enum FileKind: Int64 { case media = 1, thumbnail = 2, other = 3 }

    /// For a cleanup's plan: fills `temp.seen_files` (every regular file) and `temp.seen_dirs`
    /// (every directory below the root, with its entry count) on the writer connection. The
    /// walk (`TreeWalk`) holds no lock: what it found is written `rowsPerFlush` rows at a time,
    /// each in a short transaction of the temp schema (no lock on the database file).
    func walk(rootFD: Int32, report: inout ScanReport) throws {
        try store.withDatabase { db in
            try db.execute(script: """
                DROP TABLE IF EXISTS temp.seen_files;
                DROP TABLE IF EXISTS temp.seen_dirs;
                CREATE TEMP TABLE seen_files (path BLOB NOT NULL, size INTEGER, modified INTEGER, kind INTEGER, busy INTEGER);
                CREATE TEMP TABLE seen_dirs (path BLOB NOT NULL, modified INTEGER, entries INTEGER);
                """)
        }
        var files: [DatabaseValue] = []   // path, size, modified, kind; flattened
        var directories: [DatabaseValue] = []   // path, modified, entries
        func flush() throws {
            guard !files.isEmpty || !directories.isEmpty else { return }
            let (fileRows, directoryRows) = (files, directories)
            files.removeAll(keepingCapacity: true)
            directories.removeAll(keepingCapacity: true)
            try store.withDatabase { db in
                try db.inTransaction(.deferred) { db in
                    let insertFile = try db.prepare("INSERT INTO temp.seen_files (path, size, modified, kind, busy) VALUES (?, ?, ?, ?, 0)")
                    for row in stride(from: 0, to: fileRows.count, by: 4) { try insertFile.execute(Array(fileRows[row..<row + 4])) }
                    let insertDirectory = try db.prepare("INSERT INTO temp.seen_dirs (path, modified, entries) VALUES (?, ?, ?)")
                    for row in stride(from: 0, to: directoryRows.count, by: 3) { try insertDirectory.execute(Array(directoryRows[row..<row + 3])) }
                }
            }
        }
        try TreeWalk(rootFD: rootFD, statEveryFile: true).run(report: &report) { listing in
            if !listing.path.isEmpty {
                directories += [.blob(listing.path), .integer(listing.modified), .integer(Int64(listing.entries))]
            }
            for file in listing.files {
                let kind: FileKind = listing.inThumbnails ? .thumbnail : Self.isMedia(file.name) ? .media : .other
                files += [.blob(RecordingPath.join(listing.path, file.name)), .integer(file.size ?? 0), .integer(file.modified ?? 0),
                          .integer(kind.rawValue)]
            }
            if files.count >= Self.rowsPerFlush * 4 { try flush() }
        }
        try flush()
        // Appending rows and sorting once for the index costs far less I/O than inserting
        // 100k paths into a B-tree in readdir's hash order.
        try store.withDatabase { db in try db.execute("CREATE UNIQUE INDEX temp.seen_files_path ON seen_files (path)") }
    }

    /// Rows a walk or scan writes per transaction.
    static let rowsPerFlush = 4096

    static func isMedia(_ name: [UInt8]) -> Bool {
        guard let dot = name.lastIndex(of: 0x2E), dot > 0 else { return false }
        let ext = String(decoding: name[(dot + 1)...], as: UTF8.self).lowercased()
        return mediaExtensions.contains(ext)
    }

    /// The camera id of a stored path: its first component, or `unassigned` for files directly in the root.
    static let cameraSQL = "CASE WHEN instr(s.path, x'2f') > 0 THEN CAST(substr(s.path, 1, instr(s.path, x'2f') - 1) AS TEXT) ELSE 'unassigned' END"
    static let thumbnailSQL = "CAST(x'2e7468756d626e61696c732f' || s.path || '.jpg' AS BLOB)"

    /// Registers settled, non-empty recording files that have no row and no pending deletion.
    func register(_ db: Database, now: Int64, settleSeconds: Int, report: inout ScanReport) throws {
        try markBusy(db)
        let settled = (now - Int64(settleSeconds)) * 1_000_000_000
        let newFiles = """
            FROM temp.seen_files s WHERE s.kind = 1 AND s.size > 0 AND s.busy = 0 AND s.modified < ?1
              AND NOT EXISTS (SELECT 1 FROM recordings r WHERE r.path = s.path)
              AND NOT EXISTS (SELECT 1 FROM deletion_ledger l WHERE l.path = s.path)
            """
        try db.execute("INSERT OR IGNORE INTO cameras (id, name, profile, address) SELECT DISTINCT \(Self.cameraSQL), \(Self.cameraSQL), 'unknown', '' \(newFiles)", settled)
        let before = try db.scalar("SELECT coalesce(max(id), 0) FROM recordings", as: Int64.self) ?? 0
        try db.execute("""
            INSERT INTO recordings (camera_id, path, start_at, end_at, bytes, thumbnail)
            SELECT \(Self.cameraSQL), s.path,
                   strftime('%Y-%m-%dT%H:%M:%fZ', (s.modified / 1000000) / 1000.0, 'unixepoch'),
                   strftime('%Y-%m-%dT%H:%M:%fZ', (s.modified / 1000000) / 1000.0, 'unixepoch'),
                   s.size,
                   (SELECT t.path FROM temp.seen_files t WHERE t.path = \(Self.thumbnailSQL) AND t.kind = 2)
            \(newFiles) ORDER BY s.path
            """, settled)
        report.registered += db.changes
        report.thumbnailsLinked += try db.scalar("SELECT count(*) FROM recordings WHERE id > ? AND thumbnail IS NOT NULL", before, as: Int.self) ?? 0
        try db.execute("""
            UPDATE recordings SET thumbnail = (SELECT t.path FROM temp.seen_files t
                WHERE t.path = CAST(x'2e7468756d626e61696c732f' || recordings.path || '.jpg' AS BLOB) AND t.kind = 2)
            WHERE thumbnail IS NULL AND EXISTS (SELECT 1 FROM temp.seen_files t
                WHERE t.path = CAST(x'2e7468756d626e61696c732f' || recordings.path || '.jpg' AS BLOB) AND t.kind = 2)
            """)
        report.thumbnailsLinked += db.changes
        report.unsettled += try db.scalar("""
            SELECT count(*) FROM temp.seen_files s WHERE s.kind = 1 AND s.size > 0 AND (s.busy = 1 OR s.modified >= ?)
              AND NOT EXISTS (SELECT 1 FROM recordings r WHERE r.path = s.path)
            """, settled, as: Int.self) ?? 0
    }

    /// Marks files some process holds open (a recorder still writing) as busy.
    func markBusy(_ db: Database) throws {
        let open = openFiles()
        guard !open.isEmpty else { return }
        let update = try db.prepare("UPDATE temp.seen_files SET busy = 1 WHERE path = ?")
        for path in open { try update.execute([.blob(path)]) }
    }

    func dropScratch(_ db: Database) throws {
        try db.execute(script: "DROP TABLE IF EXISTS temp.seen_files; DROP TABLE IF EXISTS temp.seen_dirs;")
    }
}
