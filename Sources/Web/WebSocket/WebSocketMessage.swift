/// One whole WebSocket message (RFC 6455 section 5.6), however many frames carried it.
/// `[UInt8]` and `String` are copy-on-write: one message sent to 50 connections is stored once.
public enum WebSocketMessage: Sendable, Equatable {
    case text(String)
    case binary([UInt8])

    /// The payload's size in bytes (UTF-8 for text).
    public var byteCount: Int {
        switch self {
        case .text(let text): return text.utf8.count
        case .binary(let bytes): return bytes.count
        }
    }
}

/// The status code of a close frame (RFC 6455 section 7.4).
public struct WebSocketCloseCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static let normal = WebSocketCloseCode(1000)
    public static let goingAway = WebSocketCloseCode(1001)
    public static let protocolError = WebSocketCloseCode(1002)
    public static let unsupportedData = WebSocketCloseCode(1003)
    public static let invalidPayload = WebSocketCloseCode(1007)
    public static let policyViolation = WebSocketCloseCode(1008)
    public static let messageTooBig = WebSocketCloseCode(1009)
    public static let internalError = WebSocketCloseCode(1011)

    /// Whether a peer may send this code in a close frame (RFC 6455 section 7.4.1 and 7.4.2, and
    /// IANA's registry: 1012-1014 were added later). 1004-1006 and 1015 are reserved for
    /// reporting, 1016-2999 for future protocol use; 3000-4999 belong to libraries and apps.
    public var isValidOnTheWire: Bool {
        switch rawValue {
        case 1000...1003, 1007...1014, 3000...4999: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .normal: return "1000 (normal closure)"
        case .goingAway: return "1001 (going away)"
        case .protocolError: return "1002 (protocol error)"
        case .unsupportedData: return "1003 (unsupported data)"
        case .invalidPayload: return "1007 (invalid payload data)"
        case .policyViolation: return "1008 (policy violation)"
        case .messageTooBig: return "1009 (message too big)"
        case .internalError: return "1011 (internal error)"
        default: return String(rawValue)
        }
    }
}

/// Limits and timers of one WebSocket connection.
public struct WebSocketOptions: Sendable {
    /// The largest message accepted, whole (all its fragments); a frame that announces more is
    /// refused with 1009 before its payload is read.
    public var maxMessageBytes = 1 << 20
    /// A connection that receives no frame at all for this long is closed (1001 on the server, an
    /// error on the client). Pings keep a live peer talking (its pongs count).
    public var idleTimeout: Duration = .seconds(60)
    /// How often the server pings a quiet connection.
    public var pingInterval: Duration = .seconds(20)

    public init(maxMessageBytes: Int = 1 << 20, idleTimeout: Duration = .seconds(60), pingInterval: Duration = .seconds(20)) {
        self.maxMessageBytes = maxMessageBytes
        self.idleTimeout = idleTimeout
        self.pingInterval = pingInterval
    }
}

/// What went wrong on a WebSocket: a peer that broke RFC 6455 (with the close code it was sent),
/// a refused handshake, a connection that could not be made or ended.
public enum WebSocketError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The peer broke the protocol; the connection is (being) closed with `code`.
    case protocolViolation(WebSocketCloseCode, String)
    /// The opening handshake failed (the server's answer, or the request, is not a WebSocket upgrade).
    case handshakeFailed(String)
    /// The URL cannot be used (not ws://, no host, wss:// not supported by the client).
    case invalidURL(String)
    /// TCP could not connect, or a read or write failed.
    case connectionFailed(String)
    /// Nothing happened in time (connect, handshake).
    case timedOut(String)
    /// The connection is closed: by the peer's close frame (its code, if any, and reason) or by us.
    case closed(WebSocketCloseCode?, String)

    public var description: String {
        switch self {
        case .protocolViolation(let code, let reason): return "WebSocket protocol error: \(reason) (close \(code.rawValue))"
        case .handshakeFailed(let reason): return "WebSocket handshake failed: \(reason)"
        case .invalidURL(let reason): return "invalid WebSocket URL: \(reason)"
        case .connectionFailed(let reason): return "WebSocket connection failed: \(reason)"
        case .timedOut(let reason): return "WebSocket timed out: \(reason)"
        case .closed(let code, let reason):
            let what = code.map { "closed with \($0)" } ?? "closed without a status code"
            return reason.isEmpty ? "WebSocket \(what)" : "WebSocket \(what): \(reason)"
        }
    }

    /// The close code to send the peer for this error (1002 unless the violation says otherwise).
    public var closeCode: WebSocketCloseCode {
        if case .protocolViolation(let code, _) = self { return code }
        return .protocolError
    }
}
