import POSIX
import Synchronization

/// The one thread that serves every upgraded connection of an `HTTPSServer`: non-blocking reads
/// and writes on all of them through epoll, the timers (ping, idle time-out, close wait) and the
/// handler's callbacks. Other threads hand it work through a locked inbox and a wake-up pipe.
///
/// Over TLS, libmicrohttpd hands each upgraded connection over as one end of a non-blocking
/// socketpair that its own threads pump to and from GnuTLS; anything here that blocked would
/// stall every viewer, so nothing does.
final class WebSocketEventLoop: Sendable {
    /// How long a closing connection waits for the peer's close frame before it is released
    /// (RFC 6455 section 7.1.1 leaves it to the implementation).
    static let closeWait: Duration = .seconds(2)
    /// After the close handshake and our shutdown(SHUT_WR), the connection is released once
    /// libmicrohttpd's TLS pump has taken every byte we wrote (SIOCOUTQ is 0) and `pumpGrace`
    /// has passed for it to hand them to GnuTLS, or after `linger` at the latest.
    static let linger: Duration = .milliseconds(200)
    static let pumpGrace: Duration = .milliseconds(10)
    static let tick: Duration = .milliseconds(100)
    /// Marks the epoll token of a connection's TCP socket (connection ids stay far below it).
    static let peerSocketBit: UInt64 = 1 << 63

    /// A connection handed over by libmicrohttpd's upgrade callback.
    struct Registration: Sendable {
        let connection: WebSocketConnection
        let fd: FileDescriptor
        /// Which daemon the connection belongs to (a reload retires one while another serves).
        let owner: UInt
        /// Bytes libmicrohttpd read past the request's headers: the first frames.
        let extraIn: [UInt8]
        /// The TCP socket under libmicrohttpd's TLS pump (-1: none), watched only for the peer's
        /// hang-up: libmicrohttpd 0.9.75 does not pass a vanished client on to the socketpair.
        var peerSocket: Int32 = -1
        /// Gives the socket back to libmicrohttpd (MHD_upgrade_action CLOSE), exactly once; the
        /// argument says whether the peer has already hung up.
        let release: @Sendable (_ peerGone: Bool) -> Void
    }

    private struct CloseRequest {
        let owner: UInt?
        let code: WebSocketCloseCode
        let reason: String
        let deadline: ContinuousClock.Instant
        let done: Semaphore
    }

    private struct Inbox {
        var added: [Registration] = []
        var flush: [WebSocketConnection] = []
        var closes: [CloseRequest] = []
        var stop = false
        var signalled = false
    }

    private let epoll: EPoll
    private let wakeUp: WakeUpPipe
    private let inbox = Mutex(Inbox())
    private let nextID = Atomic<UInt64>(1)
    private let thread = Mutex<ThreadHandle?>(nil)
    private let open = Atomic<Int>(0)

    init() throws(Errno) {
        epoll = try EPoll()
        wakeUp = try WakeUpPipe()
        try epoll.add(wakeUp.readEnd.rawValue, events: .readable, token: 0)
        let handle = startThread { [self] in run() }
        thread.withLock { $0 = handle }
    }

    /// Connections registered and not yet released.
    var openConnections: Int { open.load(ordering: .relaxed) }

    func makeConnection(request: HTTPRequest, options: WebSocketOptions, handler: any WebSocketHandler) -> WebSocketConnection {
        let id = nextID.add(1, ordering: .relaxed).oldValue
        return WebSocketConnection(id: id, request: request, options: options, handler: handler) { [weak self] connection in
            self?.scheduleFlush(connection)
        }
    }

    func register(_ registration: Registration) {
        open.add(1, ordering: .relaxed)
        let accepted = inbox.withLock { inbox -> Bool in
            guard !inbox.stop else { return false }
            inbox.added.append(registration)
            if !inbox.signalled { inbox.signalled = true; wakeUp.signal() }
            return true
        }
        if !accepted {
            // Upgraded while the server stops: give the socket straight back.
            open.subtract(1, ordering: .relaxed)
            registration.connection.release()
            registration.release(false)
        }
    }

    func scheduleFlush(_ connection: WebSocketConnection) {
        post { $0.flush.append(connection) }
    }

