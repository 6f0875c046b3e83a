import Security

/// The opening handshake (RFC 6455 section 4): checking a client's upgrade request and computing
/// the `Sec-WebSocket-Accept` both ends agree on.
public enum WebSocketHandshake {
    /// RFC 6455 section 1.3: the GUID appended to the key before hashing.
    static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// base64(SHA-1(key + GUID)) (RFC 6455 section 4.2.2, item 5.4).
    public static func accept(forKey key: String) -> String {
        Base64.encode(Digest.sha1(key + guid))
    }

    /// A fresh client key: 16 random bytes in base64 (RFC 6455 section 4.1).
    public static func makeKey() -> String {
        Base64.encode(SecureRandom.bytes(16))
    }

    /// Why a request is not a WebSocket upgrade: the HTTP status to answer and what to fix.
    public struct Refusal: Error, Sendable, Equatable {
        public var status: Int
        public var message: String
    }

    /// The `Sec-WebSocket-Accept` value for `request`, or why it cannot be upgraded
    /// (RFC 6455 section 4.2.1: GET, `Upgrade: websocket`, `Connection` naming `upgrade`,
    /// a `Sec-WebSocket-Key` of 16 base64 bytes, `Sec-WebSocket-Version: 13`).
    public static func validate(_ request: HTTPRequest) -> Result<String, Refusal> {
        guard request.method == "GET" else {
            return .failure(Refusal(status: 400, message: "a WebSocket upgrade must be a GET request, not \(request.method)"))
        }
        guard let upgrade = request.header("upgrade"), tokens(upgrade).contains("websocket") else {
            return .failure(Refusal(status: 400, message: "the request has no 'Upgrade: websocket' header"))
        }
        guard let connection = request.header("connection"), tokens(connection).contains("upgrade") else {
            return .failure(Refusal(status: 400, message: "the request's Connection header does not include 'Upgrade'"))
        }
        guard let version = request.header("sec-websocket-version") else {
            return .failure(Refusal(status: 426, message: "the request has no Sec-WebSocket-Version header; this server speaks version 13"))
        }
        guard version.trimmingSpaces == "13" else {
            return .failure(Refusal(status: 426, message: "WebSocket version \(version) is not supported; this server speaks version 13"))
        }
        guard let key = request.header("sec-websocket-key")?.trimmingSpaces, !key.isEmpty else {
            return .failure(Refusal(status: 400, message: "the request has no Sec-WebSocket-Key header"))
        }
        guard let decoded = Base64.decode(key), decoded.count == 16, key.utf8.count == 24 else {
            return .failure(Refusal(status: 400, message: "Sec-WebSocket-Key '\(key)' is not 16 bytes in base64"))
        }
        return .success(accept(forKey: key))
    }

    /// The comma-separated tokens of a header value, lower-cased and trimmed.
    static func tokens(_ value: String) -> [String] {
        value.split(separator: ",").map { String($0).trimmingSpaces.lowercased() }
    }
}

/// What an upgrade response carries to the server: who handles the connection, with what limits.
public struct WebSocketUpgrade: Sendable {
    public let request: HTTPRequest
    public let handler: any WebSocketHandler
    public let options: WebSocketOptions
}

extension HTTPResponse {
    /// 101 Switching Protocols when `request` is a valid upgrade (RFC 6455 4.2.1: GET, Upgrade,
    /// Connection, Sec-WebSocket-Key, Version 13), else 400 (426 for a wrong version) with a clear error.
    public static func webSocket(_ request: HTTPRequest, handler: any WebSocketHandler, options: WebSocketOptions = .init()) -> HTTPResponse {
        switch WebSocketHandshake.validate(request) {
        case .failure(let refusal):
            var response = HTTPResponse.error(refusal.status, code: refusal.status == 426 ? "upgrade-required" : "bad-websocket-upgrade", message: refusal.message)
            if refusal.status == 426 { response.setHeader("Sec-WebSocket-Version", "13") }
            return response
        case .success(let accept):
            return HTTPResponse(status: 101, headers: [("Upgrade", "websocket"), ("Sec-WebSocket-Accept", accept)],
                                body: .webSocket(WebSocketUpgrade(request: request, handler: handler, options: options)))
        }
    }
}
