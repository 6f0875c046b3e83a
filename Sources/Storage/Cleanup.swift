import POSIX

/// A named step of the delete protocol where a test may stop the process (crash-safety tests).
public enum CleanupPoint: String, Sendable, CaseIterable {
    /// A batch of intents was committed to the ledger.
    case afterIntent = "after-intent"
    /// One file (recording, thumbnail or orphan) was unlinked.
    case afterUnlink = "after-unlink"
    /// The directories of a batch were synced.
    case afterSync = "after-sync"
    /// The rows and ledger entries of a batch were deleted.
    case afterCommit = "after-commit"
}

/// How one cleanup run behaves.
public struct CleanupOptions: Sendable {
    public var policy: RetentionPolicy
    /// Plan and report, change nothing.
    public var dryRun = false
    /// Override the safety stop and the minimum age of a free-space purge.
    public var force = false
    /// Replaces the age limits for this run: delete what ended more than this many seconds ago.
    public var olderThanSeconds: Int64?
    /// Only this camera's recordings, files and directories.
    public var camera: String?
    /// "Now", seconds since 1970 (tests); nil: the clock.
    public var now: Int64?
    public var batchSize = 500
    /// Who asked, for the audit log and `cleanup_runs`: `cli`, `schedule`, a user name.
    public var actor = "cli"
    /// Available and total bytes of the recordings volume; injectable for tests.
    public var freeSpace: @Sendable (String) -> (available: Int64, total: Int64)? = { FileOps.space($0) }
    /// Called at each named point of the delete protocol (crash tests).
    public var hook: (@Sendable (CleanupPoint) -> Void)?
    /// Called as deletions progress: (done, total).
    public var progress: (@Sendable (Int, Int) -> Void)?
    /// The lock that keeps two cleanups apart; nil: `<database>.cleanup-lock`.
    public var lockPath: String?

    public init(policy: RetentionPolicy = RetentionPolicy()) { self.policy = policy }
}

/// Why a cleanup could not run at all (per-file problems are in the report instead).
public enum CleanupError: Error, Sendable, CustomStringConvertible {
    case rootUnavailable(FileError)
    case busy(lockPath: String)
    case lockFailed(lockPath: String, errno: Int32)
    case databaseInsideRoot(database: String, root: String)

    public var description: String {
        switch self {
        case .rootUnavailable(let error):
            return "cannot open the recordings root: \(error). Check storage.recordings (or --data-dir) and that the volume is mounted."
        case .busy(let path):
            return "another cleanup is running (it holds \(path)); wait for it to finish"
        case .lockFailed(let path, let code):
            return "cannot take the cleanup lock \(path): \(FileOps.message(code))"
        case .databaseInsideRoot(let database, let root):
            return "refusing to clean \(root): the database \(database) is inside it, and orphan removal would delete it. "
                + "Keep recordings in their own directory (storage.recordings)."
        }
    }
}

/// Applies a `RetentionPolicy` to the recordings root with the crash-safe delete protocol
/// (docs/recordings.md): finish the ledger; scan; plan; for each batch record intent in the
/// ledger, unlink files and thumbnails, fsync their directories, then delete rows and ledger
/// entries together. A rerun after a crash at any point converges to the same state.
public struct Cleanup: Sendable {
    public let index: RecordingIndex

    public init(index: RecordingIndex) { self.index = index }

    public var store: Store { index.store }

    struct LedgerEntry {
        var id: Int64
        var recordingID: Int64?
        var path: [UInt8]
        var thumbnail: [UInt8]?
        var reason: CleanupReport.Reason
        var bytes: Int64
    }

    struct Plan {
        var recordings = 0
        var orphans: [(path: [UInt8], bytes: Int64, reason: CleanupReport.Reason)] = []
        var dangling: [(id: Int64, path: [UInt8], thumbnail: [UInt8]?)] = []
        var directories: [[UInt8]] = []
        var refusal: String?
    }

