import Glibc
import POSIX

/// An OS thread for test code that must not depend on the Swift concurrency pool (two threads
/// here): a lock holder that sleeps, a child-process waiter. `join()` blocks the calling thread.
final class TestThread {
    private let thread: pthread_t
    private var joined = false

    init(_ body: @escaping @Sendable () -> Void) {
        thread = startThread(body)
    }

    /// Waits for the body to return (once; later calls return at once).
    func join() {
        guard !joined else { return }
        joined = true
        joinThread(thread)
    }
}
