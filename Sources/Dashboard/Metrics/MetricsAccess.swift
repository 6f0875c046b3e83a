import Web

/// Who may read /metrics: clients from the allowed addresses, or anyone presenting the token
/// (`[metrics] allow`, `[metrics] token`). An empty allow list and an empty token close it.
public struct MetricsAccess: Sendable {
    public var allow: [String]
    public var token: String

    public init(allow: [String] = ["127.0.0.1", "::1"], token: String = "") {
        self.allow = allow
        self.token = token
    }

    func permits(_ request: HTTPRequest) -> Bool {
        if !token.isEmpty, let header = request.header("authorization"), header.hasPrefix("Bearer ") {
            return constantTimeEqual(Array(header.utf8.dropFirst(7)), Array(token.utf8))
        }
        let client = request.clientAddress.hasPrefix("::ffff:") ? String(request.clientAddress.dropFirst(7)) : request.clientAddress
        return allow.contains(client)
    }
}

/// Compares without an early exit, so timing does not reveal how much of a secret matched.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    var difference = UInt8(a.count == b.count ? 0 : 1)
    for index in 0..<max(a.count, b.count) {
        difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
    }
    return difference == 0
}