    public func run(_ options: CleanupOptions) throws -> CleanupReport {
        let started = FileOps.monotonicMilliseconds()
        let startedAt = try store.read { try $0.scalar("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')", as: String.self) } ?? ""
        var report = CleanupReport(dryRun: options.dryRun)
        let lockPath = options.lockPath ?? store.path + ".cleanup-lock"
        let hold = try CleanupHold(lockPath: lockPath, root: index.root)
        defer { hold.release() }
        let rootFD = hold.rootFD
        if let root = FileOps.canonical(index.root), let directory = FileOps.canonical(parentDirectory(store.path)),
           directory == root || directory.starts(with: root + [0x2F]) {
            throw CleanupError.databaseInsideRoot(database: store.path, root: index.root)
        }
        report.databaseBytesBefore = try store.sizeInBytes()
        let cursor = DirectoryCursor(rootFD: rootFD)
        let now = options.now ?? FileOps.now()

        if options.dryRun {
            do {
              var scan = ScanReport()
              try index.walk(rootFD: rootFD, report: &scan)
              try store.withDatabase { db in
                try db.inTransaction(.immediate) { db -> Void in
                    // Everything below is rolled back: a dry run sees what a real run would, then forgets it.
                    for entry in try ledger(db, limit: Int.max) {
                        report.count(entry.reason, bytes: entry.bytes, thumbnail: entry.thumbnail != nil)
                        report.ledgerFinished += 1
                        report.items.append(.init(reason: entry.reason, cameraID: nil, path: entry.path, thumbnail: entry.thumbnail, bytes: entry.bytes))
                    }
                    try index.register(db, now: now, settleSeconds: options.policy.settleSeconds, report: &scan)
                    let pendingBytes = try db.scalar("SELECT coalesce(sum(bytes), 0) FROM deletion_ledger", as: Int64.self) ?? 0
                    let plan = try makePlan(db, options: options, now: now, cursor: cursor, extraFree: pendingBytes, report: &report)
                    report.refusal = plan.refusal
                    if plan.refusal == nil {
                        for item in try plannedItems(db) {
                            report.count(item.reason, bytes: item.bytes, thumbnail: item.thumbnail != nil)
                            report.items.append(item)
                        }
                        for orphan in plan.orphans {
                            report.count(orphan.reason, bytes: orphan.bytes, thumbnail: false)
                            report.items.append(.init(reason: orphan.reason, cameraID: nil, path: orphan.path, thumbnail: nil, bytes: orphan.bytes))
                        }
                        for row in plan.dangling {
                            report.count(.dangling, bytes: 0, thumbnail: row.thumbnail != nil)
                            report.items.append(.init(reason: .dangling, cameraID: nil, path: row.path, thumbnail: row.thumbnail, bytes: 0))
                        }
                        report.orphanDirectories = plan.directories.count
                    }
                    report.registered = scan.registered
                    report.errors = scan.errors + report.errors
                    throw RollBack()
                }
              }
            } catch is RollBack {}
            report.databaseBytesAfter = report.databaseBytesBefore
            report.durationMilliseconds = FileOps.monotonicMilliseconds() - started
            return report
        }

        // 1. Finish what an interrupted run left in the ledger.
        let finished = try drain(cursor: cursor, options: options, report: &report)
        report.ledgerFinished = finished
        // 2. Scan: new files become rows (subject to the policy), never orphans.
        var scan = ScanReport()
        try index.walk(rootFD: rootFD, report: &scan)
        try store.write { db in try index.register(db, now: now, settleSeconds: options.policy.settleSeconds, report: &scan) }
        report.registered = scan.registered
        report.errors = scan.errors + report.errors
        // 3. Plan.
        let plan = try store.withDatabase { db -> Plan in
            try makePlan(db, options: options, now: now, cursor: cursor, extraFree: 0, report: &report)
        }
        report.refusal = plan.refusal
        if plan.refusal == nil {
            let total = plan.recordings + plan.orphans.count + plan.dangling.count
            var done = 0
            // 4. Recordings: intent, unlink, sync, rows — batch by batch, in path order so that each
            //    directory is synced about once (the ledger, not the order, makes an interrupted run finish).
            try store.withDatabase { db in
                try db.execute(script: """
                    DROP TABLE IF EXISTS temp.queue;
                    CREATE TEMP TABLE queue (seq INTEGER PRIMARY KEY, recording_id INTEGER NOT NULL, reason TEXT NOT NULL);
                    INSERT INTO temp.queue (recording_id, reason)
                        SELECT p.recording_id, p.reason FROM temp.plan p JOIN recordings r ON r.id = p.recording_id ORDER BY r.path;
                    """)
            }
            var last: Int64 = 0
            while true {
                let next = try store.write { db -> Int64? in
                    guard let upTo = try db.scalar("SELECT max(seq) FROM (SELECT seq FROM temp.queue WHERE seq > ? ORDER BY seq LIMIT ?)",
                                                   last, options.batchSize, as: Int64.self) else { return nil }
                    try db.execute("""
                        INSERT INTO deletion_ledger (recording_id, path, thumbnail, reason, bytes)
                        SELECT r.id, r.path, r.thumbnail, q.reason, r.bytes FROM temp.queue q JOIN recordings r ON r.id = q.recording_id
                        WHERE q.seq > ? AND q.seq <= ? ORDER BY q.seq
                        """, last, upTo)
                    return upTo
                }
                guard let next else { break }
                last = next
                options.hook?(.afterIntent)
                done += try drain(cursor: cursor, options: options, report: &report, progress: (done, total))
            }
            // 5. Orphan files and dangling rows, through the same ledger.
            for start in stride(from: 0, to: plan.orphans.count, by: options.batchSize) {
                let slice = plan.orphans[start..<min(start + options.batchSize, plan.orphans.count)]
                try store.write { db in
                    let insert = try db.prepare("INSERT INTO deletion_ledger (path, reason, bytes) VALUES (?, ?, ?)")
                    for orphan in slice { try insert.execute([.blob(orphan.path), .text(orphan.reason.rawValue), .integer(orphan.bytes)]) }
                }
                options.hook?(.afterIntent)
                done += try drain(cursor: cursor, options: options, report: &report, progress: (done, total))
            }
            for start in stride(from: 0, to: plan.dangling.count, by: options.batchSize) {
                let slice = plan.dangling[start..<min(start + options.batchSize, plan.dangling.count)]
                try store.write { db in
                    let insert = try db.prepare("INSERT INTO deletion_ledger (recording_id, path, thumbnail, reason) VALUES (?, ?, ?, 'dangling')")
                    for row in slice { try insert.execute([.integer(row.id), .blob(row.path), row.thumbnail.map { .blob($0) } ?? .null]) }
                }
                options.hook?(.afterIntent)
                done += try drain(cursor: cursor, options: options, report: &report, progress: (done, total))
            }
            // 6. Directories left empty, deepest first.
            for directory in plan.directories {
                switch cursor.removeDirectoryIfEmpty(directory) {
                case .success(true): report.orphanDirectories += 1
                case .success(false): break
                case .failure(let error): report.errors.append(PathError(error))
                }
            }
            report.errors += cursor.syncTouched().map(PathError.init)
        }
        cursor.closeAll()
        try store.withDatabase { db in
            try index.dropScratch(db)
            try db.execute(script: "DROP TABLE IF EXISTS temp.plan; DROP TABLE IF EXISTS temp.queue;")
        }
        // 7. Give freed pages back when it is worth it.
        try store.withDatabase { db in
            let free = try db.freePageCount()
            let pages = try db.scalar("PRAGMA page_count", as: Int.self) ?? 0
            let pageSize = try db.scalar("PRAGMA page_size", as: Int.self) ?? 4096
            if free > 0 && (free * 4 >= pages || free * pageSize >= 4 << 20) { try db.incrementalVacuum() }
        }
        report.databaseBytesAfter = try store.sizeInBytes()
        report.durationMilliseconds = FileOps.monotonicMilliseconds() - started
        try store.write { db in
            try CleanupHistory.append(in: db, startedAt: startedAt, actor: options.actor, report: report)
            try AuditLog.append(in: db, actor: options.actor, action: "retention.cleanup", target: options.camera,
                                detail: Self.summary(report), outcome: report.refusal == nil ? .success : .denied)
        }
        return report
    }

