/// One pass of `RecordingIndex.scan`: walks the root one directory at a time (`TreeWalk`) and
/// merges each directory's sorted listing with the sorted index rows of that directory (read
/// on a reader connection), so only one directory is ever held in memory and nothing is
/// written but new rows (no scratch table: on a slow disk, 200k scratch rows spilled to a
/// temporary file and cost more than the walk). New rows are written in short batches; the
/// walk itself holds no lock.
///
/// Blocking: call from a thread that may block.
final class IndexScan {
    private let store: Store
    private let rootFD: Int32
    /// Files modified at or after this (nanoseconds since 1970) are still being written.
    private let settled: Int64
    /// Paths (relative to the root) some process holds open.
    private let busy: Set<[UInt8]>
    /// Paths with a pending deletion in the ledger: never registered again.
    private let pending: Set<[UInt8]>
    private(set) var report = ScanReport()
    private var cameras: Set<[UInt8]> = []

    /// What the walk found to write, written `RecordingIndex.rowsPerFlush` rows at a time or
    /// after `millisecondsPerFlush`, each batch in one short write transaction.
    private struct NewRecording { var camera: [UInt8]; var path: [UInt8]; var modifiedMilliseconds: Int64; var size: Int64; var thumbnail: [UInt8]? }
    private var newRecordings: [NewRecording] = []
    private var thumbnailLinks: [(path: [UInt8], thumbnail: [UInt8])] = []
    private var oldestUnwritten: Int64 = 0
    private static let millisecondsPerFlush: Int64 = 500

    init(store: Store, rootFD: Int32, settled: Int64, busy: Set<[UInt8]>) throws {
        self.store = store
        self.rootFD = rootFD
        self.settled = settled
        self.busy = busy
        self.pending = try store.read { db in
            var pending: Set<[UInt8]> = []
            for row in try db.query("SELECT path FROM deletion_ledger") {
                if let path = [UInt8].decode(from: row.values[0]) { pending.insert(path) }
            }
            return pending
        }
    }

    /// Walks everything below the root (`TreeWalk`, no lock held) and registers what it found;
    /// what was written before an error stays written, the rest is dropped and the error rethrown.
    func run() throws {
        var walkReport = ScanReport()
        try TreeWalk(rootFD: rootFD, statEveryFile: false).run(report: &walkReport) { listing in
            guard !listing.inThumbnails else { return }
            let media = listing.files.filter { RecordingIndex.isMedia($0.name) && $0.size != nil }
            if !media.isEmpty {
                try merge(media, in: listing.path, subdirectories: listing.subdirectories)
            }
            if newRecordings.count + thumbnailLinks.count >= RecordingIndex.rowsPerFlush
                || (oldestUnwritten > 0 && FileOps.monotonicMilliseconds() - oldestUnwritten >= Self.millisecondsPerFlush) {
                try flush()
            }
        }
        try flush()
        report.filesSeen = walkReport.filesSeen
        report.directoriesSeen = walkReport.directoriesSeen
        report.errors = walkReport.errors + report.errors
    }

    /// Writes the registrations and thumbnail links found so far in one transaction.
    private func flush() throws {
        guard !newRecordings.isEmpty || !thumbnailLinks.isEmpty else { return }
        let (recordings, links) = (newRecordings, thumbnailLinks)
        newRecordings.removeAll(keepingCapacity: true)
        thumbnailLinks.removeAll(keepingCapacity: true)
        oldestUnwritten = 0
        let known = cameras
        let (registered, linked, newCameras) = try store.write { db -> (Int, Int, Set<[UInt8]>) in
            // CAST(... AS TEXT): the camera id keeps the directory name's bytes, UTF-8 or not.
            let insertRecording = try db.prepare("""
                INSERT INTO recordings (camera_id, path, start_at, end_at, bytes, thumbnail)
                VALUES (CAST(?1 AS TEXT), ?2, strftime('%Y-%m-%dT%H:%M:%fZ', ?3 / 1000.0, 'unixepoch'),
                        strftime('%Y-%m-%dT%H:%M:%fZ', ?3 / 1000.0, 'unixepoch'), ?4, ?5)
                ON CONFLICT DO NOTHING
                """)
            let insertCamera = try db.prepare("INSERT OR IGNORE INTO cameras (id, name, profile, address) VALUES (CAST(?1 AS TEXT), CAST(?1 AS TEXT), 'unknown', '')")
            let linkThumbnail = try db.prepare("UPDATE recordings SET thumbnail = ?2 WHERE path = ?1 AND thumbnail IS NULL")
            var registered = 0, linked = 0
            var cameras = known
            for link in links {
                try linkThumbnail.execute([.blob(link.path), .blob(link.thumbnail)])
                linked += db.changes
            }
            for recording in recordings {
                if !cameras.contains(recording.camera) {
                    try insertCamera.execute([.blob(recording.camera)])
                    cameras.insert(recording.camera)
                }
                try insertRecording.execute([.blob(recording.camera), .blob(recording.path), .integer(recording.modifiedMilliseconds),
                                             .integer(recording.size), recording.thumbnail.map { .blob($0) } ?? .null])
                if db.changes == 1 {
                    registered += 1
                    if recording.thumbnail != nil { linked += 1 }
                }
            }
            return (registered, linked, cameras)
        }
        cameras = newCameras
        report.registered += registered
        report.thumbnailsLinked += linked
    }

