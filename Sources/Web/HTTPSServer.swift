import CMicroHTTPD
import POSIX
import Security
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The HTTPS server: libmicrohttpd with GnuTLS, answering every request through one handler.
///
/// Requests are answered in two phases (shared FACTS: answering on the first call makes
/// libmicrohttpd close the connection, which costs a TLS handshake per request): the first call
/// stores per-request state, later calls collect the body, and the last one queues the response.
public final class HTTPSServer: Sendable {
    /// What the server listens on and how it talks TLS.
    public struct Configuration: Sendable {
        public var host: String
        public var port: UInt16
        public var keyPEM: [UInt8]
        public var certificatePEM: [UInt8]
        /// GnuTLS priority string; never empty (GnuTLS's default accepts TLS 1.0 and 1.1).
        public var priorities: String
        /// Idle connections (and clients too slow to send a request) are closed after this.
        public var connectionTimeoutSeconds: UInt32
        public var maximumBodyBytes: Int
        public var connectionLimit: UInt32
        /// libmicrohttpd worker threads, each with its own epoll loop.
        public var threads: UInt32
        /// Each connection's memory pool: the request line and headers, the response headers
        /// and the body buffer. libmicrohttpd zeroes the used part of it between requests
        /// (~3 % of an API request's CPU at its default of 32 KiB). 16 KiB would halve that;
        /// WebTests' early-413 test failed now and then with it, a race since fixed (oversized
        /// bodies are drained before the 413), but the smaller pool has not been measured again.
        public var connectionMemoryBytes: Int

        public init(
            host: String = "127.0.0.1", port: UInt16 = 5000, keyPEM: [UInt8], certificatePEM: [UInt8],
            priorities: String, connectionTimeoutSeconds: UInt32 = 30, maximumBodyBytes: Int = 1 << 20,
            connectionLimit: UInt32 = 1000, threads: UInt32 = 1, connectionMemoryBytes: Int = 32 * 1024
        ) {
            self.host = host
            self.port = port
            self.keyPEM = keyPEM
            self.certificatePEM = certificatePEM
            self.priorities = priorities
            self.connectionTimeoutSeconds = connectionTimeoutSeconds
            self.maximumBodyBytes = maximumBodyBytes
            self.connectionLimit = connectionLimit
            self.threads = threads
            self.connectionMemoryBytes = connectionMemoryBytes
        }
    }

    /// The port actually bound (useful with port 0).
    public let port: UInt16
    private let daemon: Mutex<OpaquePointer?>
    private let context: ServerContext
    private let listenFD: Int32
    /// The configuration the running daemon was started with (reload replaces key and certificate).
    private let configuration: Mutex<Configuration>

    /// Binds, starts the worker threads and begins answering. Throws a `MHDError` that says
    /// what to change when the address cannot be used or TLS cannot be set up.
    /// `onIdle` runs on a server thread each time the last open connection closes (the end of
    /// a burst): the place to hand memory that only the connections used back to the system.
    public init(configuration: Configuration, handler: @escaping HTTPHandler,
                onCompleted: (@Sendable (HTTPRequest, Int, Duration) -> Void)? = nil,
                onIdle: (@Sendable () -> Void)? = nil) throws(MHDError) {
        precondition(!configuration.priorities.isEmpty, "a TLS priority string is required")
        let socket = try ListenSocket(host: configuration.host, port: configuration.port)
        let context = ServerContext(handler: handler, onCompleted: onCompleted, onIdle: onIdle, maximumBodyBytes: configuration.maximumBodyBytes)
        guard let started = Self.startDaemon(listening: socket.fd, configuration: configuration, context: context) else {
            close(socket.fd)
            throw MHDError(.daemonStart, "the HTTPS server did not start on \(configuration.host):\(socket.port): libmicrohttpd refused the TLS key, certificate or priority string; check that the key matches the certificate (camhost config check)")
        }
        self.daemon = Mutex(started)
        self.context = context
        self.port = socket.port
        self.listenFD = socket.fd
        self.configuration = Mutex(configuration)
    }

