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

    /// The refusal for `principal`, as the route's kind answers it.
    func refused(_ principal: Principal, _ permission: Permission) -> (status: Int, message: String) {
        switch refusal {
        case .says(let message): (403, message)
        case .doing(let what): (403, "\(what) needs the \(permission.scope.rawValue) permission; \(principal.name) has \(principal.access.rawValue)")
        case nil: (403, "this needs the \(permission.scope.rawValue) permission; \(principal.name) has \(principal.access.rawValue)")
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

/// The routes, matched against a path's UTF-8 bytes without allocating (this runs twice per
/// request: for dispatch and for the metrics label).
struct RouteTable: Sendable {
    let routes: [Route]
    /// The literal words of every template: the metrics label of a path no route matches keeps
    /// these and replaces other segments, so unknown paths make few labels.
    let knownWords: Set<String>
    /// Longest template, in segments.
    let depth: Int

    init(_ routes: [Route]) {
        self.routes = routes
        var words = Set<String>()
        for route in routes {
            for segment in route.segments { if case .literal(let bytes) = segment { words.insert(String(decoding: bytes, as: UTF8.self)) } }
        }
        knownWords = words
        depth = routes.map(\.segments.count).max() ?? 0
    }

    struct Match {
        /// The route for this method and path, or nil.
        var route: Route?
        var parameter: String
    }

    /// The route for `method` (HEAD as GET) and `path`; empty segments (`//`, a trailing `/`)
    /// are skipped. Routes are tried in table order: literals before parameters.
    func match(_ method: Route.Method?, _ path: String) -> Match {
        var path = path
        let depth = depth
        return path.withUTF8 { bytes in
            withUnsafeTemporaryAllocation(of: Range<Int>.self, capacity: depth + 1) { found in
                var count = 0
                var start = 0
                for index in 0...bytes.count where index == bytes.count || bytes[index] == UInt8(ascii: "/") {
                    if index > start {
                        guard count <= depth else { return Match(route: nil, parameter: "") }
                        found[count] = start..<index
                        count += 1
                    }
                    start = index + 1
                }
                guard count <= depth else { return Match(route: nil, parameter: "") }
                next: for route in routes where route.segments.count == count {
                    if let method, route.method != .any, route.method != method { continue }
                    var parameter: Range<Int>?
                    for (position, segment) in route.segments.enumerated() {
                        let range = found[position]
                        switch segment {
                        case .parameter: parameter = range
                        case .literal(let word):
                            guard word.count == range.count else { continue next }
                            for offset in 0..<word.count where word[offset] != bytes[range.lowerBound + offset] { continue next }
                        }
                    }
                    let text = parameter.map { String(decoding: UnsafeBufferPointer(rebasing: bytes[$0]), as: UTF8.self) } ?? ""
                    return Match(route: route, parameter: text)
                }
                return Match(route: nil, parameter: "")
            }
        }
    }

    /// The metrics label of a path: its route's label whatever the method; else the known
    /// words kept, other segments as `:camera` (after `cameras`) or `:id`, and `other` when the
    /// first segment is no known word.
    func label(_ path: String) -> String {
        if let route = match(nil, path).route { return route.label }
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
