import CLinux
import CMosquitto
import POSIX
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One thread that drives every libmosquitto client of the process with epoll(7).
///
/// Why not `mosquitto_loop_start`: its loop thread waits with select(), and FD_SET on a
/// descriptor ≥ FD_SETSIZE (1024) overruns the fd_set and aborts the process (glibc's
/// fortify check). Each client holds three descriptors (its socket and the socket pair
/// libmosquitto makes for threaded mode), so ~300 clients in one process were the limit.
/// epoll has no such limit, reports only the sockets that are ready (poll(2) scanned every
/// socket per wake-up: 10 % of a 100-camera simulator's CPU), and one thread for all clients
/// costs one stack instead of one per camera.
///
/// Threading: clients are put in threaded mode (`mosquitto_threaded_set`), so `publish`,
/// `subscribe` and `disconnect` from Swift tasks only queue packets under libmosquitto's own
/// mutexes; all reads, writes, keep-alives and callbacks happen on this thread. A caller that
/// queued a packet calls `wake(_:)`, which puts the client on the loop's dirty list and writes
/// the loop's wake-up pipe. Per wake-up the loop touches only dirty and ready clients; the
/// rest cost nothing.
final class MosquittoLoop: Sendable {
    /// A client as the loop sees it.
    protocol Client: AnyObject, Sendable {
        var pointer: OpaquePointer { get }
        /// Called on the loop thread once the loop no longer drives the client (its socket
        /// was closed by libmosquitto, or `detach` asked for it).
        func loopDetached()
    }

    static let shared = MosquittoLoop()

    private struct Inbox {
        var attach: [any Client] = []
        var detach: [(client: any Client, done: CheckedContinuation<Void, Never>?)] = []
        /// Clients that queued packets since the loop last looked.
        var dirty: [UInt] = []  // addresses: OpaquePointer is not Sendable
    }

    /// A self-pipe: `wake` writes a byte, the loop polls the read end.
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let inbox = Mutex(Inbox())
    private let wakePending = Atomic<Bool>(false)
    /// The loop thread's pthread_t, so `wake` can tell when it is called from a callback.
    private let loopThread = Atomic<UInt>(0)
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
        // The loop lives as long as the process (the shared instance): never joined.
        pthread_detach(startThread { [self] in
            loopThread.store(pthread_self(), ordering: .relaxed)
            run()
        })
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

    /// Tells the loop that `client` queued a packet. From the loop thread itself (a message
    /// handler that answers) no wake-up is needed: the loop reads the dirty list before it
    /// waits again.
    func wake(_ client: any Client) {
        let address = UInt(bitPattern: client.pointer)
        inbox.withLock { $0.dirty.append(address) }
        if pthread_self() != loopThread.load(ordering: .relaxed) { wakeLoop() }
    }

    private func wakeLoop() {
        if !wakePending.exchange(true, ordering: .acquiringAndReleasing) {
            var byte: UInt8 = 1
            _ = Glibc.write(wakeWrite, &byte, 1)
        }
    }

    // MARK: The loop thread

    /// The clients the loop drives, as parallel arrays so the hot path copies no references
    /// (retain/release of a thousand clients per wake-up showed up first in profiles).
    /// Each open socket is registered with the loop's epoll instance, keyed by its client's
    /// `struct mosquitto *`; write interest is registered only while libmosquitto has bytes
    /// that did not fit in the socket (rare: queued packets are written at once).
    private struct Table {
        let epoll: Int32
        var clients: [any Client] = []
        var pointers: [OpaquePointer] = []
        var fds: [Int32] = []
        var wantsWrite: [Bool] = []
        /// What epoll has for each client: its descriptor (-1: none) and whether EPOLLOUT.
        var registeredFD: [Int32] = []
        var registeredWrite: [Bool] = []
        var index: [OpaquePointer: Int] = [:]

        init(epoll: Int32) { self.epoll = epoll }

        mutating func append(_ client: any Client) {
            let pointer = client.pointer
            guard index[pointer] == nil else { return }
            index[pointer] = clients.count
            clients.append(client)
            pointers.append(pointer)
            fds.append(mosquitto_socket(pointer))
            wantsWrite.append(mosquitto_want_write(pointer))
            registeredFD.append(-1)
            registeredWrite.append(false)
            register(clients.count - 1)
        }

        /// Takes the client out; its socket leaves epoll when it is still open (a closed socket
        /// left by itself, and its number may already belong to another client).
        mutating func remove(at i: Int) -> any Client {
            if registeredFD[i] >= 0, fds[i] == registeredFD[i] {
                var unused = epoll_event()
                _ = epoll_ctl(epoll, EPOLL_CTL_DEL, registeredFD[i], &unused)
            }
            let client = clients.remove(at: i)
            index[pointers.remove(at: i)] = nil
            fds.remove(at: i)
            wantsWrite.remove(at: i)
            registeredFD.remove(at: i)
            registeredWrite.remove(at: i)
            for k in i..<pointers.count { index[pointers[k]] = k }
            return client
        }

