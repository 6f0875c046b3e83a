/// camhost's one JSON string rule (RFC 8259 section 7), for every part: `"` and `\` escaped,
/// control characters as `\n`, `\r`, `\t` or `\u00XX`, and, so that JSON stays inert wherever
/// it lands in a page (inside `<script>`, after `</`, in JavaScript before ES2019), `<`, `>`,
/// `&`, U+2028 and U+2029 as `\u003c`, `\u003e`, `\u0026`, `\u2028`, `\u2029`. Everything else,
/// multi-byte UTF-8 included, is copied; slashes are not escaped.
///
/// The parts keep Foundation out of the binary, so they share this instead of JSONEncoder.
public enum JSONEscape {
    /// Appends `text` as a quoted JSON string to `out`, working on UTF-8 bytes; text that needs
    /// no escape (ids, words, paths: the common case) is appended in one piece.
    public static func quote(_ text: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            var start = 0
            var index = 0
            while index < utf8.count {
                let byte = utf8[index]
                guard byte < 0x20 || byte == 0x22 || byte == 0x5C || byte == 0x3C || byte == 0x3E || byte == 0x26 || byte == 0xE2 else {
                    index += 1
                    continue
                }
                if byte == 0xE2 {
                    // U+2028 and U+2029 are E2 80 A8 and E2 80 A9; other E2 sequences are copied.
                    guard index + 2 < utf8.count, utf8[index + 1] == 0x80, utf8[index + 2] == 0xA8 || utf8[index + 2] == 0xA9 else {
                        index += 1
                        continue
                    }
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index]))
                    out.append(contentsOf: [0x5C, UInt8(ascii: "u"), UInt8(ascii: "2"), UInt8(ascii: "0"), UInt8(ascii: "2"), utf8[index + 2] == 0xA8 ? UInt8(ascii: "8") : UInt8(ascii: "9")])
                    index += 3
                    start = index
                    continue
                }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index]))
                switch byte {
                case 0x22: out.append(contentsOf: [0x5C, 0x22])
                case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
                case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                default: out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex(byte >> 4), hex(byte & 0xF)])
                }
                index += 1
                start = index
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<utf8.count]))
        }
        out.append(UInt8(ascii: "\""))
    }

    /// The same, appended to a String.
    public static func quote(_ text: String, into out: inout String) {
        if !needsEscape(text) {
            out += "\""
            out += text
            out += "\""
            return
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + 16)
        quote(text, into: &bytes)
        out += String(decoding: bytes, as: UTF8.self)
    }

    /// `text` as a quoted JSON string.
    public static func quoted(_ text: String) -> String {
        var out = ""
        quote(text, into: &out)
        return out
    }

    /// Whether any byte of `text` is one the rule changes (a leading byte of U+2028 counts).
    static func needsEscape(_ text: String) -> Bool {
        text.utf8.contains { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0x3C || $0 == 0x3E || $0 == 0x26 || $0 == 0xE2 }
    }

    private static func hex(_ nibble: UInt8) -> UInt8 { nibble < 10 ? 0x30 + nibble : UInt8(ascii: "a") + nibble - 10 }
}

/// `text` as a quoted JSON string (`JSONEscape`'s rule).
public func jsonQuoted(_ text: String) -> String { JSONEscape.quoted(text) }

/// Appends `text` as a quoted JSON string to `out` (`JSONEscape`'s rule).
public func jsonQuote(_ text: String, into out: inout String) { JSONEscape.quote(text, into: &out) }
