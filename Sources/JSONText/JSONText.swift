/// Text as a quoted JSON string (RFC 8259 section 7), which is also a valid TOML basic string.
/// The parts keep Foundation out of the binary, so they share this instead of JSONEncoder.
public func jsonQuoted(_ text: String) -> String {
    var out = ""
    jsonQuote(text, into: &out)
    return out
}

/// Appends `text` as a quoted JSON string to `out`. Works on UTF-8 bytes: only `"`, `\` and
/// control characters are escaped, everything else (multi-byte sequences included) is copied,
/// and text that needs no escape is appended in one piece (the common case: ids, words, paths).
public func jsonQuote(_ text: String, into out: inout String) {
    out += "\""
    guard text.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) else {
        out += text
        out += "\""
        return
    }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(text.utf8.count + 16)
    for byte in text.utf8 {
        switch byte {
        case 0x22: bytes += [0x5C, 0x22]                 // \"
        case 0x5C: bytes += [0x5C, 0x5C]                 // \\
        case 0x0A: bytes += [0x5C, UInt8(ascii: "n")]
        case 0x0D: bytes += [0x5C, UInt8(ascii: "r")]
        case 0x09: bytes += [0x5C, UInt8(ascii: "t")]
        case 0..<0x20:
            let hex: [UInt8] = Array("0123456789abcdef".utf8)
            bytes += [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
        default: bytes.append(byte)
        }
    }
    out += String(decoding: bytes, as: UTF8.self)
    out += "\""
}
