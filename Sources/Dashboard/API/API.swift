import JSONText
import Storage
import Web

/// The JSON API under /api/v1 (docs/openapi.yaml), one file per resource; `Routes.table`
/// says which method answers which path. Every error is `APIError`'s one shape.
struct API: Sendable {
    let environment: DashboardEnvironment
    let metrics: Metrics
    let recordings: RecordingsService
    let listCache = ResponseCache(capacity: 64)
    let healthBody = EncodedHealth()

    /// A handler's failure as the API answers it.
    static func response(for error: any Error) -> HTTPResponse {
        switch error {
        case let error as APIError: return error.response
        case let error as CleanupError:
            if case .busy = error { return APIError(409, "busy", "another cleanup is running; try again in a moment").response }
            return APIError(500, "cleanup-failed", "\(error)").response
        default: return APIError(500, "internal", "\(error)").response
        }
    }

    /// For checks inside a handler, where the route's own permission is not the whole story
    /// (a cleanup that is not a dry run deletes).
    func require(_ principal: Principal, _ permission: Permission, _ what: String) throws {
        guard principal.may(permission) else {
            throw APIError.forbidden(Route.Refusal.doing(what).message(for: principal, permission))
        }
    }

    /// A response whose body is one object made of the fields `body` writes.
    func jsonObject(status: Int = 200, _ body: (inout JSONWriter) throws -> Void) rethrows -> HTTPResponse {
        try json(status: status) { w in try w.object { w in try body(&w) } }
    }

    /// One JSON object's bytes, for bodies kept in a cache.
    func jsonBytes(_ body: (inout JSONWriter) throws -> Void) rethrows -> [UInt8] {
        var writer = JSONWriter()
        try writer.object { w in try body(&w) }
        return writer.bytes
    }

    func json(status: Int = 200, _ body: (inout JSONWriter) throws -> Void) rethrows -> HTTPResponse {
        var writer = JSONWriter()
        try body(&writer)
        var response = HTTPResponse(status: status, contentType: "application/json", body: writer.bytes)
        response.setHeader("Cache-Control", "no-store")
        return response
    }

    func limit(_ request: HTTPRequest, default value: Int, maximum: Int) throws -> Int {
        try Self.integer(request.query["limit"], name: "limit", default: value, range: 1...maximum)
    }

    static func integer(_ text: String?, name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text, !text.isEmpty else { return value }
        guard let number = Int(text), range.contains(number) else { throw APIError.badRequest("\(name): a whole number from \(range.lowerBound) to \(range.upperBound)") }
        return number
    }

    static func isDate(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == 0x2D, bytes[7] == 0x2D else { return false }
        return bytes.enumerated().allSatisfy { $0.offset == 4 || $0.offset == 7 || (0x30...0x39).contains($0.element) }
    }
}
