import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs async work from a synchronous command's `run()` and waits for it on the calling
/// thread, which is not one of the (two) Swift concurrency threads, so nothing starves.
enum BlockingTask {
    static func run<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let box = Box<T>()
        Task.detached {
            do { box.finish(.success(try await body())) } catch { box.finish(.failure(error)) }
        }
        return try box.wait().get()
    }

    private final class Box<T: Sendable>: @unchecked Sendable {
        // A POSIX semaphore must not move: it lives on the heap for the box's lifetime.
        private let semaphore = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
        private let result = Mutex<Result<T, any Error>?>(nil)
        init() { sem_init(semaphore, 0, 0) }
        deinit { sem_destroy(semaphore); semaphore.deallocate() }
        func finish(_ value: Result<T, any Error>) {
            result.withLock { $0 = value }
            sem_post(semaphore)
        }
        func wait() -> Result<T, any Error> {
            while sem_wait(semaphore) != 0 {}
            return result.withLock { $0! }
        }
    }
}

/// SIGINT and SIGTERM, for commands that run until stopped (`camera watch`, `simulate`).
enum StopSignals {
    /// Blocks them in this thread and in every thread started later; call before starting any.
    static func block() {
        var set = signals
        pthread_sigmask(SIG_BLOCK, &set, nil)
        signal(SIGPIPE, SIG_IGN)
    }

    /// Waits for one; returns its name.
    static func wait() -> String {
        var set = signals
        var received: Int32 = 0
        while sigwait(&set, &received) != 0 {}
        return received == SIGINT ? "SIGINT" : "SIGTERM"
    }

    private static var signals: sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        return set
    }
}
