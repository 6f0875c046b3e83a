/// One pass of `RecordingIndex.scan`: walks the root one directory at a time and merges each
/// directory's sorted listing with the sorted index rows of that directory, so only one
/// directory is ever held in memory and nothing is written but new rows (no scratch table: on a
/// slow disk, 200k scratch rows spilled to a temporary file and cost more than the walk).
///
/// Blocking; runs on the caller's connection inside `Store.withDatabase`.
final class IndexScan {
    private let db: Database
    /// Files modified at or after this (nanoseconds since 1970) are still being written.
    private let settled: Int64
    /// Paths (relative to the root) some process holds open.
    private let busy: Set<[UInt8]>
    /// Paths with a pending deletion in the ledger: never registered again.
    private let pending: Set<[UInt8]>
    private(set) var report = ScanReport()

    private let rowsBetween: Statement
    private let rowsFrom: Statement
    private let insertRecording: Statement
    private let insertCamera: Statement
    private let linkThumbnail: Statement
    private var cameras: Set<[UInt8]> = []

    /// Writes go in large transactions: committed after this many rows or this long.
    private static let rowsPerTransaction = 20_000
    private static let millisecondsPerTransaction: Int64 = 500
    private var transactionRows = 0
    private var transactionStarted: Int64 = 0

    init(_ db: Database, settled: Int64, busy: Set<[UInt8]>) throws {
        self.db = db
        self.settled = settled
        self.busy = busy
        var pending: Set<[UInt8]> = []
        for row in try db.query("SELECT path FROM deletion_ledger") {
            if let path = [UInt8].decode(from: row.values[0]) { pending.insert(path) }
        }
        self.pending = pending
        rowsBetween = try db.prepare("SELECT path, thumbnail IS NULL FROM recordings WHERE path >= ?1 AND path < ?2 ORDER BY path")
        rowsFrom = try db.prepare("SELECT path, thumbnail IS NULL FROM recordings WHERE path >= ?1 ORDER BY path")
        // CAST(... AS TEXT): the camera id keeps the directory name's bytes, UTF-8 or not.
        insertRecording = try db.prepare("""
            INSERT INTO recordings (camera_id, path, start_at, end_at, bytes, thumbnail)
            VALUES (CAST(?1 AS TEXT), ?2, strftime('%Y-%m-%dT%H:%M:%fZ', ?3 / 1000.0, 'unixepoch'),
                    strftime('%Y-%m-%dT%H:%M:%fZ', ?3 / 1000.0, 'unixepoch'), ?4, ?5)
            ON CONFLICT DO NOTHING
            """)
        insertCamera = try db.prepare("INSERT OR IGNORE INTO cameras (id, name, profile, address) VALUES (CAST(?1 AS TEXT), CAST(?1 AS TEXT), 'unknown', '')")
        linkThumbnail = try db.prepare("UPDATE recordings SET thumbnail = ?2 WHERE path = ?1 AND thumbnail IS NULL")
    }

    /// Walks everything below `rootFD`; commits what it registered, or rolls back and rethrows.
    func run(rootFD: Int32) throws {
        let thumbnailsFD = try? FileOps.openDirectory(rootFD, RecordingIndex.thumbnailDirectory).get()
        defer { if let thumbnailsFD { FileOps.close(thumbnailsFD) } }
        do {
            try visit(rootFD, [], thumbnailsFD: thumbnailsFD)
            if db.isInTransaction { try db.execute("COMMIT") }
        } catch {
            if db.isInTransaction { try? db.execute("ROLLBACK") }
            throw error
        }
    }

    private struct MediaFile {
        var name: [UInt8]
        var size: Int64
        var modified: Int64
    }