    private struct RollBack: Error {}

    /// One line for people and the audit log.
    public static func summary(_ report: CleanupReport) -> String {
        var text = (report.dryRun ? "would delete " : "deleted ")
            + "\(report.recordingsDeleted) recording(s) (age \(report.deleted[.age] ?? 0), quota \(report.deleted[.quota] ?? 0), "
            + "free space \(report.deleted[.freeSpace] ?? 0), orphan \(report.deleted[.orphan] ?? 0)), "
            + "\(report.thumbnailsDeleted) thumbnail(s), \(report.orphanFiles) orphan file(s), \(report.orphanDirectories) empty dir(s), "
            + "\(report.danglingRows) dangling row(s); \(report.bytesFreed) bytes freed; \(report.errors.count) error(s)"
        if let refusal = report.refusal { text += "; refused: " + refusal }
        return text
    }

    // MARK: Ledger

    func ledger(_ db: Database, limit: Int) throws -> [LedgerEntry] {
        let statement = try db.prepare("SELECT id, recording_id, path, thumbnail, reason, bytes FROM deletion_ledger ORDER BY id LIMIT ?")
        try statement.bind([.integer(Int64(min(limit, Int(Int32.max))))])
        var entries: [LedgerEntry] = []
        while try statement.step() {
            entries.append(LedgerEntry(
                id: Int64.decode(from: statement.value(at: 0)) ?? 0,
                recordingID: Int64.decode(from: statement.value(at: 1)),
                path: [UInt8].decode(from: statement.value(at: 2)) ?? [],
                thumbnail: [UInt8].decode(from: statement.value(at: 3)),
                reason: CleanupReport.Reason(rawValue: String.decode(from: statement.value(at: 4)) ?? "") ?? .orphanFile,
                bytes: Int64.decode(from: statement.value(at: 5)) ?? 0))
        }
        return entries
    }

