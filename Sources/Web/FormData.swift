/// Form bodies: `application/x-www-form-urlencoded` (WHATWG URL, section 5.1).
public struct FormData: Sendable, Equatable {
    /// Name-value pairs in the order sent; a name may repeat (`id=1&id=2`).
    public var pairs: [(name: String, value: String)]

    public init(pairs: [(name: String, value: String)] = []) { self.pairs = pairs }

    /// Parses `a=1&b=two+words&c=%2F`; `+` is a space, `%XX` a byte; bad escapes stay literal,
    /// bytes that are not UTF-8 become U+FFFD.
    public init(parsing bytes: [UInt8]) {
        var pairs: [(name: String, value: String)] = []
        for part in bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            if let equals = part.firstIndex(of: UInt8(ascii: "=")) {
                pairs.append((Self.decode(part[part.startIndex..<equals]), Self.decode(part[part.index(after: equals)...])))
            } else {
                pairs.append((Self.decode(part[...]), ""))
            }
        }
        self.pairs = pairs
    }

    public init(parsing text: String) { self.init(parsing: Array(text.utf8)) }

    /// The first value for `name`.
    public subscript(name: String) -> String? { pairs.first { $0.name == name }?.value }

    /// Every value for `name`, in order.
    public func values(_ name: String) -> [String] { pairs.filter { $0.name == name }.map(\.value) }

    /// Percent-decodes one name or value, `+` meaning space.
    public static func decode(_ bytes: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let c = bytes[i]
            if c == UInt8(ascii: "+") {
                out.append(0x20)
            } else if c == UInt8(ascii: "%"), bytes.distance(from: i, to: bytes.endIndex) >= 3,
                      let high = hexValue(bytes[i + 1]), let low = hexValue(bytes[i + 2]) {
                out.append(high << 4 | low)
                i += 3
                continue
            } else {
                out.append(c)
            }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Percent-encodes everything but unreserved characters (RFC 3986 section 2.3).
    public static func encode(_ text: String) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for c in text.utf8 {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(c)
            default:
                out += [UInt8(ascii: "%"), digits[Int(c >> 4)], digits[Int(c & 0xf)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    public static func == (a: FormData, b: FormData) -> Bool {
        a.pairs.count == b.pairs.count && zip(a.pairs, b.pairs).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}

extension HTTPRequest {
    /// The media type of the body without parameters, lower-cased (`application/json`).
    public var mediaType: String? {
        guard let value = headers["content-type"] else { return nil }
        let type = value.split(separator: ";", maxSplits: 1).first.map(String.init) ?? value
        return String(type.filter { $0 != " " && $0 != "\t" }).lowercased()
    }

    /// The body as form fields when it is `application/x-www-form-urlencoded`; empty otherwise.
    public var form: FormData {
        mediaType == "application/x-www-form-urlencoded" ? FormData(parsing: body) : FormData()
    }

    /// Whether the method changes state (RFC 9110 section 9.2.1: not safe).
    public var isStateChanging: Bool {
        !["GET", "HEAD", "OPTIONS", "TRACE"].contains(method)
    }
}
