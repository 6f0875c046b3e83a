import Logging
import POSIX
import Synchronization

/// Where camhost's log lines go: standard error (journald picks it up under systemd) and,
/// once the data directory is ready, `<log dir>/camhost.log`.
public final class LogSink: Sendable {
    public static let shared = LogSink()
    private let file = Mutex<FileDescriptor?>(nil)
    /// The least severe level logged, shared by every Logger of the process so that a reload
    /// (SIGHUP) changes it for all of them at once.
    private let level = Atomic<UInt8>(UInt8(Logger.Level.allCases.firstIndex(of: .info)!))

    public var logLevel: Logger.Level {
        get { Logger.Level.allCases[Int(level.load(ordering: .relaxed))] }
        set { level.store(UInt8(Logger.Level.allCases.firstIndex(of: newValue)!), ordering: .relaxed) }
    }

    /// Appends to `path` from now on (creating it 0640).
    public func openFile(_ path: String) throws(SystemError) {
        let fd: FileDescriptor
        do { fd = try FileDescriptor.open(path, .writeOnly, options: [.create, .append], permissions: 0o640) } catch {
            throw SystemError(operation: "open log file", path: path, errno: error)
        }
        file.withLock { current in
            current?.close()
            current = fd
        }
    }

    func write(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(10)
        try? FileDescriptor.standardError.writeAll(bytes)
        file.withLock { fd in _ = try? fd?.writeAll(bytes) }
    }

    /// Installs the handler for every Logger in the process.
    public static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            LogSink.shared.logLevel = level
            return LineHandler(label: label, sink: .shared)
        }
    }
}

/// One line per event: `2026-11-25T13:00:00.123Z info camhost.web: message key=value`.
struct LineHandler: LogHandler {
    let label: String
    let sink: LogSink
    var logLevel: Logger.Level {
        get { sink.logLevel }
        set { sink.logLevel = newValue }
    }
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var line = "\(utcTimestamp()) \(event.level) \(label): \(event.message)"
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            let text = "\(value)"
            line += text.contains(" ") ? " \(key)=\(tomlQuoted(text))" : " \(key)=\(text)"
        }
        sink.write(line)
    }
}

/// ISO 8601 UTC with milliseconds, without Foundation's DateFormatter (which pulls ICU).
func utcTimestamp(_ seconds: Int? = nil, milliseconds: Int? = nil) -> String {
    let now = Clock.now()
    let ms = milliseconds ?? (seconds == nil ? Int(now.nanoseconds / 1_000_000) : 0)
    let date = Clock.utcDate(seconds.map(Int64.init) ?? now.seconds)
    func pad(_ value: Int, _ width: Int) -> String {
        let s = String(value)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
    return "\(pad(date.year, 4))-\(pad(date.month, 2))-\(pad(date.day, 2))T\(pad(date.hour, 2)):\(pad(date.minute, 2)):\(pad(date.second, 2)).\(pad(ms, 3))Z"
}