    /// Sends every connection of `owner` (all when nil) a close frame and waits until they are
    /// released: by the peer's answer, else after `wait`. Not from the loop thread.
    func closeAll(owner: UInt?, code: WebSocketCloseCode = .goingAway, reason: String, wait: Duration) {
        let done = Semaphore()
        let request = CloseRequest(owner: owner, code: code, reason: reason, deadline: .now + wait, done: done)
        let posted = inbox.withLock { inbox -> Bool in
            guard !inbox.stop else { return false }
            inbox.closes.append(request)
            if !inbox.signalled { inbox.signalled = true; wakeUp.signal() }
            return true
        }
        if posted { done.wait() }
    }

    /// Closes everything (1001) and ends the thread. Not from the loop thread.
    func shutdown(wait: Duration) {
        closeAll(owner: nil, reason: "server shutting down", wait: wait)
        post { $0.stop = true }
        if let handle = thread.withLock({ value -> ThreadHandle? in defer { value = nil }; return value }) { joinThread(handle) }
    }

    private func post(_ change: (inout Inbox) -> Void) {
        inbox.withLock { inbox in
            change(&inbox)
            if !inbox.signalled {
                inbox.signalled = true
                wakeUp.signal()
            }
        }
    }

    // MARK: - The loop thread

    /// A connection as the loop thread sees it; only that thread touches it.
    private final class Driver {
        let connection: WebSocketConnection
        let fd: FileDescriptor
        let owner: UInt
        let releaseHandle: @Sendable (_ peerGone: Bool) -> Void
        let peerSocket: Int32
        var parser: WebSocketFrameParser
        var lastReceived = ContinuousClock.now
        var lastPing = ContinuousClock.now
        /// Set once our close frame is queued: release after `closeWait` without the peer's.
        var closingSince: ContinuousClock.Instant?
        var peerCloseReceived = false
        var peerCloseCode: WebSocketCloseCode?
        /// Input after a close or a protocol error is dropped.
        var discardInput = false
        /// The peer broke the protocol: after our close frame the connection ends without
        /// waiting for its answer ("Fail the WebSocket Connection", RFC 6455 section 7.1.7).
        var failed = false
        var wantsWrite = false
        var watchingPeerSocket = false
        /// The client's TCP side hung up (EPOLLRDHUP), or our socket ended or failed.
        var peerGone = false
        /// Close handshake done and our side shut down: waiting for the peer to end the stream.
        var lingerUntil: ContinuousClock.Instant?
        /// When the socketpair was first seen empty while lingering.
        var pumpedSince: ContinuousClock.Instant?

        init(_ registration: Registration) {
            connection = registration.connection
            fd = registration.fd
            owner = registration.owner
            releaseHandle = registration.release
            peerSocket = registration.peerSocket
            parser = WebSocketFrameParser(role: .server, maxMessageBytes: registration.connection.options.maxMessageBytes)
        }
    }

    private func run() {
        var drivers: [UInt64: Driver] = [:]
        /// Drivers with `lingerUntil` set, checked every few milliseconds.
        var lingering = Set<UInt64>()
        var pendingCloses: [CloseRequest] = []
        var nextTick = ContinuousClock.now + Self.tick
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)

        func release(_ driver: Driver, code: WebSocketCloseCode?) {
            guard drivers.removeValue(forKey: driver.connection.id) != nil else { return }
            lingering.remove(driver.connection.id)
            epoll.remove(driver.fd.rawValue)
            if driver.watchingPeerSocket { epoll.remove(driver.peerSocket) }
            driver.connection.release()
            driver.releaseHandle(driver.peerGone)
            open.subtract(1, ordering: .relaxed)
            driver.connection.handler.closed(driver.connection, code: code)
        }

        func finishedCode(_ driver: Driver) -> WebSocketCloseCode? {
            driver.peerCloseCode ?? driver.connection.sentCloseCode
        }

