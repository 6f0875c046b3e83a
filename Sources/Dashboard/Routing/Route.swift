import Web

/// One endpoint of the dashboard: method, path template, who may call it, its rate class and
/// its handler. `Routes.table` lists them all; it drives dispatch, the permission check, the
/// metrics route labels and the OpenAPI check, so adding an endpoint is adding one entry.
struct Route: Sendable {
    enum Method: Sendable, Equatable {
        case get, post, delete
        /// Any method (HEAD answers as GET everywhere).
        case any

        var name: String {
            switch self {
            case .get: "GET"
            case .post: "POST"
            case .delete: "DELETE"
            case .any: "*"
            }
        }
    }

    /// Who may call a route.
    enum Access: Sendable {
        /// Anyone, signed in or not (log-in, health, assets; /metrics checks its own allow-list).
        case everyone
        /// A session or token whose principal `may` the permission.
        case signedIn(Permission)
    }

    /// What a principal without the route's permission is told.
    enum Refusal: Sendable {
        /// The API's sentence: "`doing` needs the P permission; NAME has Q".
        case doing(String)
        /// A fixed sentence.
        case says(String)
    }

    /// What answers: open handlers get the dashboard, API and page handlers their part; API
    /// failures become the JSON error shape, page failures a page that says what went wrong.
    enum Handler: Sendable {
        case open(@Sendable (Dashboard, RouteCall) -> HTTPResponse)
        case api(@Sendable (API, RouteCall) throws -> HTTPResponse)
        case page(@Sendable (Pages, RouteCall) throws -> HTTPResponse)
    }

    enum Segment: Sendable, Equatable {
        case literal([UInt8])
        case parameter
    }

    let method: Method
    /// As docs/openapi.yaml writes it: `/api/v1/recordings/{id}/media`.
    let template: String
    /// The metrics label: the template with `:name` for `{name}` (`/api/v1/recordings/:id/media`).
    let label: String
    let access: Access
    /// The rate limiter's bucket; nil: never limited.
    let rateClass: RouteClass?
    let refusal: Refusal?
    let handler: Handler
    let segments: [Segment]

    init(_ method: Method, _ template: String, _ access: Access, rate rateClass: RouteClass?, refusal: Refusal? = nil, _ handler: Handler) {
        self.method = method
        self.template = template
        self.access = access
        self.rateClass = rateClass
        self.refusal = refusal
        self.handler = handler
        let words = template.split(separator: "/")
        segments = words.map { $0.hasPrefix("{") ? .parameter : .literal(Array($0.utf8)) }
        label = words.isEmpty ? "/" : "/" + words.map { $0.hasPrefix("{") ? ":" + $0.dropFirst().dropLast() : $0 }.joined(separator: "/")
    }

    var isAPI: Bool { if case .api = handler { true } else { false } }

    /// What `principal`, who may not do `permission`, is told (with a 403).
    func refusal(for principal: Principal, _ permission: Permission) -> String {
        (refusal ?? .doing("this")).message(for: principal, permission)
    }
}

extension Route.Refusal {
    func message(for principal: Principal, _ permission: Permission) -> String {
        switch self {
        case .says(let message): message
        case .doing(let what): "\(what) needs the \(permission.scope.rawValue) permission; \(principal.name) has \(principal.access.rawValue)"
        }
    }
}

/// What a handler gets: the request, who asks (nil on open routes), the path's one parameter
/// (`{id}`, `{camera}`, `{file}`; empty when the template has none) and, for state-changing
/// requests, the form body's fields.
struct RouteCall: Sendable {
    let request: HTTPRequest
    let principal: Principal?
    let parameter: String
    let form: [String: String]

    /// The signed-in principal; only handlers of `.signedIn` routes ask, and dispatch checked it.
    var user: Principal { principal! }
}

/// The routes, matched against a path's UTF-8 bytes without allocating or retaining (this runs
/// twice per request: for dispatch and for the metrics label): the templates are kept as plain
/// values in three flat arrays, so the scan touches no reference-counted storage.
struct RouteTable: Sendable {
    let routes: [Route]
    /// The literal words of every template: the metrics label of a path no route matches keeps
    /// these and replaces other segments, so unknown paths make few labels.
    let knownWords: Set<String>
    /// Longest template, in segments.
    let depth: Int

