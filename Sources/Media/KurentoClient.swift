import JSONText
import POSIX
import Synchronization
import Web

/// A client of Kurento Media Server's JSON-RPC 2.0 interface over one WebSocket (doc-kurento
/// "Kurento Protocol"): blocking calls, each bounded by a time-out that names the method; one reader
/// thread that matches responses to calls, hands `onEvent` notifications to the subscribers, sends
/// the `ping` keep-alive, and after a dropped connection connects again and sends `connect` with
/// the kept session id. When Kurento answers that with 40007 (it restarted and forgot the session)
/// the client takes a new session and tells its subscribers `.sessionLost`: every object it owned
/// is gone and must be created again (the engine does that; only it knows what they were for).
/// Call `close()` when done: the reader thread (which keeps reconnecting) holds the client until then.
public final class KurentoClient: Sendable {
    public struct Options: Sendable {
        /// How long a call waits for its answer.
        public var callTimeout: Duration = .seconds(10)
        /// How long opening the WebSocket may take.
        public var connectTimeout: Duration = .seconds(5)
        /// The keep-alive `ping` period; `.zero` sends none. A ping unanswered for this long counts
        /// as a dead connection.
        public var pingInterval: Duration = .seconds(20)
        /// The first wait before connecting again after a drop, doubled up to `reconnectMaximum`.
        public var reconnectDelay: Duration = .milliseconds(100)
        public var reconnectMaximum: Duration = .seconds(5)
        public init() {}
    }

    /// What the client tells its subscribers.
    public enum Notification: Sendable, Equatable {
        /// An `onEvent` from Kurento.
        case event(KurentoEvent)
        /// The connection dropped; calls fail with `.connectionLost` until it is back.
        case disconnected(reason: String)
        /// Connected again and `connect` kept the session: every object is still there.
        case resumed(sessionID: String)
        /// Connected again but the session was gone (40007): a new session; every object this
        /// client created must be created again.
        case sessionLost(newSessionID: String?)
        /// A message that is not Kurento JSON-RPC arrived; it was dropped and the client went on.
        case malformed(reason: String)
    }

    public let url: String
    private let options: Options
    private let socket: Mutex<WebSocketClient?>
    private let session: Mutex<KurentoSession>
    private let pending = Mutex<[Int: PendingCall]>([:])
    private let subscribers = Mutex<[Int: @Sendable (Notification) -> Void]>([:])
    private let nextSubscriber = Atomic<Int>(0)
    private let closing = Atomic<Bool>(false)
    private let reader = Mutex<ThreadHandle?>(nil)
    private let malformedCount = Atomic<Int>(0)

    /// Opens the WebSocket to `url` (e.g. ws://127.0.0.1:8888/kurento) and starts the reader.
    /// Nothing is sent yet: Kurento gives the session id with the first result.
    public init(url: String, options: Options = Options()) throws(KurentoError) {
        self.url = url
        self.options = options
        do {
            socket = Mutex(try WebSocketClient.connect(url: url, timeout: options.connectTimeout))
        } catch {
            throw .connectFailed(url: url, reason: "\(error)")
        }
        session = Mutex(KurentoSession())
        let thread = startThread { [self] in readLoop() }
        reader.withLock { $0 = thread }
    }

    deinit { close() }

    /// The session id Kurento gave (nil before the first answer).
    public var sessionID: String? { session.withLock { $0.sessionID } }

    /// How many messages from the peer were not Kurento JSON-RPC (dropped, the client went on).
    public var malformedMessages: Int { malformedCount.load(ordering: .relaxed) }

    /// Calls `handler` (on the reader thread: do not block in it) with every notification until
    /// `unsubscribe(token)`. Returns the token.
    @discardableResult
    public func subscribe(_ handler: @escaping @Sendable (Notification) -> Void) -> Int {
        let token = nextSubscriber.add(1, ordering: .relaxed).newValue
        subscribers.withLock { $0[token] = handler }
        return token
    }

    public func unsubscribe(_ token: Int) { _ = subscribers.withLock { $0.removeValue(forKey: token) } }

