/// A topic with `{id}` (and for plain status topics `{field}`) placeholders, e.g.
/// `cameras/{id}/ack`. Each placeholder is one whole topic level.
public struct TopicTemplate: Sendable, Equatable, CustomStringConvertible {
    public let template: String
    private let levels: [Level]
    enum Level: Sendable, Equatable { case literal(String), id, field }

    public var description: String { template }
    var hasField: Bool { levels.contains(.field) }

    init(_ template: String, allowsField: Bool) throws(TemplateProblem) {
        self.template = template
        var levels: [Level] = []
        for part in template.split(separator: "/", omittingEmptySubsequences: false) {
            switch part {
            case "{id}": levels.append(.id)
            case "{field}" where allowsField: levels.append(.field)
            default:
                if part.contains("+") || part.contains("#") { throw TemplateProblem(reason: "wildcards + and # are not allowed") }
                if part.contains("{") || part.contains("}") {
                    throw TemplateProblem(reason: "placeholder \(part) must be {id}\(allowsField ? " or {field}" : "") and fill a whole level")
                }
                levels.append(.literal(String(part)))
            }
        }
        guard levels.filter({ $0 == .id }).count == 1 else { throw TemplateProblem(reason: "needs exactly one {id} level") }
        self.levels = levels
    }

    public func render(id: CameraID, field: String? = nil) -> String {
        levels.map { level in
            switch level {
            case .literal(let s): s
            case .id: id.rawValue
            case .field: field ?? "+"
            }
        }.joined(separator: "/")
    }

    /// The subscription filter for all cameras (MQTT 3.1.1 §4.7.1.2).
    public var filter: String {
        levels.map { level in
            if case .literal(let s) = level { return s }
            return "+"
        }.joined(separator: "/")
    }

    /// The camera id (and field) when `topic` fits this template. Runs for every message on
    /// the network thread, so it walks the topic's UTF-8 once without splitting it.
    public func match(_ topic: String) -> (id: CameraID, field: String?)? {
        let utf8 = topic.utf8
        var start = utf8.startIndex
        var id: CameraID?
        var field: String?
        for (n, level) in levels.enumerated() {
            let end = utf8[start...].firstIndex(of: UInt8(ascii: "/")) ?? utf8.endIndex
            // The last level must end the topic; any other must not.
            guard (n == levels.count - 1) == (end == utf8.endIndex) else { return nil }
            let part = utf8[start..<end]
            switch level {
            case .literal(let s): if !s.utf8.elementsEqual(part) { return nil }
            case .id: id = CameraID(String(Substring(part)))
            case .field: field = String(Substring(part))
            }
            if end != utf8.endIndex { start = utf8.index(after: end) }
        }
        guard let id else { return nil }
        return (id, field)
    }
}

struct TemplateProblem: Error { let reason: String }

/// `{name}` placeholders in a payload template.
func placeholderNames(in template: String) throws(TemplateProblem) -> [String] {
    var names: [String] = []
    var rest = Substring(template)
    while let open = rest.firstIndex(of: "{") {
        guard let close = rest[open...].firstIndex(of: "}") else { throw TemplateProblem(reason: "unclosed {") }
        let name = String(rest[rest.index(after: open)..<close])
        if name.isEmpty || !name.allSatisfy({ $0.isLetter || $0 == "_" }) { throw TemplateProblem(reason: "bad placeholder {\(name)}") }
        names.append(name)
        rest = rest[rest.index(after: close)...]
    }
    return names
}

func renderTemplate(_ template: String, _ values: [String: String]) -> String {
    var out = ""
    var rest = Substring(template)
    while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
        out += rest[..<open]
        let name = String(rest[rest.index(after: open)..<close])
        out += values[name] ?? "{\(name)}"
        rest = rest[rest.index(after: close)...]
    }
    return out + rest
}

/// A camera's id as it appears in topics: 1–64 of `A–Z a–z 0–9 . _ -`.
public struct CameraID: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    public let rawValue: String
    public init?(_ text: String) {
        guard (1...64).contains(text.utf8.count),
              text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D })
        else { return nil }
        rawValue = text
    }
    public var description: String { rawValue }
    public static func < (a: CameraID, b: CameraID) -> Bool { a.rawValue < b.rawValue }
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = CameraID(text) else { throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad camera id \(text)")) }
        self = id
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}
