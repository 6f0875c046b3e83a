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

    /// The metrics label of a path: its route's template with `:id`-style parameters, so labels stay few.
    static func routeTemplate(_ path: String) -> String { Routes.table.label(path) }

    /// Dispatch through `Routes.table`: rate limit, authentication, CSRF, permission, handler.
    private func route(_ request: HTTPRequest) -> HTTPResponse {
        let method: Route.Method? = switch request.method {
        case "GET", "HEAD": .get
        case "POST": .post
        case "DELETE": .delete
        default: nil
        }
        let match = method.map { Routes.table.match($0, request.path) } ?? Routes.table.match(.any, request.path)
        guard let route = match.route else { return unrouted(request) }
        if let limiter = environment.rateLimiter, let routeClass = route.rateClass,
           case .limited(let seconds) = limiter.admit(request.clientAddress, routeClass) {
            return RateLimiter.tooManyRequests(retryAfterSeconds: seconds)
        }
        guard case .signedIn(let permission) = route.access else {
            guard case .open(let handler) = route.handler else { return APIError(500, "internal", "an open route needs an open handler").response }
            return handler(self, RouteCall(request: request, principal: nil, parameter: match.parameter, form: [:]))
        }
        guard let principal = environment.auth.authenticate(request) else { return unauthenticated(request, api: route.isAPI) }
        // Bodies: JSON for the API, urlencoded for forms (the CSRF token may be a field).
        let form = method == .get ? [:] : Form.parse(request)
        if method != .get, principal.isSession, !environment.auth.verifyCSRF(request, form: form, principal: principal) {
            return csrfRefused(api: route.isAPI, principal: principal)
        }
        guard principal.may(permission) else {
            let message = route.refusal(for: principal, permission)
            if case .page = route.handler { return pages.problem(403, message, principal: principal) }
            return APIError.forbidden(message).response
        }
        let call = RouteCall(request: request, principal: principal, parameter: match.parameter, form: form)
        switch route.handler {
        case .api(let handler):
            do { return try handler(api, call) } catch { return API.response(for: error) }
        case .page(let handler):
            do { return try handler(pages, call) } catch { return pages.response(for: error, principal: principal) }
        case .open(let handler):
            return handler(self, call)
        }
    }

    /// A path no route takes (or not with this method): limited by its area, then answered for
    /// signed-in callers only, so that probing reveals nothing: 404 (405 where a route says so).
    private func unrouted(_ request: HTTPRequest) -> HTTPResponse {
        let segments = HTTPRequest.segments(of: request.path)
        let isAPI = segments.first == "api"
        if let limiter = environment.rateLimiter {
            let routeClass: RouteClass = isAPI ? .api : segments.first == "assets" ? .asset : .page
            if case .limited(let seconds) = limiter.admit(request.clientAddress, routeClass) {
                return RateLimiter.tooManyRequests(retryAfterSeconds: seconds)
            }
        }
        guard let principal = environment.auth.authenticate(request) else { return unauthenticated(request, api: isAPI) }
        let method = request.method == "HEAD" ? "GET" : request.method
        let form = Form.parse(request)
        if method != "GET", principal.isSession, !environment.auth.verifyCSRF(request, form: form, principal: principal) {
            return csrfRefused(api: isAPI, principal: principal)
        }
        guard isAPI else { return pages.problem(404, "There is no page at \(request.path).", principal: principal) }
        guard segments.count >= 2, segments[1] == "v1" else { return APIError.notFound("the API lives under /api/v1").response }
        return APIError.notFound("no API endpoint \(method) /api/v1/\(segments.dropFirst(2).joined(separator: "/")); see docs/openapi.yaml").response
    }

    private func unauthenticated(_ request: HTTPRequest, api: Bool) -> HTTPResponse {
        if api { return APIError.unauthorized.response }
        if environment.auth.needsSetup { return Pages.redirect("/setup") }
        return Pages.redirect("/login?next=" + FormData.encode(request.path))
    }

    private func csrfRefused(api: Bool, principal: Principal) -> HTTPResponse {
        if api { return APIError.csrf.response }
        return pages.problem(403, "The form expired or came from another site (CSRF token missing or wrong). Go back, reload the page and try again.", principal: principal)
    }

    func healthz() -> HTTPResponse {
        var response = api.health()
        response.setHeader("Cache-Control", "no-store")
        return response
    }

    func metricsEndpoint(_ request: HTTPRequest) -> HTTPResponse {
        guard environment.metricsAccess.permits(request) else {
            return APIError(403, "forbidden", "/metrics is open to the addresses in [metrics] allow, or with Authorization: Bearer <[metrics] token>").response
        }
        var response = HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: Array(api.metricsText().utf8))
        response.setHeader("Cache-Control", "no-store")
        return response
    }

    func asset(_ name: String, request: HTTPRequest) -> HTTPResponse {
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
}

/// Headers every response carries (HSTS, CSP without inline script, no framing, no sniffing).
enum SecurityPolicy {
    static let contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
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