    /// Sends `request` and waits for its answer: the result's `value` (nil when it has none).
    @discardableResult
    public func call(_ request: KurentoRequest, timeout: Duration? = nil) throws(KurentoError) -> JSONValue? {
        let name = request.name
        guard !closing.load(ordering: .acquiring) else { throw .closed(method: name) }
        let call = PendingCall()
        let (id, text) = session.withLock { $0.encode(request) }
        pending.withLock { $0[id] = call }
        defer { _ = pending.withLock { $0.removeValue(forKey: id) } }
        guard let client = socket.withLock({ $0 }) else { throw .connectionLost(method: name, url: url) }
        do {
            try client.send(.text(text))
        } catch {
            throw .connectionLost(method: name, url: url)
        }
        let limit = timeout ?? options.callTimeout
        guard call.done.wait(timeout: limit) else { throw .timedOut(method: name, url: url, after: limit) }
        switch call.outcome.withLock({ $0 }) {
        case .answered(.result(_, let value, _))?:
            return value
        case .answered(.error(_, let code, let message, _))?:
            throw .server(method: name, code: code, message: message)
        case .answered(.event)?, nil:
            throw .connectionLost(method: name, url: url)
        case .lost?:
            throw .connectionLost(method: name, url: url)
        }
    }

    // MARK: The operations camhost uses (the request shapes are KurentoRequest's).

    public func ping(timeout: Duration? = nil) throws(KurentoError) {
        let value = try call(.ping(intervalMilliseconds: max(options.pingInterval, .seconds(1)).milliseconds * 2), timeout: timeout)
        guard value?.stringValue == "pong" else { throw .unexpectedResult(method: "ping", reason: "the answer is not \"pong\"") }
    }

    public func createPipeline() throws(KurentoError) -> String { try objectID(.mediaPipeline()) }
    public func createRtpEndpoint(pipeline: String) throws(KurentoError) -> String { try objectID(.rtpEndpoint(pipeline: pipeline)) }
    public func createRecorder(pipeline: String, uri: String) throws(KurentoError) -> String {
        try objectID(.recorderEndpoint(pipeline: pipeline, uri: uri))
    }

    /// The SDP answer to `offer`.
    public func processOffer(endpoint: String, offer: String) throws(KurentoError) -> String {
        guard let answer = try call(.processOffer(endpoint: endpoint, offer: offer))?.stringValue else {
            throw .unexpectedResult(method: "invoke processOffer", reason: "no SDP answer in the result")
        }
        return answer
    }

    public func connect(source: String, sink: String) throws(KurentoError) { try call(.connect(source: source, sink: sink)) }
    public func record(recorder: String) throws(KurentoError) {
        try call(.invoke(object: recorder, operation: "record", operationParams: [:]))
    }
    public func stopAndWait(recorder: String) throws(KurentoError) {
        try call(.invoke(object: recorder, operation: "stopAndWait", operationParams: [:]))
    }
    public func release(_ object: String) throws(KurentoError) { try call(.release(object: object)) }

    /// Subscribes to `type` on `object`; returns the subscription id.
    public func subscribe(object: String, type: String) throws(KurentoError) -> String {
        guard let id = try call(.subscribe(object: object, type: type))?.stringValue else {
            throw .unexpectedResult(method: "subscribe \(type)", reason: "no subscription id in the result")
        }
        return id
    }

    /// Subscribes to the media-flow event by its 7.x name, MediaFlowInStateChanged, and on error
    /// 40106 (no such event: a 6.x server) by its old name, MediaFlowInStateChange. Returns the
    /// event type the server knows.
    @discardableResult
    public func subscribeMediaFlow(object: String) throws(KurentoError) -> String {
        do {
            _ = try subscribe(object: object, type: KurentoEvent.mediaFlowIn)
            return KurentoEvent.mediaFlowIn
        } catch .server(_, KurentoErrorCode.unknownEventType, _) {
            _ = try subscribe(object: object, type: KurentoEvent.mediaFlowIn6)
            return KurentoEvent.mediaFlowIn6
        }
    }

    private func objectID(_ request: KurentoRequest) throws(KurentoError) -> String {
        guard let id = try call(request)?.stringValue else {
            throw .unexpectedResult(method: request.name, reason: "no object id in the result")
        }
        return id
    }

    /// Closes the WebSocket and stops the reader; calls in flight fail with `.connectionLost`.
    public func close() {
        guard !closing.exchange(true, ordering: .acquiringAndReleasing) else { return }
        socket.withLock { $0 }?.close(.normal, reason: "camhost closing")
        failPending()
        if let thread = reader.withLock({ r -> ThreadHandle? in defer { r = nil }; return r }) { joinThread(thread) }
    }

