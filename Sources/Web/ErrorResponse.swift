import JSONText

/// The one error shape every camhost endpoint answers with: `{"error": {"code": s, "message": s}}`.
extension HTTPResponse {
    /// A JSON error with a stable machine `code` (kebab-case) and a `message` for people.
    public static func error(_ status: Int, code: String, message: String) -> HTTPResponse {
        var response = HTTPResponse.json(#"{"error":{"code":\#(jsonQuoted(code)),"message":\#(jsonQuoted(message))}}"#, status: status)
        response.setHeader("Cache-Control", "no-store")
        return response
    }

    /// Adds a header without removing others of the same name (several `Set-Cookie` lines).
    public mutating func appendHeader(_ name: String, _ value: String) {
        headers.append((name, value))
    }

    /// The first value of a header, matched without regard to case.
    public func header(_ name: String) -> String? {
        headers.first { HTTPResponse.sameHeaderName($0.name, name) }?.value
    }

    /// Header names compared without regard to ASCII case (RFC 9110 section 5.1), without
    /// allocating: this runs several times per response.
    @inlinable
    public static func sameHeaderName(_ a: String, _ b: String) -> Bool {
        // Most pairs differ in length: answered without touching the bytes.
        guard a.utf8.count == b.utf8.count else { return false }
        var a = a, b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                guard x.count == y.count else { return false }
                for i in 0..<x.count where x[i] != y[i] {
                    let l = x[i] | 0x20
                    guard l == y[i] | 0x20, l >= UInt8(ascii: "a"), l <= UInt8(ascii: "z") else { return false }
                }
                return true
            }
        }
    }
}
