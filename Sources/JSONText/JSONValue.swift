/// camhost's JSON decoder: a small JSON value for camera payloads, request bodies and stored
/// reports. Parsing untrusted bytes must never trap, and Foundation's JSONSerialization is not
/// in FoundationEssentials.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var intValue: Int? {
        if case .number(let d) = self, d.rounded() == d, abs(d) < 1e15 { return Int(d) }
        return nil
    }

    /// Parses RFC 8259 JSON; nested at most `maxDepth` deep.
    public init(parsing bytes: [UInt8], maxDepth: Int = 32) throws(JSONParseError) {
        var parser = Parser(bytes: bytes, maxDepth: maxDepth)
        parser.skipSpace()
        self = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.index == bytes.count else { throw JSONParseError(offset: parser.index, reason: "trailing characters") }
    }

    /// Compact JSON text with object keys sorted (stable output for tests and logs).
    public var serialized: String {
        var out = ""
        write(to: &out)
        return out
    }

    /// Indented JSON text (two spaces, `"key" : value`, object keys sorted), for people.
    public var prettyPrinted: String {
        var out = ""
        write(to: &out, indent: "")
        return out
    }

    private func write(to out: inout String, indent: String) {
        let inner = indent + "  "
        switch self {
        case .array(let a) where !a.isEmpty:
            out += "[\n"
            for (i, v) in a.enumerated() {
                if i > 0 { out += ",\n" }
                out += inner
                v.write(to: &out, indent: inner)
            }
            out += "\n" + indent + "]"
        case .object(let o) where !o.isEmpty:
            out += "{\n"
            for (i, key) in o.keys.sorted().enumerated() {
                if i > 0 { out += ",\n" }
                out += inner
                jsonQuote(key, into: &out)
                out += " : "
                o[key]!.write(to: &out, indent: inner)
            }
            out += "\n" + indent + "}"
        default: write(to: &out)
        }
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let d):
            if d.rounded() == d, abs(d) < 1e15 { out += String(Int(d)) } else { out += String(d) }
        case .string(let s): jsonQuote(s, into: &out)
        case .array(let a):
            out += "["
            for (i, v) in a.enumerated() { if i > 0 { out += "," }; v.write(to: &out) }
            out += "]"
        case .object(let o):
            out += "{"
            for (i, key) in o.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                jsonQuote(key, into: &out)
                out += ":"
                o[key]!.write(to: &out)
            }
            out += "}"
        }
    }

    private struct Parser {
        let bytes: [UInt8]
        let maxDepth: Int
        var index = 0

        mutating func skipSpace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        func fail(_ reason: String) -> JSONParseError { JSONParseError(offset: index, reason: reason) }

        mutating func value(depth: Int) throws(JSONParseError) -> JSONValue {
            guard depth < maxDepth else { throw fail("nested too deeply") }
            guard index < bytes.count else { throw fail("unexpected end") }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index += 1
                var object: [String: JSONValue] = [:]
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(object) }
                while true {
                    skipSpace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                    let key = try string()
                    skipSpace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                    index += 1
                    skipSpace()
                    object[key] = try value(depth: depth + 1)
                    skipSpace()
                    guard index < bytes.count else { throw fail("unexpected end") }
                    if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(object) }
                    throw fail("expected ',' or '}'")
                }
            case UInt8(ascii: "["):
                index += 1
                var array: [JSONValue] = []
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(array) }
                while true {
                    skipSpace()
                    array.append(try value(depth: depth + 1))
                    skipSpace()
                    guard index < bytes.count else { throw fail("unexpected end") }
                    if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(array) }
                    throw fail("expected ',' or ']'")
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            default:
                return .number(try number())
            }
        }

        mutating func literal(_ word: String) throws(JSONParseError) {
            let w = Array(word.utf8)
            guard index + w.count <= bytes.count, Array(bytes[index..<index + w.count]) == w else { throw fail("bad literal") }
            index += w.count
        }

        mutating func number() throws(JSONParseError) -> Double {
            let start = index
            while index < bytes.count, "+-0123456789.eE".utf8.contains(bytes[index]) { index += 1 }
            guard index > start, let d = Double(String(decoding: bytes[start..<index], as: UTF8.self)) else { throw fail("bad number") }
            return d
        }

        /// A string at `index` (the opening quote). Without escapes (ids, words) it is one
        /// slice decoded at once; escapes are decoded into a byte buffer. Invalid UTF-8 and
        /// unpaired surrogates become U+FFFD.
        mutating func string() throws(JSONParseError) -> String {
            index += 1
            let start = index
            while index < bytes.count {
                let b = bytes[index]
                if b == UInt8(ascii: "\"") { index += 1; return String(decoding: bytes[start..<index - 1], as: UTF8.self) }
                if b < 0x20 { throw fail("control character in string") }
                if b == UInt8(ascii: "\\") { break }
                index += 1
            }
            guard index < bytes.count else { throw fail("unterminated string") }
            var out = Array(bytes[start..<index])
            while index < bytes.count {
                let b = bytes[index]
                if b == UInt8(ascii: "\"") { index += 1; return String(decoding: out, as: UTF8.self) }
                if b < 0x20 { throw fail("control character in string") }
                guard b == UInt8(ascii: "\\") else { out.append(b); index += 1; continue }
                index += 1
                guard index < bytes.count else { break }
                switch bytes[index] {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"):
                    var value = try hex4(at: index + 1)
                    index += 4
                    // A high surrogate followed by \u and a low one is one scalar (RFC 8259 §7).
                    if (0xD800..<0xDC00).contains(value), index + 6 < bytes.count,
                       bytes[index + 1] == UInt8(ascii: "\\"), bytes[index + 2] == UInt8(ascii: "u"),
                       let low = try? hex4(at: index + 3), (0xDC00..<0xE000).contains(low) {
                        value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
                        index += 6
                    }
                    out.append(contentsOf: String(Unicode.Scalar(value) ?? "\u{FFFD}").utf8)
                case let c where c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") || c == UInt8(ascii: "/"):
                    out.append(c)
                default: throw fail("bad escape")
                }
                index += 1
            }
            throw fail("unterminated string")
        }

        /// Four hex digits at `offset` (after `\u`).
        func hex4(at offset: Int) throws(JSONParseError) -> UInt32 {
            guard offset + 4 <= bytes.count else { throw fail("bad \\u escape") }
            var value: UInt32 = 0
            for b in bytes[offset..<offset + 4] {
                let digit: UInt8
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
                default: throw fail("bad \\u escape")
                }
                value = value << 4 | UInt32(digit)
            }
            return value
        }
    }
}

/// Why a payload is not JSON, and where.
public struct JSONParseError: Error, Sendable, CustomStringConvertible {
    public let offset: Int
    public let reason: String
    public var description: String { "invalid JSON at byte \(offset): \(reason)" }

    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }
}
