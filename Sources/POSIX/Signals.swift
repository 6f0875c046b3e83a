#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// A signal number, with names for the ones camhost sends or waits for.
public struct Signal: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let hangUp = Signal(rawValue: SIGHUP)
    public static let interrupt = Signal(rawValue: SIGINT)
    public static let kill = Signal(rawValue: SIGKILL)
    public static let terminate = Signal(rawValue: SIGTERM)

    /// "SIGTERM", "SIGINT", ... ("signal N" for the rest).
    public var description: String {
        switch self {
        case .hangUp: "SIGHUP"
        case .interrupt: "SIGINT"
        case .kill: "SIGKILL"
        case .terminate: "SIGTERM"
        default: "signal \(rawValue)"
        }
    }
}

/// The stop signals a long-running command waits for on one thread (sigwait), instead of
/// handlers that run at any point in any thread.
public enum Signals {
    /// Blocks `signals` in this thread and every thread started after, and ignores SIGPIPE (a
    /// write to a closed socket is an error return, not the end of the process). Call before
    /// starting any thread.
    public static func block(_ signals: [Signal]) {
        var set = signalSet(signals)
        pthread_sigmask(SIG_BLOCK, &set, nil)
        Glibc.signal(SIGPIPE, SIG_IGN)
    }

    /// Waits (sigwait) until one of `signals`, blocked with `block`, arrives.
    public static func wait(for signals: [Signal]) -> Signal {
        var set = signalSet(signals)
        var received: Int32 = 0
        while sigwait(&set, &received) != 0 {}
        return Signal(rawValue: received)
    }

    /// Sends `signal` to process `pid` (kill(2)); errors (the process is gone) are ignored.
    public static func send(_ signal: Signal, to pid: ProcessID) {
        _ = Glibc.kill(pid, signal.rawValue)
    }

    /// Set by SIGINT once `catchInterrupt` has been called: for a loop that ends itself cleanly
    /// on Ctrl-C (a capture that still writes its summary).
    public static let interrupted = Atomic<Bool>(false)

    /// From now on SIGINT sets `interrupted` instead of ending the process.
    public static func catchInterrupt() {
        Glibc.signal(SIGINT) { _ in Signals.interrupted.store(true, ordering: .relaxed) }
    }

    private static func signalSet(_ signals: [Signal]) -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal.rawValue) }
        return set
    }
}
