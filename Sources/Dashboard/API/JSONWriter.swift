/// Builds JSON text directly (no Foundation, no reflection): the API's hot path writes 100
/// recordings in a few microseconds this way.
struct JSONWriter {
    private(set) var text = ""
    private var needsComma: [Bool] = [false]

    init() { text.reserveCapacity(256) }

    var bytes: [UInt8] { Array(text.utf8) }

    mutating func object(_ body: (inout JSONWriter) throws -> Void) rethrows {
        separator()
        text += "{"
        needsComma.append(false)
        try body(&self)
        needsComma.removeLast()
        text += "}"
    }

    mutating func array(_ body: (inout JSONWriter) -> Void) {
        separator()
        text += "["
        needsComma.append(false)
        body(&self)
        needsComma.removeLast()
        text += "]"
    }

    mutating func key(_ name: String) {
        separator()
        JSONWriter.quote(name, into: &text)
        text += ":"
        needsComma[needsComma.count - 1] = false
    }

    mutating func value(_ string: String?) {
        separator()
        if let string { JSONWriter.quote(string, into: &text) } else { text += "null" }
    }

    mutating func value<I: BinaryInteger>(_ number: I?) {
        separator()
        text += number.map { String($0) } ?? "null"
    }

    mutating func value(_ number: Double?) {
        separator()
        guard let number, number.isFinite else { text += "null"; return }
        text += JSONWriter.number(number)
    }

    mutating func value(_ flag: Bool) {
        separator()
        text += flag ? "true" : "false"
    }

    /// Already-valid JSON from elsewhere (Storage's reports, Capture's diagnosis).
    mutating func raw(_ json: String) {
        separator()
        text += json
    }

    mutating func field(_ name: String, _ string: String?) { key(name); value(string) }
    mutating func field<I: BinaryInteger>(_ name: String, _ number: I?) { key(name); value(number) }
    mutating func field(_ name: String, _ number: Double?) { key(name); value(number) }
    mutating func field(_ name: String, _ flag: Bool) { key(name); value(flag) }

    private mutating func separator() {
        if needsComma[needsComma.count - 1] { text += "," }
        needsComma[needsComma.count - 1] = true
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

    static func quote(_ string: String, into out: inout String) {
        out += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<": out += "\\u003c"  // safe inside HTML too
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