    /// Carries out every ledger entry: unlink (ENOENT is done), fsync the directories, then
    /// delete rows and entries in one transaction. Returns how many entries it finished.
    func drain(cursor: DirectoryCursor, options: CleanupOptions, report: inout CleanupReport,
               progress: (done: Int, total: Int) = (0, 0)) throws -> Int {
        var finished = 0
        while true {
            let batch = try store.read { db in try ledger(db, limit: options.batchSize) }
            if batch.isEmpty { break }
            var rows: [Int64] = []
            for entry in batch {
                if entry.reason != .dangling {
                    if let error = cursor.unlink(entry.path) {
                        // The file stays, so its row stays: the next run plans it again.
                        report.errors.append(PathError(error))
                        continue
                    }
                    options.hook?(.afterUnlink)
                }
                if let thumbnail = entry.thumbnail {
                    if let error = cursor.unlink(thumbnail) { report.errors.append(PathError(error)) }
                    options.hook?(.afterUnlink)
                }
                if let id = entry.recordingID { rows.append(id) }
                report.count(entry.reason, bytes: entry.bytes, thumbnail: entry.thumbnail != nil)
                finished += 1
                options.progress?(progress.done + finished, max(progress.total, progress.done + finished))
            }
            report.errors += cursor.syncTouched().map(PathError.init)
            options.hook?(.afterSync)
            try store.write { db in
                let deleteRow = try db.prepare("DELETE FROM recordings WHERE id = ?")
                for id in rows { try deleteRow.execute([.integer(id)]) }
                let deleteEntry = try db.prepare("DELETE FROM deletion_ledger WHERE id = ?")
                for entry in batch { try deleteEntry.execute([.integer(entry.id)]) }
            }
            options.hook?(.afterCommit)
            cursor.closeAll()
        }
        return finished
    }

    // MARK: Planning

    func plannedItems(_ db: Database) throws -> [CleanupReport.Item] {
        let statement = try db.prepare("""
            SELECT p.reason, r.camera_id, r.path, r.thumbnail, r.bytes FROM temp.plan p JOIN recordings r ON r.id = p.recording_id
            ORDER BY r.end_at, r.id
            """)
        var items: [CleanupReport.Item] = []
        while try statement.step() {
            items.append(.init(
                reason: CleanupReport.Reason(rawValue: String.decode(from: statement.value(at: 0)) ?? "") ?? .age,
                cameraID: String.decode(from: statement.value(at: 1)),
                path: [UInt8].decode(from: statement.value(at: 2)) ?? [],
                thumbnail: [UInt8].decode(from: statement.value(at: 3)),
                bytes: Int64.decode(from: statement.value(at: 4)) ?? 0))
        }
        return items
    }

