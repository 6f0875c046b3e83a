import Glibc
@testable import Storage
import Testing

/// A recordings root and a database in a fresh temporary directory.
final class Site {
    let directory = TemporaryDirectory()
    let root: String
    let store: Store
    let now = Int64(time(nil))

    init() throws {
        root = directory.file("recordings")
        mkdir(root, 0o755)
        store = try Store.open(directory.file("camhost.db"))
    }

    deinit { _ = system("rm -rf '\(directory.path)'") }

    var index: RecordingIndex { RecordingIndex(store: store, root: root) }

    /// Writes `size` bytes at `path` (relative, raw bytes) with its mtime `age` seconds ago.
    @discardableResult
    func file(_ path: [UInt8], size: Int = 1000, age: Int64 = 0) -> [UInt8] {
        let full = Array(root.utf8) + [0x2F] + path
        var parent = full
        while let slash = parent.lastIndex(of: 0x2F), slash > 0 {
            parent = Array(parent[..<slash])
            if Self.cString(parent, { access($0, F_OK) }) == 0 { break }
        }
        // Make the parents, top down.
        var prefix: [UInt8] = []
        for component in full.split(separator: 0x2F).dropLast() {
            prefix += [0x2F] + component
            _ = Self.cString(prefix) { mkdir($0, 0o755) }
        }
        // O_CLOEXEC: a concurrent test's system() forks this process, and a child holding the
        // descriptor makes the scan see the file as open (still being written) and skip it.
        let fd = Self.cString(full) { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        precondition(fd >= 0, "cannot create \(String(decoding: full, as: UTF8.self))")
        if size > 0 { _ = [UInt8](repeating: 7, count: size).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
        close(fd)
        setAge(path, age)
        return path
    }

    @discardableResult
    func file(_ path: String, size: Int = 1000, age: Int64 = 0) -> [UInt8] { file(Array(path.utf8), size: size, age: age) }

    func setAge(_ path: [UInt8], _ age: Int64) {
        let full = Array(root.utf8) + [0x2F] + path
        var times = [timespec(tv_sec: Int(now - age), tv_nsec: 0), timespec(tv_sec: Int(now - age), tv_nsec: 0)]
        _ = Self.cString(full) { utimensat(AT_FDCWD, $0, &times, AT_SYMLINK_NOFOLLOW) }
    }

    /// Makes every directory under the root look `age` seconds old (older than the grace period).
    func ageDirectories(_ age: Int64) {
        _ = system("find '\(root)' -mindepth 1 -type d -exec touch -d @\(now - age) {} +")
    }

    func exists(_ path: String) -> Bool { exists(Array(path.utf8)) }
    func exists(_ path: [UInt8]) -> Bool {
        var info = stat()
        return Self.cString(Array(root.utf8) + [0x2F] + path) { lstat($0, &info) } == 0
    }

    static func cString<R>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) -> R) -> R {
        (bytes + [0]).withUnsafeBufferPointer { $0.baseAddress!.withMemoryRebound(to: CChar.self, capacity: $0.count) { body($0) } }
    }

    func paths() throws -> [String] { try index.list().map { RecordingPath.display($0.path) } }

    func cleanup(_ configure: (inout CleanupOptions) -> Void = { _ in }) throws -> CleanupReport {
        var options = CleanupOptions(policy: RetentionPolicy(maxAgeDays: 30, minAgeDays: 1, freeSpaceFloorPercent: 0,
                                                             safetyMaxSharePercent: 100, orphanGraceMinutes: 60, settleSeconds: 60))
        options.now = now
        configure(&options)
        return try Cleanup(index: index).run(options)
    }
}

let day: Int64 = 86_400

