/// A tiny HTML builder: every piece of text goes through `escape`, markup is only what the
/// dashboard writes itself. Not a template engine on purpose.
struct HTML: Sendable {
    private(set) var text = ""

    init() {}
    init(raw: String) { text = raw }

    /// Text content, escaped.
    mutating func text(_ value: String) { text += HTML.escape(value) }
    /// Markup written by the dashboard (never user input).
    mutating func raw(_ markup: String) { text += markup }
    mutating func append(_ other: HTML) { text += other.text }

    /// `<name attrs>content</name>`; attribute values are escaped.
    mutating func element(_ name: String, _ attributes: [(String, String?)] = [], _ content: (inout HTML) -> Void = { _ in }) {
        text += "<" + name + HTML.attributes(attributes) + ">"
        content(&self)
        text += "</" + name + ">"
    }

    /// `<name attrs>escaped text</name>`
    mutating func element(_ name: String, _ attributes: [(String, String?)] = [], text value: String) {
        element(name, attributes) { $0.text(value) }
    }

    /// A void element (`input`, `img`, `meta`, `link`).
    mutating func void(_ name: String, _ attributes: [(String, String?)]) {
        text += "<" + name + HTML.attributes(attributes) + ">"
    }

    static func attributes(_ attributes: [(String, String?)]) -> String {
        var out = ""
        for (name, value) in attributes {
            guard let value else { continue }
            out += " " + name + "=\"" + escape(value) + "\""
        }
        return out
    }

    /// Escapes `& < > " '` (enough for text and double-quoted attributes).
    static func escape(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
