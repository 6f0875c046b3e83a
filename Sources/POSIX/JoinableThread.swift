#if canImport(Glibc)
import Glibc
#endif

/// An OS thread its owner waits for (a stream's receive loop), for parts that do not see pthreads.
public final class JoinableThread: @unchecked Sendable {
    private let thread: pthread_t
    private var joined = false

    /// Starts `body` on a new thread at once.
    public init(_ body: @escaping @Sendable () -> Void) {
        thread = startThread(body)
    }

    /// Waits for the body to return; a second call returns at once. Call from one thread.
    public func join() {
        if joined { return }
        joined = true
        joinThread(thread)
    }
}