        /// Re-reads the socket and write interest after libmosquitto ran; false when closed.
        mutating func refresh(_ i: Int) -> Bool {
            fds[i] = mosquitto_socket(pointers[i])
            if fds[i] < 0 { return false }
            wantsWrite[i] = mosquitto_want_write(pointers[i])
            if registeredFD[i] != fds[i] || registeredWrite[i] != wantsWrite[i] { register(i) }
            return true
        }

        /// Brings epoll in line with `fds[i]` and `wantsWrite[i]`.
        private mutating func register(_ i: Int) {
            guard fds[i] >= 0 else { return }
            var event = epoll_event()
            event.events = EPOLLIN.rawValue | (wantsWrite[i] ? EPOLLOUT.rawValue : 0)
            event.data.u64 = UInt64(UInt(bitPattern: pointers[i]))
            let operation = registeredFD[i] == fds[i] ? EPOLL_CTL_MOD : EPOLL_CTL_ADD
            if epoll_ctl(epoll, operation, fds[i], &event) == 0 || (operation == EPOLL_CTL_ADD && errno == EEXIST
                && epoll_ctl(epoll, EPOLL_CTL_MOD, fds[i], &event) == 0) {
                registeredFD[i] = fds[i]
                registeredWrite[i] = wantsWrite[i]
            }
        }
    }

    private func run() {
        let epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epoll >= 0, "epoll_create1 failed: \(String(cString: strerror(errno)))")
        var wakeEvent = epoll_event()
        wakeEvent.events = EPOLLIN.rawValue
        wakeEvent.data.u64 = 0  // no client has address 0
        precondition(epoll_ctl(epoll, EPOLL_CTL_ADD, wakeRead, &wakeEvent) == 0, "cannot watch the wake-up pipe")
        var table = Table(epoll: epoll)
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        var closed: [Int] = []
        var nextMisc = ContinuousClock.now + miscInterval
        while true {
            // 1. Requests from other threads (and from handlers on this one).
            let (attach, detach, dirty) = inbox.withLock { box in
                defer { box.attach = []; box.detach = []; box.dirty = [] }
                return (box.attach, box.detach, box.dirty)
            }
            for client in attach { table.append(client) }
            // Queued packets go out now rather than after the next wait: a loopback or LAN
            // socket is nearly always writable, and a wait per packet doubled the syscalls of
            // a command round trip. What does not fit waits for EPOLLOUT.
            for address in dirty {
                if let pointer = OpaquePointer(bitPattern: address), let i = table.index[pointer], table.refresh(i), table.wantsWrite[i] {
                    _ = mosquitto_loop_write(pointer, 1)
                    _ = table.refresh(i)
                }
            }
            for request in detach {
                if let i = table.index[request.client.pointer] {
                    // Flush what is queued (a DISCONNECT) once, without blocking: the socket is non-blocking.
                    if table.fds[i] >= 0, mosquitto_want_write(table.pointers[i]) {
                        _ = mosquitto_loop_write(table.pointers[i], 1)
                    }
                    table.remove(at: i).loopDetached()
                }
                request.done?.resume()
            }

            // 2. Wait.
            let untilMisc = nextMisc - ContinuousClock.now
            let timeoutMS = max(0, min(Int32(untilMisc.components.seconds * 1000 + untilMisc.components.attoseconds / 1_000_000_000_000_000), 1000))
            let ready = events.withUnsafeMutableBufferPointer { epoll_wait(epoll, $0.baseAddress, Int32($0.count), timeoutMS) }
            if ready < 0 && errno != EINTR {
                usleep(10_000)  // only EBADF/EFAULT/EINVAL are possible; back off rather than spin
            }

            // 3. Ready sockets.
            closed.removeAll(keepingCapacity: true)
            for k in 0..<max(0, Int(ready)) {
                let key = events[k].data.u64
                let flags = events[k].events
                if key == 0 {
                    var drain = [UInt8](repeating: 0, count: 64)
                    while Glibc.read(wakeRead, &drain, drain.count) == drain.count {}
                    wakePending.store(false, ordering: .releasing)
                    continue
                }
                guard let pointer = OpaquePointer(bitPattern: UInt(key)), let i = table.index[pointer], table.fds[i] >= 0 else { continue }
                if flags & (EPOLLIN.rawValue | EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 {
                    _ = mosquitto_loop_read(pointer, 1)
                }
                // EPOLLOUT, or a reply the read just queued (PUBACK, a handler's answer).
                if flags & EPOLLOUT.rawValue != 0 || mosquitto_want_write(pointer), mosquitto_socket(pointer) >= 0 {
                    _ = mosquitto_loop_write(pointer, 1)
                }
                if !table.refresh(i) && !closed.contains(i) { closed.append(i) }
            }

            // 4. Keep-alives.
            if ContinuousClock.now >= nextMisc {
                nextMisc = ContinuousClock.now + miscInterval
                for i in table.fds.indices where table.fds[i] >= 0 {
                    _ = mosquitto_loop_misc(table.pointers[i])
                    if !table.refresh(i) && !closed.contains(i) { closed.append(i) }
                }
            }

            // 5. Clients whose connection libmosquitto closed (it already called on_disconnect).
            for i in table.fds.indices where table.fds[i] < 0 && !closed.contains(i) { closed.append(i) }
            for i in closed.sorted(by: >) { table.remove(at: i).loopDetached() }
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
