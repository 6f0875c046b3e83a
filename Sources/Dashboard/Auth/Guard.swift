import Web

/// Who a refusal is written for: browsers get a redirect to the log-in page, scripts a 401.
public enum Audience: Sendable {
    case page, api
}

/// A handler that runs only for an authenticated principal.
public typealias AuthenticatedHandler = @Sendable (HTTPRequest, RouteParameters, Principal) -> HTTPResponse

extension Authenticator {
    /// Wraps `handler` so it runs only when the request is authenticated, passes the CSRF check
    /// (state-changing methods with a session), and its principal `may(permission)`.
    ///
    /// Refusals: no principal → 401 `unauthenticated` with `WWW-Authenticate: Bearer` (api) or
    /// 303 to `/login?next=PATH` (page); CSRF → 403 `csrf`; permission → 403 `forbidden`.
    public func guarded(_ permission: Permission, _ audience: Audience = .api, _ handler: @escaping AuthenticatedHandler) -> RouteHandler {
        { [self] request, parameters in
            switch check(request, permission, audience) {
            case .success(let principal): return handler(request, parameters, principal)
            case .failure(let refusal): return refusal.response
            }
        }
    }

    /// The async form of `guarded`: the checks run on the server thread, `handler` without one.
    public func guardedAsync(_ permission: Permission, _ audience: Audience = .api,
                             _ handler: @escaping @Sendable (HTTPRequest, RouteParameters, Principal) async -> HTTPResponse) -> RouteHandler {
        { [self] request, parameters in
            switch check(request, permission, audience) {
            case .success(let principal): return .later { await handler(request, parameters, principal) }
            case .failure(let refusal): return refusal.response
            }
        }
    }

    /// Authentication, CSRF and permission for one request, without running anything.
    public func check(_ request: HTTPRequest, _ permission: Permission, _ audience: Audience) -> Result<Principal, Refusal> {
        guard let principal = authenticate(request) else {
            if audience == .page {
                var response = HTTPResponse(status: 303)
                response.setHeader("Location", "/login?next=" + FormData.encode(request.path))
                response.setHeader("Cache-Control", "no-store")
                return .failure(Refusal(response: response))
            }
            var response = HTTPResponse.error(401, code: "unauthenticated", message: "log in, or send Authorization: Bearer TOKEN (camhost token create)")
            response.setHeader("WWW-Authenticate", #"Bearer realm="camhost""#)
            return .failure(Refusal(response: response))
        }
        guard verifyCSRF(request, principal) else {
            return .failure(Refusal(response: .error(403, code: "csrf", message: "the CSRF token is missing or wrong: reload the page and try again")))
        }
        guard principal.may(permission) else {
            let what = principal.kind == .token ? "this token's scope (\(principal.scope?.rawValue ?? "read"))" : "the \(principal.role.rawValue) role"
            return .failure(Refusal(response: .error(403, code: "forbidden", message: "\(what) does not allow this")))
        }
        return .success(principal)
    }
}

/// The response that refuses a request.
public struct Refusal: Error, Sendable {
    public let response: HTTPResponse
}
