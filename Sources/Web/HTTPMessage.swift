/// A request as handlers see it: method, path, query, headers and the whole body.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The URL path without the query string, percent-decoded by libmicrohttpd.
    public var path: String
    public var query: [String: String]
    /// Header names are lower-cased.
    public var headers: [String: String]
    public var cookies: [String: String]
    public var body: [UInt8]
    /// The peer's address as text (`127.0.0.1`, `::1`).
    public var clientAddress: String

    public init(
        method: String, path: String, query: [String: String] = [:], headers: [String: String] = [:],
        cookies: [String: String] = [:], body: [UInt8] = [], clientAddress: String = "127.0.0.1"
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.cookies = cookies
        self.body = body
        self.clientAddress = clientAddress
    }

    /// The header `name` in any case (callers mostly pass it lower-cased already).
    public func header(_ name: String) -> String? {
        headers[name.utf8.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") } ? name.lowercased() : name]
    }

    /// The path's non-empty segments between slashes (`/api//v1/` → `api`, `v1`).
    public var pathSegments: [String] { Self.segments(of: path) }

    /// The non-empty segments of `path` between slashes, split on UTF-8 bytes: this runs for
    /// every request (routing, the metrics label), and splitting Characters was a tenth of the
    /// routing cost.
    public static func segments(of path: String) -> [String] {
        var path = path
        return path.withUTF8 { bytes in
            var segments: [String] = []
            segments.reserveCapacity(6)
            var start = 0
            for index in 0...bytes.count where index == bytes.count || bytes[index] == UInt8(ascii: "/") {
                if index > start { segments.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)) }
                start = index + 1
            }
            return segments
        }
    }
}

/// A response a handler returns: status, headers and a body held in memory or read from a file.
public struct HTTPResponse: Sendable {
    /// Where the body comes from.
    public enum Body: Sendable {
        case bytes([UInt8])
        /// Sent in place, never copied (see `SharedBytes`).
        case shared(SharedBytes)
        /// `length` bytes of the file at `path` from `offset`; libmicrohttpd sends it without copying.
        case file(path: String, offset: UInt64, length: UInt64)
        /// Computed later without holding a server thread: the connection is suspended
        /// (`MHD_suspend_connection`) while the work runs on the Swift concurrency pool, then
        /// resumed with its answer. For handlers that wait (a camera command's MQTT ack).
        case deferred(@Sendable () async -> HTTPResponse)
        /// 101 Switching Protocols, then the connection belongs to a WebSocket handler on the
        /// server's event loop (made by `HTTPResponse.webSocket`).
        case webSocket(WebSocketUpgrade)
    }

    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: Body

    public init(status: Int, headers: [(name: String, value: String)] = [], body: Body = .bytes([])) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public init(status: Int, contentType: String, body: [UInt8]) {
        self.init(status: status, headers: [("Content-Type", contentType)], body: .bytes(body))
    }

    public static func text(_ text: String, status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "text/plain; charset=utf-8", body: Array(text.utf8))
    }

    public static func json(_ json: String, status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "application/json", body: Array(json.utf8))
    }

    /// A response produced by async work; the server thread is free while it runs.
    public static func later(_ work: @escaping @Sendable () async -> HTTPResponse) -> HTTPResponse {
        HTTPResponse(status: 0, body: .deferred(work))
    }

    /// The body when it is held in memory (`bytes`, `shared`); empty for files and deferred answers.
    public var bodyBytes: [UInt8] {
        switch body {
        case .bytes(let bytes): return bytes
        case .shared(let shared): return shared.bytes
        case .file, .deferred, .webSocket: return []
        }
    }

    public mutating func setHeader(_ name: String, _ value: String) {
        if headers.contains(where: { HTTPResponse.sameHeaderName($0.name, name) }) {
            headers.removeAll { HTTPResponse.sameHeaderName($0.name, name) }
        }
        headers.append((name, value))
    }
}

/// What the server calls for every complete request. It runs on one of libmicrohttpd's threads
/// and blocks it: return `.later { ... }` for work that waits.
public typealias HTTPHandler = @Sendable (HTTPRequest) -> HTTPResponse
