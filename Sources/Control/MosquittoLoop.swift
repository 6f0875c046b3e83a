import CMosquitto
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One thread that drives every libmosquitto client of the process with poll(2).
///
/// Why not `mosquitto_loop_start`: its loop thread waits with select(), and FD_SET on a
/// descriptor ≥ FD_SETSIZE (1024) overruns the fd_set and aborts the process (glibc's
/// fortify check). Each client holds three descriptors (its socket and the socket pair
/// libmosquitto makes for threaded mode), so ~300 clients in one process were the limit.
/// poll() has no such limit, and one thread for all clients costs one stack instead of one
/// per camera.
///
/// Threading: clients are put in threaded mode (`mosquitto_threaded_set`), so `publish`,
/// `subscribe` and `disconnect` from Swift tasks only queue packets under libmosquitto's own
/// mutexes; all reads, writes, keep-alives and callbacks happen on this thread. A caller that
/// queued a packet calls `wake(_:)`, which marks the client for a write check and writes the
/// loop's wake-up pipe.
final class MosquittoLoop: Sendable {
    /// A client as the loop sees it.
    protocol Client: AnyObject, Sendable {
        var pointer: OpaquePointer { get }
        /// Set by `wake(_:)`: re-ask libmosquitto whether it has bytes to write.
        func markForWriteCheck()
        /// Reads and clears that mark.
        func takeWriteCheck() -> Bool
        /// Called on the loop thread once the loop no longer drives the client (its socket
        /// was closed by libmosquitto, or `detach` asked for it).
        func loopDetached()
    }

    static let shared = MosquittoLoop()

    private struct Inbox {
        var attach: [any Client] = []
        var detach: [(client: any Client, done: CheckedContinuation<Void, Never>?)] = []
    }

    /// A self-pipe: `wake` writes a byte, the loop polls the read end.
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let inbox = Mutex(Inbox())
    private let wakePending = Atomic<Bool>(false)
    /// How often every client gets `mosquitto_loop_misc` (keep-alive PINGREQ, ping timeout).
    private let miscInterval: Duration = .milliseconds(500)