@Suite struct Scanning {
    @Test func registersSettledRecordingsAndLinksThumbnails() throws {
        let site = try Site()
        site.file("cam1/2025-01-01/a.webm", size: 500, age: 2 * day)
        site.file(".thumbnails/cam1/2025-01-01/a.webm.jpg", size: 10, age: 2 * day)
        site.file("cam2/b.MP4", size: 700, age: 3600)
        site.file("cam2/writing.webm", size: 100, age: 5)        // still being written
        site.file("cam2/notes.txt", size: 5, age: day)           // not a recording
        site.file("loose.mkv", size: 9, age: day)                // directly in the root
        let report = try site.index.scan(settleSeconds: 60, now: site.now)
        #expect(report.registered == 3)
        #expect(report.thumbnailsLinked == 1)
        #expect(report.unsettled == 1)
        #expect(report.errors.isEmpty)
        let recordings = try site.index.list()
        #expect(recordings.map(\.cameraID) == ["cam1", "unassigned", "cam2"], "oldest first")
        #expect(recordings[0].thumbnail == Array(".thumbnails/cam1/2025-01-01/a.webm.jpg".utf8))
        #expect(recordings[0].bytes == 500)
        #expect(recordings[0].endAt.hasSuffix("Z") && recordings[0].endAt.count == 24)
        // A second scan registers nothing new.
        #expect(try site.index.scan(settleSeconds: 60, now: site.now).registered == 0)
        #expect(try site.index.list(camera: "cam2").count == 1)
    }

    @Test func migratesAVersionOneFileWithData() throws {
        let directory = TemporaryDirectory(); defer { _ = system("rm -rf '\(directory.path)'") }
        let path = directory.file("old.db")
        do {
            let store = try Store(path: path, migrator: CamhostSchema.migrator.prefix(1))
            try store.write { try $0.execute("INSERT INTO cameras (id, name, profile, address) VALUES ('gate', 'Gate', 'acme', '10.0.0.5')") }
        }
        let store = try Store.open(path)
        #expect(try store.read { try $0.scalar("SELECT name FROM cameras WHERE id = 'gate'", as: String.self) } == "Gate")
        #expect(try CameraRetention.all(in: store) == [CameraRetention(cameraID: "gate")])
        try store.write { try $0.execute("INSERT INTO recordings (camera_id, path, start_at, end_at, bytes) VALUES ('gate', x'61', 'a', 'b', 1)") }
    }
}

extension Migrator {
    /// The first `count` migrations, to make a file at an older version.
    func prefix(_ count: Int) -> Migrator {
        var migrator = Migrator()
        for migration in migrations.prefix(count) { migrator.register(migration.name) { try migration.apply($0) } }
        return migrator
    }
}

@Suite struct RetentionRules {
    @Test func ageDeletesOldRecordingsWithThumbnailsAndKeepsProtected() throws {
        let site = try Site()
        site.file("cam1/old.webm", size: 100, age: 40 * day)
        site.file(".thumbnails/cam1/old.webm.jpg", size: 10, age: 40 * day)
        site.file("cam1/kept.webm", size: 100, age: 40 * day)
        site.file("cam1/new.webm", size: 100, age: 10 * day)
        _ = try site.index.scan(now: site.now)
        let kept = try #require(try site.index.list().first { $0.path == Array("cam1/kept.webm".utf8) })
        try site.index.setProtected(kept.id, true)
        let report = try site.cleanup()
        #expect(report.deleted[.age] == 1)
        #expect(report.thumbnailsDeleted == 1)
        #expect(report.bytesFreed == 100)
        #expect(!site.exists("cam1/old.webm") && !site.exists(".thumbnails/cam1/old.webm.jpg"))
        #expect(site.exists("cam1/kept.webm") && site.exists("cam1/new.webm"))
        #expect(try site.paths() == ["cam1/kept.webm", "cam1/new.webm"])
        #expect(try site.store.read { try $0.scalar("SELECT count(*) FROM deletion_ledger", as: Int.self) } == 0)
        #expect(try site.store.read { try $0.scalar("SELECT count(*) FROM cleanup_runs", as: Int.self) } == 1)
    }

    @Test func perCameraOverridesAndOlderThan() throws {
        let site = try Site()
        site.file("short/a.webm", age: 5 * day)
        site.file("short/b.webm", age: 1 * day)
        site.file("long/a.webm", age: 40 * day)
        _ = try site.index.scan(now: site.now)
        try CameraRetention(cameraID: "short", maxAgeDays: 3).save(in: site.store)
        try CameraRetention(cameraID: "long", maxAgeDays: 90).save(in: site.store)
        var report = try site.cleanup()
        #expect(report.deleted[.age] == 1)
        #expect(try site.paths() == ["long/a.webm", "short/b.webm"])
        // --older-than replaces the age limits for one run.
        report = try site.cleanup { $0.olderThanSeconds = 20 * day }
        #expect(report.deleted[.age] == 1)
        #expect(try site.paths() == ["short/b.webm"])
    }

