import CMicroHTTPD
import POSIX
import Synchronization

/// Runs one libmicrohttpd daemon started without a thread of its own: `MHD_run` on a thread of
/// ours, and between two runs the work that must not race with it.
///
/// libmicrohttpd 0.9.75 (Debian 12) has a race when an upgraded connection is closed from
/// another thread: `MHD_upgrade_action(CLOSE)` sets `was_closed` and then resumes the
/// connection; if its own thread has meanwhile found the connection both closed and finished
/// forwarding, it frees it, and the resume writes into freed memory (fixed upstream in 0.9.76,
/// "Fixed very rare data races when closing upgraded connection"). With 50 WebSockets closing
/// at once that corrupted the heap about once in a hundred closes. Here every CLOSE runs on the
/// thread that runs the daemon, so the two can never interleave.
final class DaemonRunner: Sendable {
    /// The daemon's MHD_Daemon pointer.
    private let daemon: UInt
    private let wakeRead: FileDescriptor
    private let wakeWrite: FileDescriptor
    private let state = Mutex<(actions: [@Sendable () -> Void], stopped: Bool)>(([], false))
    private let stopping = Atomic<Bool>(false)
    private let thread = Mutex<ThreadHandle?>(nil)

    /// Starts running `daemon`; nil when it has no epoll descriptor or no wake-up pipe can be made.
    init?(daemon: OpaquePointer) {
        guard cmicrohttpd_epoll_fd(daemon) >= 0, let pipe = try? FileDescriptor.pipe() else { return nil }
        self.daemon = UInt(bitPattern: daemon)
        (wakeRead, wakeWrite) = pipe
        wakeRead.setNonBlocking()
        wakeWrite.setNonBlocking()   // a full pipe already means "wake up"
        let started = startThread { [self] in run() }
        thread.withLock { $0 = started }
    }

    /// Runs `action` on the daemon's thread between two runs (at once, here, once stopped).
    func perform(_ action: @escaping @Sendable () -> Void) {
        let queued = state.withLock { state -> Bool in
            guard !state.stopped else { return false }
            state.actions.append(action)
            return true
        }
        if queued { wake() } else { action() }
    }

    /// Ends the loop (the daemon is no longer run), then runs what was still queued. Call
    /// before MHD_stop_daemon.
    func stop() {
        guard let running = thread.withLock({ handle -> ThreadHandle? in defer { handle = nil }; return handle }) else { return }
        stopping.store(true, ordering: .releasing)
        wake()
        joinThread(running)
        let left = state.withLock { state -> [@Sendable () -> Void] in
            state.stopped = true
            defer { state.actions = [] }
            return state.actions
        }
        for action in left { action() }
        wakeRead.close()
        wakeWrite.close()
    }

    private func wake() {
        _ = try? wakeWrite.writeAll([1])
    }

    private func run() {
        guard let pointer = OpaquePointer(bitPattern: daemon) else { return }
        let epoll = cmicrohttpd_epoll_fd(pointer)
        var poller = ReadinessPoller(descriptors: [epoll, wakeRead.rawValue])
        var drained = [UInt8](repeating: 0, count: 64)
        while !stopping.load(ordering: .acquiring) {
            try? poller.wait(milliseconds: Int32(cmicrohttpd_timeout_ms(pointer, 500)))
            if poller.isReadable(1) {
                _ = try? drained.withUnsafeMutableBytes { raw throws(Errno) in try wakeRead.read(into: raw) }
            }
            let actions = state.withLock { state -> [@Sendable () -> Void] in
                defer { state.actions.removeAll(keepingCapacity: true) }
                return state.actions
            }
            for action in actions { action() }
            _ = MHD_run(pointer)
        }
    }
}
