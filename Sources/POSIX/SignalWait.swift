#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension Signals {
    /// Waits (sigtimedwait) until one of `signals`, blocked with `block`, arrives, or `timeout`
    /// passes (nil: waits for ever); nil when the time ran out. An interrupted wait goes on with
    /// the time that is left.
    public static func wait(for signals: [Signal], timeout: Duration?) -> Signal? {
        guard let timeout else { return wait(for: signals) }
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal.rawValue) }
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            let left = ContinuousClock.now.duration(to: deadline)
            if left <= .zero { return nil }
            let (seconds, attoseconds) = left.components
            var limit = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
            switch valueOrErrno(retryOnInterrupt: false, { sigtimedwait(&set, nil, &limit) }) {
            case .success(let received): return Signal(rawValue: received)
            case .failure(.interrupted): continue
            case .failure: return nil  // EAGAIN: the time ran out
            }
        }
    }
}
