import Logging
import Synchronization

/// Log lines about what arrives from the broker, at most `burst` per topic per `window`.
///
/// A camera with broken firmware (or a hostile client on the broker) can publish thousands of
/// malformed messages a second; each is ignored, and logging each would bury everything else in
/// the journal at the moment the operator needs it. The first `burst` lines of a window are
/// written with their topic; the rest are counted, and the next line written for that topic
/// carries `"suppressed": N`. Memory is bounded: at most `maxTopics` topics are tracked.
final class ThrottledLog: Sendable {
    private struct Entry {
        var windowStart: ContinuousClock.Instant
        var written: Int
        var suppressed: Int
    }

    let logger: Logger
    let burst: Int
    let window: Duration
    let maxTopics: Int
    private let entries = Mutex<[String: Entry]>([:])

    init(logger: Logger, burst: Int = 5, window: Duration = .seconds(10), maxTopics: Int = 1024) {
        self.logger = logger
        self.burst = burst
        self.window = window
        self.maxTopics = maxTopics
    }

    func log(_ level: Logger.Level, _ message: @autoclosure () -> Logger.Message, topic: String,
             metadata: @autoclosure () -> Logger.Metadata = [:]) {
        guard logger.logLevel <= level else { return }
        let now = ContinuousClock.now
        let suppressed: Int? = entries.withLock { all in
            if var entry = all[topic] {
                if now - entry.windowStart >= window {
                    entry.windowStart = now
                    entry.written = 0
                }
                guard entry.written < burst else {
                    entry.suppressed += 1
                    all[topic] = entry
                    return nil
                }
                let reported = entry.suppressed
                entry.written += 1
                entry.suppressed = 0
                all[topic] = entry
                return reported
            }
            if all.count >= maxTopics {
                all = all.filter { now - $0.value.windowStart < window }
                // Still full of live topics: log without tracking rather than grow.
                if all.count >= maxTopics { return 0 }
            }
            all[topic] = Entry(windowStart: now, written: 1, suppressed: 0)
            return 0
        }
        guard let suppressed else { return }
        var fields = metadata()
        fields["topic"] = "\(topic)"
        if suppressed > 0 { fields["suppressed"] = "\(suppressed)" }
        logger.log(level: level, message(), metadata: fields)
    }
}