    private static func startDaemon(listening fd: Int32, configuration: Configuration, context: ServerContext) -> OpaquePointer? {
        // One thread: libmicrohttpd runs on a thread of ours (DaemonRunner), where upgraded
        // connections are also closed (0.9.75 races otherwise). A pool: its own threads.
        let ownThread = configuration.threads <= 1
        let flags = MHD_USE_TLS.rawValue | (ownThread ? 0 : MHD_USE_INTERNAL_POLLING_THREAD.rawValue) | MHD_USE_EPOLL.rawValue
            | MHD_USE_ITC.rawValue | MHD_ALLOW_SUSPEND_RESUME.rawValue | MHD_ALLOW_UPGRADE.rawValue
        let key = configuration.keyPEM + [0]
        let cert = configuration.certificatePEM + [0]
        let priorities = Array(configuration.priorities.utf8CString)
        let unmanagedContext = Unmanaged.passUnretained(context).toOpaque()
        let daemonContext = context.makeDaemonContext()
        let unmanagedDaemonContext = Unmanaged.passUnretained(daemonContext).toOpaque()
        let started: OpaquePointer? = key.withUnsafeBufferPointer { keyBuffer in
            cert.withUnsafeBufferPointer { certBuffer in
                priorities.withUnsafeBufferPointer { priorityBuffer in
                    var options: [MHD_OptionItem] = [
                        MHD_OptionItem(option: .LISTEN_SOCKET, value: Int(fd), ptr_value: nil),
                        MHD_OptionItem(option: .HTTPS_MEM_KEY, value: 0, ptr_value: UnsafeMutableRawPointer(mutating: keyBuffer.baseAddress)),
                        MHD_OptionItem(option: .HTTPS_MEM_CERT, value: 0, ptr_value: UnsafeMutableRawPointer(mutating: certBuffer.baseAddress)),
                        MHD_OptionItem(option: .HTTPS_PRIORITIES, value: 0, ptr_value: UnsafeMutableRawPointer(mutating: priorityBuffer.baseAddress)),
                        MHD_OptionItem(option: .NOTIFY_COMPLETED, value: unsafeBitCast(requestCompleted, to: Int.self), ptr_value: unmanagedContext),
                        MHD_OptionItem(option: .NOTIFY_CONNECTION, value: unsafeBitCast(connectionChanged, to: Int.self), ptr_value: unmanagedContext),
                        MHD_OptionItem(option: .CONNECTION_TIMEOUT, value: Int(configuration.connectionTimeoutSeconds), ptr_value: nil),
                        MHD_OptionItem(option: .CONNECTION_LIMIT, value: Int(configuration.connectionLimit), ptr_value: nil),
                        MHD_OptionItem(option: .CONNECTION_MEMORY_LIMIT, value: configuration.connectionMemoryBytes, ptr_value: nil),
                        MHD_OptionItem(option: .END, value: 0, ptr_value: nil),
                    ]
                    if configuration.threads > 1 {
                        options.insert(MHD_OptionItem(option: .THREAD_POOL_SIZE, value: Int(configuration.threads), ptr_value: nil), at: 0)
                    }
                    return options.withUnsafeMutableBufferPointer { buffer in
                        cmicrohttpd_start_daemon(flags, 0, accessHandler, unmanagedDaemonContext, buffer.baseAddress)
                    }
                }
            }
        }
        if ownThread, let started {
            guard let runner = DaemonRunner(daemon: started) else {
                MHD_stop_daemon(started)
                return nil
            }
            daemonContext.runner.withLock { $0 = runner }
        }
        daemonContext.daemon.store(started.map { UInt(bitPattern: $0) } ?? 0, ordering: .releasing)
        return started
    }

    /// Stops a daemon: its runner first (when it has one: the upgrade closes still queued run
    /// then), then libmicrohttpd.
    private static func stopDaemon(_ daemon: OpaquePointer, context: ServerContext) {
        context.runner(of: UInt(bitPattern: daemon))?.stop()
        MHD_stop_daemon(daemon)
    }