    // MARK: The reader thread.

    private func readLoop() {
        var lastPing = ContinuousClock.now
        var pingSent: (id: Int, at: ContinuousClock.Instant)?
        while !closing.load(ordering: .acquiring) {
            guard let client = socket.withLock({ $0 }) else {
                reconnect()
                lastPing = .now
                pingSent = nil
                continue
            }
            let message: WebSocketMessage?
            do {
                message = try client.receive(timeout: .milliseconds(200))
            } catch {
                dropped(reason: "\(error)")
                continue
            }
            if let message { handle(message, ping: &pingSent) }
            guard options.pingInterval > .zero else { continue }
            if let sent = pingSent, ContinuousClock.now - sent.at > options.pingInterval {
                dropped(reason: "no pong within \(options.pingInterval)")
                continue
            }
            if pingSent == nil, ContinuousClock.now - lastPing >= options.pingInterval {
                let (id, text) = session.withLock { $0.encode(.ping(intervalMilliseconds: options.pingInterval.milliseconds * 2)) }
                if (try? client.send(.text(text))) != nil { pingSent = (id, .now) }
                lastPing = .now
            }
        }
    }

    private func handle(_ message: WebSocketMessage, ping: inout (id: Int, at: ContinuousClock.Instant)?) {
        let bytes: [UInt8]
        switch message {
        case .text(let text): bytes = Array(text.utf8)
        case .binary(let data): bytes = data
        }
        let parsed: KurentoMessage
        do {
            parsed = try KurentoMessage(parsing: bytes)
        } catch {
            malformed(error.description)
            return
        }
        switch parsed {
        case .event(let type, let object, let data):
            notify(.event(KurentoEvent(type: type, object: object, data: data)))
        case .result(let id, _, _), .error(let id?, _, _, _):
            session.withLock { $0.note(parsed) }
            if let sent = ping, sent.id == id { ping = nil; return }
            if let call = pending.withLock({ $0[id] }) {
                call.outcome.withLock { $0 = .answered(parsed) }
                call.done.signal()
            }
        case .error(nil, let code, let message, _):
            malformed("error \(code) without a request id: \(message)")
        }
    }

    private func malformed(_ reason: String) {
        malformedCount.add(1, ordering: .relaxed)
        notify(.malformed(reason: reason))
    }

    private func dropped(reason: String) {
        let old = socket.withLock { s -> WebSocketClient? in defer { s = nil }; return s }
        guard let old else { return }
        old.close(.goingAway, reason: "")
        failPending()
        if !closing.load(ordering: .acquiring) { notify(.disconnected(reason: reason)) }
    }

    /// Connects again (with back-off) and restores the session with `connect` and the kept id; on
    /// 40007 (Kurento restarted) `connect` without an id gives a new session (kurento_protocol.rst, "connect").
    private func reconnect() {
        var delay = options.reconnectDelay
        while !closing.load(ordering: .acquiring) {
            sleep(delay)
            if closing.load(ordering: .acquiring) { return }
            delay = min(delay * 2, options.reconnectMaximum)
            guard let client = try? WebSocketClient.connect(url: url, timeout: options.connectTimeout) else { continue }
            let kept = session.withLock { $0.sessionID }
            switch exchange(.connect, on: client) {
            case .result(_, _, let sessionID)?:
                socket.withLock { $0 = client }
                notify(.resumed(sessionID: sessionID ?? kept ?? ""))
                return
            case .error(_, KurentoErrorCode.sessionNotFound, _, _)?:
                session.withLock { $0 = KurentoSession(firstID: $0.nextID) }
                guard case .result(_, _, let fresh)? = exchange(.connect, on: client) else {
                    client.close(.goingAway, reason: "")
                    continue
                }
                socket.withLock { $0 = client }
                notify(.sessionLost(newSessionID: fresh))
                return
            default:
                client.close(.goingAway, reason: "")
            }
        }
    }

