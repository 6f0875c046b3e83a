import Testing
import TestSupport

/// `camhost recordings ...` end to end: real files, a real database, the real binary, SIGKILL.
@Suite("camhost recordings", .serialized)
struct RecordingsCLITests {
    /// The fixtures are bytes, not media: probing them with ffprobe/ffmpeg only adds an error per
    /// file and, on a loaded machine, minutes (a scan of 180 files passed the 60 s limit).
    static let noMediaTools = ["CAMHOST_MEDIA_FFPROBE": "off", "CAMHOST_MEDIA_FFMPEG": "off"]

    func camhost(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        try TestProcess.run(TestEnvironment.camhostBinary, arguments,
                            environment: TestEnvironment.clean.merging(Self.noMediaTools) { $1 }.merging(environment) { $1 })
    }

    func sh(_ script: String) throws -> String {
        let result = try TestProcess.run("/bin/sh", ["-c", script])
        guard result.status == 0 else { throw TestFailure("sh failed (\(result.status)): \(script)\n\(result.stderr)") }
        return result.stdout
    }

    /// A data directory whose recordings root holds, per camera cam0..cam2: `old` recordings of
    /// 40 days (with thumbnails), `young` of 2 days, plus orphan leftovers, all registered.
    func makeSite(_ directory: String, old: Int, young: Int, orphans: Int) throws {
        _ = try sh("""
            python3 - '\(directory)' \(old) \(young) \(orphans) <<'EOF'
            import os, sys, time
            base, old, young, orphans = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
            root = os.path.join(base, "recordings")
            now = time.time()
            def make(rel, age, size=64):
                path = os.path.join(root, rel)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as f: f.write(b"x" * size)
                os.utime(path, (now - age, now - age))
            for cam in range(3):
                for i in range(old):
                    make(f"cam{cam}/old/{i:04d}.webm", 40 * 86400 + i)
                    make(f".thumbnails/cam{cam}/old/{i:04d}.webm.jpg", 40 * 86400 + i, 8)
                for i in range(young):
                    make(f"cam{cam}/young/{i:04d}.webm", 2 * 86400 + i)
                for i in range(orphans):
                    make(f"cam{cam}/old/leftover-{i}.part", 3 * 86400, 16)
            for d, _, _ in os.walk(root):
                if d != root: os.utime(d, (now - 3 * 86400, now - 3 * 86400))
            EOF
            """)
        let scan = try camhost(["recordings", "scan", "--data-dir", directory])
        guard scan.status == 0 else { throw TestFailure("scan failed: \(scan.stderr)") }
    }

    /// Every file under the root and every row, as comparable text.
    func state(_ directory: String) throws -> (files: [String], rows: [String]) {
        let files = try sh("cd '\(directory)/recordings' && find . -type f | sort").split(separator: "\n").map(String.init)
        let rows = try sh("sqlite3 '\(directory)/camhost.db' 'SELECT camera_id, CAST(path AS TEXT), bytes, coalesce(CAST(thumbnail AS TEXT), \"-\") FROM recordings ORDER BY 2'")
            .split(separator: "\n").map(String.init)
        return (files, rows)
    }