    /// Serves a new key and certificate (a renewal) to every connection made from now on, without
    /// closing the listening socket: a second daemon takes over the same socket, and the first,
    /// quiesced (MHD_quiesce_daemon: it accepts nothing more), finishes the requests it has and is
    /// stopped once its connections are gone or after `grace`. The key and certificate were checked
    /// by the caller; if libmicrohttpd refuses them anyway, the old pair keeps serving.
    public func reload(keyPEM: [UInt8], certificatePEM: [UInt8], grace: Duration = .seconds(30)) throws(MHDError) {
        var updated = configuration.withLock { $0 }
        updated.keyPEM = keyPEM
        updated.certificatePEM = certificatePEM
        let old: OpaquePointer? = try daemon.withLock { (current: inout OpaquePointer?) throws(MHDError) -> OpaquePointer? in
            guard let running = current else { throw MHDError(.daemonStart, "the HTTPS server is stopped") }
            let socket = MHD_quiesce_daemon(running)
            guard socket >= 0 else { throw MHDError(.daemonStart, "libmicrohttpd could not hand over its listening socket") }
            if let replacement = Self.startDaemon(listening: socket, configuration: updated, context: context) {
                current = replacement
                return running
            }
            // Refused: the old pair on a new daemon (the quiesced one cannot accept again).
            let previous = configuration.withLock { $0 }
            guard let fallback = Self.startDaemon(listening: socket, configuration: previous, context: context) else {
                current = nil
                context.closeWebSockets(owner: UInt(bitPattern: running), wait: WebSocketEventLoop.closeWait)
                Self.stopDaemon(running, context: context)
                throw MHDError(.daemonStart, "libmicrohttpd refused the new TLS key and certificate, and could not restart with the old ones")
            }
            current = fallback
            context.closeWebSockets(owner: UInt(bitPattern: running), wait: WebSocketEventLoop.closeWait)
            Self.stopDaemon(running, context: context)
            throw MHDError(.daemonStart, "libmicrohttpd refused the new TLS key and certificate; the old ones stay in use")
        }
        configuration.withLock { $0 = updated }
        guard let old else { return }
        let retired = RetiredDaemon(pointer: old)
        startDetachedDrain(retired, grace: grace)
    }

    private func startDetachedDrain(_ retired: RetiredDaemon, grace: Duration) {
        startDetachedThread {
            let deadline = ContinuousClock.now + grace
            while cmicrohttpd_connection_count(retired.pointer) > 0 && ContinuousClock.now < deadline { usleep(20_000) }
            // Upgraded connections still open after the grace: close frames, then every handle
            // back to libmicrohttpd (it must not be stopped with one outstanding).
            self.context.closeWebSockets(owner: UInt(bitPattern: retired.pointer), wait: WebSocketEventLoop.closeWait)
            Self.stopDaemon(retired.pointer, context: self.context)
        }
    }

    /// Upgraded WebSocket connections open now.
    public var openWebSockets: Int { context.openWebSockets }

    /// Upgraded connections whose TLS pump runs on our 16 KiB buffers (see UpgradePumpBuffers).
    var upgradesWithPumpBuffers: Int { context.upgradeBuffers.active }

    /// Requests that have started and not yet completed.
    public var requestsInFlight: Int { context.inFlight.load(ordering: .relaxed) }

    /// Stops accepting, lets in-flight requests finish (up to `grace`), then closes everything.
    public func stop(grace: Duration = .seconds(10)) {
        guard let daemon = daemon.withLock({ value -> OpaquePointer? in
            let current = value
            value = nil
            return current
        }) else { return }
        let socket = MHD_quiesce_daemon(daemon)
        if socket >= 0 { close(socket) }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: grace)
        while context.inFlight.load(ordering: .acquiring) > 0, clock.now < deadline {
            usleep(5_000)
        }
        // WebSockets get 1001 (going away) and a moment to answer; every upgraded socket goes
        // back to libmicrohttpd before the daemon stops.
        let left = max(.zero, min(deadline - clock.now, WebSocketEventLoop.closeWait))
        context.stopWebSockets(wait: left)
        Self.stopDaemon(daemon, context: context)
    }

    deinit {
        stop(grace: .zero)
    }

    /// The libmicrohttpd version this process runs with.
    public static var libraryVersion: String {
        MHD_get_version().map { String(cString: $0) } ?? "unknown"
    }
}

