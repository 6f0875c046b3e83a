import JSONText

/// Kurento's JSON-RPC 2.0 messages (the Kurento Protocol, doc-kurento "Kurento Protocol"), as
/// text to send and as values parsed from what arrives: no transport here, so the client that
/// drives them over a WebSocket can be tested on bytes.
///
/// `KurentoSession` numbers the requests and puts the session id into every request after the
/// server's first answer gave one; `KurentoMessage(parsing:)` reads responses, errors and events.
public struct KurentoSession: Sendable {
    /// The id of the next request.
    public private(set) var nextID: Int
    /// The server's session id, from the first result that carried one; sent with every later
    /// request and with `connect` after a dropped connection.
    public private(set) var sessionID: String?

    public init(firstID: Int = 1, sessionID: String? = nil) {
        nextID = firstID
        self.sessionID = sessionID
    }

    /// The JSON text of `request` and the id its response will carry.
    public mutating func encode(_ request: KurentoRequest) -> (id: Int, text: String) {
        let id = nextID
        nextID += 1
        var params = request.params
        if let sessionID, request.carriesSessionID { params["sessionId"] = .string(sessionID) }
        let message: JSONValue = .object([
            "jsonrpc": .string("2.0"), "id": .number(Double(id)), "method": .string(request.method), "params": .object(params),
        ])
        return (id, message.serialized)
    }

    /// Remembers the session id a response carries (the first one, and a new one after `connect`
    /// found the old session gone).
    public mutating func note(_ message: KurentoMessage) {
        if case .result(_, _, let session?) = message { sessionID = session }
    }
}

/// A request camhost sends to Kurento.
public enum KurentoRequest: Sendable, Equatable {
    /// Keep-alive; `interval` in milliseconds tells the server how long to wait for the next one.
    case ping(intervalMilliseconds: Int)
    /// `create` a media object: `MediaPipeline`, `RtpEndpoint`, `RecorderEndpoint` ...
    case create(type: String, constructorParams: [String: JSONValue])
    /// `invoke` an operation on an object: `processOffer`, `connect`, `record`, `stopAndWait` ...
    case invoke(object: String, operation: String, operationParams: [String: JSONValue])
    /// `subscribe` to an event type on an object: `MediaFlowInStateChanged` (7.x;
    /// `MediaFlowInStateChange` on 6.x), `Error` ...
    case subscribe(object: String, type: String)
    case unsubscribe(object: String, subscription: String)
    /// `release` an object (and, for a pipeline, everything in it).
    case release(object: String)
    /// `connect` again after a dropped connection, with the session id kept; error 40007 says the
    /// session is gone and every object must be created again.
    case connect

    public static func mediaPipeline() -> KurentoRequest { .create(type: "MediaPipeline", constructorParams: [:]) }
    public static func rtpEndpoint(pipeline: String) -> KurentoRequest {
        .create(type: "RtpEndpoint", constructorParams: ["mediaPipeline": .string(pipeline)])
    }
    public static func recorderEndpoint(pipeline: String, uri: String) -> KurentoRequest {
        .create(type: "RecorderEndpoint", constructorParams: ["mediaPipeline": .string(pipeline), "uri": .string(uri)])
    }
    public static func processOffer(endpoint: String, offer: String) -> KurentoRequest {
        .invoke(object: endpoint, operation: "processOffer", operationParams: ["offer": .string(offer)])
    }
    public static func connect(source: String, sink: String) -> KurentoRequest {
        .invoke(object: source, operation: "connect", operationParams: ["sink": .string(sink)])
    }

    var method: String {
        switch self {
        case .ping: "ping"
        case .create: "create"
        case .invoke: "invoke"
        case .subscribe: "subscribe"
        case .unsubscribe: "unsubscribe"
        case .release: "release"
        case .connect: "connect"
        }
    }

    /// `ping` has no session; every other request carries the id once known.
    var carriesSessionID: Bool { if case .ping = self { false } else { true } }

    var params: [String: JSONValue] {
        switch self {
        case .ping(let interval): ["interval": .number(Double(interval))]
        case .create(let type, let constructorParams): ["type": .string(type), "constructorParams": .object(constructorParams), "properties": .object([:])]
        case .invoke(let object, let operation, let operationParams):
            ["object": .string(object), "operation": .string(operation), "operationParams": .object(operationParams)]
        case .subscribe(let object, let type): ["object": .string(object), "type": .string(type)]
        case .unsubscribe(let object, let subscription): ["object": .string(object), "subscription": .string(subscription)]
        case .release(let object): ["object": .string(object)]
        case .connect: [:]
        }
    }
}

/// One message from Kurento.
public enum KurentoMessage: Sendable, Equatable {
    /// A successful response: `result.value` (an object id, an SDP answer, `pong`, ...), and the session id when present.
    case result(id: Int, value: JSONValue?, sessionID: String?)
    /// An error response (JSON-RPC `error`): Kurento's code (40007 session gone, 40106 unknown
    /// event type, ...), message and data. `id` is nil when the server could not read the request's.
    case error(id: Int?, code: Int, message: String, data: JSONValue?)
    /// An `onEvent` notification: the event type, the object it comes from, and its data.
    case event(type: String, object: String, data: JSONValue)

    /// Reads one message; anything that is not JSON-RPC 2.0 of these three shapes is an error naming why.
    public init(parsing bytes: [UInt8]) throws(KurentoMessageError) {
        let json: JSONValue
        do {
            json = try JSONValue(parsing: bytes)
        } catch {
            throw KurentoMessageError(reason: "\(error)")
        }
        guard case .object = json else { throw KurentoMessageError(reason: "not a JSON object") }
        guard json["jsonrpc"]?.stringValue == "2.0" else { throw KurentoMessageError(reason: "no \"jsonrpc\": \"2.0\"") }
        if let method = json["method"] {
            guard method.stringValue == "onEvent" else { throw KurentoMessageError(reason: "unknown server request \(method.serialized)") }
            guard let value = json["params"]?["value"], let type = value["type"]?.stringValue, let object = value["object"]?.stringValue else {
                throw KurentoMessageError(reason: "onEvent without params.value.type and params.value.object")
            }
            self = .event(type: type, object: object, data: value["data"] ?? .null)
            return
        }
        let id = json["id"]?.intValue
        if let error = json["error"] {
            guard let code = error["code"]?.intValue, let message = error["message"]?.stringValue else {
                throw KurentoMessageError(reason: "error without a numeric code and a message")
            }
            self = .error(id: id, code: code, message: message, data: error["data"])
            return
        }
        guard let id else { throw KurentoMessageError(reason: "a response without a numeric id") }
        guard let result = json["result"] else { throw KurentoMessageError(reason: "a response with neither result nor error") }
        guard case .object = result else { throw KurentoMessageError(reason: "result is not an object") }
        self = .result(id: id, value: result["value"], sessionID: result["sessionId"]?.stringValue)
    }
}

/// A message from Kurento that is not one camhost understands: why.
public struct KurentoMessageError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    public var description: String { "not a Kurento JSON-RPC message: \(reason)" }
}

/// Kurento's error codes that change what the client does.
public enum KurentoErrorCode {
    /// The session id is unknown (the server restarted): create every object again.
    public static let sessionNotFound = 40007
    /// The event type does not exist on this server version (6.x: `MediaFlowInStateChange`).
    public static let unknownEventType = 40106
}