        func flush(_ driver: Driver) {
            switch driver.connection.flush(to: driver.fd) {
            case .drained:
                if driver.wantsWrite {
                    driver.wantsWrite = false
                    try? epoll.modify(driver.fd.rawValue, events: [.readable, .peerHangUp], token: driver.connection.id)
                }
                if (driver.peerCloseReceived || driver.failed) && driver.connection.isClosing && driver.lingerUntil == nil {
                    // Both close frames exchanged and ours written: once libmicrohttpd's pump
                    // has taken our last bytes the socket goes back and the server ends the
                    // TCP stream first (RFC 6455 section 7.1.1). Not shutdown(2) here: that
                    // would let the pump finish before the CLOSE action (see UpgradeHandle).
                    driver.lingerUntil = .now + Self.linger
                    lingering.insert(driver.connection.id)
                }
            case .blocked:
                if !driver.wantsWrite {
                    driver.wantsWrite = true
                    try? epoll.modify(driver.fd.rawValue, events: [.readable, .writable, .peerHangUp], token: driver.connection.id)
                }
            case .failed:
                driver.peerGone = true
                release(driver, code: driver.peerCloseReceived ? finishedCode(driver) : nil)
            }
        }

        func startClosing(_ driver: Driver, _ code: WebSocketCloseCode, reason: String) {
            _ = driver.connection.startClosing(code, reason: reason)
            if driver.closingSince == nil { driver.closingSince = .now }
            flush(driver)
        }