    @Test func killedAtAnyPointARerunConvergesToTheSameState() throws {
        let base = try TemporaryDirectory(prefix: "rec-base")
        try makeSite(base.path, old: 40, young: 20, orphans: 3)
        let environment = ["CAMHOST_TEST_BATCH_SIZE": "16"]

        let reference = try TemporaryDirectory(prefix: "rec-ref")
        _ = try sh("cp -a '\(base.path)/.' '\(reference.path)/'")
        let clean = try camhost(["recordings", "cleanup", "--data-dir", reference.path, "--force", "--json"], environment: environment)
        #expect(clean.status == 0, "\(clean.stderr)")
        #expect(clean.stdout.contains("\"deleted\":{\"age\":120,"), "\(clean.stdout)")
        let expected = try state(reference.path)
        #expect(expected.rows.count == 60)
        #expect(expected.files.count == 60)

        let points = ["after-intent:1", "after-intent:4", "after-unlink:1", "after-unlink:2", "after-unlink:31", "after-unlink:32",
                      "after-unlink:100", "after-unlink:239", "after-unlink:245", "after-sync:1", "after-sync:5", "after-commit:1",
                      "after-commit:7", "after-commit:8"]
        for point in points {
            let work = try TemporaryDirectory(prefix: "rec-crash")
            _ = try sh("cp -a '\(base.path)/.' '\(work.path)/'")
            // The SIGKILL hook lives in a test-only program (Tests/CrashHarness), not in camhost.
            let crashed = try TestProcess.run(TestEnvironment.crashHarnessBinary, ["--data-dir", work.path, "--force"],
                                              environment: TestEnvironment.clean.merging(Self.noMediaTools) { $1 }
                                                .merging(environment.merging(["CAMHOST_TEST_CRASH_AT": point]) { $1 }) { $1 })
            #expect(crashed.status == 128 + 9, "\(point): the hook should SIGKILL the run (\(crashed.status)): \(crashed.stderr)")
            // Between the crash and the rerun: nothing inside retention is gone, and every
            // missing file is accounted for by the ledger.
            let between = try state(work.path)
            for file in expected.files { #expect(between.files.contains(file), "\(point): \(file) lost after the crash") }
            let rerun = try camhost(["recordings", "cleanup", "--data-dir", work.path, "--force"], environment: environment)
            #expect(rerun.status == 0, "\(point): \(rerun.stderr)")
            let after = try state(work.path)
            #expect(after.files == expected.files, "\(point): files differ after the rerun")
            #expect(after.rows == expected.rows, "\(point): rows differ after the rerun")
            let ledger = try sh("sqlite3 '\(work.path)/camhost.db' 'SELECT count(*) FROM deletion_ledger'")
            #expect(ledger == "0\n", "\(point)")
            // No row points at a missing file.
            for row in after.rows {
                let path = row.split(separator: "|")[1]
                #expect(after.files.contains("./" + path), "\(point): row \(row) has no file")
            }
        }
    }

    @Test func dryRunMatchesTheRealRunAndJSONHasTheContractKeys() throws {
        let site = try TemporaryDirectory(prefix: "rec-dry")
        try makeSite(site.path, old: 5, young: 5, orphans: 1)
        let before = try state(site.path)
        let dry = try camhost(["recordings", "cleanup", "--data-dir", site.path, "--dry-run", "--json"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(try state(site.path) == before, "a dry run changes nothing")
        let real = try camhost(["recordings", "cleanup", "--data-dir", site.path, "--json"])
        #expect(real.status == 0, "\(real.stderr)")
        let check = try TestProcess.run("python3", ["-c", """
            import json, sys
            dry, real = [json.loads(line) for line in sys.stdin.read().splitlines()]
            contract = {"dry_run", "deleted", "thumbnails_deleted", "orphan_files", "orphan_dirs", "dangling_rows",
                        "bytes_freed", "db_bytes_before", "db_bytes_after", "errors", "duration_ms"}
            for report in (dry, real):
                assert contract <= set(report), set(report)
                assert set(report["deleted"]) == {"age", "quota", "free_space", "orphan"}, report["deleted"]
                assert isinstance(report["errors"], list)
            assert dry["dry_run"] is True and real["dry_run"] is False
            for key in ("deleted", "thumbnails_deleted", "orphan_files", "orphan_dirs", "dangling_rows", "bytes_freed"):
                assert dry[key] == real[key], (key, dry[key], real[key])
            assert real["deleted"]["age"] == 15 and real["orphan_files"] == 3 and real["thumbnails_deleted"] == 15, real
            assert len(dry["items"]) == 18, len(dry["items"])
            print("ok")
            """], stdin: dry.stdout + real.stdout)
        #expect(check.stdout == "ok\n", "\(check.stderr)")
    }

    @Test func corruptDatabaseIsAClearErrorAndNothingIsDeleted() throws {
        let site = try TemporaryDirectory(prefix: "rec-corrupt")
        try makeSite(site.path, old: 3, young: 0, orphans: 1)
        _ = try sh("rm -f '\(site.path)'/camhost.db-*; head -c 20000 /dev/urandom > '\(site.path)/camhost.db'")
        let before = try sh("cd '\(site.path)/recordings' && find . | sort")
        let result = try camhost(["recordings", "cleanup", "--data-dir", site.path, "--force"])
        #expect(result.status == 74)
        #expect(result.stderr.contains("camhost.db"))
        #expect(result.stderr.contains("not a database"), "\(result.stderr)")
        #expect(result.stderr.contains("nothing was changed or deleted"))
        #expect(try sh("cd '\(site.path)/recordings' && find . | sort") == before)
    }

    /// Tests run as root, which ignores directory permissions; so the cleanup runs as `nobody`
    /// (setpriv), and a root-owned directory with mode 000 is really unreadable to it.
    @Test(.enabled(if: getuidIsRoot()))
    func unreadableDirectoryIsReportedAndTheRestContinues() throws {
        let site = try TemporaryDirectory(prefix: "rec-perm")
        try makeSite(site.path, old: 3, young: 1, orphans: 0)
        _ = try sh("chmod 755 '\(site.path)' && chown -R 65534:65534 '\(site.path)' && chown 0:0 '\(site.path)/recordings/cam1' && chmod 000 '\(site.path)/recordings/cam1'")
        let result = try TestProcess.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", TestEnvironment.camhostBinary,
                                                              "recordings", "cleanup", "--data-dir", site.path, "--force", "--json"],
                                         environment: TestEnvironment.clean)
        _ = try sh("chmod 755 '\(site.path)/recordings/cam1'")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("\"path\":\"cam1\""), "\(result.stdout)")
        #expect(result.stdout.contains("Permission denied"))
        #expect(result.stdout.contains("\"dangling_rows\":0"), "rows under an unreadable directory are not dangling")
        let files = try state(site.path).files
        #expect(!files.contains("./cam0/old/0000.webm") && !files.contains("./cam2/old/0000.webm"))
        #expect(files.contains("./cam1/old/0000.webm") && files.contains("./cam0/young/0000.webm"))
        #expect(try state(site.path).rows.count == 2 + 3 + 1)
    }

