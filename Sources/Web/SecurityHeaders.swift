/// The headers every camhost response carries: HSTS, a Content-Security-Policy without inline
/// script, and the anti-sniffing, anti-framing and no-referrer headers.
public struct SecurityHeaders: Sendable {
    /// No inline script or style, nothing from other origins, never framed (CSP level 3).
    public static let contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

    public var headers: [(name: String, value: String)]

    /// `hstsMaxAge` in seconds (RFC 6797 section 6.1); 0 leaves HSTS out.
    public init(hstsMaxAge: Int = 31_536_000, contentSecurityPolicy: String = SecurityHeaders.contentSecurityPolicy) {
        var headers: [(name: String, value: String)] = []
        if hstsMaxAge > 0 { headers.append(("Strict-Transport-Security", "max-age=\(hstsMaxAge)")) }
        headers.append(("Content-Security-Policy", contentSecurityPolicy))
        headers.append(("X-Content-Type-Options", "nosniff"))
        headers.append(("X-Frame-Options", "DENY"))
        headers.append(("Referrer-Policy", "no-referrer"))
        headers.append(("Cross-Origin-Opener-Policy", "same-origin"))
        self.headers = headers
    }

    public static let standard = SecurityHeaders()

    /// Adds each header the response does not already set (a handler may set a stricter CSP).
    public func apply(to response: inout HTTPResponse) {
        for header in headers where response.header(header.name) == nil {
            response.headers.append(header)
        }
    }
}