        func read(_ driver: Driver) {
            for _ in 0..<4 {
                let count: Int
                do throws(Errno) {
                    count = try buffer.withUnsafeMutableBytes { raw in attempt { () throws(Errno) in try driver.fd.read(into: raw) } }.get()
                } catch .wouldBlock {
                    return
                } catch {
                    driver.peerGone = true
                    release(driver, code: driver.peerCloseReceived ? finishedCode(driver) : nil)
                    return
                }
                if count == 0 {
                    // The peer ended the stream: after a close handshake that is the normal end.
                    driver.peerGone = true
                    release(driver, code: driver.peerCloseReceived ? finishedCode(driver) : nil)
                    return
                }
                driver.lastReceived = .now
                if driver.discardInput { continue }
                buffer.withUnsafeBytes { driver.parser.append(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                parse(driver)
                guard drivers[driver.connection.id] != nil else { return }
                if count < buffer.count { return }
            }
        }

        func parse(_ driver: Driver) {
            while !driver.discardInput {
                let event: WebSocketFrameEvent?
                do throws(WebSocketError) {
                    event = try driver.parser.next()
                } catch {
                    driver.discardInput = true
                    driver.failed = true
                    driver.parser = WebSocketFrameParser(role: .server, maxMessageBytes: 0)
                    startClosing(driver, error.closeCode, reason: Self.reasonText(error))
                    return
                }
                guard let event else { return }
                switch event {
                case .message(let message):
                    if !driver.connection.isClosing { driver.connection.handler.received(message, on: driver.connection) }
                case .ping(let payload):
                    driver.connection.enqueueControl(.pong, payload: payload)
                    flush(driver)
                case .pong:
                    break
                case .close(let code, _):
                    driver.peerCloseReceived = true
                    driver.peerCloseCode = code
                    driver.discardInput = true
                    // Echo the peer's code (RFC 6455 section 5.5.1); no-op when ours went first.
                    _ = driver.connection.startClosing(code, reason: "")
                    if driver.closingSince == nil { driver.closingSince = .now }
                    flush(driver)
                }
                if drivers[driver.connection.id] == nil { return }
            }
        }

        func checkLingering(_ now: ContinuousClock.Instant) {
            for id in Array(lingering) {
                guard let driver = drivers[id], let until = driver.lingerUntil else {
                    lingering.remove(id)
                    continue
                }
                if driver.pumpedSince == nil, driver.fd.unreadByPeer == 0 { driver.pumpedSince = now }
                let pumped = driver.pumpedSince.map { now - $0 >= Self.pumpGrace } ?? false
                if pumped || now >= until { release(driver, code: finishedCode(driver)) }
            }
        }

        func housekeeping(_ now: ContinuousClock.Instant) {
            for driver in Array(drivers.values) {
                if let until = driver.lingerUntil {
                    if now >= until { release(driver, code: finishedCode(driver)) }
                    continue
                }
                if driver.connection.isClosing {
                    if let since = driver.closingSince {
                        if now - since > Self.closeWait { release(driver, code: finishedCode(driver)) }
                    } else {
                        driver.closingSince = now
                        flush(driver)
                    }
                    continue
                }
                let options = driver.connection.options
                if now - driver.lastReceived > options.idleTimeout {
                    startClosing(driver, .goingAway, reason: "no frame received for \(options.idleTimeout)")
                } else if now - max(driver.lastReceived, driver.lastPing) >= options.pingInterval {
                    driver.lastPing = now
                    driver.connection.enqueueControl(.ping, payload: [])
                    flush(driver)
                }
            }
            var remaining: [CloseRequest] = []
            for request in pendingCloses {
                let owned = drivers.values.filter { request.owner == nil || $0.owner == request.owner }
                if owned.isEmpty {
                    request.done.signal()
                } else if now >= request.deadline {
                    for driver in owned { release(driver, code: finishedCode(driver)) }
                    request.done.signal()
                } else {
                    remaining.append(request)
                }
            }
            pendingCloses = remaining
        }

        while true {
            let timeout: Int32 = !lingering.isEmpty ? 5
                : drivers.isEmpty && pendingCloses.isEmpty ? -1 : Int32(Self.tick.milliseconds)
            let events = (try? epoll.wait(milliseconds: timeout)) ?? []
            for event in events {
                if event.token == 0 {
                    wakeUp.drain()
                    continue
                }
                if event.token & Self.peerSocketBit != 0 {
                    // The client's TCP side hung up: read what the pump still delivers for a
                    // moment, then let go.
                    guard let driver = drivers[event.token & ~Self.peerSocketBit] else { continue }
                    epoll.remove(driver.peerSocket)
                    driver.watchingPeerSocket = false
                    driver.peerGone = true
                    if driver.lingerUntil == nil {
                        driver.lingerUntil = .now + Self.linger
                        lingering.insert(driver.connection.id)
                    }
                    continue
                }
                guard let driver = drivers[event.token] else { continue }
                if !event.events.isDisjoint(with: [.readable, .hangUp, .error, .peerHangUp]) { read(driver) }
                if event.events.contains(.writable), drivers[event.token] != nil { flush(driver) }
            }
            let work = inbox.withLock { inbox -> Inbox in
                let taken = inbox
                inbox = Inbox(stop: inbox.stop)
                return taken
            }
            for registration in work.added {
                let driver = Driver(registration)
                registration.fd.setNonBlocking()
                do {
                    try epoll.add(registration.fd.rawValue, events: [.readable, .peerHangUp], token: registration.connection.id)
                } catch {
                    registration.connection.release()
                    registration.release(false)
                    open.subtract(1, ordering: .relaxed)
                    continue
                }
                drivers[registration.connection.id] = driver
                if registration.peerSocket >= 0 {
                    driver.watchingPeerSocket = (try? epoll.add(registration.peerSocket, events: [.peerHangUp],
                                                                token: registration.connection.id | Self.peerSocketBit)) != nil
                }
                registration.connection.handler.opened(registration.connection)
                if !registration.extraIn.isEmpty, drivers[registration.connection.id] != nil {
                    driver.lastReceived = .now
                    driver.parser.append(registration.extraIn)
                    parse(driver)
                }
                if drivers[registration.connection.id] != nil { flush(driver) }
            }
            for connection in work.flush {
                if let driver = drivers[connection.id] { flush(driver) }
            }
            for request in work.closes {
                for driver in drivers.values where request.owner == nil || driver.owner == request.owner {
                    if driver.connection.isClosing { continue }
                    startClosing(driver, request.code, reason: request.reason)
                }
                pendingCloses.append(request)
            }
            let now = ContinuousClock.now
            if !lingering.isEmpty { checkLingering(now) }
            if now >= nextTick || !work.closes.isEmpty {
                housekeeping(now)
                nextTick = now + Self.tick
            }
            if work.stop && pendingCloses.isEmpty {
                for driver in Array(drivers.values) { release(driver, code: finishedCode(driver)) }
                return
            }
        }
    }

    /// A close reason from a protocol error, within a close frame's 123 bytes.
    static func reasonText(_ error: WebSocketError) -> String {
        if case .protocolViolation(_, let reason) = error { return reason }
        return error.description
    }
}