    /// Decides what goes, from the database and the walk: fills `temp.plan` with recordings
    /// (age, then quota, then free space, each oldest first) and returns orphans, dangling rows
    /// and directories that will be empty. `extraFree`: bytes a dry run expects the ledger to free.
    func makePlan(_ db: Database, options: CleanupOptions, now: Int64, cursor: DirectoryCursor, extraFree: Int64,
                  report: inout CleanupReport) throws -> Plan {
        let policy = options.policy
        let camera: DatabaseValue = options.camera.map { .text($0) } ?? .null
        var plan = Plan()
        try db.execute(script: """
            CREATE TEMP TABLE IF NOT EXISTS plan (recording_id INTEGER PRIMARY KEY, reason TEXT NOT NULL, bytes INTEGER NOT NULL);
            DELETE FROM temp.plan;
            """)
        let notPending = "NOT EXISTS (SELECT 1 FROM deletion_ledger l WHERE l.recording_id = r.id)"

        // Age.
        if let olderThan = options.olderThanSeconds {
            try db.execute("""
                INSERT INTO temp.plan SELECT r.id, 'age', r.bytes FROM recordings r
                WHERE r.protected = 0 AND (?1 IS NULL OR r.camera_id = ?1) AND \(notPending)
                  AND r.end_at < strftime('%Y-%m-%dT%H:%M:%fZ', ?2, 'unixepoch')
                """, arguments: [camera, .integer(now - olderThan)])
        } else {
            try db.execute("""
                INSERT INTO temp.plan SELECT r.id, 'age', r.bytes FROM recordings r JOIN cameras c ON c.id = r.camera_id
                WHERE r.protected = 0 AND (?1 IS NULL OR r.camera_id = ?1) AND \(notPending)
                  AND coalesce(c.retention_max_age_days, ?2) > 0
                  AND r.end_at < strftime('%Y-%m-%dT%H:%M:%fZ', ?3 - coalesce(c.retention_max_age_days, ?2) * 86400, 'unixepoch')
                """, arguments: [camera, .integer(Int64(policy.maxAgeDays)), .integer(now)])
        }
        let insert = try db.prepare("INSERT INTO temp.plan (recording_id, reason, bytes) VALUES (?, ?, ?)")

        // Quota, per camera, from the database's sums.
        let overQuota = try db.query("""
            SELECT c.id, coalesce(c.retention_quota_bytes, ?2) AS quota,
                   (SELECT coalesce(sum(r.bytes), 0) FROM recordings r WHERE r.camera_id = c.id AND \(notPending)
                      AND r.id NOT IN (SELECT recording_id FROM temp.plan)) AS used
            FROM cameras c WHERE (?1 IS NULL OR c.id = ?1) AND coalesce(c.retention_quota_bytes, ?2) > 0
            """, arguments: [camera, .integer(policy.cameraQuotaBytes)])
        for row in overQuota {
            let id: String = try row.get(0)
            let quota: Int64 = try row.get(1)
            var used: Int64 = try row.get(2)
            guard used > quota else { continue }
            let candidates = try db.prepare("""
                SELECT r.id, r.bytes FROM recordings r WHERE r.camera_id = ? AND r.protected = 0 AND \(notPending)
                  AND r.id NOT IN (SELECT recording_id FROM temp.plan) ORDER BY r.end_at, r.id
                """)
            try candidates.bind([.text(id)])
            var chosen: [(Int64, Int64)] = []
            while used > quota, try candidates.step() {
                let recording = Int64.decode(from: candidates.value(at: 0)) ?? 0
                let bytes = Int64.decode(from: candidates.value(at: 1)) ?? 0
                chosen.append((recording, bytes))
                used -= bytes
            }
            candidates.reset()
            for (recording, bytes) in chosen { try insert.execute([.integer(recording), .text("quota"), .integer(bytes)]) }
            if used > quota {
                report.errors.append(PathError(path: id, error: "camera \(id) stays over its quota of \(quota) bytes by \(used - quota): the rest is protected"))
            }
        }

        // Free-space floor on the recordings volume.
        if policy.freeSpaceFloorPercent > 0, let space = options.freeSpace(index.root), space.total > 0 {
            let floor = space.total / 100 * Int64(policy.freeSpaceFloorPercent)
            let planned = try db.scalar("SELECT coalesce(sum(bytes), 0) FROM temp.plan", as: Int64.self) ?? 0
            var needed = floor - (space.available + extraFree + planned)
            if needed > 0 {
                let candidates = try db.prepare("""
                    SELECT r.id, r.bytes FROM recordings r JOIN cameras c ON c.id = r.camera_id
                    WHERE r.protected = 0 AND (?1 IS NULL OR r.camera_id = ?1) AND \(notPending)
                      AND r.id NOT IN (SELECT recording_id FROM temp.plan)
                      AND (?2 OR r.end_at < strftime('%Y-%m-%dT%H:%M:%fZ', ?3 - coalesce(c.retention_min_age_days, ?4) * 86400, 'unixepoch'))
                    ORDER BY r.end_at, r.id
                    """)
                try candidates.bind([camera, .integer(options.force ? 1 : 0), .integer(now), .integer(Int64(policy.minAgeDays))])
                var chosen: [(Int64, Int64)] = []
                while needed > 0, try candidates.step() {
                    let recording = Int64.decode(from: candidates.value(at: 0)) ?? 0
                    let bytes = Int64.decode(from: candidates.value(at: 1)) ?? 0
                    chosen.append((recording, bytes))
                    needed -= bytes
                }
                candidates.reset()
                for (recording, bytes) in chosen { try insert.execute([.integer(recording), .text("free_space"), .integer(bytes)]) }
                if needed > 0 {
                    report.errors.append(PathError(path: index.root,
                        error: "free space stays \(needed) bytes below the floor of \(policy.freeSpaceFloorPercent)%: what is left is protected or younger than the minimum age (--force overrides the minimum age)"))
                }
            }
        }
        plan.recordings = try db.scalar("SELECT count(*) FROM temp.plan", as: Int.self) ?? 0

        // Orphan files: no row refers to them, not being written, older than the grace period.
        // A segment recorder's `*.mp4.part` is never one: it holds the whole fragments of a
        // segment a crash interrupted, which the camera's next recorder trims and registers.
        let grace = (now - Int64(policy.orphanGraceMinutes) * 60) * 1_000_000_000
        let scope = Self.scope(options.camera)
        let orphans = try db.prepare("""
            SELECT s.path, s.size, s.kind FROM temp.seen_files s
            WHERE s.busy = 0 AND s.modified < ?1 AND (s.kind <> 1 OR s.size = 0)
              AND NOT EXISTS (SELECT 1 FROM recordings r WHERE r.path = s.path)
              AND NOT EXISTS (SELECT 1 FROM recordings r WHERE r.thumbnail = s.path)
              AND NOT EXISTS (SELECT 1 FROM deletion_ledger l WHERE l.path = s.path OR l.thumbnail = s.path)
              AND substr(s.path, -9) <> x'2e6d70342e70617274'
              AND (?2 IS NULL OR substr(s.path, 1, length(?2)) = ?2 OR substr(s.path, 1, length(?3)) = ?3)
            ORDER BY s.path
            """)
        try orphans.bind([.integer(grace), scope.map { .blob($0.files) } ?? .null, scope.map { .blob($0.thumbnails) } ?? .null])
        while try orphans.step() {
            let path = [UInt8].decode(from: orphans.value(at: 0)) ?? []
            let kind = Int64.decode(from: orphans.value(at: 2)) ?? 3
            plan.orphans.append((path, Int64.decode(from: orphans.value(at: 1)) ?? 0, kind == 1 ? .orphan : .orphanFile))
        }
        orphans.reset()

        // Dangling rows: the walk did not see the file and a direct look says it is gone (ENOENT
        // only: an unreadable directory is an error, not a missing file).
        let dangling = try db.prepare("""
            SELECT r.id, r.path, r.thumbnail FROM recordings r
            WHERE NOT EXISTS (SELECT 1 FROM temp.seen_files s WHERE s.path = r.path)
              AND r.id NOT IN (SELECT recording_id FROM temp.plan) AND \(notPending)
              AND (?1 IS NULL OR r.camera_id = ?1)
            """)
        try dangling.bind([camera])
        while try dangling.step() {
            let id = Int64.decode(from: dangling.value(at: 0)) ?? 0
            let path = [UInt8].decode(from: dangling.value(at: 1)) ?? []
            let thumbnail = [UInt8].decode(from: dangling.value(at: 2))
            if let problem = RecordingPath.problem(path) {
                report.errors.append(PathError(path: RecordingPath.display(path), error: "stored path refused (\(problem.rawValue)); row \(id) left as is"))
                continue
            }
            switch cursor.isMissing(path) {
            case .success(true): plan.dangling.append((id, path, thumbnail))
            case .success(false): break
            case .failure(let error): report.errors.append(PathError(error))
            }
        }
        dangling.reset()
        cursor.closeAll()

        // Safety stop (Frigate's guard): a clock jump, a wrong policy or an unmounted volume
        // must not wipe the store.
        let total = try db.scalar("SELECT count(*) FROM recordings WHERE (?1 IS NULL OR camera_id = ?1)", camera, as: Int.self) ?? 0
        let doomed = plan.recordings + plan.dangling.count
        if !options.force, total > 0, doomed * 100 > total * policy.safetyMaxSharePercent {
            plan.refusal = "this run would delete \(doomed) of \(total) recordings (\(doomed * 100 / total)%), more than "
                + "retention.safety_max_share_percent (\(policy.safetyMaxSharePercent)%). Check the clock, the policy and that the "
                + "recordings volume is mounted; rerun with --force to go ahead"
            return plan
        }

        plan.directories = try emptyDirectories(db, plan: plan, graceNanoseconds: grace, scope: scope)
        return plan
    }