    private init() {
        var ends: [Int32] = [-1, -1]
        precondition(pipe(&ends) == 0, "pipe failed: \(String(cString: strerror(errno)))")
        for fd in ends {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wakeRead = ends[0]
        wakeWrite = ends[1]
        MosquittoLoop.raiseDescriptorLimit()
        let raw = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let loop = Unmanaged<MosquittoLoop>.fromOpaque(raw!).takeRetainedValue()
            loop.run()
            return nil
        }, raw)
        precondition(rc == 0, "cannot start the MQTT loop thread: \(String(cString: strerror(rc)))")
        pthread_detach(thread)
    }

    /// Starts driving `client`, whose socket `mosquitto_connect`/`_reconnect` just opened.
    func attach(_ client: any Client) {
        inbox.withLock { $0.attach.append(client) }
        wake(client)
    }

    /// Stops driving `client`; returns once the loop thread has let go of it. Packets still
    /// queued (a DISCONNECT) get a last chance to be written first.
    func detach(_ client: any Client) async {
        await withCheckedContinuation { continuation in
            inbox.withLock { $0.detach.append((client, continuation)) }
            wakeLoop()
        }
    }

    /// Like `detach` but without waiting (for `deinit` paths).
    func detachSoon(_ client: any Client) {
        inbox.withLock { $0.detach.append((client, nil)) }
        wakeLoop()
    }

    /// Tells the loop that `client` queued a packet.
    func wake(_ client: any Client) {
        client.markForWriteCheck()
        wakeLoop()
    }

    private func wakeLoop() {
        if !wakePending.exchange(true, ordering: .acquiringAndReleasing) {
            var byte: UInt8 = 1
            _ = Glibc.write(wakeWrite, &byte, 1)
        }
    }

    // MARK: The loop thread

    private struct Entry {
        let client: any Client
        var fd: Int32
        var wantsWrite: Bool
    }

    private func run() {
        var entries: [Entry] = []
        var fds: [pollfd] = []
        var nextMisc = ContinuousClock.now + miscInterval
        while true {
            // 1. Attach and detach requests.
            let (attach, detach) = inbox.withLock { box in
                defer { box.attach = []; box.detach = [] }
                return (box.attach, box.detach)
            }
            for client in attach where !entries.contains(where: { $0.client === client }) {
                entries.append(Entry(client: client, fd: mosquitto_socket(client.pointer), wantsWrite: true))
            }
            for request in detach {
                if let index = entries.firstIndex(where: { $0.client === request.client }) {
                    let entry = entries.remove(at: index)
                    // Flush what is queued (a DISCONNECT) once, without blocking: the socket is non-blocking.
                    if entry.fd >= 0, mosquitto_want_write(entry.client.pointer) {
                        _ = mosquitto_loop_write(entry.client.pointer, 1)
                    }
                    entry.client.loopDetached()
                }
                request.done?.resume()
            }

            // 2. What to wait for.
            fds.removeAll(keepingCapacity: true)
            fds.append(pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0))
            for i in entries.indices {
                if entries[i].client.takeWriteCheck() {
                    entries[i].fd = mosquitto_socket(entries[i].client.pointer)
                    entries[i].wantsWrite = mosquitto_want_write(entries[i].client.pointer)
                }
                let events = Int16(POLLIN) | (entries[i].wantsWrite ? Int16(POLLOUT) : 0)
                fds.append(pollfd(fd: entries[i].fd, events: events, revents: 0))
            }
            let untilMisc = nextMisc - ContinuousClock.now
            let timeoutMS = max(0, min(Int32(untilMisc.components.seconds * 1000 + untilMisc.components.attoseconds / 1_000_000_000_000_000), 1000))
            let ready = fds.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), timeoutMS) }
            if ready < 0 && errno != EINTR {
                // Only EFAULT/EINVAL/ENOMEM are possible; back off rather than spin.
                usleep(10_000)
            }
            if fds[0].revents != 0 {
                var drain = [UInt8](repeating: 0, count: 64)
                while Glibc.read(wakeRead, &drain, drain.count) == drain.count {}
                wakePending.store(false, ordering: .releasing)
            }

            // 3. Serve ready sockets. A client's entry index is fds index - 1.
            var closed: [Int] = []
            if ready > 0 {
                for i in entries.indices {
                    let revents = fds[i + 1].revents
                    guard revents != 0, entries[i].fd >= 0 else { continue }
                    let mosq = entries[i].client.pointer
                    if revents & Int16(POLLIN | POLLERR | POLLHUP) != 0 {
                        _ = mosquitto_loop_read(mosq, 1)
                    }
                    if revents & Int16(POLLOUT) != 0, mosquitto_socket(mosq) >= 0 {
                        _ = mosquitto_loop_write(mosq, 1)
                    }
                    entries[i].fd = mosquitto_socket(mosq)
                    if entries[i].fd < 0 { closed.append(i) } else { entries[i].wantsWrite = mosquitto_want_write(mosq) }
                }
            }

            // 4. Keep-alives.
            if ContinuousClock.now >= nextMisc {
                nextMisc = ContinuousClock.now + miscInterval
                for i in entries.indices where entries[i].fd >= 0 && !closed.contains(i) {
                    let mosq = entries[i].client.pointer
                    _ = mosquitto_loop_misc(mosq)
                    entries[i].fd = mosquitto_socket(mosq)
                    if entries[i].fd < 0 { closed.append(i) } else { entries[i].wantsWrite = mosquitto_want_write(mosq) }
                }
            }

            // 5. Clients whose connection libmosquitto closed (it already called on_disconnect).
            for i in entries.indices where entries[i].fd < 0 && !closed.contains(i) { closed.append(i) }
            for i in closed.sorted(by: >) {
                let entry = entries.remove(at: i)
                entry.client.loopDetached()
            }
        }
    }

    /// Three descriptors per client: lift the soft limit to the hard one (at most 65,536) so a
    /// simulator with a thousand cameras, or a busy appliance, does not run out.
    private static func raiseDescriptorLimit() {
        var limit = rlimit()
        guard getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0 else { return }
        let wanted = min(limit.rlim_max, 65_536)
        if limit.rlim_cur < wanted {
            limit.rlim_cur = wanted
            _ = setrlimit(RLIMIT_NOFILE_VALUE, &limit)
        }
    }
}

#if canImport(Glibc)
private let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
#endif
