import Synchronization
import Web

/// The HTTPS dashboard: server-rendered pages, the JSON API under /api/v1 and /metrics, all
/// answered from one handler that `HTTPSServer` calls on its threads.
///
/// Nothing but `/healthz`, `/login`, `/setup` and the static assets answers without a session
/// or an API token. State-changing requests made with a session need the CSRF token.
public final class Dashboard: Sendable {
    public let environment: DashboardEnvironment
    public let metrics = Metrics()
    let api: API
    let pages: Pages

    public init(environment: DashboardEnvironment) {
        self.environment = environment
        let recordings = RecordingsService(store: environment.store, root: environment.recordingsRoot, policy: environment.retentionPolicy)
        api = API(environment: environment, metrics: metrics, recordings: recordings)
        pages = Pages(environment: environment, metrics: metrics, recordings: recordings, api: api)
    }

    /// Answers one request; never throws, every failure is a response.
    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        let response = route(request)
        if case .deferred(let work) = response.body {
            // Computed later (a camera command waiting for its ack): finish it the same way then.
            let path = request.path, head = request.method == "HEAD"
            return .later { Dashboard.finish(await work(), path: path, head: head) }
        }
        return Dashboard.finish(response, path: request.path, head: request.method == "HEAD")
    }

    /// Security headers on every answer; no body for HEAD.
    private static func finish(_ response: HTTPResponse, path: String, head: Bool) -> HTTPResponse {
        var response = response
        SecurityPolicy.apply(to: &response, path: path)
        if head { response.body = .bytes([]) }
        return response
    }

    /// For `HTTPSServer`'s completion callback: counts the request under its route template.
    public func completed(_ request: HTTPRequest, status: Int, duration: Duration) {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        metrics.observeRequest(route: Dashboard.routeTemplate(request.path), method: request.method, status: status, seconds: seconds)
    }

    private func route(_ request: HTTPRequest) -> HTTPResponse {
        let path = request.path
        let segments = request.pathSegments
        let method = request.method == "HEAD" ? "GET" : request.method

        // Open to everyone (log-in is rate limited strictest, /metrics by its own class).
        if let limiter = environment.rateLimiter {
            let routeClass: RouteClass? = path == "/login" || path == "/setup" ? (method == "POST" ? .login : .page) : path == "/metrics" ? .metrics : nil
            if let routeClass, case .limited(let seconds) = limiter.admit(request.clientAddress, routeClass) {
                return RateLimiter.tooManyRequests(retryAfterSeconds: seconds)
            }
        }
        switch (method, path) {
        case ("GET", "/healthz"):
            var response = HTTPResponse(status: 200, contentType: "application/json", body: environment.health())
            response.setHeader("Cache-Control", "no-store")
            return response
        case ("GET", "/login"), ("POST", "/login"), ("GET", "/setup"), ("POST", "/setup"):
            return pages.open(request, method: method)
        case ("GET", "/metrics"):
            guard environment.metricsAccess.permits(request) else {
                return APIError(403, "forbidden", "/metrics is open to the addresses in [metrics] allow, or with Authorization: Bearer <[metrics] token>").response
            }
            var response = HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: Array(api.metricsText().utf8))
            response.setHeader("Cache-Control", "no-store")
            return response
        default: break
        }
        if segments.count == 2, segments[0] == "assets", method == "GET" {
            return asset(segments[1], request: request)
        }
        if path == "/favicon.ico" { return asset("icon.svg", request: request) }

        let isAPI = segments.first == "api"
        if let limiter = environment.rateLimiter {
            let routeClass: RouteClass = isAPI ? .api : segments.first == "assets" ? .asset : .page
            if case .limited(let seconds) = limiter.admit(request.clientAddress, routeClass) {
                return RateLimiter.tooManyRequests(retryAfterSeconds: seconds)
            }
        }
        guard let principal = environment.auth.authenticate(request) else {
            if isAPI { return APIError.unauthorized.response }
            if environment.auth.needsSetup { return Pages.redirect("/setup") }
            return Pages.redirect("/login?next=" + FormData.encode(path))
        }
        // Bodies: JSON for the API, urlencoded for forms (the CSRF token may be a field).
        let form = Form.parse(request)
        if method != "GET", principal.isSession, !environment.auth.verifyCSRF(request, form: form, principal: principal) {
            return isAPI ? APIError.csrf.response : pages.problem(403, "The form expired or came from another site (CSRF token missing or wrong). Go back, reload the page and try again.", principal: principal)
        }
        if isAPI {
            guard segments.count >= 2, segments[1] == "v1" else { return APIError.notFound("the API lives under /api/v1").response }
            return api.handle(request, method: method, segments: Array(segments.dropFirst(2)), principal: principal)
        }
        return pages.handle(request, method: method, segments: segments, form: form, principal: principal)
    }

    private func asset(_ name: String, request: HTTPRequest) -> HTTPResponse {
        guard let file = Assets.files[name] else { return APIError.notFound().response }
        if request.header("if-none-match") == file.etag {
            var response = HTTPResponse(status: 304)
            response.setHeader("ETag", file.etag)
            return response
        }
        var response = HTTPResponse(status: 200, contentType: file.contentType, body: file.bytes)
        response.setHeader("ETag", file.etag)
        response.setHeader("Cache-Control", "public, max-age=86400")
        return response
    }

    /// The route a path belongs to, with ids replaced, so metrics labels stay few.
    static func routeTemplate(_ path: String) -> String {
        if isOwnTemplate(path) { return path }
        let segments = HTTPRequest.segments(of: path)
        if segments.isEmpty { return "/" }
        let known = knownRouteSegments
        guard known.contains(segments[0]) else { return "other" }
        if segments[0] == "assets" { return "/assets/:file" }
        var parts: [String] = []
        for (index, segment) in segments.prefix(6).enumerated() {
            if known.contains(segment) { parts.append(segment) } else { parts.append(index > 0 && segments[index - 1] == "cameras" ? ":camera" : ":id") }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// Whether `path` is already a template: one to six non-empty segments, all known words, not
    /// under /assets. The common case (`/healthz`, `/api/v1/recordings`), answered without
    /// splitting, joining or allocating; the general path below gives the same answer for it.
    static func isOwnTemplate(_ path: String) -> Bool {
        var path = path
        return path.withUTF8 { bytes in
            let slash = UInt8(ascii: "/")
            guard bytes.count > 1, bytes[0] == slash, bytes[bytes.count - 1] != slash else { return false }
            var start = 1
            var count = 0
            for index in 1...bytes.count where index == bytes.count || bytes[index] == slash {
                guard index > start, index - start <= 15 else { return false }
                count += 1
                guard count <= 6 else { return false }
                let segment = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                guard knownRouteSegments.contains(segment), count > 1 || segment != "assets" else { return false }
                start = index + 1
            }
            return true
        }
    }

    /// Built once (it was rebuilt, 24 hashes and an allocation, on every request).
    private static let knownRouteSegments: Set<String> = ["healthz", "metrics", "login", "logout", "setup", "assets", "favicon.ico", "cameras", "recordings",
                                     "diagnostics", "health", "audit", "api", "v1", "commands", "media", "thumbnail", "cleanup",
                                     "runs", "delete", "alarms", "overview", "command", "play"]
}

/// Headers every response carries (HSTS, CSP without inline script, no framing, no sniffing).
enum SecurityPolicy {
    static let contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
        + "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    /// Adds each policy header the response does not set itself (a handler may set its own).
    static func apply(to response: inout HTTPResponse, path: String) {
        var setByHandler = 0  // bit i: the handler set headers[i]
        for own in response.headers {
            for index in headers.indices where HTTPResponse.sameHeaderName(own.name, headers[index].name) {
                setByHandler |= 1 << index
            }
        }
        response.headers.reserveCapacity(response.headers.count + headers.count)
        for index in headers.indices where setByHandler & (1 << index) == 0 {
            response.headers.append(headers[index])
        }
    }

    /// Built once: this runs on every response.
    static let headers: [(name: String, value: String)] = [
        ("Strict-Transport-Security", "max-age=31536000"),
        ("Content-Security-Policy", contentSecurityPolicy),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Frame-Options", "DENY"),
    ]
}

/// A form body's fields for the pages and the API: each name once, a repeated name's values
/// joined with "," (checkbox lists such as `id`). Parsed by Web's `FormData`.
enum Form {
    static func parse(_ request: HTTPRequest) -> [String: String] {
        var fields: [String: String] = [:]
        for (name, value) in request.form.pairs {
            if let existing = fields[name] { fields[name] = existing + "," + value } else { fields[name] = value }
        }
        return fields
    }
}