    @Test func quotaDeletesOldestOfThatCameraOnly() throws {
        let site = try Site()
        for i in 0..<5 { site.file("cam1/\(i).webm", size: 1000, age: Int64(10 - i) * 3600) }
        for i in 0..<5 { site.file("cam2/\(i).webm", size: 1000, age: Int64(10 - i) * 3600) }
        _ = try site.index.scan(now: site.now)
        try CameraRetention(cameraID: "cam1", quotaBytes: 2500).save(in: site.store)
        let report = try site.cleanup()
        #expect(report.deleted[.quota] == 3)
        #expect(try site.paths().sorted() == ["cam1/3.webm", "cam1/4.webm", "cam2/0.webm", "cam2/1.webm", "cam2/2.webm", "cam2/3.webm", "cam2/4.webm"])
    }

    @Test func freeSpaceFloorRespectsMinimumAgeUnlessForced() throws {
        let site = try Site()
        for i in 0..<4 { site.file("cam1/old\(i).webm", size: 1000, age: Int64(5 - i) * day) }
        site.file("cam1/young.webm", size: 1000, age: 3600)
        _ = try site.index.scan(now: site.now)
        // A 100 kB volume with 5 kB free; floor 10%: 5 kB must go.
        let volume: @Sendable (String) -> (available: Int64, total: Int64)? = { _ in (5000, 100_000) }
        let dry = try site.cleanup { $0.policy.freeSpaceFloorPercent = 10; $0.freeSpace = volume; $0.dryRun = true }
        var report = try site.cleanup { $0.policy.freeSpaceFloorPercent = 10; $0.freeSpace = volume }
        #expect(report.deleted[.freeSpace] == 4)
        #expect(dry.deleted == report.deleted)
        #expect(report.errors.count == 1, "1000 bytes short: the young one is within the minimum age")
        #expect(try site.paths() == ["cam1/young.webm"])
        report = try site.cleanup { $0.policy.freeSpaceFloorPercent = 10; $0.freeSpace = volume; $0.force = true }
        #expect(report.deleted[.freeSpace] == 1)
        #expect(try site.paths().isEmpty)
    }

    @Test func dryRunReportsExactlyWhatARealRunDoes() throws {
        let site = try Site()
        site.file("cam1/old.webm", age: 40 * day)
        site.file(".thumbnails/cam1/old.webm.jpg", size: 10, age: 40 * day)
        site.file("cam1/new.webm", age: day)
        site.file("cam2/empty.webm", size: 0, age: day)
        site.file(".thumbnails/cam9/gone.webm.jpg", size: 10, age: day)
        site.file("cam3/2025/x.tmp", size: 3, age: day)
        site.file("cam3/2025/unscanned-old.webm", size: 30, age: 50 * day)
        _ = try site.index.scan(now: site.now)
        site.file("cam4/late.webm", size: 30, age: 45 * day)   // registered by the cleanup's own scan
        site.ageDirectories(day)
        let before = try site.paths()
        let dry = try site.cleanup { $0.dryRun = true }
        #expect(try site.paths() == before, "a dry run changes nothing")
        #expect(site.exists("cam1/old.webm"))
        let real = try site.cleanup()
        #expect(dry.deleted == real.deleted)
        #expect(dry.thumbnailsDeleted == real.thumbnailsDeleted)
        #expect(dry.orphanFiles == real.orphanFiles)
        #expect(dry.orphanDirectories == real.orphanDirectories)
        #expect(dry.danglingRows == real.danglingRows)
        #expect(dry.bytesFreed == real.bytesFreed)
        #expect(dry.registered == real.registered)
        #expect(real.deleted[.age] == 3 && real.deleted[.orphan] == 1 && real.orphanFiles == 2)
        #expect(dry.items.count == 6)
        #expect(!site.exists("cam3"), "cam3/2025 and cam3 became empty")
        #expect(real.orphanDirectories == 6, "cam3/2025, cam3, cam2, cam4, .thumbnails/cam9 and .thumbnails/cam1")
    }

