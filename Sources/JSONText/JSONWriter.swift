/// camhost's JSON encoder: builds JSON as UTF-8 bytes directly (no Foundation, no reflection,
/// no String appends in the hot path): the API writes 100 recordings in a few tens of
/// microseconds this way. Strings follow `JSONEscape`'s one rule.
public struct JSONWriter {
    public var bytes: [UInt8] = []
    @usableFromInline var needsComma: [Bool] = [false]

    @inlinable public init(capacity: Int = 1024) { bytes.reserveCapacity(capacity) }

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    @inlinable public mutating func object(_ body: (inout JSONWriter) throws -> Void) rethrows {
        separator()
        bytes.append(UInt8(ascii: "{"))
        needsComma.append(false)
        try body(&self)
        needsComma.removeLast()
        bytes.append(UInt8(ascii: "}"))
    }

    @inlinable public mutating func array(_ body: (inout JSONWriter) throws -> Void) rethrows {
        separator()
        bytes.append(UInt8(ascii: "["))
        needsComma.append(false)
        try body(&self)
        needsComma.removeLast()
        bytes.append(UInt8(ascii: "]"))
    }

    @inlinable public mutating func key(_ name: String) {
        separator()
        JSONWriter.quote(name, into: &bytes)
        bytes.append(UInt8(ascii: ":"))
        needsComma[needsComma.count - 1] = false
    }

    @inlinable public mutating func value(_ string: String?) {
        separator()
        if let string { JSONWriter.quote(string, into: &bytes) } else { bytes.append(contentsOf: "null".utf8) }
    }

    @inlinable public mutating func value<I: BinaryInteger>(_ number: I?) {
        separator()
        guard let number else { bytes.append(contentsOf: "null".utf8); return }
        JSONWriter.integer(Int64(number), into: &bytes)
    }

    @inlinable public mutating func value(_ number: Double?) {
        separator()
        guard let number, number.isFinite else { bytes.append(contentsOf: "null".utf8); return }
        bytes.append(contentsOf: JSONWriter.number(number).utf8)
    }

    @inlinable public mutating func value(_ flag: Bool) {
        separator()
        bytes.append(contentsOf: (flag ? "true" : "false").utf8)
    }

    /// Already-valid JSON from elsewhere (Storage's reports, Capture's diagnosis).
    @inlinable public mutating func raw(_ json: String) {
        separator()
        bytes.append(contentsOf: json.utf8)
    }

    @inlinable public mutating func field(_ name: String, _ string: String?) { key(name); value(string) }
    @inlinable public mutating func field<I: BinaryInteger>(_ name: String, _ number: I?) { key(name); value(number) }
    @inlinable public mutating func field(_ name: String, _ number: Double?) { key(name); value(number) }
    @inlinable public mutating func field(_ name: String, _ flag: Bool) { key(name); value(flag) }

    @inlinable mutating func separator() {
        if needsComma[needsComma.count - 1] { bytes.append(UInt8(ascii: ",")) }
        needsComma[needsComma.count - 1] = true
    }

    @inlinable public static func integer(_ value: Int64, into out: inout [UInt8]) {
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
    public static func number(_ value: Double) -> String {
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

    /// A JSON string literal (`JSONEscape`'s rule).
    public static func quote(_ string: String, into out: inout [UInt8]) { JSONEscape.quote(string, into: &out) }
}
