import POSIX
import Synchronization

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
        private let semaphore = Semaphore()
        private let result = Mutex<Result<T, any Error>?>(nil)
        func finish(_ value: Result<T, any Error>) {
            result.withLock { $0 = value }
            semaphore.signal()
        }
        func wait() -> Result<T, any Error> {
            semaphore.wait()
            return result.withLock { $0! }
        }
    }
}

/// SIGINT and SIGTERM, for commands that run until stopped (`camera watch`, `simulate`).
enum StopSignals {
    /// Blocks them in this thread and in every thread started later; call before starting any.
    static func block() {
        Signals.block(signals)
    }

    /// Waits for one; returns its name.
    static func wait() -> String {
        Signals.wait(for: signals).description
    }

    private static let signals: [Signal] = [.interrupt, .terminate]
}