    @Test(.enabled(if: getuidIsRoot()))
    func freeSpaceFloorOnARealSmallVolume() throws {
        let site = try TemporaryDirectory(prefix: "rec-tmpfs")
        let root = site.path + "/recordings"
        _ = try sh("mkdir -p '\(root)' && mount -t tmpfs -o size=8m tmpfs '\(root)'")
        defer { _ = try? sh("umount '\(root)'") }
        // 7 files of 1 MiB on an 8 MiB volume; floor 30%: the oldest must go until 2.4 MiB are free.
        _ = try sh("""
            cd '\(root)' && mkdir cam0 && for i in 1 2 3 4 5 6 7; do head -c 1048576 /dev/zero > cam0/$i.webm; touch -d "$((10 - i)) days ago" cam0/$i.webm; done
            touch -d '5 days ago' cam0
            """)
        let env = ["CAMHOST_RETENTION_FREE_SPACE_FLOOR_PERCENT": "30", "CAMHOST_RETENTION_MAX_AGE_DAYS": "0"]
        let result = try camhost(["recordings", "cleanup", "--data-dir", site.path, "--json"], environment: env)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("\"free_space\":2") || result.stdout.contains("\"free_space\":3"), "\(result.stdout)")
        let left = try sh("ls '\(root)/cam0' | sort").split(separator: "\n")
        #expect(left.first == "3.webm" || left.first == "4.webm", "oldest first: \(left)")
        #expect(left.last == "7.webm")
    }

    @Test func helpDocumentsExitCodesAndExamples() throws {
        let result = try camhost(["recordings", "--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("Exit codes"))
        #expect(result.stdout.contains("Examples:"))
        let cleanup = try camhost(["recordings", "cleanup", "--help"])
        #expect(cleanup.stdout.contains("--dry-run") && cleanup.stdout.contains("--older-than"))
    }
}

func getuidIsRoot() -> Bool {
    (try? TestProcess.run("/usr/bin/id", ["-u"]).stdout) == "0\n"
}

@Suite("camhost recordings: argument errors")
struct RecordingsArgumentTests {
    func camhost(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try TestProcess.run(TestEnvironment.camhostBinary, arguments, environment: TestEnvironment.clean)
    }

    /// A bad value under a subcommand is a usage error of that subcommand: its usage, not the
    /// top-level `camhost <subcommand>`.
    @Test func aBadAgeShowsTheSubcommandsUsage() throws {
        let data = try TemporaryDirectory(prefix: "rec-args")
        for arguments in [["recordings", "cleanup", "--older-than", "abc"], ["recordings", "list", "--since", "soon"],
                          ["recordings", "policy", "set", "--camera", "gate", "--quota", "lots"]] {
            let result = try camhost(arguments + ["--data-dir", data.path])
            #expect(result.status == 64, "\(arguments): \(result.stderr)")
            let command = arguments.prefix { !$0.hasPrefix("--") }.joined(separator: " ")
            #expect(result.stderr.contains("Usage: camhost \(command)"), "\(arguments): \(result.stderr)")
            #expect(!result.stderr.contains("Usage: camhost <subcommand>"), "\(arguments): \(result.stderr)")
        }
    }

    /// A bare number is seconds everywhere; where it used to mean days (ages), it is refused
    /// rather than read as seconds: `--older-than 30` must not delete everything older than 30 s.
    @Test func aBareNumberAgeIsRefusedNotReadAsSeconds() throws {
        let data = try TemporaryDirectory(prefix: "rec-bare")
        let result = try camhost(["recordings", "cleanup", "--older-than", "30", "--data-dir", data.path])
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("--older-than"), "\(result.stderr)")
    }
}
