/// An IPv4 or IPv6 address, printed and parsed in the standard text forms (RFC 4291 section 2.2, RFC 5952).
public struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    enum Storage: Hashable, Sendable {
        case v4(UInt32)
        case v6(high: UInt64, low: UInt64)
    }

    let storage: Storage

    /// An IPv4 address from its 32-bit value in host order (`0x7F000001` is 127.0.0.1).
    public init(ipv4 value: UInt32) { storage = .v4(value) }

    /// An IPv4 address from its four octets.
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        storage = .v4(UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d))
    }

    /// An IPv6 address from its 128 bits as two host-order halves.
    public init(ipv6High high: UInt64, low: UInt64) { storage = .v6(high: high, low: low) }

    /// Reads a 4- or 16-byte address from `bytes` at `offset`; nil when out of bounds.
    init?(bytes: UnsafeRawBufferPointer, at offset: Int, ipv6: Bool) {
        if ipv6 {
            guard let high = bytes.u64(at: offset), let low = bytes.u64(at: offset + 8) else { return nil }
            storage = .v6(high: high, low: low)
        } else {
            guard let value = bytes.u32(at: offset) else { return nil }
            storage = .v4(value)
        }
    }

    public static let ipv4Loopback = IPAddress(127, 0, 0, 1)
    public static let ipv4Unspecified = IPAddress(ipv4: 0)
    public static let ipv6Loopback = IPAddress(ipv6High: 0, low: 1)
    public static let ipv6Unspecified = IPAddress(ipv6High: 0, low: 0)

    public var isIPv4: Bool { if case .v4 = storage { true } else { false } }
    public var isIPv6: Bool { !isIPv4 }

    /// The 32-bit value of an IPv4 address (or of the IPv4 address inside an IPv4-mapped IPv6 address).
    public var ipv4Value: UInt32? {
        switch storage {
        case .v4(let value): value
        case .v6(let high, let low) where high == 0 && low >> 32 == 0xFFFF: UInt32(truncatingIfNeeded: low)
        case .v6: nil
        }
    }

    /// 127.0.0.0/8 (RFC 1122 section 3.2.1.3), ::1 (RFC 4291 section 2.5.3), and IPv4-mapped 127/8.
    public var isLoopback: Bool {
        if let v4 = ipv4Value { return v4 >> 24 == 127 }
        return storage == .v6(high: 0, low: 1)
    }

    /// 0.0.0.0 or :: (RFC 4291 section 2.5.2), and IPv4-mapped 0.0.0.0.
    public var isUnspecified: Bool {
        if let v4 = ipv4Value { return v4 == 0 }
        return storage == .v6(high: 0, low: 0)
    }

    /// 224.0.0.0/4 (RFC 5771), ff00::/8 (RFC 4291 section 2.7), and IPv4-mapped 224/4.
    public var isMulticast: Bool {
        if let v4 = ipv4Value { return v4 >> 28 == 0xE }
        guard case .v6(let high, _) = storage else { return false }
        return high >> 56 == 0xFF
    }

    /// An address from its bytes in network order: 4 for IPv4, 16 for IPv6; nil for other lengths.
    public init?(networkBytes bytes: [UInt8]) {
        switch bytes.count {
        case 4:
            storage = .v4(bytes.reduce(0) { $0 << 8 | UInt32($1) })
        case 16:
            storage = .v6(high: bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) }, low: bytes[8..<16].reduce(0) { $0 << 8 | UInt64($1) })
        default:
            return nil
        }
    }

    /// The eight 16-bit groups of an IPv6 address.
    var groups: [UInt16] {
        guard case .v6(let high, let low) = storage else { return [] }
        return (0..<8).map { i in
            let half = i < 4 ? high : low
            return UInt16(truncatingIfNeeded: half >> (UInt64(3 - i % 4) * 16))
        }
    }

    public var description: String {
        switch storage {
        case .v4(let value):
            return Self.dotted(value)
        case .v6(let high, let low):
            // RFC 5952 section 5: IPv4-mapped addresses keep the dotted quad.
            if high == 0 && low >> 32 == 0xFFFF {
                return "::ffff:" + Self.dotted(UInt32(truncatingIfNeeded: low))
            }
            let groups = self.groups
            // RFC 5952 section 4.2: compress the longest run (first on ties) of two or more zero groups.
            var bestStart = -1, bestLength = 0, runStart = -1
            for i in 0...8 {
                if i < 8 && groups[i] == 0 {
                    if runStart < 0 { runStart = i }
                } else if runStart >= 0 {
                    if i - runStart > bestLength { bestStart = runStart; bestLength = i - runStart }
                    runStart = -1
                }
            }
            if bestLength < 2 { bestStart = -1 }
            var text = ""
            var i = 0
            while i < 8 {
                if i == bestStart {
                    text += "::"
                    i += bestLength
                    continue
                }
                if !text.isEmpty && !text.hasSuffix(":") { text += ":" }
                text += String(groups[i], radix: 16)
                i += 1
            }
            return text
        }
    }

    static func dotted(_ value: UInt32) -> String {
        "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
    }

    /// Parses dotted-quad IPv4 ("192.0.2.1") or IPv6 text ("2001:db8::1", "::ffff:192.0.2.1").
    /// Zone identifiers, prefixes and octets with leading zeros are rejected.
    public init?(_ text: some StringProtocol) {
        let utf8 = Array(text.utf8)
        if !utf8.contains(UInt8(ascii: ":")) {
            guard let value = Self.parseIPv4(utf8[...]) else { return nil }
            storage = .v4(value)
            return
        }
        guard let (high, low) = Self.parseIPv6(utf8) else { return nil }
        storage = .v6(high: high, low: low)
    }

    static func parseIPv4(_ text: ArraySlice<UInt8>) -> UInt32? {
        var value: UInt32 = 0
        var octets = 0
        for part in text.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            guard (1...3).contains(part.count), part.count == 1 || part.first != UInt8(ascii: "0") else { return nil }
            var octet: UInt32 = 0
            for c in part {
                guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
                octet = octet * 10 + UInt32(c - UInt8(ascii: "0"))
            }
            guard octet <= 255 else { return nil }
            value = value << 8 | octet
            octets += 1
        }
        return octets == 4 ? value : nil
    }

    static func parseIPv6(_ text: [UInt8]) -> (UInt64, UInt64)? {
        // Split around at most one "::"; each side is a list of groups, the last may be a dotted quad.
        let colon = UInt8(ascii: ":")
        var head: ArraySlice<UInt8> = text[...]
        var tail: ArraySlice<UInt8>? = nil
        if let i = text.indices.first(where: { $0 + 1 < text.count && text[$0] == colon && text[$0 + 1] == colon }) {
            head = text[..<i]
            tail = text[(i + 2)...]
            if tail!.count >= 2, tail!.starts(with: [colon, colon]) { return nil }
        }
        func groups(_ part: ArraySlice<UInt8>, allowIPv4: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            let pieces = part.split(separator: colon, omittingEmptySubsequences: false)
            for (n, piece) in pieces.enumerated() {
                if allowIPv4 && n == pieces.count - 1 && piece.contains(UInt8(ascii: ".")) {
                    guard let v4 = parseIPv4(piece) else { return nil }
                    result.append(UInt16(v4 >> 16))
                    result.append(UInt16(v4 & 0xFFFF))
                    continue
                }
                guard (1...4).contains(piece.count) else { return nil }
                var g: UInt16 = 0
                for c in piece {
                    let digit: UInt16
                    switch c {
                    case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt16(c - UInt8(ascii: "0"))
                    case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt16(c - UInt8(ascii: "a") + 10)
                    case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt16(c - UInt8(ascii: "A") + 10)
                    default: return nil
                    }
                    g = g << 4 | digit
                }
                result.append(g)
            }
            return result
        }
        guard let first = groups(head, allowIPv4: tail == nil) else { return nil }
        var all: [UInt16]
        if let tail {
            guard let last = groups(tail, allowIPv4: true), first.count + last.count <= 7 else { return nil }
            all = first + Array(repeating: 0, count: 8 - first.count - last.count) + last
        } else {
            guard first.count == 8 else { return nil }
            all = first
        }
        var high: UInt64 = 0, low: UInt64 = 0
        for i in 0..<4 { high = high << 16 | UInt64(all[i]) }
        for i in 4..<8 { low = low << 16 | UInt64(all[i]) }
        return (high, low)
    }
}

extension IPAddress {
    /// The 128 bits of an IPv6 address as two host-order halves; nil for IPv4.
    public var ipv6Halves: (high: UInt64, low: UInt64)? {
        if case .v6(let high, let low) = storage { (high, low) } else { nil }
    }
}
