import FoundationEssentials
import JSONText
import Web

/// Request bodies: JSON, or the same fields posted by a form.
extension API {
    struct CommandBody: Decodable, Sendable { var command: String; var mode: String? }
    struct DeleteBody: Decodable { var ids: [Int64] }
    struct CleanupBody: Decodable {
        var olderThanDays: Int
        var dryRun: Bool?
        var camera: String?
        enum CodingKeys: String, CodingKey { case olderThanDays = "older_than_days", dryRun = "dry_run", camera }
    }
    struct DiagnosisBody: Decodable { var camera: String; var seconds: Int?; var interface: String? }

    func decode<T: Decodable>(_ type: T.Type, _ request: HTTPRequest) throws -> T {
        let contentType = request.header("content-type") ?? ""
        if contentType.hasPrefix("application/x-www-form-urlencoded") {
            // Forms post the same fields; turn them into JSON-ish values.
            var object: [String: Any] = [:]
            for (key, value) in Form.parse(request) where key != "csrf" {
                if key == "ids" || key == "id" { object["ids"] = value.split(separator: ",").compactMap { Int64($0) } }
                else if let number = Int(value) { object[key] = number }
                else if value == "true" || value == "false" { object[key] = value == "true" }
                else { object[key] = value }
            }
            return try decodeJSON(type, Array(FormJSON.encode(object).utf8))
        }
        guard contentType.hasPrefix("application/json") else {
            throw APIError(415, "unsupported-media-type", "send Content-Type: application/json")
        }
        return try decodeJSON(type, request.body)
    }

    private func decodeJSON<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch let error as DecodingError {
            switch error {
            case .keyNotFound(let key, _): throw APIError.badRequest("the body lacks the field \"\(key.stringValue)\"")
            case .typeMismatch(_, let context), .valueNotFound(_, let context):
                throw APIError.badRequest("field \"\(context.codingPath.map(\.stringValue).joined(separator: "."))\" has the wrong type")
            default: throw APIError.badRequest("the body is not valid JSON")
            }
        }
    }
}


/// Form fields as a JSON object for the same decoders (numbers, booleans, strings, id lists).
enum FormJSON {
    static func encode(_ object: [String: Any]) -> String {
        var w = JSONWriter()
        w.object { w in
            for (key, value) in object.sorted(by: { $0.key < $1.key }) {
                w.key(key)
                switch value {
                case let number as Int: w.value(number)
                case let flag as Bool: w.value(flag)
                case let ids as [Int64]: w.array { w in for id in ids { w.value(id) } }
                case let text as String: w.value(text)
                default: w.value(nil as String?)
                }
            }
        }
        return w.text
    }
}
