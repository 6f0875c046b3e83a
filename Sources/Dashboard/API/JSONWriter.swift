/// Builds JSON as UTF-8 bytes directly (no Foundation, no reflection, no String appends in the
/// hot path): the API writes 100 recordings in a few tens of microseconds this way.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []
    private var needsComma: [Bool] = [false]

    init() { bytes.reserveCapacity(1024) }

    var text: String { String(decoding: bytes, as: UTF8.self) }

    mutating func object(_ body: (inout JSONWriter) throws -> Void) rethrows {
        separator()
        bytes.append(UInt8(ascii: "{"))
        needsComma.append(false)
        try body(&self)
        needsComma.removeLast()
        bytes.append(UInt8(ascii: "}"))
    }

    mutating func array(_ body: (inout JSONWriter) -> Void) {
        separator()
        bytes.append(UInt8(ascii: "["))
        needsComma.append(false)
        body(&self)
        needsComma.removeLast()
        bytes.append(UInt8(ascii: "]"))
    }

    mutating func key(_ name: String) {
        separator()
        JSONWriter.quote(name, into: &bytes)
        bytes.append(UInt8(ascii: ":"))
        needsComma[needsComma.count - 1] = false
    }

    mutating func value(_ string: String?) {
        separator()
        if let string { JSONWriter.quote(string, into: &bytes) } else { bytes.append(contentsOf: "null".utf8) }
    }

    mutating func value<I: BinaryInteger>(_ number: I?) {
        separator()
        guard let number else { bytes.append(contentsOf: "null".utf8); return }
        JSONWriter.integer(Int64(number), into: &bytes)
    }

    mutating func value(_ number: Double?) {
        separator()
        guard let number, number.isFinite else { bytes.append(contentsOf: "null".utf8); return }
        bytes.append(contentsOf: JSONWriter.number(number).utf8)
    }

    mutating func value(_ flag: Bool) {
        separator()
        bytes.append(contentsOf: (flag ? "true" : "false").utf8)
    }

    /// Already-valid JSON from elsewhere (Storage's reports, Capture's diagnosis).
    mutating func raw(_ json: String) {
        separator()
        bytes.append(contentsOf: json.utf8)
    }

    mutating func field(_ name: String, _ string: String?) { key(name); value(string) }
    mutating func field<I: BinaryInteger>(_ name: String, _ number: I?) { key(name); value(number) }
    mutating func field(_ name: String, _ number: Double?) { key(name); value(number) }
    mutating func field(_ name: String, _ flag: Bool) { key(name); value(flag) }

    private mutating func separator() {
        if needsComma[needsComma.count - 1] { bytes.append(UInt8(ascii: ",")) }
        needsComma[needsComma.count - 1] = true
    }

    static func integer(_ value: Int64, into out: inout [UInt8]) {
        if value == 0 { out.append(UInt8(ascii: "0")); return }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            while magnitude > 0 {
                buffer[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            }
            if value < 0 { out.append(UInt8(ascii: "-")) }
            for index in stride(from: count - 1, through: 0, by: -1) { out.append(buffer[index]) }
        }
    }

    /// Three decimals at most, no exponent.
    static func number(_ value: Double) -> String {
        let scaled = (value * 1000).rounded()
        let whole = Int64(scaled / 1000)
        let fraction = Int64(abs(scaled.truncatingRemainder(dividingBy: 1000)))
        let sign = value < 0 && whole == 0 && fraction != 0 ? "-" : ""
        if fraction == 0 { return sign + String(whole) }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 3 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return sign + String(whole) + "." + digits
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// A JSON string literal; `<` is escaped too, so the text is safe inside HTML.
    static func quote(_ string: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { utf8 in
            var start = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "<") else { continue }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index]))
                switch byte {
                case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
                case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
                case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                default: out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
                }
                start = index + 1
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<utf8.count]))
        }
        out.append(UInt8(ascii: "\""))
    }
}
