#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A joinable OS thread from `startThread` (pthread_t, named for parts that do not import Glibc).
public typealias ThreadHandle = pthread_t

/// Starts a joinable OS thread (a capture loop, a health or retention schedule): for work that
/// blocks, which must not sit on one of the Swift concurrency pool's threads. Join it with
/// `joinThread`.
public func startThread(_ body: @escaping @Sendable () -> Void) -> ThreadHandle {
    switch createThread(body) {
    case .success(let thread): return thread
    case .failure(let error): fatalError("cannot start a thread: \(error)")
    }
}

/// Waits for a thread from `startThread` to return.
public func joinThread(_ thread: ThreadHandle) {
    pthread_join(thread, nil)
}

/// Starts a detached OS thread for blocking work that waits on nobody (a reconnect loop). When
/// no thread can be made, the work runs on the caller's thread rather than being lost.
public func startDetachedThread(_ body: @escaping @Sendable () -> Void) {
    if case .success(let thread) = createThread(body) { pthread_detach(thread) } else { body() }
}

private func createThread(_ body: @escaping @Sendable () -> Void) -> Result<pthread_t, Errno> {
    let raw = Unmanaged.passRetained(OwnThreadWork(body)).toOpaque()
    var thread = pthread_t()
    let result = nothingOrReturnedErrno(pthread_create(&thread, nil, { raw in
        Unmanaged<OwnThreadWork>.fromOpaque(raw!).takeRetainedValue().run()
        return nil
    }, raw))
    if case .failure = result { Unmanaged<OwnThreadWork>.fromOpaque(raw).release() }
    return result.map { thread }
}

/// Runs blocking work (a C call that waits on the network, a packet capture of N seconds) on a
/// fresh OS thread and awaits its result, so it never occupies one of the Swift concurrency
/// pool's threads (two on this kind of machine: blocking one starves everything else).
public func runOnOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        startDetachedThread { continuation.resume(returning: body()) }
    }
}

private final class OwnThreadWork: Sendable {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

/// A counting semaphore (POSIX sem_t) for a thread that must wait for work finished elsewhere,
/// e.g. a synchronous command waiting for a Task. It lives on the heap: a sem_t must not move.
public final class Semaphore: @unchecked Sendable {
    private let semaphore = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
    public init(value: UInt32 = 0) { sem_init(semaphore, 0, value) }
    deinit { sem_destroy(semaphore); semaphore.deallocate() }
    public func signal() { sem_post(semaphore) }
    /// Waits for one `signal` (retried when a signal handler interrupts it).
    public func wait() { _ = nothingOrErrno { sem_wait(semaphore) } }
    /// Waits for one `signal` at most `timeout`; false when the time ran out. sem_timedwait takes
    /// a CLOCK_REALTIME deadline, so a clock step can lengthen or shorten the wait (tolerable here:
    /// the callers' time-outs are seconds, the step is rare).
    public func wait(timeout: Duration) -> Bool {
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        let (seconds, attoseconds) = max(timeout, .zero).components
        var nanoseconds = Int(deadline.tv_nsec) + Int(attoseconds / 1_000_000_000)
        deadline.tv_sec += Int(seconds) + nanoseconds / 1_000_000_000
        nanoseconds %= 1_000_000_000
        deadline.tv_nsec = nanoseconds
        switch nothingOrErrno({ sem_timedwait(semaphore, &deadline) }) {
        case .success: return true
        case .failure: return false
        }
    }
}
