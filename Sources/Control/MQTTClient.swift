import CMosquitto
import Logging
import POSIX
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

private let libraryInitialised: Bool = { mosquitto_lib_init() == MOSQ_ERR_SUCCESS.rawValue }()

private let success = MOSQ_ERR_SUCCESS.rawValue

/// An MQTT 3.1.1 client over libmosquitto. Its network I/O runs on the process's one
/// `MosquittoLoop` thread (poll(2), so a thousand clients fit in one process) and reaches
/// Swift only through a `Mutex` and `AsyncStream` continuations.
/// It reconnects by itself with exponential back-off and jitter; after every reconnect it
/// re-subscribes and re-publishes the retained state registered with `setRetained(topic:payload:)`.
public final class MQTTClient: Sendable {
    public let options: Options
    public let clientID: String
    private let core: Core

    /// libmosquitto's version, e.g. "2.0.11".
    public static var libraryVersion: String {
        var major: Int32 = 0, minor: Int32 = 0, revision: Int32 = 0
        _ = mosquitto_lib_version(&major, &minor, &revision)
        return "\(major).\(minor).\(revision)"
    }

    public init(options: Options = Options(), logger: Logger = Logger(label: "camhost.control.mqtt")) {
        _ = libraryInitialised
        self.options = options
        self.clientID = options.clientID ?? MQTTClient.makeClientID(prefix: options.clientIDPrefix)
        self.core = Core(clientID: clientID, options: options, logger: logger)
    }

    /// A client dropped without `disconnect()` still lets go of its connection.
    deinit { core.abandon() }

    public var state: MQTTConnectionState { core.state.withLock { $0.connection } }

    /// Every state change from now on; ends when the client is closed.
    public func stateChanges() -> AsyncStream<MQTTConnectionState> {
        let (stream, continuation) = AsyncStream<MQTTConnectionState>.makeStream(bufferingPolicy: .bufferingNewest(64))
        let key = core.state.withLock { s -> UInt64 in
            s.nextKey += 1
            s.stateListeners[s.nextKey] = continuation
            return s.nextKey
        }
        continuation.onTermination = { [weak core] _ in core?.state.withLock { _ = $0.stateListeners.removeValue(forKey: key) } }
        return stream
    }

    /// Every message received from now on (each call returns an independent stream).
    public func messages() -> AsyncStream<MQTTMessage> {
        let (stream, continuation) = AsyncStream<MQTTMessage>.makeStream(bufferingPolicy: .bufferingNewest(options.messageBuffer))
        let key = core.state.withLock { s -> UInt64 in
            s.nextKey += 1
            s.messageListeners[s.nextKey] = continuation
            return s.nextKey
        }
        continuation.onTermination = { [weak core] _ in core?.state.withLock { _ = $0.messageListeners.removeValue(forKey: key) } }
        return stream
    }

    /// Calls `handler` for every message received from now on, on the client's network thread,
    /// in arrival order, until `removeMessageHandler` is called with the returned key. The
    /// handler must be quick and must not block (parse, update state, resume a continuation,
    /// `publishQueued`): every other client of the process waits while it runs. This is the
    /// hot path of camera control: no task hop between the socket and the waiting command.
    @discardableResult
    public func addMessageHandler(_ handler: @escaping @Sendable (MQTTMessage) -> Void) -> UInt64 {
        core.state.withLock { s in
            s.nextKey += 1
            s.messageHandlers.append((s.nextKey, handler))
            return s.nextKey
        }
    }

    public func removeMessageHandler(_ key: UInt64) {
        core.state.withLock { s in s.messageHandlers.removeAll { $0.key == key } }
    }

    /// Connects and waits for the broker's CONNACK. Throws `MosquittoError` for a refused TCP
    /// connection, a failed TLS handshake or a refused CONNACK (bad user/password).
    public func connect() async throws {
        try await core.connect()
    }

    /// Publishes; with QoS 1 waits for the broker's PUBACK (MQTT 3.1.1 §4.3.2).
    /// Throws at once when not connected.
    public func publish(topic: String, payload: [UInt8], qos: MQTTQoS = .atLeastOnce, retain: Bool = false) async throws {
        try await core.publish(topic: topic, payload: payload, qos: qos, retain: retain)
    }