    /// Directories (deepest first) that hold nothing once the plan is carried out, and are
    /// older than the grace period (a recorder may have just made one).
    func emptyDirectories(_ db: Database, plan: Plan, graceNanoseconds: Int64, scope: (files: [UInt8], thumbnails: [UInt8])?) throws -> [[UInt8]] {
        var removed: [[UInt8]: Int] = [:]
        func gone(_ path: [UInt8]) { removed[RecordingPath.split(path).parent, default: 0] += 1 }
        let doomed = try db.prepare("""
            SELECT s.path FROM temp.seen_files s WHERE s.path IN (
                SELECT r.path FROM temp.plan p JOIN recordings r ON r.id = p.recording_id
                UNION SELECT r.thumbnail FROM temp.plan p JOIN recordings r ON r.id = p.recording_id WHERE r.thumbnail IS NOT NULL
                UNION SELECT path FROM deletion_ledger UNION SELECT thumbnail FROM deletion_ledger WHERE thumbnail IS NOT NULL)
            """)
        while try doomed.step() { gone([UInt8].decode(from: doomed.value(at: 0)) ?? []) }
        doomed.reset()
        for orphan in plan.orphans { gone(orphan.path) }
        let seenThumbnails = try db.prepare("SELECT 1 FROM temp.seen_files WHERE path = ?")
        for row in plan.dangling {
            if let thumbnail = row.thumbnail, try !seenThumbnails.rows([.blob(thumbnail)]).isEmpty { gone(thumbnail) }
        }
        var directories: [(path: [UInt8], modified: Int64, entries: Int)] = []
        let statement = try db.prepare("SELECT path, modified, entries FROM temp.seen_dirs")
        while try statement.step() {
            directories.append(([UInt8].decode(from: statement.value(at: 0)) ?? [],
                                Int64.decode(from: statement.value(at: 1)) ?? 0, Int(Int64.decode(from: statement.value(at: 2)) ?? 1)))
        }
        statement.reset()
        directories.sort { a, b in
            let depthA = a.path.count(where: { $0 == 0x2F }), depthB = b.path.count(where: { $0 == 0x2F })
            return depthA != depthB ? depthA > depthB : a.path.lexicographicallyPrecedes(b.path)
        }
        var result: [[UInt8]] = []
        for directory in directories {
            guard directory.path != RecordingIndex.thumbnailDirectory, directory.modified < graceNanoseconds else { continue }
            if let scope, !(directory.path.starts(with: scope.files) || directory.path.starts(with: scope.thumbnails)) { continue }
            if directory.entries - removed[directory.path, default: 0] <= 0 {
                result.append(directory.path)
                gone(directory.path)
            }
        }
        return result
    }

