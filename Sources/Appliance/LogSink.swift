import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Where camhost's log lines go: standard error (journald picks it up under systemd) and,
/// once the data directory is ready, `<log dir>/camhost.log`.
public final class LogSink: Sendable {
    public static let shared = LogSink()
    private let file = Mutex<Int32>(-1)

    /// Appends to `path` from now on (creating it 0640).
    public func openFile(_ path: String) throws(SystemError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw SystemError(operation: "open log file", path: path, errno: errno) }
        file.withLock { current in
            if current >= 0 { close(current) }
            current = fd
        }
    }

    func write(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(10)
        bytes.withUnsafeBytes { raw in
            _ = Glibc.write(2, raw.baseAddress, raw.count)
            file.withLock { fd in
                if fd >= 0 { _ = Glibc.write(fd, raw.baseAddress, raw.count) }
            }
        }
    }

    /// Installs the handler for every Logger in the process.
    public static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler = LineHandler(label: label, sink: .shared)
            handler.logLevel = level
            return handler
        }
    }
}

/// One line per event: `2026-11-25T13:00:00.123Z info camhost.web: message key=value`.
struct LineHandler: LogHandler {
    let label: String
    let sink: LogSink
    var logLevel: Logger.Level = .info
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
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    var t = time_t(seconds ?? now.tv_sec)
    let ms = milliseconds ?? (seconds == nil ? now.tv_nsec / 1_000_000 : 0)
    var parts = tm()
    gmtime_r(&t, &parts)
    func pad(_ value: Int32, _ width: Int) -> String {
        let s = String(value)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
    return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(ms), 3))Z"
}