    public func publish(topic: String, text: String, qos: MQTTQoS = .atLeastOnce, retain: Bool = false) async throws {
        try await publish(topic: topic, payload: Array(text.utf8), qos: qos, retain: retain)
    }

    /// Queues a publish and returns at once, without waiting for the broker's PUBACK: the
    /// packet goes out with the given QoS (libmosquitto retries QoS 1 itself while the
    /// connection lasts). For callers whose own protocol confirms delivery (a command whose
    /// camera acks it) and for network-thread handlers, which must not wait. Throws when not
    /// connected or when libmosquitto refuses the packet.
    public func publishQueued(topic: String, payload: [UInt8], qos: MQTTQoS = .atLeastOnce, retain: Bool = false) throws {
        try core.publishQueued(topic: topic, payload: payload, qos: qos, retain: retain)
    }

    public func publishQueued(topic: String, text: String, qos: MQTTQoS = .atLeastOnce, retain: Bool = false) throws {
        try publishQueued(topic: topic, payload: Array(text.utf8), qos: qos, retain: retain)
    }

    /// Subscribes (and again after every reconnect). When connected, waits for the SUBACK.
    public func subscribe(_ filter: String, qos: MQTTQoS = .atLeastOnce) async throws {
        try await core.subscribe(filter, qos: qos)
    }

    /// Remembers `payload` as this client's retained state on `topic`, publishes it now when
    /// connected, and again after every reconnect.
    public func setRetained(topic: String, payload: [UInt8]) async throws {
        core.state.withLock { $0.retained[topic] = payload }
        if state == .connected {
            try await publish(topic: topic, payload: payload, qos: .atLeastOnce, retain: true)
        }
    }

    public func setRetained(topic: String, text: String) async throws {
        try await setRetained(topic: topic, payload: Array(text.utf8))
    }

    /// `setRetained` without waiting for the PUBACK (see `publishQueued`); usable from a
    /// message handler. Remembered even when not connected; published at the next connect.
    public func setRetainedQueued(topic: String, text: String) throws {
        let payload = Array(text.utf8)
        core.state.withLock { $0.retained[topic] = payload }
        if state == .connected {
            try publishQueued(topic: topic, payload: payload, qos: .atLeastOnce, retain: true)
        }
    }

    /// Ends the current reconnect back-off: the next attempt starts within 10 ms. For a caller
    /// that knows the broker is back, e.g. camhost after restarting its managed broker (a lost
    /// connection otherwise waits 1, 2, 4 ... s between attempts). Harmless while connected.
    public func reconnectNow() { core.state.withLock { $0.reconnectSoon = true } }

    /// Disconnects cleanly (no last will) and stops the network thread. Final.
    public func disconnect() async {
        await core.close()
    }
}

/// The C side: owns the `struct mosquitto *` and is the `obj` every callback receives.
private final class Core: MosquittoLoop.Client {
    struct State {
        var connection: MQTTConnectionState = .disconnected
        var nextKey: UInt64 = 0
        var stateListeners: [UInt64: AsyncStream<MQTTConnectionState>.Continuation] = [:]
        var messageListeners: [UInt64: AsyncStream<MQTTMessage>.Continuation] = [:]
        var messageHandlers: [(key: UInt64, handler: @Sendable (MQTTMessage) -> Void)] = []
        var pending: [Int32: CheckedContinuation<Void, any Error>] = [:]
        /// When each pending request times out, and what it was (for the error).
        var deadlines: [Int32: (at: ContinuousClock.Instant, what: String)] = [:]
        /// A sweeper task fails expired requests while any are pending (one task per client,
        /// not one sleeping task per publish: at thousands of commands a second those add up).
        var sweeping = false
        /// Acks that arrived before the caller registered its wait.
        var early: Set<Int32> = []
        /// Mids nobody waits for (QoS 0, re-subscribes, re-publishes).
        var ignored: Set<Int32> = []
        var subscriptions: [String: MQTTQoS] = [:]
        var retained: [String: [UInt8]] = [:]
        var connackWaiter: CheckedContinuation<Int32, Never>?
        var lastLibraryError: String?
        /// The loop drives this client's socket.
        var attached = false
        /// Reconnects only after a first successful CONNACK: a refused first connect is reported.
        var everConnected = false
        var reconnecting = false
        var reconnectAttempt = 0
        /// Set by `reconnectNow()`: the reconnect thread skips the rest of its back-off.
        var reconnectSoon = false
    }