    /// Path prefixes of one camera's files and thumbnails.
    static func scope(_ camera: String?) -> (files: [UInt8], thumbnails: [UInt8])? {
        guard let camera else { return nil }
        let files = Array(camera.utf8) + [0x2F]
        return (files, RecordingIndex.thumbnailDirectory + [0x2F] + files)
    }
}

func parentDirectory(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}

/// The cleanup lock and the open recordings root: every run that deletes (retention, a user's
/// "delete selected") holds both from start to end, so two never interleave and none follows
/// a root that was swapped for a symbolic link half-way.
struct CleanupHold {
    let lockFD: Int32
    let rootFD: Int32

    init(lockPath: String, root: String) throws(CleanupError) {
        switch FileOps.lock(lockPath) {
        case .success(let fd): lockFD = fd
        case .failure(.wouldBlock): throw CleanupError.busy(lockPath: lockPath)
        case .failure(let code): throw CleanupError.lockFailed(lockPath: lockPath, errno: code.code)
        }
        switch FileOps.openRoot(root) {
        case .success(let fd): rootFD = fd
        case .failure(let error):
            FileOps.unlock(lockFD)
            throw CleanupError.rootUnavailable(error)
        }
    }

    func release() {
        FileOps.close(rootFD)
        FileOps.unlock(lockFD)
    }
}