    /// One directory: list it, register its new recordings, then its subdirectories in name order.
    /// `thumbnailsFD`: the matching directory under `.thumbnails`, when there is one.
    private func visit(_ fd: Int32, _ path: [UInt8], thumbnailsFD: Int32?) throws {
        var media: [MediaFile] = []
        var subdirectories: [[UInt8]] = []
        let code = FileOps.entries(fd) { name, hinted in
            let child = RecordingPath.join(path, name)
            var kind = hinted
            var status: FileOps.Status?
            let isMedia = RecordingIndex.isMedia(name)
            if kind == nil || (kind == .file && isMedia) {
                switch FileOps.status(fd, name) {
                case .success(let s): status = s; kind = s.kind
                case .failure(.noEntry): return
                case .failure(let code):
                    report.errors.append(PathError(FileError(operation: "stat", path: child, errno: code.code)))
                    return
                }
            }
            switch kind {
            case .file:
                report.filesSeen += 1
                if isMedia, let status { media.append(MediaFile(name: name, size: status.size, modified: status.modified)) }
            case .directory:
                subdirectories.append(name)
            case .symlink:
                report.errors.append(.symbolicLink(child))
            default:
                report.errors.append(.notRegular(child))
            }
        }
        if let code {
            report.errors.append(PathError(FileError(operation: "read directory", path: path, errno: code.code)))
        }
        subdirectories.sort { $0.lexicographicallyPrecedes($1) }
        if !media.isEmpty {
            media.sort { $0.name.lexicographicallyPrecedes($1.name) }
            try merge(media, in: path, subdirectories: subdirectories, thumbnailsFD: thumbnailsFD)
        }
        try commitIfDue()
        for name in subdirectories {
            let child = RecordingPath.join(path, name)
            let childFD: Int32
            switch FileOps.openDirectory(fd, name) {
            case .success(let opened): childFD = opened
            case .failure(let code):
                report.errors.append(PathError(FileError(operation: "open directory", path: child, errno: code.code)))
                continue
            }
            defer { FileOps.close(childFD) }
            report.directoriesSeen += 1
            if path.isEmpty && name == RecordingIndex.thumbnailDirectory {
                count(childFD, child)
                continue
            }
            let childThumbnails = thumbnailsFD.flatMap { try? FileOps.openDirectory($0, name).get() }
            defer { if let childThumbnails { FileOps.close(childThumbnails) } }
            try visit(childFD, child, thumbnailsFD: childThumbnails)
        }
    }

    /// The `.thumbnails` tree: counted and checked for links, nothing registered.
    private func count(_ fd: Int32, _ path: [UInt8]) {
        var subdirectories: [[UInt8]] = []
        let code = FileOps.entries(fd) { name, hinted in
            var kind = hinted
            if kind == nil { kind = try? FileOps.status(fd, name).get().kind }
            switch kind {
            case .file: report.filesSeen += 1
            case .directory: subdirectories.append(name)
            case .symlink:
                report.errors.append(.symbolicLink(RecordingPath.join(path, name)))
            case nil: break
            default:
                report.errors.append(.notRegular(RecordingPath.join(path, name)))
            }
        }
        if let code { report.errors.append(PathError(FileError(operation: "read directory", path: path, errno: code.code))) }
        for name in subdirectories {
            let child = RecordingPath.join(path, name)
            switch FileOps.openDirectory(fd, name) {
            case .success(let childFD):
                report.directoriesSeen += 1
                count(childFD, child)
                FileOps.close(childFD)
            case .failure(let code):
                report.errors.append(PathError(FileError(operation: "open directory", path: child, errno: code.code)))
            }
        }
    }