    let handle: MosquittoHandle
    let options: Options
    let logger: Logger
    /// Oversized messages, at most a few lines per topic per 10 s.
    let droppedLog: ThrottledLog
    let state = Mutex(State())
    var broker: String { options.brokerAddress }
    typealias Options = MQTTClient.Options

    init(clientID: String, options: Options, logger: Logger) {
        self.options = options
        self.logger = logger
        self.droppedLog = ThrottledLog(logger: logger)
        guard let mosq = mosquitto_new(clientID, true, nil) else {
            fatalError("mosquitto_new failed: out of memory")
        }
        self.handle = MosquittoHandle(pointer: mosq)
        mosquitto_user_data_set(mosq, Unmanaged.passUnretained(self).toOpaque())
        _ = mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311)
        // Our own loop thread drives the socket: publish/subscribe only queue (MosquittoLoop).
        _ = mosquitto_threaded_set(mosq, true)
        // Commands are small packets that want an answer: with Nagle's algorithm a publish
        // waits for the ACK of the previous one, which delayed ACKs hold back ~40 ms.
        _ = mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1)
        mosquitto_connect_callback_set(mosq) { _, obj, rc in Core.from(obj).onConnect(rc) }
        mosquitto_disconnect_callback_set(mosq) { _, obj, rc in Core.from(obj).onDisconnect(rc) }
        mosquitto_publish_callback_set(mosq) { _, obj, mid in Core.from(obj).complete(mid: mid) }
        mosquitto_subscribe_callback_set(mosq) { _, obj, mid, _, _ in Core.from(obj).complete(mid: mid) }
        mosquitto_message_callback_set(mosq) { _, obj, message in
            if let message { Core.from(obj).onMessage(message.pointee) }
        }
        Core.captureLibraryErrors(mosq, true)
    }

    /// libmosquitto formats a log line (malloc + vsnprintf) for every packet while a log
    /// callback is set; the callback is only wanted for why a connect or TLS handshake failed,
    /// so it is on while connecting and off once connected.
    static func captureLibraryErrors(_ mosq: OpaquePointer, _ on: Bool) {
        if on {
            mosquitto_log_callback_set(mosq) { _, obj, level, text in
                if level == 8 /* MOSQ_LOG_ERR */, let text { Core.from(obj).state.withLock { $0.lastLibraryError = String(cString: text) } }
            }
        } else {
            mosquitto_log_callback_set(mosq, nil)
        }
    }

    /// Runs once nothing holds the core: never attached to the loop (the loop holds a strong
    /// reference while it drives the socket), so no other thread touches the handle.
    deinit {
        mosquitto_destroy(handle.pointer)
    }

    static func from(_ obj: UnsafeMutableRawPointer?) -> Core {
        Unmanaged<Core>.fromOpaque(obj!).takeUnretainedValue()
    }

    // MARK: Connecting

    func configure() throws {
        let mosq = handle.pointer
        if let will = options.will {
            let rc = will.payload.withUnsafeBytes {
                mosquitto_will_set(mosq, will.topic, Int32($0.count), $0.baseAddress, will.qos.rawValue, will.retain)
            }
            guard rc == success else { throw MosquittoError.library(rc, broker: broker, detail: "last will on \(will.topic)") }
        }
        if options.username != nil || options.password != nil {
            let rc = mosquitto_username_pw_set(mosq, options.username, options.password)
            guard rc == success else { throw MosquittoError.library(rc, broker: broker, detail: "username/password") }
        }
        if let tls = options.tls {
            let rc = mosquitto_tls_set(mosq, tls.caFile, nil, tls.certificateFile, tls.keyFile, nil)
            guard rc == success else {
                throw MosquittoError.library(rc, broker: broker, detail: "TLS files: CA \(tls.caFile), certificate \(tls.certificateFile ?? "none"), key \(tls.keyFile ?? "none")")
            }
        } else if options.requiresTLS {
            throw MosquittoError(kind: .library, code: MOSQ_ERR_TLS.rawValue,
                                 message: "mqtts:// needs a CA file (options.tls)", broker: broker)
        }
    }

    func connect() async throws {
        let already = state.withLock { s -> Bool in
            if s.connection == .connected || s.connection == .connecting || s.connection == .reconnecting { return true }
            return false
        }
        if already { return }
        try configure()
        Core.captureLibraryErrors(handle.pointer, true)
        setConnection(.connecting)
        state.withLock { $0.lastLibraryError = nil }
        let handle = self.handle
        let host = options.host, port = Int32(options.port), keepAlive = Int32(options.keepAliveSeconds)
        // mosquitto_connect blocks (DNS, TCP, TLS handshake): keep it off the Swift pool.
        let (rc, savedErrno) = await runOnOwnThread { () -> (Int32, Int32) in
            errno = 0
            let rc = mosquitto_connect(handle.pointer, host, port, keepAlive)
            return (rc, errno)
        }
        guard rc == success else {
            setConnection(.disconnected)
            let detail = state.withLock { $0.lastLibraryError }
            throw MosquittoError.library(rc, errno: savedErrno, broker: broker, detail: detail)
        }
        let connack: Int32 = await withCheckedContinuation { continuation in
            let attached = state.withLock { s -> Bool in
                s.connackWaiter = continuation
                guard s.connection != .closed else { return false }
                s.attached = true
                MosquittoLoop.shared.attach(self)
                return true
            }
            guard attached else { resumeConnack(-3); return }
            let timeout = options.ackTimeout
            Task { [weak self] in
                try? await Task.sleep(for: timeout)
                self?.resumeConnack(-1)
            }
        }
        if connack == 0 { return }
        // Refused, timed out or closed meanwhile: drop the socket; no reconnect follows
        // because the client never connected.
        _ = mosquitto_disconnect(handle.pointer)
        await detachFromLoop()
        setConnection(.disconnected)
        if connack == -1 {
            throw MosquittoError(kind: .timedOut, message: "no CONNACK within \(options.ackTimeout)", broker: broker)
        }
        if connack == -3 {
            throw MosquittoError(kind: .notConnected, message: "client closed while connecting", broker: broker)
        }
        if connack == -4 {
            // The socket closed before CONNACK. With TLS that is the handshake finishing in the
            // loop and failing (untrusted CA, wrong host name); libmosquitto logged why.
            let detail = state.withLock { $0.lastLibraryError } ?? "the broker closed the connection before answering"
            throw MosquittoError.library(options.tls != nil ? MOSQ_ERR_TLS.rawValue : MOSQ_ERR_CONN_LOST.rawValue, broker: broker, detail: detail)
        }
        throw MosquittoError.connack(connack, broker: broker)
    }

    private func detachFromLoop() async {
        let attached = state.withLock { s -> Bool in defer { s.attached = false }; return s.attached }
        if attached { await MosquittoLoop.shared.detach(self) }
    }

    private func resumeConnack(_ code: Int32) {
        let waiter = state.withLock { s -> CheckedContinuation<Int32, Never>? in
            let w = s.connackWaiter
            s.connackWaiter = nil
            return w
        }
        waiter?.resume(returning: code)
    }

    func close() async {
        setConnection(.closed)
        _ = mosquitto_disconnect(handle.pointer)
        // The loop writes the queued DISCONNECT once more before letting go.
        await detachFromLoop()
        finishEverything()
    }

    /// `close()` for a client released without it: nothing to await.
    func abandon() {
        guard state.withLock({ $0.connection }) != .closed else { return }
        setConnection(.closed)
        _ = mosquitto_disconnect(handle.pointer)
        let attached = state.withLock { s -> Bool in defer { s.attached = false }; return s.attached }
        if attached { MosquittoLoop.shared.detachSoon(self) }
        finishEverything()
    }

    private func finishEverything() {
        failAllPending(MosquittoError(kind: .connectionLost, message: "client closed", broker: broker))
        let (stateListeners, messageListeners) = state.withLock { s in
            defer { s.stateListeners = [:]; s.messageListeners = [:] }
            s.messageHandlers = []
            return (Array(s.stateListeners.values), Array(s.messageListeners.values))
        }
        stateListeners.forEach { $0.finish() }
        messageListeners.forEach { $0.finish() }
    }

    // MARK: Reconnecting

    /// Back-off before reconnect attempt `attempt` (0-based): `reconnectDelayMin` doubled per
    /// failed attempt up to `reconnectDelayMax`, plus up to `reconnectJitterMilliseconds` so
    /// that many clients dropped together do not come back in lock-step.
    private func backoff(_ attempt: Int) -> Duration {
        let low = max(1, options.reconnectDelayMin), high = max(low, options.reconnectDelayMax)
        let seconds = min(high, low << min(attempt, 16))
        let jitter = options.reconnectJitterMilliseconds > 0 ? Int.random(in: 0...options.reconnectJitterMilliseconds) : 0
        return .seconds(seconds) + .milliseconds(jitter)
    }

    /// On its own thread: wait, `mosquitto_reconnect` (blocking: TCP and TLS), hand the socket
    /// to the loop; again with a longer wait on failure; give up only when closed.
    private func startReconnecting() {
        let handle = self.handle
        startDetachedThread { [self] in
            while true {
                let attempt = state.withLock { s -> Int in defer { s.reconnectAttempt += 1 }; return s.reconnectAttempt }
                let deadline = ContinuousClock.now + backoff(attempt)
                while ContinuousClock.now < deadline {
                    let wake = state.withLock { s -> Bool in
                        defer { s.reconnectSoon = false }
                        return s.connection == .closed || s.reconnectSoon
                    }
                    if wake { break }
                    usleep(10_000)
                }
                Core.captureLibraryErrors(handle.pointer, true)
                let rc = state.withLock({ $0.connection }) == .closed ? success : mosquitto_reconnect(handle.pointer)
                if rc == success {
                    state.withLock { s in
                        s.reconnecting = false
                        guard s.connection != .closed else { return }
                        s.attached = true
                        MosquittoLoop.shared.attach(self)
                    }
                    return
                }
                logger.debug("MQTT reconnect failed", metadata: ["broker": "\(broker)", "attempt": "\(attempt + 1)",
                                                                 "reason": "\(String(cString: mosquitto_strerror(rc)))"])
            }
        }
    }

    // MARK: Callbacks (libmosquitto's thread)

    func onConnect(_ rc: Int32) {
        guard rc == 0 else {
            resumeConnack(rc)
            logger.error("MQTT broker refused connection", metadata: ["broker": "\(broker)", "reason": "\(String(cString: mosquitto_connack_string(rc)))"])
            return
        }
        if state.withLock({ $0.connection }) == .closed { resumeConnack(rc); return }
        state.withLock { $0.everConnected = true; $0.reconnectAttempt = 0 }
        let (subscriptions, retained) = state.withLock { ($0.subscriptions, $0.retained) }
        for (filter, qos) in subscriptions {
            var mid: Int32 = 0
            if mosquitto_subscribe(handle.pointer, &mid, filter, qos.rawValue) == success { forget(mid: mid) }
        }
        for (topic, payload) in retained {
            var mid: Int32 = 0
            let rc = payload.withUnsafeBytes {
                mosquitto_publish(handle.pointer, &mid, topic, Int32($0.count), $0.baseAddress, 1, true)
            }
            if rc == success { forget(mid: mid) }
        }
        Core.captureLibraryErrors(handle.pointer, false)
        setConnection(.connected)
        resumeConnack(rc)  // only now, so `connect()` returns with `state == .connected`
        logger.debug("MQTT connected", metadata: ["broker": "\(broker)"])
    }

    func onDisconnect(_ rc: Int32) {
        let (current, everConnected) = state.withLock { ($0.connection, $0.everConnected) }
        if current == .closed || !everConnected {
            // closing, or a refused first connect: `connect()` reports it
        } else if rc == 0 {
            setConnection(.disconnected)
        } else {
            setConnection(.reconnecting)
            logger.warning("MQTT connection lost; reconnecting", metadata: ["broker": "\(broker)", "reason": "\(String(cString: mosquitto_strerror(rc)))"])
        }
        failAllPending(MosquittoError(kind: .connectionLost, message: "connection lost while waiting for the broker's acknowledgement", broker: broker))
    }

    func onMessage(_ message: mosquitto_message) {
        let topic = message.topic.map { String(cString: $0) } ?? ""
        let length = Int(message.payloadlen)
        if length > options.maxPayloadBytes {
            droppedLog.log(.warning, "dropped oversized MQTT message", topic: topic, metadata: ["bytes": "\(length)", "limit": "\(options.maxPayloadBytes)"])
            return
        }
        let payload: [UInt8] = length > 0 && message.payload != nil
            ? Array(UnsafeRawBufferPointer(start: message.payload, count: length)) : []
        let received = MQTTMessage(topic: topic, payload: payload, retain: message.retain)
        let (handlers, listeners) = state.withLock { s in
            (s.messageHandlers, s.messageListeners.isEmpty ? [] : Array(s.messageListeners.values))
        }
        for entry in handlers { entry.handler(received) }
        for listener in listeners { listener.yield(received) }
    }

    func complete(mid: Int32) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, any Error>? in
            if s.ignored.remove(mid) != nil { return nil }
            if let w = s.pending.removeValue(forKey: mid) { s.deadlines[mid] = nil; return w }
            s.early.insert(mid)
            return nil
        }
        waiter?.resume()
    }

    // MARK: The loop

    var pointer: OpaquePointer { handle.pointer }

    /// The loop let go of the socket (libmosquitto closed it, or we asked): reconnect unless
    /// closing or never connected.
    func loopDetached() {
        resumeConnack(-4)  // still waiting for CONNACK: it will not come on this socket
        let reconnect = state.withLock { s -> Bool in
            s.attached = false
            guard s.connection != .closed, s.everConnected, !s.reconnecting else { return false }
            s.reconnecting = true
            return true
        }
        if reconnect {
            setConnection(.reconnecting)
            startReconnecting()
        }
    }

    // MARK: Requests

    private func forget(mid: Int32) {
        state.withLock { s in
            if s.early.remove(mid) == nil { s.ignored.insert(mid) }
        }
    }

    private func fail(mid: Int32, _ error: MosquittoError) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, any Error>? in
            guard let w = s.pending.removeValue(forKey: mid) else { return nil }
            s.deadlines[mid] = nil
            s.ignored.insert(mid)  // a late ack must not be taken for a later request's
            return w
        }
        waiter?.resume(throwing: error)
    }

    private func failAllPending(_ error: MosquittoError) {
        let waiters = state.withLock { s in
            defer { for mid in s.pending.keys { s.ignored.insert(mid) }; s.pending = [:]; s.deadlines = [:] }
            return Array(s.pending.values)
        }
        for waiter in waiters { waiter.resume(throwing: error) }
    }

    /// Sends a packet whose acknowledgement arrives later as the same mid, and waits for it.
    private func request(_ what: String, _ send: (UnsafeMutablePointer<Int32>) -> Int32) async throws {
        let timeout = options.ackTimeout
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            var mid: Int32 = 0
            let rc = send(&mid)
            guard rc == success else {
                continuation.resume(throwing: MosquittoError.library(rc, broker: broker, detail: what))
                return
            }
            MosquittoLoop.shared.wake(self)
            let (alreadyDone, startSweeper) = state.withLock { s -> (Bool, Bool) in
                if s.early.remove(mid) != nil { return (true, false) }
                s.pending[mid] = continuation
                s.deadlines[mid] = (ContinuousClock.now + timeout, what)
                if s.sweeping { return (false, false) }
                s.sweeping = true
                return (false, true)
            }
            if alreadyDone { continuation.resume(); return }
            if startSweeper { Task { [weak self] in await self?.sweepTimeouts() } }
        }
    }

    /// Fails requests whose deadline passed, every 50 ms while any are pending.
    private func sweepTimeouts() async {
        let timeout = options.ackTimeout
        while true {
            try? await Task.sleep(for: .milliseconds(50))
            let now = ContinuousClock.now
            let (expired, finished) = state.withLock { s -> ([(CheckedContinuation<Void, any Error>, String)], Bool) in
                var expired: [(CheckedContinuation<Void, any Error>, String)] = []
                for (mid, deadline) in s.deadlines where deadline.at <= now {
                    s.deadlines[mid] = nil
                    if let waiter = s.pending.removeValue(forKey: mid) {
                        s.ignored.insert(mid)  // a late ack must not be taken for a later request's
                        expired.append((waiter, deadline.what))
                    }
                }
                if s.pending.isEmpty { s.sweeping = false; return (expired, true) }
                return (expired, false)
            }
            for (waiter, what) in expired {
                waiter.resume(throwing: MosquittoError(kind: .timedOut, message: "no acknowledgement for \(what) within \(timeout)", broker: broker))
            }
            if finished { return }
        }
    }

    private func requireConnected(_ what: String) throws {
        let current = state.withLock { $0.connection }
        guard current == .connected else {
            throw MosquittoError(kind: .notConnected, message: "cannot \(what): client is \(current)", broker: broker)
        }
    }

    func publish(topic: String, payload: [UInt8], qos: MQTTQoS, retain: Bool) async throws {
        try requireConnected("publish to \(topic)")
        let handle = self.handle
        if qos == .atMostOnce {
            var mid: Int32 = 0
            let rc = payload.withUnsafeBytes {
                mosquitto_publish(handle.pointer, &mid, topic, Int32($0.count), $0.baseAddress, 0, retain)
            }
            guard rc == success else { throw MosquittoError.library(rc, broker: broker, detail: "publish to \(topic)") }
            forget(mid: mid)
            MosquittoLoop.shared.wake(self)
            return
        }
        try await request("publish to \(topic)") { mid in
            payload.withUnsafeBytes {
                mosquitto_publish(handle.pointer, mid, topic, Int32($0.count), $0.baseAddress, qos.rawValue, retain)
            }
        }
    }

    func publishQueued(topic: String, payload: [UInt8], qos: MQTTQoS, retain: Bool) throws {
        try requireConnected("publish to \(topic)")
        var mid: Int32 = 0
        let rc = payload.withUnsafeBytes {
            mosquitto_publish(handle.pointer, &mid, topic, Int32($0.count), $0.baseAddress, qos.rawValue, retain)
        }
        guard rc == success else { throw MosquittoError.library(rc, broker: broker, detail: "publish to \(topic)") }
        forget(mid: mid)  // on_publish fires for QoS 0 too (once written)
        MosquittoLoop.shared.wake(self)
    }

    func subscribe(_ filter: String, qos: MQTTQoS) async throws {
        state.withLock { $0.subscriptions[filter] = qos }
        guard state.withLock({ $0.connection }) == .connected else { return }
        let handle = self.handle
        try await request("subscribe to \(filter)") { mid in
            mosquitto_subscribe(handle.pointer, mid, filter, qos.rawValue)
        }
    }

    private func setConnection(_ new: MQTTConnectionState) {
        let listeners = state.withLock { s -> [AsyncStream<MQTTConnectionState>.Continuation] in
            guard s.connection != new else { return [] }
            if s.connection == .closed { return [] }
            s.connection = new
            return Array(s.stateListeners.values)
        }
        for listener in listeners { listener.yield(new) }
    }
}

/// libmosquitto in threaded mode guards its queues with its own mutexes; the pointer is only
/// freed in `Core.deinit`.
struct MosquittoHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}
