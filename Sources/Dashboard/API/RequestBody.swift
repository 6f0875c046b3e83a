import JSONText
import Web

/// A body the API reads: its fields, from a JSON object or from a form posting the same names.
protocol RequestBody: Sendable {
    init(_ fields: BodyFields) throws(APIError)
}

/// Request bodies: JSON, or the same fields posted by a form.
extension API {
    struct CommandBody: RequestBody {
        var command: String
        var mode: String?

        init(command: String, mode: String?) {
            self.command = command
            self.mode = mode
        }

        init(_ fields: BodyFields) throws(APIError) {
            command = try fields.string("command")
            mode = try fields.optionalString("mode")
        }
    }

    struct DeleteBody: RequestBody {
        var ids: [Int64]
        init(_ fields: BodyFields) throws(APIError) { ids = try fields.integers("ids") }
    }

    struct CleanupBody: RequestBody {
        var olderThanDays: Int
        var dryRun: Bool?
        var camera: String?

        init(_ fields: BodyFields) throws(APIError) {
            olderThanDays = try fields.integer("older_than_days")
            dryRun = try fields.optionalBool("dry_run")
            camera = try fields.optionalString("camera")
        }
    }

    struct DiagnosisBody: RequestBody {
        var camera: String
        var seconds: Int?
        var interface: String?

        init(camera: String, seconds: Int?, interface: String?) {
            self.camera = camera
            self.seconds = seconds
            self.interface = interface
        }

        init(_ fields: BodyFields) throws(APIError) {
            camera = try fields.string("camera")
            seconds = try fields.optionalInteger("seconds")
            interface = try fields.optionalString("interface")
        }
    }

    func decode<T: RequestBody>(_ type: T.Type, _ request: HTTPRequest) throws(APIError) -> T {
        let contentType = request.header("content-type") ?? ""
        if contentType.hasPrefix("application/x-www-form-urlencoded") {
            return try T(BodyFields(form: Form.parse(request)))
        }
        guard contentType.hasPrefix("application/json") else {
            throw APIError(415, "unsupported-media-type", "send Content-Type: application/json")
        }
        return try T(BodyFields(json: request.body))
    }
}

/// The fields of a request body, read with JSONText's decoder; each wrong or missing field is
/// a 400 that names it.
struct BodyFields {
    let object: [String: JSONValue]

    init(json bytes: [UInt8]) throws(APIError) {
        let value: JSONValue
        do { value = try JSONValue(parsing: bytes, maxDepth: 8) } catch { throw APIError.badRequest("the body is not valid JSON") }
        guard case .object(let object) = value else { throw APIError.badRequest("the body is not a JSON object") }
        self.object = object
    }

    /// A form posts the same names: `id` or `ids` (repeated or comma-joined) as the id list,
    /// whole numbers as numbers, `true` and `false` as booleans, the rest as text.
    init(form: [String: String]) {
        var object: [String: JSONValue] = [:]
        for (key, value) in form where key != "csrf" {
            if key == "ids" || key == "id" { object["ids"] = .array(value.split(separator: ",").compactMap { Int64($0) }.map { .number(Double($0)) }) }
            else if let number = Int(value) { object[key] = .number(Double(number)) }
            else if value == "true" || value == "false" { object[key] = .bool(value == "true") }
            else { object[key] = .string(value) }
        }
        self.object = object
    }

    func string(_ key: String) throws(APIError) -> String {
        if case .null? = object[key] { throw wrongType(key) }
        guard let text = try optionalString(key) else { throw missing(key) }
        return text
    }

    func optionalString(_ key: String) throws(APIError) -> String? {
        switch object[key] {
        case nil, .null?: return nil
        case .string(let text)?: return text
        default: throw wrongType(key)
        }
    }

    func integer(_ key: String) throws(APIError) -> Int {
        if case .null? = object[key] { throw wrongType(key) }
        guard let number = try optionalInteger(key) else { throw missing(key) }
        return number
    }

    func optionalInteger(_ key: String) throws(APIError) -> Int? {
        switch object[key] {
        case nil, .null?: return nil
        case let value?:
            guard let number = value.intValue else { throw wrongType(key) }
            return number
        }
    }

    func optionalBool(_ key: String) throws(APIError) -> Bool? {
        switch object[key] {
        case nil, .null?: return nil
        case .bool(let flag)?: return flag
        default: throw wrongType(key)
        }
    }

    func integers(_ key: String) throws(APIError) -> [Int64] {
        switch object[key] {
        case nil: throw missing(key)
        case .array(let list)?:
            var numbers: [Int64] = []
            numbers.reserveCapacity(list.count)
            for element in list {
                guard let number = element.intValue else { throw wrongType(key) }
                numbers.append(Int64(number))
            }
            return numbers
        default: throw wrongType(key)
        }
    }

    private func missing(_ key: String) -> APIError { APIError.badRequest("the body lacks the field \"\(key)\"") }
    private func wrongType(_ key: String) -> APIError { APIError.badRequest("field \"\(key)\" has the wrong type") }
}