    /// Route `index`'s method and its segments, `pieces[first..<first + count]`.
    private struct Shape { var method: Route.Method; var first: Int; var count: Int }
    /// A literal segment, `words[start..<start + length]`, or (length -1) a parameter.
    private struct Piece { var start: Int; var length: Int }
    private let shapes: [Shape]
    private let pieces: [Piece]
    private let words: [UInt8]

    init(_ routes: [Route]) {
        self.routes = routes
        var known = Set<String>()
        var shapes: [Shape] = [], pieces: [Piece] = [], words: [UInt8] = []
        for route in routes {
            shapes.append(Shape(method: route.method, first: pieces.count, count: route.segments.count))
            for segment in route.segments {
                switch segment {
                case .parameter: pieces.append(Piece(start: 0, length: -1))
                case .literal(let bytes):
                    known.insert(String(decoding: bytes, as: UTF8.self))
                    pieces.append(Piece(start: words.count, length: bytes.count))
                    words += bytes
                }
            }
        }
        knownWords = known
        depth = shapes.map(\.count).max() ?? 0
        self.shapes = shapes
        self.pieces = pieces
        self.words = words
    }

    struct Match {
        /// The route for this method and path, or nil.
        var route: Route?
        var parameter: String
    }

    /// The route for `method` (HEAD as GET; nil: any method) and `path`; empty segments (`//`,
    /// a trailing `/`) are skipped. Routes are tried in table order: literals before parameters.
    func match(_ method: Route.Method?, _ path: String) -> Match {
        guard let (index, parameter) = find(method, path) else { return Match(route: nil, parameter: "") }
        return Match(route: routes[index], parameter: parameter)
    }

    private func find(_ method: Route.Method?, _ path: String) -> (Int, String)? {
        var path = path
        let depth = depth
        return path.withUTF8 { bytes in
            withUnsafeTemporaryAllocation(of: Range<Int>.self, capacity: depth + 1) { found -> (Int, String)? in
                var count = 0
                var start = 0
                for index in 0...bytes.count where index == bytes.count || bytes[index] == UInt8(ascii: "/") {
                    if index > start {
                        guard count <= depth else { return nil }
                        found[count] = start..<index
                        count += 1
                    }
                    start = index + 1
                }
                guard count <= depth else { return nil }
                return shapes.withUnsafeBufferPointer { shapes in
                    pieces.withUnsafeBufferPointer { pieces in
                        words.withUnsafeBufferPointer { words -> (Int, String)? in
                            next: for index in 0..<shapes.count where shapes[index].count == count {
                                let shape = shapes[index]
                                if let method, shape.method != .any, shape.method != method { continue }
                                var parameter: Range<Int>?
                                for position in 0..<count {
                                    let piece = pieces[shape.first + position], range = found[position]
                                    if piece.length < 0 { parameter = range; continue }
                                    guard piece.length == range.count else { continue next }
                                    for offset in 0..<piece.length where words[piece.start + offset] != bytes[range.lowerBound + offset] { continue next }
                                }
                                return (index, parameter.map { String(decoding: UnsafeBufferPointer(rebasing: bytes[$0]), as: UTF8.self) } ?? "")
                            }
                            return nil
                        }
                    }
                }
            }
        }
    }

    /// The metrics label of a path: its route's label whatever the method; else the known
    /// words kept, other segments as `:camera` (after `cameras`) or `:id`, and `other` when the
    /// first segment is no known word.
    func label(_ path: String) -> String {
        if let (index, _) = find(nil, path) { return routes[index].label }
        let segments = HTTPRequest.segments(of: path)
        if segments.isEmpty { return "/" }
        guard knownWords.contains(segments[0]) else { return "other" }
        if segments[0] == "assets" { return "/assets/:file" }
        var parts: [String] = []
        for (index, segment) in segments.prefix(6).enumerated() {
            if knownWords.contains(segment) { parts.append(segment) } else { parts.append(index > 0 && segments[index - 1] == "cameras" ? ":camera" : ":id") }
        }
        return "/" + parts.joined(separator: "/")
    }
}
