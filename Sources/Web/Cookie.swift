/// `Set-Cookie` values (RFC 6265 section 4.1) with camhost's fixed attributes:
/// `Secure; HttpOnly; SameSite=Strict; Path=/`.
public enum Cookie {
    /// A cookie for `name=value`; `maxAge` in seconds, nil for a browser-session cookie.
    public static func set(_ name: String, _ value: String, maxAge: Int? = nil) -> String {
        precondition(isToken(name) && value.utf8.allSatisfy(isCookieOctet), "cookie name or value needs encoding")
        var text = "\(name)=\(value); Secure; HttpOnly; SameSite=Strict; Path=/"
        if let maxAge { text += "; Max-Age=\(max(maxAge, 0))" }
        return text
    }

    /// A `Set-Cookie` value that makes the browser forget `name` now.
    public static func expire(_ name: String) -> String {
        "\(name)=; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"
    }

    static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { c in
            c > 0x20 && c < 0x7f && !"()<>@,;:\\\"/[]?={}".utf8.contains(c)
        }
    }

    /// cookie-octet: visible US-ASCII except DQUOTE, comma, semicolon and backslash.
    static func isCookieOctet(_ c: UInt8) -> Bool {
        c == 0x21 || (0x23...0x2b).contains(c) || (0x2d...0x3a).contains(c) || (0x3c...0x5b).contains(c) || (0x5d...0x7e).contains(c)
    }
}

extension HTTPResponse {
    /// Appends a `Set-Cookie` header (several may be set on one response).
    public mutating func setCookie(_ value: String) {
        appendHeader("Set-Cookie", value)
    }
}