/// A quiesced daemon handed to the thread that stops it once its connections are gone; only that
/// thread uses it from then on.
private struct RetiredDaemon: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// What the C callbacks reach through their `cls` pointer.
final class ServerContext: Sendable {
    let handler: HTTPHandler
    let onCompleted: (@Sendable (HTTPRequest, Int, Duration) -> Void)?
    let onIdle: (@Sendable () -> Void)?
    let maximumBodyBytes: Int
    let inFlight = Atomic<Int>(0)
    let openConnections = Atomic<Int>(0)
    let upgradeBuffers = UpgradeBufferRegistry()
    /// One per daemon started (a few per year of certificate renewals); kept for the server's
    /// life because libmicrohttpd holds their address as the access handler's `cls`.
    private let daemonContexts = Mutex<[DaemonContext]>([])

    /// The runner of the daemon at `daemon` (its MHD_Daemon pointer), if it has one.
    func runner(of daemon: UInt) -> DaemonRunner? {
        daemonContexts.withLock { contexts in
            contexts.first { $0.daemon.load(ordering: .acquiring) == daemon }?.runner.withLock { $0 }
        }
    }

    func makeDaemonContext() -> DaemonContext {
        let made = DaemonContext(server: self)
        daemonContexts.withLock { $0.append(made) }
        return made
    }

    /// The WebSocket event loop, started with the first upgrade; nil again once stopped.
    private let webSocketLoop = Mutex<(loop: WebSocketEventLoop?, stopped: Bool)>((nil, false))

    /// The loop for a new upgraded connection; nil when the server is stopping or no loop can start.
    func eventLoop() -> WebSocketEventLoop? {
        webSocketLoop.withLock { state in
            if state.stopped { return nil }
            if state.loop == nil { state.loop = try? WebSocketEventLoop() }
            return state.loop
        }
    }

    var openWebSockets: Int { webSocketLoop.withLock { $0.loop?.openConnections ?? 0 } }

    func closeWebSockets(owner: UInt, wait: Duration) {
        webSocketLoop.withLock { $0.loop }?.closeAll(owner: owner, reason: "server certificate renewed", wait: wait)
    }

    func stopWebSockets(wait: Duration) {
        let loop = webSocketLoop.withLock { state -> WebSocketEventLoop? in
            state.stopped = true
            defer { state.loop = nil }
            return state.loop
        }
        loop?.shutdown(wait: wait)
    }

    init(handler: @escaping HTTPHandler, onCompleted: (@Sendable (HTTPRequest, Int, Duration) -> Void)?,
         onIdle: (@Sendable () -> Void)?, maximumBodyBytes: Int) {
        self.handler = handler
        self.onCompleted = onCompleted
        self.onIdle = onIdle
        self.maximumBodyBytes = maximumBodyBytes
    }
}

/// What the access handler reaches through its `cls`: the server's context and the daemon that
/// runs the handler. A reload runs two daemons on one context; a WebSocket must be closed before
/// its own daemon stops, and libmicrohttpd names only the pool worker a connection belongs to.
final class DaemonContext: Sendable {
    let server: ServerContext
    /// The daemon's address (its MHD_Daemon pointer), set once it has started.
    let daemon = Atomic<UInt>(0)
    /// The thread that runs the daemon, when it has no thread of its own (server.threads = 1).
    let runner = Mutex<DaemonRunner?>(nil)
    init(server: ServerContext) { self.server = server }
}

/// Per-request state between libmicrohttpd's calls; owned by `*con_cls` until completion.
/// Only the connection's own thread touches it.
final class RequestState {
    var request: HTTPRequest
    var status = 0
    var answered = false
    /// Set while a deferred answer is computed; `pending` receives it on another thread.
    var suspended = false
    /// The body is over the limit: it is read and dropped, then answered with 413.
    var tooLarge = false
    var discardedBytes = 0
    /// Set when the answer is a WebSocket upgrade; `upgraded` once the socket was handed over
    /// (the request no longer counts as in flight).
    var upgrade: WebSocketUpgrade?
    var daemon: DaemonContext?
    var upgraded = false
    let pending = Mutex<HTTPResponse?>(nil)
    let started = ContinuousClock.now

    init(request: HTTPRequest) { self.request = request }
}