    @Test func safetyStopRefusesMassDeletionUnlessForced() throws {
        let site = try Site()
        for i in 0..<4 { site.file("cam1/\(i).webm", age: 40 * day) }
        site.file("cam1/new.webm", age: day)
        _ = try site.index.scan(now: site.now)
        var report = try site.cleanup { $0.policy.safetyMaxSharePercent = 50 }
        #expect(report.refusal != nil)
        #expect(report.recordingsDeleted == 0)
        #expect(try site.paths().count == 5)
        report = try site.cleanup { $0.policy.safetyMaxSharePercent = 50; $0.force = true }
        #expect(report.deleted[.age] == 4)
    }

    @Test func unmountedVolumeDoesNotWipeTheIndex() throws {
        let site = try Site()
        for i in 0..<4 { site.file("cam1/\(i).webm", age: day) }
        _ = try site.index.scan(now: site.now)
        _ = system("rm -rf '\(site.root)'/cam1")
        let report = try site.cleanup { $0.policy.safetyMaxSharePercent = 50 }
        #expect(report.refusal != nil)
        #expect(try site.paths().count == 4)
    }
}

@Suite struct OrphansAndDangling {
    @Test func danglingRowsAreRemovedAndOrphansAfterGraceOnly() throws {
        let site = try Site()
        site.file("cam1/a.webm", age: day)
        site.file("cam1/b.webm", age: day)
        site.file(".thumbnails/cam1/b.webm.jpg", size: 10, age: day)
        _ = try site.index.scan(now: site.now)
        _ = system("rm '\(site.root)/cam1/b.webm'")
        site.file("cam1/fresh.part", size: 10, age: 60)          // younger than the grace period
        site.file("cam1/stale.part", size: 10, age: 2 * 3600)
        let report = try site.cleanup()
        #expect(report.danglingRows == 1)
        #expect(report.thumbnailsDeleted == 1)
        #expect(report.orphanFiles == 1)
        #expect(site.exists("cam1/fresh.part") && !site.exists("cam1/stale.part"))
        #expect(try site.paths() == ["cam1/a.webm"])
    }

    @Test func aSegmentRecordersPartIsNeverAnOrphan() throws {
        let site = try Site()
        site.file("cam1/2026-12-04/cam1-20261204T101500.000Z.mp4.part", size: 5000, age: 30 * day)   // a crash's leftover
        site.file("cam1/2026-12-04/.a.jpg.77.part", size: 10, age: 2 * 3600)                       // a thumbnail's leftover
        let report = try site.cleanup()
        #expect(report.orphanFiles == 1)
        #expect(site.exists("cam1/2026-12-04/cam1-20261204T101500.000Z.mp4.part"), "kept for the recorder's recovery")
        #expect(!site.exists("cam1/2026-12-04/.a.jpg.77.part"))
        #expect(report.orphanDirectories == 0)
    }

    @Test func unfinishedLedgerIsCompletedFirst() throws {
        let site = try Site()
        site.file("cam1/a.webm", age: day)
        site.file("cam1/b.webm", age: day)
        _ = try site.index.scan(now: site.now)
        // As a crash after the intent and the unlink of a.webm, before the row deletion, leaves it.
        let a = try #require(try site.index.list().first)
        try site.store.write { db in
            try db.execute("INSERT INTO deletion_ledger (recording_id, path, reason, bytes) VALUES (?, ?, 'age', 1000)", a.id, a.path)
        }
        _ = system("rm '\(site.root)/cam1/a.webm'")
        let report = try site.cleanup()
        #expect(report.ledgerFinished == 1)
        #expect(report.deleted[.age] == 1)
        #expect(report.danglingRows == 0)
        #expect(try site.paths() == ["cam1/b.webm"])
    }
}

@Suite struct PathSafety {
    @Test func symlinksOutOfTheRootAreNeverFollowedOrDeleted() throws {
        let site = try Site()
        let outside = site.directory.file("outside")
        mkdir(outside, 0o755)
        _ = system("echo precious > '\(outside)/keep.webm'; touch -d '100 days ago' '\(outside)/keep.webm'")
        site.file("cam1/real.webm", age: 40 * day)
        symlink(outside + "/keep.webm", site.root + "/cam1/link.webm")
        symlink(outside, site.root + "/cam2")
        let report = try site.cleanup()
        #expect(report.deleted[.age] == 1)
        #expect(access(outside + "/keep.webm", F_OK) == 0)
        #expect(site.exists("cam1/link.webm") && site.exists("cam2"))
        #expect(report.errors.filter { $0.error.contains("symbolic link") }.count == 2)
        #expect(try site.paths().isEmpty)
    }

