import Appliance
#if canImport(Glibc)
import Glibc
#endif
import POSIX
import Storage

// A test-only program, never shipped: `camhost recordings cleanup` as the crash-safety tests
// need it, with hooks that would be dangerous in the product binary. It runs the same library
// cleanup on the same configuration, and:
//   CAMHOST_TEST_CRASH_AT=POINT:N    SIGKILL this process the Nth time it reaches POINT
//                                    (after-intent, after-unlink, after-sync, after-commit)
//   CAMHOST_TEST_BATCH_SIZE=N        deletions per transaction
//   CAMHOST_TEST_FREE_SPACE=A:T      pretend the recordings volume has A of T bytes free
// Usage: CrashHarness --data-dir DIR [--force] [--dry-run] [--config FILE]

let arguments = Array(CommandLine.arguments.dropFirst())
func value(after flag: String) -> String? {
    arguments.firstIndex(of: flag).flatMap { arguments.index(after: $0) < arguments.endIndex ? arguments[arguments.index(after: $0)] : nil }
}

let environment = Environment.current()
var flags: [String: String] = [:]
if let dataDirectory = value(after: "--data-dir") { flags["storage.data_dir"] = dataDirectory }
let loaded = ConfigLoader.load(file: value(after: "--config"), environment: environment, flags: flags)
guard loaded.errors.isEmpty else {
    for problem in loaded.errors { FileDescriptor.standardError.write("\(problem)\n") }
    exit(78)
}
let configuration = loaded.configuration

var options = CleanupOptions(policy: configuration.retentionPolicy)
options.force = arguments.contains("--force")
options.dryRun = arguments.contains("--dry-run")
options.actor = "crash-harness"
if let text = environment["CAMHOST_TEST_CRASH_AT"], let colon = text.lastIndex(of: ":"),
   let point = CleanupPoint(rawValue: String(text[..<colon])), let count = Int(text[text.index(after: colon)...]), count > 0 {
    let seen = Counter()
    options.hook = { reached in
        guard reached == point, seen.increment() == count else { return }
        Signals.send(.kill, to: currentProcessID)
    }
}
if let size = environment["CAMHOST_TEST_BATCH_SIZE"].flatMap({ Int($0) }), size > 0 { options.batchSize = size }
if let parts = environment["CAMHOST_TEST_FREE_SPACE"]?.split(separator: ":"), parts.count == 2,
   let available = Int64(parts[0]), let total = Int64(parts[1]) {
    options.freeSpace = { _ in (available, total) }
}

do {
    let store = try configuration.openStore()
    let report = try Storage.Cleanup(index: RecordingIndex(store: store, root: configuration.recordingsPath)).run(options)
    FileDescriptor.standardOutput.write(report.json() + "\n")
} catch {
    FileDescriptor.standardError.write("CrashHarness: \(error)\n")
    exit(1)
}

/// Counts the times a point is reached (the cleanup runs on one thread).
final class Counter: @unchecked Sendable {
    private var value = 0
    func increment() -> Int { value += 1; return value }
}