    /// Sends `request` on a connection not yet handed to callers and reads until its answer
    /// (events that arrive meanwhile go to the subscribers). nil when none came in time.
    private func exchange(_ request: KurentoRequest, on client: WebSocketClient) -> KurentoMessage? {
        let (id, text) = session.withLock { $0.encode(request) }
        guard (try? client.send(.text(text))) != nil else { return nil }
        let deadline = ContinuousClock.now + options.callTimeout
        var noPing: (id: Int, at: ContinuousClock.Instant)?
        while ContinuousClock.now < deadline, !closing.load(ordering: .acquiring) {
            let message: WebSocketMessage?
            do {
                message = try client.receive(timeout: .milliseconds(200))
            } catch {
                return nil
            }
            guard let message else { continue }
            guard case .text(let t) = message, let parsed = try? KurentoMessage(parsing: Array(t.utf8)) else {
                handle(message, ping: &noPing)
                continue
            }
            switch parsed {
            case .result(let answered, _, _) where answered == id, .error(let answered?, _, _, _) where answered == id:
                session.withLock { $0.note(parsed) }
                return parsed
            default:
                handle(message, ping: &noPing)
            }
        }
        return nil
    }

    private func failPending() {
        for call in pending.withLock({ Array($0.values) }) {
            call.outcome.withLock { if $0 == nil { $0 = .lost } }
            call.done.signal()
        }
    }

    private func notify(_ notification: Notification) {
        for handler in subscribers.withLock({ Array($0.values) }) { handler(notification) }
    }

    private func sleep(_ duration: Duration) {
        let until = ContinuousClock.now + duration
        while ContinuousClock.now < until, !closing.load(ordering: .acquiring) { Clock.sleep(milliseconds: 20) }
    }
}

/// One call waiting for its answer.
private final class PendingCall: Sendable {
    enum Outcome: Sendable { case answered(KurentoMessage), lost }
    let done = Semaphore()
    let outcome = Mutex<Outcome?>(nil)
}

/// An `onEvent` from Kurento: its type, the object that raised it, and its data.
public struct KurentoEvent: Sendable, Equatable {
    public var type: String
    public var object: String
    public var data: JSONValue

    public init(type: String, object: String, data: JSONValue) {
        self.type = type
        self.object = object
        self.data = data
    }

    /// Kurento 7's name of the media-flow event (core.kmd.json); `mediaFlowIn6` is 6.x's.
    public static let mediaFlowIn = "MediaFlowInStateChanged"
    public static let mediaFlowIn6 = "MediaFlowInStateChange"

    /// FLOWING / NOT_FLOWING for a media-flow event.
    public var flowState: String? { data["state"]?.stringValue }
}

/// Why a Kurento call failed; each names the method and what to check.
public enum KurentoError: Error, Sendable, Equatable, CustomStringConvertible {
    case connectFailed(url: String, reason: String)
    case timedOut(method: String, url: String, after: Duration)
    /// Kurento answered with a JSON-RPC error (40007 session gone, 40101 object not found, ...).
    case server(method: String, code: Int, message: String)
    case connectionLost(method: String, url: String)
    case unexpectedResult(method: String, reason: String)
    case closed(method: String)

    public var code: Int? { if case .server(_, let code, _) = self { code } else { nil } }

    public var description: String {
        switch self {
        case .connectFailed(let url, let reason):
            return "cannot connect to Kurento at \(url): \(reason) (is kurento-media-server running? check media.kurento_url)"
        case .timedOut(let method, let url, let after):
            return "Kurento at \(url) did not answer \(method) within \(after.seconds) s"
        case .server(let method, let code, let message):
            return "Kurento refused \(method): error \(code): \(message)"
        case .connectionLost(let method, let url):
            return "the connection to Kurento at \(url) was lost before \(method) was answered (the client reconnects by itself)"
        case .unexpectedResult(let method, let reason):
            return "Kurento's answer to \(method) is not what the protocol says: \(reason)"
        case .closed(let method):
            return "\(method) after the Kurento client was closed"
        }
    }
}

extension KurentoRequest {
    /// How errors name the request: `create RtpEndpoint`, `invoke processOffer`, `subscribe Error` ...
    var name: String {
        switch self {
        case .create(let type, _): "create \(type)"
        case .invoke(_, let operation, _): "invoke \(operation)"
        case .subscribe(_, let type): "subscribe \(type)"
        default: method
        }
    }
}

extension Duration {
    /// "2" or "0.5": how error messages say a time-out, in seconds.
    var seconds: String {
        let ms = milliseconds
        return ms % 1000 == 0 ? String(ms / 1000) : String(Double(ms) / 1000)
    }
}
