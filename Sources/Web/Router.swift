/// The values a route pattern captured: `/api/v1/cameras/:id` matched against
/// `/api/v1/cameras/gate` gives `["id": "gate"]`.
public struct RouteParameters: Sendable, Equatable {
    public var values: [String: String]
    public init(_ values: [String: String] = [:]) { self.values = values }
    public subscript(name: String) -> String? { values[name] }
}

/// A route's handler. It runs on a server thread: return `.later { ... }` for work that waits.
public typealias RouteHandler = @Sendable (HTTPRequest, RouteParameters) -> HTTPResponse

/// What the router saw for one request, for metrics and logs.
public struct RouteObservation: Sendable {
    public let method: String
    /// The matched pattern (`/api/v1/cameras/:id`), or nil for 404s: a label with bounded cardinality.
    public let pattern: String?
    public let routeClass: RouteClass
    public let status: Int
    /// Time in the handler (for deferred answers, until the answer was ready).
    public let duration: Duration
}

/// Maps method and path to handlers, applies the rate limiter before and the security headers
/// after, and answers 404, 405 and 429 in the one error shape.
///
/// Build it once (`add`), then hand `handle` to `HTTPSServer`; it is a value, so the server's
/// copy never changes.
public struct Router: Sendable {
    struct Route: Sendable {
        let method: String
        let pattern: String
        let segments: [Segment]
        let routeClass: RouteClass
        let handler: RouteHandler
    }

    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
        /// `*name`, last only: the rest of the path, at least one segment.
        case rest(String)
    }

    private var routes: [Route] = []
    public var rateLimiter: RateLimiter?
    public var securityHeaders: SecurityHeaders
    public var observer: (@Sendable (RouteObservation) -> Void)?
    /// The class used to rate-limit requests that match no route (scanners).
    public var unmatchedClass: RouteClass = .page

    public init(rateLimiter: RateLimiter? = nil, securityHeaders: SecurityHeaders = .standard,
                observer: (@Sendable (RouteObservation) -> Void)? = nil) {
        self.rateLimiter = rateLimiter
        self.securityHeaders = securityHeaders
        self.observer = observer
    }

    /// Adds a route. Patterns are absolute paths whose segments are literals, `:name`
    /// (one segment) or a final `*name` (the rest). Earlier routes win.
    public mutating func add(_ method: String, _ pattern: String, _ routeClass: RouteClass, _ handler: @escaping RouteHandler) {
        precondition(pattern.hasPrefix("/"), "route patterns start with /")
        let segments: [Segment] = pattern.split(separator: "/").map { part in
            if part.hasPrefix(":") { return .parameter(String(part.dropFirst())) }
            if part.hasPrefix("*") { return .rest(String(part.dropFirst())) }
            return .literal(String(part))
        }
        if let restIndex = segments.firstIndex(where: { if case .rest = $0 { true } else { false } }) {
            precondition(restIndex == segments.count - 1, "*name must be the last segment of \(pattern)")
        }
        routes.append(Route(method: method.uppercased(), pattern: pattern, segments: segments, routeClass: routeClass, handler: handler))
    }

    /// Adds a route whose handler is async: the server thread is released while it runs.
    public mutating func addAsync(_ method: String, _ pattern: String, _ routeClass: RouteClass,
                                  _ handler: @escaping @Sendable (HTTPRequest, RouteParameters) async -> HTTPResponse) {
        add(method, pattern, routeClass) { request, parameters in
            .later { await handler(request, parameters) }
        }
    }

    public mutating func get(_ pattern: String, _ routeClass: RouteClass, _ handler: @escaping RouteHandler) { add("GET", pattern, routeClass, handler) }
    public mutating func post(_ pattern: String, _ routeClass: RouteClass, _ handler: @escaping RouteHandler) { add("POST", pattern, routeClass, handler) }
    public mutating func put(_ pattern: String, _ routeClass: RouteClass, _ handler: @escaping RouteHandler) { add("PUT", pattern, routeClass, handler) }
    public mutating func delete(_ pattern: String, _ routeClass: RouteClass, _ handler: @escaping RouteHandler) { add("DELETE", pattern, routeClass, handler) }

    /// The route for `method` and `path`, with its captured parameters, or why there is none.
    func match(method: String, path: String) -> Result<(Route, RouteParameters), MatchFailure> {
        let parts = HTTPRequest.segments(of: path)
        // Dot segments and NULs never reach a handler (path traversal through a parameter).
        if parts.contains(where: { $0 == "." || $0 == ".." || $0.contains("\0") }) { return .failure(.notFound) }
        var allowed: [String] = []
        var headFallback: (Route, RouteParameters)?
        for route in routes {
            guard let parameters = Self.capture(route.segments, parts) else { continue }
            if route.method == method { return .success((route, parameters)) }
            if method == "HEAD", route.method == "GET", headFallback == nil { headFallback = (route, parameters) }
            if !allowed.contains(route.method) { allowed.append(route.method) }
        }
        if let headFallback { return .success(headFallback) }
        return .failure(allowed.isEmpty ? .notFound : .methodNotAllowed(allowed))
    }

    enum MatchFailure: Error {
        case notFound
        case methodNotAllowed([String])
    }

    static func capture(_ segments: [Segment], _ parts: [String]) -> RouteParameters? {
        var values: [String: String] = [:]
        var i = 0
        for segment in segments {
            switch segment {
            case .literal(let text):
                guard i < parts.count, parts[i] == text else { return nil }
            case .parameter(let name):
                guard i < parts.count else { return nil }
                values[name] = parts[i]
            case .rest(let name):
                guard i < parts.count else { return nil }
                values[name] = parts[i...].joined(separator: "/")
                return RouteParameters(values)
            }
            i += 1
        }
        return i == parts.count ? RouteParameters(values) : nil
    }

    /// Answers one request: match, rate-limit, run the handler, add the security headers.
    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        let started = ContinuousClock.now
        let matched = match(method: request.method, path: request.path)
        let routeClass: RouteClass
        let pattern: String?
        switch matched {
        case .success(let (route, _)):
            routeClass = route.routeClass
            pattern = route.pattern
        case .failure:
            routeClass = unmatchedClass
            pattern = nil
        }
        var response: HTTPResponse
        if let rateLimiter, case .limited(let seconds) = rateLimiter.admit(request.clientAddress, routeClass) {
            response = RateLimiter.tooManyRequests(retryAfterSeconds: seconds)
        } else {
            switch matched {
            case .success(let (route, parameters)):
                response = route.handler(request, parameters)
            case .failure(.notFound):
                response = .error(404, code: "not-found", message: "nothing at \(request.path)")
            case .failure(.methodNotAllowed(let allowed)):
                response = .error(405, code: "method-not-allowed", message: "\(request.method) is not allowed on \(request.path); use \(allowed.joined(separator: ", "))")
                response.setHeader("Allow", allowed.joined(separator: ", "))
            }
        }
        if case .deferred(let work) = response.body {
            let headers = securityHeaders
            let observer = observer
            let method = request.method
            return .later {
                var answer = await work()
                headers.apply(to: &answer)
                observer?(RouteObservation(method: method, pattern: pattern, routeClass: routeClass, status: answer.status, duration: ContinuousClock.now - started))
                return answer
            }
        }
        securityHeaders.apply(to: &response)
        observer?(RouteObservation(method: request.method, pattern: pattern, routeClass: routeClass, status: response.status, duration: ContinuousClock.now - started))
        return response
    }
}