    /// Merges a directory's media files (sorted) with its rows (sorted): files without a row are
    /// registered when settled; rows without a linked thumbnail get one when it exists now.
    private func merge(_ media: [MediaFile], in path: [UInt8], subdirectories: [[UInt8]], thumbnailsFD: Int32?) throws {
        let prefix = path.isEmpty ? [] : path + [0x2F]
        let rows = try directRows(prefix: prefix, subdirectories: subdirectories)
        var thumbnails: Set<[UInt8]>?
        func thumbnail(for name: [UInt8]) -> [UInt8]? {
            if thumbnails == nil { thumbnails = Self.fileNames(thumbnailsFD) }
            guard thumbnails!.contains(name + Array(".jpg".utf8)) else { return nil }
            return RecordingIndex.thumbnailPath(for: prefix + name)
        }
        let camera = path.isEmpty ? Array("unassigned".utf8) : Array(path.prefix { $0 != 0x2F })
        var r = 0
        for file in media {
            while r < rows.count, rows[r].name.lexicographicallyPrecedes(file.name) { r += 1 }
            let full = prefix + file.name
            if r < rows.count, rows[r].name == file.name {
                if rows[r].thumbnailIsNull, let link = thumbnail(for: file.name) {
                    try begin()
                    try linkThumbnail.execute([.blob(full), .blob(link)])
                    report.thumbnailsLinked += db.changes
                }
                continue
            }
            guard file.size > 0 else { continue }
            if busy.contains(full) || file.modified >= settled { report.unsettled += 1; continue }
            if pending.contains(full) { continue }
            try begin()
            if !cameras.contains(camera) {
                try insertCamera.execute([.blob(camera)])
                cameras.insert(camera)
            }
            let link = thumbnail(for: file.name)
            try insertRecording.execute([.blob(camera), .blob(full), .integer(file.modified / 1_000_000), .integer(file.size),
                                         link.map { .blob($0) } ?? .null])
            if db.changes == 1 {
                report.registered += 1
                transactionRows += 1
                if link != nil { report.thumbnailsLinked += 1 }
            }
        }
    }

    /// The rows of the files directly in a directory, sorted by name: the index range of the
    /// directory's prefix minus the ranges of its subdirectories (one seek per gap, so a camera's
    /// directory does not read all of its recordings' rows).
    private func directRows(prefix: [UInt8], subdirectories: [[UInt8]]) throws -> [(name: [UInt8], thumbnailIsNull: Bool)] {
        // `d/` .. `d0` ('0' follows '/') holds everything below subdirectory d.
        let excluded = subdirectories.map { prefix + $0 + [0x2F] }.sorted { $0.lexicographicallyPrecedes($1) }
        var rows: [(name: [UInt8], thumbnailIsNull: Bool)] = []
        var lower = prefix
        func read(upTo upper: [UInt8]?) throws {
            let statement = upper == nil ? rowsFrom : rowsBetween
            try statement.bind(upper.map { [.blob(lower), .blob($0)] } ?? [.blob(lower)])
            defer { statement.reset() }
            while try statement.step() {
                guard let path = [UInt8].decode(from: statement.value(at: 0)) else { continue }
                let name = path[prefix.count...]
                guard !name.isEmpty, !name.contains(0x2F) else { continue }   // rows of vanished subdirectories
                rows.append((Array(name), Int64.decode(from: statement.value(at: 1)) == 1))
            }
        }
        for range in excluded where !range.lexicographicallyPrecedes(lower) {
            try read(upTo: range)
            lower = range.dropLast() + [0x30]
        }
        try read(upTo: prefix.isEmpty ? nil : prefix.dropLast() + [0x30])
        return rows
    }

    /// Names of the regular files in a directory (thumbnails), or none.
    private static func fileNames(_ fd: Int32?) -> Set<[UInt8]> {
        guard let fd else { return [] }
        var names: Set<[UInt8]> = []
        _ = FileOps.entries(fd) { name, hinted in
            let kind = hinted ?? (try? FileOps.status(fd, name).get().kind)
            if kind == .file { names.insert(name) }
        }
        return names
    }

    private func begin() throws {
        guard !db.isInTransaction else { return }
        try db.execute("BEGIN IMMEDIATE")
        transactionRows = 0
        transactionStarted = FileOps.monotonicMilliseconds()
    }

    private func commitIfDue() throws {
        guard db.isInTransaction, transactionRows >= Self.rowsPerTransaction
            || FileOps.monotonicMilliseconds() - transactionStarted >= Self.millisecondsPerTransaction else { return }
        try db.execute("COMMIT")
    }
}