private let accessHandler: MHD_AccessHandlerCallback = { cls, connection, url, method, _, uploadData, uploadDataSize, conCls in
    guard let cls, let connection, let conCls, let uploadDataSize else { return .NO }
    let daemonContext = Unmanaged<DaemonContext>.fromOpaque(cls).takeUnretainedValue()
    let context = daemonContext.server

    guard let existing = conCls.pointee else {
        // First call: headers are complete; store state and answer later (keep-alive).
        let values = RequestValues(connection)
        let request = HTTPRequest(
            method: method.map { String(cString: $0) } ?? "GET",
            path: url.map { String(cString: $0) } ?? "/",
            query: values.query,
            headers: values.headers,
            cookies: values.cookies,
            clientAddress: ListenSocket.text(of: cmicrohttpd_client_address(connection)))
        context.inFlight.add(1, ordering: .relaxed)
        let state = RequestState(request: request)
        conCls.pointee = Unmanaged.passRetained(state).toOpaque()
        if let declared = request.headers["content-length"].flatMap(Int.init), declared > context.maximumBodyBytes {
            // A client waiting for 100 Continue has sent no body yet: refuse now. One that sent
            // it along would see a connection reset instead of the 413 if the server closed
            // with its body unread (RFC 9112 section 9.6): read and drop it, then answer.
            let waits = request.headers["expect"].map { $0.lowercased() == "100-continue" } ?? false
            if waits || declared > discardLimit {
                state.answered = true
                return queue(tooLarge(context), for: state, on: connection)
            }
            state.tooLarge = true
        }
        return .YES
    }
    let state = Unmanaged<RequestState>.fromOpaque(existing).takeUnretainedValue()
    if state.suspended {
        // Called again after MHD_resume_connection: queue the deferred answer.
        guard let response = state.pending.withLock({ $0.take() }) else { return .YES }
        state.suspended = false
        if case .deferred = response.body {
            return queue(.json(#"{"error":{"code":"internal","message":"a deferred answer deferred again"}}"#, status: 500), for: state, on: connection)
        }
        if case .webSocket(let upgrade) = response.body {
            // An upgrade decided after async work (a session looked up first).
            state.upgrade = upgrade
            state.daemon = daemonContext
            return queueUpgrade(response, for: state, on: connection, context: context)
        }
        return queue(response, for: state, on: connection)
    }
    if state.answered {
        // A response was queued early (body too large); swallow the rest.
        uploadDataSize.pointee = 0
        return .YES
    }
    if state.tooLarge {
        // Dropping an oversized body; answered once it is all read (or past the discard limit).
        state.discardedBytes += uploadDataSize.pointee
        let done = uploadDataSize.pointee == 0 || state.discardedBytes > discardLimit
        uploadDataSize.pointee = 0
        guard done else { return .YES }
        state.answered = true
        return queue(tooLarge(context), for: state, on: connection)
    }
    if uploadDataSize.pointee > 0 {
        let count = uploadDataSize.pointee
        if state.request.body.count + count > context.maximumBodyBytes {
            // Over the limit mid-body (chunked, or more than declared): drop from here on.
            state.tooLarge = true
            state.discardedBytes = state.request.body.count + count
            state.request.body = []
            uploadDataSize.pointee = 0
            return .YES
        }
        if let uploadData {
            uploadData.withMemoryRebound(to: UInt8.self, capacity: count) { bytes in
                state.request.body.append(contentsOf: UnsafeBufferPointer(start: bytes, count: count))
            }
        }
        uploadDataSize.pointee = 0
        return .YES
    }
    state.answered = true
    let response = context.handler(state.request)
    if case .webSocket(let upgrade) = response.body {
        state.upgrade = upgrade
        state.daemon = daemonContext
        return queueUpgrade(response, for: state, on: connection, context: context)
    }
    if case .deferred(let work) = response.body {
        state.suspended = true
        MHD_suspend_connection(connection)
        let resume = SuspendedConnection(connection: connection, state: state)
        Task.detached {
            let answer = await work()
            resume.finish(answer)
        }
        return .YES
    }
    return queue(response, for: state, on: connection)
}

/// Hands a deferred answer back to its connection from whichever thread computed it.
private struct SuspendedConnection: @unchecked Sendable {
    // Safe: `state` is kept alive by libmicrohttpd's `*con_cls` until the request completes,
    // which cannot happen while the connection is suspended; `pending` is behind a Mutex; and
    // MHD_resume_connection may be called from any thread (MHD_USE_ITC is set).
    let connection: OpaquePointer
    let state: RequestState

    func finish(_ response: HTTPResponse) {
        state.pending.withLock { $0 = response }
        MHD_resume_connection(connection)
    }
}

/// How much of an oversized body is read and dropped before the 413 goes out anyway (a client
/// streaming without end then sees the reset; everyone else sees the answer).
private let discardLimit = 32 << 20

private func tooLarge(_ context: ServerContext) -> HTTPResponse {
    var response = HTTPResponse.json(#"{"error":{"code":"payload-too-large","message":"request body is larger than \#(context.maximumBodyBytes) bytes"}}"#, status: 413)
    response.setHeader("Connection", "close")
    return response
}

private func queue(_ response: HTTPResponse, for state: RequestState, on connection: OpaquePointer) -> MHD_Result {
    let made: OpaquePointer?
    var status = response.status
    switch response.body {
    case .bytes(let bytes):
        made = bytes.withUnsafeBytes { raw in
            MHD_create_response_from_buffer(raw.count, UnsafeMutableRawPointer(mutating: raw.baseAddress), .RESPMEM_MUST_COPY)
        }
    case .shared(let shared):
        // libmicrohttpd keeps a reference until the response is destroyed (after the last send).
        let retained = Unmanaged.passRetained(shared).toOpaque()
        made = MHD_create_response_from_buffer_with_free_callback_cls(
            shared.count, UnsafeMutableRawPointer(mutating: shared.buffer.baseAddress), releaseSharedBytes, retained)
        if made == nil { Unmanaged<SharedBytes>.fromOpaque(retained).release() }
    case .deferred, .webSocket:
        // Only reached from the 413 path or a nested deferral, both handled before; be safe.
        status = 500
        made = MHD_create_response_from_buffer(0, nil, .RESPMEM_PERSISTENT)
    case .file(let path, let offset, let length):
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        if fd >= 0 {
            made = MHD_create_response_from_fd_at_offset64(length, fd, offset)
            if made == nil { close(fd) }
        } else {
            status = 404
            let body = Array(#"{"error":{"code":"not-found","message":"the file is gone"}}"#.utf8)
            made = body.withUnsafeBytes { raw in
                MHD_create_response_from_buffer(raw.count, UnsafeMutableRawPointer(mutating: raw.baseAddress), .RESPMEM_MUST_COPY)
            }
        }
    }
    guard let made else { return .NO }
    defer { MHD_destroy_response(made) }
    for header in response.headers {
        // withCString hands over a native string's own bytes; passing the Strings directly made
        // a null-terminated copy of each name and value (two allocations per header).
        _ = header.name.withCString { name in header.value.withCString { value in MHD_add_response_header(made, name, value) } }
    }
    state.status = status
    cork(connection, true)
    return MHD_queue_response(connection, UInt32(status), made)
}

/// Answers 101 with an upgrade response: once it is sent, libmicrohttpd calls `upgradeHandler`
/// with the socket. Not corked: the connection carries frames from then on.
private func queueUpgrade(_ response: HTTPResponse, for state: RequestState, on connection: OpaquePointer, context: ServerContext) -> MHD_Result {
    guard let made = MHD_create_response_for_upgrade(upgradeHandler, Unmanaged.passUnretained(context).toOpaque()) else { return .NO }
    defer { MHD_destroy_response(made) }
    for header in response.headers {
        _ = header.name.withCString { name in header.value.withCString { value in MHD_add_response_header(made, name, value) } }
    }
    state.status = response.status
    return MHD_queue_response(connection, UInt32(response.status), made)
}

/// An upgraded socket's handle, given back exactly once from the event loop.
///
/// libmicrohttpd 0.9.75's CLOSE action, called from our thread, sets `was_closed` and then
/// resumes the connection. If its pump has finished forwarding in both directions by then, a
/// worker thread may free the connection between those two steps and the resume writes to freed
/// memory (read in its source). The pump finishes only when the client's side has ended, so the
/// CLOSE action comes first, while the client still waits for our end of the stream (it does
/// after the close handshake, RFC 6455 section 7.1.1); only then is the TCP socket's sending
/// side shut down. libmicrohttpd does not end the TCP connection itself after the CLOSE action
/// (clients waited their own time-out, 10 s in Python websockets): the FIN follows the TLS
/// records already queued, and the client's answering FIN lets libmicrohttpd clean up; until
/// then the socket stays open. When the client has already hung up the TCP socket is left alone
/// (libmicrohttpd may close it at any moment then). docs/websocket.md has the known problem
/// that remains with a pool of libmicrohttpd threads.
private final class UpgradeHandle: @unchecked Sendable {
    // Safe: `urh` and `tcpSocket` are used once, by `close`, behind the atomic flag.
    private let urh: OpaquePointer
    private let tcpSocket: Int32
    private let closed = Atomic<Bool>(false)
    /// The thread that runs the connection's daemon (DaemonRunner): the CLOSE action and the
    /// shutdown run there, never beside libmicrohttpd's own processing. nil with a thread pool.
    private let runner: DaemonRunner?
    init(_ urh: OpaquePointer, tcpSocket: Int32, runner: DaemonRunner?) {
        self.urh = urh
        self.tcpSocket = tcpSocket
        self.runner = runner
    }
    func close(peerGone: Bool) {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let handle = Handle(urh: urh)
        let tcpSocket = tcpSocket
        let work: @Sendable () -> Void = {
            _ = cmicrohttpd_upgrade_close(handle.urh)
            if tcpSocket >= 0 && !peerGone { _ = shutdown(tcpSocket, Int32(SHUT_WR)) }
        }
        if let runner { runner.perform(work) } else { work() }
    }
    private struct Handle: @unchecked Sendable {
        // Safe: used once, by the one CLOSE action.
        let urh: OpaquePointer
    }
}

/// libmicrohttpd has sent the 101: the socket (a socketpair end over TLS) goes to the event loop.
private let upgradeHandler: MHD_UpgradeHandler = { cls, connection, conCls, extraIn, extraInSize, socket, urh in
    guard let urh else { return }
    let tcpSocket = connection.map { cmicrohttpd_connection_fd($0) } ?? -1
    let state = conCls.map { Unmanaged<RequestState>.fromOpaque($0).takeUnretainedValue() }
    let handle = UpgradeHandle(urh, tcpSocket: tcpSocket, runner: state?.daemon?.runner.withLock { $0 })
    guard let cls, let state else { handle.close(peerGone: false); return }
    let context = Unmanaged<ServerContext>.fromOpaque(cls).takeUnretainedValue()
    guard let upgrade = state.upgrade, let loop = context.eventLoop() else { handle.close(peerGone: false); return }
    if let connection, let buffers = UpgradePumpBuffers.enlarge(urh, connection: connection, appSocket: socket) {
        context.upgradeBuffers.keep(buffers, for: connection)
    }
    if tcpSocket >= 0 {
        // libmicrohttpd turns Nagle's algorithm back on for an upgraded connection; a frame's
        // last partial segment would then wait for the previous one's ACK (up to 40 ms of
        // delayed ACK). Its pump sends with plain send(2), so this stays in effect.
        var one: Int32 = 1
        _ = setsockopt(tcpSocket, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }
    state.upgraded = true
    context.inFlight.subtract(1, ordering: .releasing)
    context.onCompleted?(state.request, state.status, ContinuousClock.now - state.started)
    let extra: [UInt8] = extraIn.map { bytes in
        bytes.withMemoryRebound(to: UInt8.self, capacity: extraInSize) { Array(UnsafeBufferPointer(start: $0, count: extraInSize)) }
    } ?? []
    // The daemon that took the request (MHD_CONNECTION_INFO_DAEMON names a worker of its pool).
    let owner = state.daemon?.daemon.load(ordering: .acquiring) ?? 0
    let webSocket = loop.makeConnection(request: upgrade.request, options: upgrade.options, handler: upgrade.handler)
    loop.register(WebSocketEventLoop.Registration(
        connection: webSocket, fd: FileDescriptor(rawValue: socket), owner: owner, extraIn: extra, peerSocket: tcpSocket,
        release: { peerGone in handle.close(peerGone: peerGone) }))
}

/// Holds a response's TLS records in the socket until the whole response is written, then sends
/// them together (TCP_CORK, tcp(7)). libmicrohttpd writes the header record and each 16 KB body
/// record with its own send and pushes each, so a 32 KB answer reached the client as three
/// segments and woke it three times; corked, it is one segment and one wake-up (API req/s on
/// 2 cores: ~12,300 -> ~15,100, alternating runs). libmicrohttpd pushes with its final send;
/// the request-completed callback (called on every path, errors included) uncorks as well, so
/// no answer can wait for the kernel's 200 ms cork ceiling.
private func cork(_ connection: OpaquePointer, _ on: Bool) {
    let fd = cmicrohttpd_connection_fd(connection)
    guard fd >= 0 else { return }
    var value: Int32 = on ? 1 : 0
    _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_CORK, &value, socklen_t(MemoryLayout<Int32>.size))
}

private let releaseSharedBytes: MHD_ContentReaderFreeCallback = { cls in
    guard let cls else { return }
    Unmanaged<SharedBytes>.fromOpaque(cls).release()
}

private let connectionChanged: MHD_NotifyConnectionCallback = { cls, connection, socketContext, code in
    guard let cls else { return }
    let context = Unmanaged<ServerContext>.fromOpaque(cls).takeUnretainedValue()
    // MHD_CONNECTION_NOTIFY_STARTED (0) and MHD_CONNECTION_NOTIFY_CLOSED (1); the cases do not
    // import under usable names.
    switch code.rawValue {
    case 0:
        context.openConnections.add(1, ordering: .relaxed)
        // The TLS session exists now and has not read a byte: its receiving side refuses
        // client-initiated renegotiation. It lives in the connection's socket context until
        // CLOSED, which comes after libmicrohttpd has freed the session.
        if let connection, let socketContext, let session = cmicrohttpd_tls_session(connection) {
            let transport = ServerSessionTransport.attach(session: session, fd: cmicrohttpd_connection_fd(connection))
            socketContext.pointee = Unmanaged.passRetained(transport).toOpaque()
        }
    case 1:
        if let connection { context.upgradeBuffers.release(connection) }
        if let socketContext, let transport = socketContext.pointee {
            Unmanaged<ServerSessionTransport>.fromOpaque(transport).release()
            socketContext.pointee = nil
        }
        if context.openConnections.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { context.onIdle?() }
    default:
        break
    }
}

private let requestCompleted: MHD_RequestCompletedCallback = { cls, connection, conCls, _ in
    if let connection { cork(connection, false) }
    guard let cls, let conCls, let existing = conCls.pointee else { return }
    let context = Unmanaged<ServerContext>.fromOpaque(cls).takeUnretainedValue()
    let state = Unmanaged<RequestState>.fromOpaque(existing).takeRetainedValue()
    conCls.pointee = nil
    // An upgraded request was reported when the socket was handed over, not at the
    // WebSocket's end (its lifetime is no request latency).
    guard !state.upgraded else { return }
    context.inFlight.subtract(1, ordering: .releasing)
    context.onCompleted?(state.request, state.status, ContinuousClock.now - state.started)
}

/// A request's headers (names lower-cased), cookies and query arguments, collected in one walk
/// of libmicrohttpd's list.
private final class RequestValues {
    var headers: [String: String] = Dictionary(minimumCapacity: 8)
    var cookies: [String: String] = [:]
    var query: [String: String] = [:]

    init(_ connection: OpaquePointer) {
        _ = cmicrohttpd_request_values(connection, { cls, kind, key, value in
            guard let cls, let key else { return .YES }
            let values = Unmanaged<RequestValues>.fromOpaque(cls).takeUnretainedValue()
            let text = value.map { String(cString: $0) } ?? ""
            switch kind {
            case .HEADER_KIND: values.headers[lowercasedASCII(key)] = text
            case .COOKIE_KIND: values.cookies[String(cString: key)] = text
            case .GET_ARGUMENT_KIND: values.query[String(cString: key)] = text
            default: break
            }
            return .YES
        }, Unmanaged.passUnretained(self).toOpaque())
    }
}

/// A header name with ASCII letters lower-cased (field names are ASCII tokens, RFC 9110 5.1;
/// any other byte is kept as it is). On bytes: String.lowercased() is Unicode's full mapping.
func lowercasedASCII(_ name: UnsafePointer<CChar>) -> String {
    let count = strlen(name)
    return String(unsafeUninitializedCapacity: count) { buffer in
        name.withMemoryRebound(to: UInt8.self, capacity: count) { bytes in
            for index in 0..<count {
                let byte = bytes[index]
                buffer[index] = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            }
        }
        return count
    }
}
