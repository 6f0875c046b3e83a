import JSONText
import Appliance
import ArgumentParser
import POSIX
import Storage

struct RecordingsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recordings",
        abstract: "Index recordings and apply retention: scan, list, cleanup, protect, per-camera policy.",
        discussion: """
            Recordings live under the recordings root (storage.recordings, default \
            <data dir>/recordings), one directory per camera: <root>/<camera id>/.../<file>.webm|.mp4|.mkv. \
            Thumbnails live at <root>/.thumbnails/<recording path>.jpg. The database holds one row \
            per recording; retention decides from the database, deletes crash-safely (a ledger of \
            intents, finished on the next run) and never deletes anything outside the root or \
            through a symbolic link. See docs/recordings.md.

            Exit codes (every subcommand): 0 done (per-file problems are listed, the run \
            completed); 64 wrong arguments; 65 cleanup refused by the safety stop (nothing \
            planned was deleted; check, then --force), or `protect` was given an unknown id; 66 the recordings root cannot be opened; \
            73 cleanup cannot take its lock file, or the database lies inside the recordings root; \
            74 the database cannot be opened (corrupt, not a database, newer schema): nothing was \
            deleted; 75 another cleanup is running; 78 the configuration is wrong.

            Examples:
              camhost recordings scan --data-dir /var/lib/camhost
              camhost recordings list --camera gate --since 7d
              camhost recordings cleanup --dry-run
              camhost recordings cleanup --older-than 30d --camera gate --json
              camhost recordings policy set --camera gate --max-age 90d --quota 200G
            """,
        subcommands: [Scan.self, List.self, Cleanup.self, Protect.self, Policy.self])

    struct Scan: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register new recording files under the recordings root.",
            discussion: """
                Walks the root at any depth and adds a row for each settled .webm, .mp4 or .mkv \
                file that has none (size, modification time; camera = first directory). Files \
                modified in the last retention.settle_seconds, or held open by a process, are \
                still being written and are left for a later scan. Thumbnails found at \
                .thumbnails/<path>.jpg are linked. Then, for recordings that lack them, ffprobe \
                fills duration and codec and ffmpeg makes the thumbnail (media.ffprobe, \
                media.ffmpeg; media.thumbnail_concurrency at a time). Without ffmpeg the \
                dashboard shows a placeholder ("no thumbnail") and the scan says so once; a file \
                a tool fails on is listed and the scan goes on. Symbolic links are reported, never followed.

                Examples:
                  camhost recordings scan
                  camhost recordings scan --json --data-dir /var/lib/camhost
                """)

        @OptionGroup var options: ConfigOptions
        @Flag(help: "Print JSON: {\"files_seen\", \"registered\", \"unsettled\", \"thumbnails_linked\", \"probed\", \"thumbnails_made\", \"notes\", \"errors\": [{\"path\", \"error\"}], \"duration_ms\"}.")
        var json = false

        func run() throws {
            let context = try RecordingsContext(options)
            let report: ScanReport
            do {
                report = try context.index.scan(settleSeconds: context.policy.settleSeconds, media: context.media)
            } catch let error as FileError {
                printError("camhost: cannot open the recordings root \(context.root): \(error). Check storage.recordings or --data-dir.")
                throw ExitCode(66)
            }
            if json { printOut(report.json()); return }
            printOut("scanned \(report.filesSeen) file(s) in \(report.directoriesSeen) director\(report.directoriesSeen == 1 ? "y" : "ies") "
                + "in \(report.durationMilliseconds) ms: \(report.registered) new recording(s), \(report.thumbnailsLinked) thumbnail(s) linked, "
                + "\(report.unsettled) still being written; \(report.probed) probed, \(report.thumbnailsMade) thumbnail(s) made")
            for note in report.notes { printOut("note: " + note) }
            printProblems(report.errors)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List registered recordings, oldest first.",
            discussion: """
                Paths are relative to the recordings root; bytes that are not UTF-8 and control \
                characters show as \\xNN.

                Examples:
                  camhost recordings list
                  camhost recordings list --camera gate --since 2025-11-01
                  camhost recordings list --since 24h --json
                """)

        @OptionGroup var options: ConfigOptions
        @Option(help: ArgumentHelp("Only this camera.", valueName: "id")) var camera: String?
        @Option(help: ArgumentHelp("Only recordings that ended at or after this: a UTC date/time (2025-11-01, 2025-11-01T08:00) or an age with its unit (7d, 12h, 30m).", valueName: "when"))
        var since: Since?
        @Flag(help: "Print a JSON array of {\"id\", \"camera\", \"path\", \"start\", \"end\", \"duration_ms\", \"bytes\", \"codec\", \"thumbnail\", \"protected\"}.")
        var json = false

        func run() throws {
            let context = try RecordingsContext(options)
            var cutoff: String?
            switch since {
            case .age(let age)?: cutoff = Timestamp.iso8601(secondsAgo: age.seconds)
            case .date(let date)?: cutoff = date
            case nil: break
            }
            let recordings = try context.index.list(camera: camera, since: cutoff)
            if json {
                printOut("[" + recordings.map(jsonObject).joined(separator: ",") + "]")
                return
            }
            if recordings.isEmpty { printOut("no recordings"); return }
            for r in recordings {
                let duration = r.durationMilliseconds.map { "\($0 / 1000)s" } ?? "-"
                let thumbnail = r.thumbnail == nil ? "  [no thumbnail: ffmpeg not installed or not made yet]" : ""
                printOut("\(r.id)\t\(r.cameraID)\t\(r.endAt)\t\(duration)\t\(humanBytes(r.bytes))\t\(r.isProtected ? "protected" : "-")\t\(RecordingPath.display(r.path))\(thumbnail)")
            }
        }

        private func jsonObject(_ r: Recording) -> String {
            func q(_ s: String) -> String { jsonString(s) }
            return "{\"id\":\(r.id),\"camera\":\(q(r.cameraID)),\"path\":\(q(RecordingPath.display(r.path))),\"start\":\(q(r.startAt)),"
                + "\"end\":\(q(r.endAt)),\"duration_ms\":\(r.durationMilliseconds.map(String.init) ?? "null"),\"bytes\":\(r.bytes),"
                + "\"codec\":\(r.codec.map(q) ?? "null"),\"thumbnail\":\(r.thumbnail.map { q(RecordingPath.display($0)) } ?? "null"),"
                + "\"protected\":\(r.isProtected)}"
        }
    }

    struct Cleanup: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply retention now: age, per-camera quota, free-space floor, orphans, dangling rows.",
            discussion: """
                Order: finish any deletion an interrupted run left in the ledger; scan (new files \
                become recordings, never orphans); plan (age, then quota, then free space, each \
                oldest first; protected recordings are never touched; a free-space purge keeps \
                recordings younger than retention.min_age_days unless --force); then delete in \
                batches (ledger intent, unlink file and thumbnail, fsync the directory, delete the \
                rows). Files without a row older than retention.orphan_grace_minutes, rows whose \
                file is gone and directories left empty are removed too. A run that would delete \
                more than retention.safety_max_share_percent of all recordings stops (exit 65) \
                unless --force.

                --dry-run plans exactly as a real run and lists every deletion, changing nothing. \
                A progress bar is drawn on stderr when it is a terminal. The JSON report: \
                {"dry_run", "deleted": {"age", "quota", "free_space", "orphan"}, \
                "thumbnails_deleted", "orphan_files", "orphan_dirs", "dangling_rows", \
                "bytes_freed", "db_bytes_before", "db_bytes_after", "errors": [{"path", \
                "error"}], "duration_ms", "registered", "ledger_finished", "refusal"} (plus \
                "items" for a dry run).

                Examples:
                  camhost recordings cleanup --dry-run
                  camhost recordings cleanup --older-than 30d
                  camhost recordings cleanup --camera gate --older-than 2w --json
                  camhost recordings cleanup --force        # past the safety stop, after checking
                """)

        @OptionGroup var options: ConfigOptions
        @Option(help: ArgumentHelp("Delete recordings that ended longer ago than this (e.g. 30d, 2w, 12h: the unit is required), instead of the configured age limits.", valueName: "age"))
        var olderThan: Age?
        @Option(help: ArgumentHelp("Only this camera's recordings and files.", valueName: "id")) var camera: String?
        @Flag(help: "Plan and list every deletion; change nothing.") var dryRun = false
        @Flag(help: "Go past the safety stop and the minimum age of a free-space purge.") var force = false
        @Flag(help: "Print the report as JSON on stdout.") var json = false

        func run() throws {
            let context = try RecordingsContext(options)
            var cleanupOptions = CleanupOptions(policy: context.policy)
            cleanupOptions.dryRun = dryRun
            cleanupOptions.force = force
            cleanupOptions.olderThanSeconds = olderThan?.seconds
            cleanupOptions.camera = camera
            cleanupOptions.actor = cliActor()
            let progress = FileDescriptor.standardError.isTerminal
            if progress {
                cleanupOptions.progress = { done, total in
                    guard done == total || done % 200 == 0 else { return }
                    let width = 30
                    let filled = total > 0 ? width * done / total : width
                    printErrorRaw("\r[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] \(done)/\(total)")
                }
            }
            let report: CleanupReport
            do {
                report = try Storage.Cleanup(index: context.index).run(cleanupOptions)
            } catch let error as CleanupError {
                printError("camhost: \(error)")
                switch error {
                case .busy: throw ExitCode(75)
                case .rootUnavailable: throw ExitCode(66)
                case .lockFailed, .databaseInsideRoot: throw ExitCode(73)
                }
            } catch {
                printError("camhost: cleanup stopped: \(error). Deletions already recorded in the ledger finish on the next run.")
                throw ExitCode(74)
            }
            if progress { printErrorRaw("\r\u{1B}[K") }
            if json {
                printOut(report.json(includeItems: dryRun))
            } else {
                if dryRun {
                    for item in report.items {
                        let thumbnail = item.thumbnail.map { " (+ thumbnail \(RecordingPath.display($0)))" } ?? ""
                        printOut("would delete [\(item.reason.rawValue)] \(RecordingPath.display(item.path)) \(humanBytes(item.bytes))\(thumbnail)")
                    }
                }
                printOut(Storage.Cleanup.summary(report) + " in \(report.durationMilliseconds) ms; database \(humanBytes(report.databaseBytesBefore)) -> \(humanBytes(report.databaseBytesAfter))")
                printProblems(report.errors)
            }
            if let refusal = report.refusal {
                printError("camhost: cleanup refused: \(refusal)")
                throw ExitCode(65)
            }
        }
    }

    struct Protect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Protect recordings from retention (or lift the protection with --off).",
            discussion: """
                Examples:
                  camhost recordings protect 1234 1235
                  camhost recordings protect --off 1234
                """)

        @OptionGroup var options: ConfigOptions
        @Flag(help: "Remove the protection.") var off = false
        @Argument(help: ArgumentHelp("Recording ids, as `recordings list` shows them.", valueName: "id")) var ids: [Int64]

        func run() throws {
            let context = try RecordingsContext(options)
            var missing: [Int64] = []
            for id in ids where try !context.index.setProtected(id, !off) { missing.append(id) }
            if !missing.isEmpty {
                printError("camhost: no recording with id " + missing.map(String.init).joined(separator: ", "))
                throw ExitCode(65)
            }
            printOut("\(ids.count) recording(s) \(off ? "no longer protected" : "protected")")
        }
    }

    struct Policy: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show or set per-camera retention overrides (stored in the database).",
            subcommands: [Show.self, Set.self])

        struct Show: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Print the global policy and each camera's overrides.")
            @OptionGroup var options: ConfigOptions

            func run() throws {
                let context = try RecordingsContext(options)
                let p = context.policy
                printOut("global: max age \(p.maxAgeDays)d, min age \(p.minAgeDays)d, quota \(p.cameraQuotaBytes == 0 ? "none" : humanBytes(p.cameraQuotaBytes)), "
                    + "free-space floor \(p.freeSpaceFloorPercent)%, safety stop \(p.safetyMaxSharePercent)%")
                for camera in try CameraRetention.all(in: context.store) {
                    printOut("\(camera.cameraID): max age \(camera.maxAgeDays.map { "\($0)d" } ?? "global"), min age \(camera.minAgeDays.map { "\($0)d" } ?? "global"), "
                        + "quota \(camera.quotaBytes.map(humanBytes) ?? "global")")
                }
            }
        }

        struct Set: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Override the global policy for one camera.",
                discussion: """
                    Options not given keep their current value; --clear returns the camera to the \
                    global policy.

                    Examples:
                      camhost recordings policy set --camera gate --max-age 90d
                      camhost recordings policy set --camera lobby --quota 50G --min-age 2d
                      camhost recordings policy set --camera lobby --clear
                    """)
            @OptionGroup var options: ConfigOptions
            @Option(help: ArgumentHelp("The camera id.", valueName: "id")) var camera: String
            @Option(help: ArgumentHelp("Maximum age in whole days, with its unit: e.g. 90d or 13w (0d: no age limit).", valueName: "age")) var maxAge: Age?
            @Option(help: ArgumentHelp("Minimum age a free-space purge respects, with its unit: e.g. 2d.", valueName: "age")) var minAge: Age?
            @Option(help: ArgumentHelp("Byte quota, e.g. 500M, 200G (0: none).", valueName: "size")) var quota: ByteSize?
            @Flag(help: "Remove every override of this camera.") var clear = false

            func run() throws {
                let context = try RecordingsContext(options)
                var current = try CameraRetention.all(in: context.store).first { $0.cameraID == camera } ?? CameraRetention(cameraID: camera)
                if clear { current = CameraRetention(cameraID: camera) }
                if let maxAge { current.maxAgeDays = Int(maxAge.seconds / 86_400) }
                if let minAge { current.minAgeDays = Int(minAge.seconds / 86_400) }
                if let quota { current.quotaBytes = quota.bytes }
                try current.save(in: context.store)
                printOut("\(camera): max age \(current.maxAgeDays.map { "\($0)d" } ?? "global"), min age \(current.minAgeDays.map { "\($0)d" } ?? "global"), quota \(current.quotaBytes.map(humanBytes) ?? "global")")
            }
        }
    }
}

/// The database, the recordings root and the policy every recordings command works with.
struct RecordingsContext {
    let store: Store
    let root: String
    let policy: RetentionPolicy
    let media: MediaTools
    var index: RecordingIndex { RecordingIndex(store: store, root: root) }

    init(_ options: ConfigOptions) throws {
        let configuration = try options.load()
        root = configuration.recordingsPath
        policy = configuration.retentionPolicy
        media = configuration.mediaTools
        store = try openStore(configuration, makingDirectory: false, consequence: "nothing was changed or deleted")
    }
}

func humanBytes(_ bytes: Int64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
    if unit == 0 { return "\(bytes) B" }
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(tenths % 10) \(units[unit])"
}

func jsonString(_ text: String) -> String { jsonQuoted(text) }

func printProblems(_ errors: [PathError]) {
    guard !errors.isEmpty else { return }
    printError("\(errors.count) problem(s):")
    for error in errors.prefix(50) { printError("  \(error.path): \(error.error)") }
    if errors.count > 50 { printError("  ... and \(errors.count - 50) more (use --json for all)") }
}

func printErrorRaw(_ text: String) {
    FileDescriptor.standardError.write(text)
}