    private struct MediaFile {
        var name: [UInt8]
        var size: Int64
        var modified: Int64
    }

    /// The `.thumbnails` directory matching `path`, opened component by component without
    /// following links; nil when there is none.
    private func thumbnailDirectory(for path: [UInt8]) -> Int32? {
        guard case .success(var fd) = FileOps.openDirectory(rootFD, RecordingIndex.thumbnailDirectory) else { return nil }
        for component in path.split(separator: 0x2F) {
            let next = FileOps.openDirectory(fd, Array(component))
            FileOps.close(fd)
            guard case .success(let opened) = next else { return nil }
            fd = opened
        }
        return fd
    }

    /// Merges a directory's media files (sorted) with its rows (sorted): files without a row are
    /// registered when settled; rows without a linked thumbnail get one when it exists now.
    private func merge(_ files: [TreeWalk.File], in path: [UInt8], subdirectories: [[UInt8]]) throws {
        let media = files.map { MediaFile(name: $0.name, size: $0.size ?? 0, modified: $0.modified ?? 0) }
        let prefix = path.isEmpty ? [] : path + [0x2F]
        let rows = try directRows(prefix: prefix, subdirectories: subdirectories)
        var thumbnails: Set<[UInt8]>?
        func thumbnail(for name: [UInt8]) -> [UInt8]? {
            if thumbnails == nil {
                let fd = thumbnailDirectory(for: path)
                thumbnails = Self.fileNames(fd)
                if let fd { FileOps.close(fd) }
            }
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
                    note()
                    thumbnailLinks.append((full, link))
                }
                continue
            }
            guard file.size > 0 else { continue }
            if busy.contains(full) || file.modified >= settled { report.unsettled += 1; continue }
            if pending.contains(full) { continue }
            note()
            newRecordings.append(NewRecording(camera: camera, path: full, modifiedMilliseconds: file.modified / 1_000_000,
                                              size: file.size, thumbnail: thumbnail(for: file.name)))
        }
    }

    /// The rows of the files directly in a directory, sorted by name: the index range of the
    /// directory's prefix minus the ranges of its subdirectories (one seek per gap, so a camera's
    /// directory does not read all of its recordings' rows).
    private func directRows(prefix: [UInt8], subdirectories: [[UInt8]]) throws -> [(name: [UInt8], thumbnailIsNull: Bool)] {
        try store.read { db in try directRows(db, prefix: prefix, subdirectories: subdirectories) }
    }

    private func directRows(_ db: Database, prefix: [UInt8], subdirectories: [[UInt8]]) throws -> [(name: [UInt8], thumbnailIsNull: Bool)] {
        let rowsBetween = try db.prepare("SELECT path, thumbnail IS NULL FROM recordings WHERE path >= ?1 AND path < ?2 ORDER BY path")
        let rowsFrom = try db.prepare("SELECT path, thumbnail IS NULL FROM recordings WHERE path >= ?1 ORDER BY path")
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

    /// Notes that something waits to be written (starts the flush timer).
    private func note() {
        if oldestUnwritten == 0 { oldestUnwritten = FileOps.monotonicMilliseconds() }
    }
}