    @Test func storedPathsWithDotDotAreRefused() throws {
        let site = try Site()
        let victim = site.directory.file("victim.webm")
        _ = system("echo x > '\(victim)'")
        site.file("cam1/a.webm", age: 40 * day)
        _ = try site.index.scan(now: site.now)
        try site.store.write { db in
            try db.execute("INSERT INTO recordings (camera_id, path, start_at, end_at, bytes) VALUES ('cam1', ?, '2000-01-01T00:00:00.000Z', '2000-01-01T00:00:00.000Z', 1)",
                           Array("cam1/../../victim.webm".utf8))
            try db.execute("INSERT INTO deletion_ledger (path, reason) VALUES (?, 'orphan_file')", Array("../victim.webm".utf8))
            try db.execute("INSERT INTO deletion_ledger (path, reason) VALUES (?, 'orphan_file')", Array("/tmp/../etc/passwd".utf8))
        }
        let report = try site.cleanup()
        #expect(access(victim, F_OK) == 0, "nothing outside the root is deleted")
        #expect(access("/etc/passwd", F_OK) == 0)
        #expect(report.errors.filter { $0.error.contains("refused") }.count >= 3)
        #expect(try site.store.read { try $0.scalar("SELECT count(*) FROM deletion_ledger", as: Int.self) } == 0)
    }

    @Test func oddFileNamesAreHandledByteForByte() throws {
        let site = try Site()
        let names: [[UInt8]] = [
            Array("cam 1/with space.webm".utf8),
            Array("cam1/new\nline.webm".utf8),
            Array("cam1/latin1-".utf8) + [0xE9, 0xFF] + Array(".webm".utf8),
            Array("cam1/ünïcödé.webm".utf8),
        ]
        for name in names { site.file(name, age: 40 * day) }
        site.file(Array("cam1/keep-".utf8) + [0xFE] + Array(".webm".utf8), age: day)
        let scan = try site.index.scan(now: site.now)
        #expect(scan.registered == 5)
        #expect(try site.paths().contains("cam1/latin1-\\xe9\\xff.webm"))
        #expect(try site.paths().contains("cam1/new\\x0aline.webm"))
        let report = try site.cleanup()
        #expect(report.deleted[.age] == 4)
        #expect(report.errors.isEmpty)
        for name in names { #expect(!site.exists(name)) }
        #expect(site.exists(Array("cam1/keep-".utf8) + [0xFE] + Array(".webm".utf8)))
        #expect(report.json().contains("\"errors\":[]"))
    }

    @Test func databaseInsideTheRootIsRefused() throws {
        let site = try Site()
        let store = try Store.open(site.root + "/camhost.db")
        #expect(throws: CleanupError.self) {
            try Cleanup(index: RecordingIndex(store: store, root: site.root)).run(CleanupOptions())
        }
        #expect(access(site.root + "/camhost.db", F_OK) == 0)
    }
}

@Suite struct ReportShape {
    @Test func jsonHasTheContractKeys() throws {
        let site = try Site()
        let json = try site.cleanup().json()
        for key in ["\"dry_run\":false", "\"deleted\":{\"age\":0,\"quota\":0,\"free_space\":0,\"orphan\":0}", "\"thumbnails_deleted\":",
                    "\"orphan_files\":", "\"orphan_dirs\":", "\"dangling_rows\":", "\"bytes_freed\":", "\"db_bytes_before\":",
                    "\"db_bytes_after\":", "\"errors\":[", "\"duration_ms\":"] {
            #expect(json.contains(key), "\(key) in \(json)")
        }
    }

    @Test func displayEscapesControlAndInvalidBytes() {
        #expect(RecordingPath.display(Array("a b/ü".utf8)) == "a b/ü")
        #expect(RecordingPath.display([0x61, 0x0A, 0xFF, 0x5C]) == "a\\x0a\\xff\\x5c")
        #expect(RecordingPath.problem(Array("a/../b".utf8)) == .dotDot)
        #expect(RecordingPath.problem(Array("/a".utf8)) == .absolute)
        #expect(RecordingPath.problem(Array("a//b".utf8)) == .emptyComponent)
        #expect(RecordingPath.problem(Array("a/b.webm".utf8)) == nil)
    }
}
