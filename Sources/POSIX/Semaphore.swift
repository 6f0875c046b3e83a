#if canImport(Glibc)
import Glibc
#endif

/// A counting semaphore between threads (`sem_t`): a producer that must never block posts, a
/// consumer thread waits. Posting is a few atomic instructions and a futex wake at most.
public final class Semaphore: @unchecked Sendable {
    // sem_t must not move: it lives in its own allocation for the object's lifetime.
    private let semaphore: UnsafeMutablePointer<sem_t>

    public init(value: UInt32 = 0) {
        semaphore = .allocate(capacity: 1)
        sem_init(semaphore, 0, value)
    }

    deinit {
        sem_destroy(semaphore)
        semaphore.deallocate()
    }

    public func post() { sem_post(semaphore) }

    /// Waits until posted (EINTR retried).
    public func wait() {
        while sem_wait(semaphore) != 0 && errno == EINTR {}
    }
}
