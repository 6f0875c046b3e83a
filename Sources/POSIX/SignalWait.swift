#if canImport(Glibc)
import Glibc
#endif

/// SIGINT and SIGTERM as a foreground command waits for them: blocked in every thread (so no
/// handler runs on a random thread) and taken with sigtimedwait, with an optional time limit.
public enum StopSignal {
    /// Blocks both in this thread and in every thread started later; call before starting any.
    /// SIGPIPE is ignored too: a closed pipe is an error to report, not a reason to die.
    public static func block() {
        var set = signals
        pthread_sigmask(SIG_BLOCK, &set, nil)
        signal(SIGPIPE, SIG_IGN)
    }

    /// Waits for one, at most `timeout` (nil: for ever); returns "SIGINT" or "SIGTERM", or nil
    /// when the time ran out. EINTR is retried with the time that is left.
    public static func wait(timeout: Duration?) -> String? {
        var set = signals
        let deadline = timeout.map { ContinuousClock.now.advanced(by: $0) }
        while true {
            var received: Int32 = -1
            if let deadline {
                let left = ContinuousClock.now.duration(to: deadline)
                if left <= .zero { return nil }
                let (seconds, attoseconds) = left.components
                var limit = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
                received = sigtimedwait(&set, nil, &limit)
                if received < 0 {
                    if errno == EAGAIN { return nil }
                    continue
                }
            } else if sigwait(&set, &received) != 0 {
                continue
            }
            return received == SIGINT ? "SIGINT" : "SIGTERM"
        }
    }

    private static var signals: sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        return set
    }
}
