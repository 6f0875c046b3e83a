import JSONText
import Web

/// The API's one error shape: `{"error": {"code": "...", "message": "..."}}`.
struct APIError: Error, Sendable {
    var status: Int
    var code: String
    var message: String
    var headers: [(name: String, value: String)] = []

    init(_ status: Int, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    static func notFound(_ what: String = "no such resource") -> APIError { APIError(404, "not-found", what) }
    static func badRequest(_ message: String) -> APIError { APIError(400, "bad-request", message) }
    /// With the challenge every 401 must carry (RFC 9110 section 11.6.1; Bearer: RFC 6750).
    static let unauthorized = {
        var error = APIError(401, "unauthorized", "sign in, or send Authorization: Bearer TOKEN (camhost token create)")
        error.headers = [("WWW-Authenticate", #"Bearer realm="camhost""#)]
        return error
    }()
    static func forbidden(_ message: String) -> APIError { APIError(403, "forbidden", message) }
    static let csrf = APIError(403, "csrf", "missing or wrong CSRF token: reload the page and try again")
    static func methodNotAllowed(_ allowed: String) -> APIError {
        var error = APIError(405, "method-not-allowed", "use \(allowed)")
        error.headers = [("Allow", allowed)]
        return error
    }

    var response: HTTPResponse {
        var writer = JSONWriter()
        writer.object { w in
            w.key("error")
            w.object { w in
                w.field("code", code)
                w.field("message", message)
            }
        }
        var response = HTTPResponse(status: status, contentType: "application/json", body: writer.bytes)
        for header in headers { response.setHeader(header.name, header.value) }
        response.setHeader("Cache-Control", "no-store")
        return response
    }
}
