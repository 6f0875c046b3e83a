/// A STUN message (RFC 5389), as far as a health probe needs it: a Binding Request to send, and
/// the Binding Response's XOR-MAPPED-ADDRESS (or MAPPED-ADDRESS from RFC 3489 servers), error code
/// and software name to read. TURN's health is a STUN exchange (CoTURN answers Binding on 3478).
public struct STUNMessage: Hashable, Sendable {
    /// The magic cookie that tells RFC 5389 messages from RFC 3489 ones (section 6).
    public static let magicCookie: UInt32 = 0x2112_A442

    /// Method and class, combined as on the wire (section 6): 0x0001 request, 0x0101 success, 0x0111 error.
    public var type: UInt16
    /// 96 bits chosen by the client; the response carries the same (section 6).
    public var transactionID: [UInt8]
    /// The address the server saw the request come from (XOR-MAPPED-ADDRESS, section 15.2).
    public var mappedAddress: TransportAddress?
    /// ERROR-CODE (section 15.6).
    public var errorCode: ErrorCode?
    /// SOFTWARE (section 15.10): the server's name and version, when it says.
    public var software: String?

    public static let bindingRequest: UInt16 = 0x0001
    public static let bindingSuccess: UInt16 = 0x0101
    public static let bindingError: UInt16 = 0x0111

    /// An IP address and port.
    public struct TransportAddress: Hashable, Sendable {
        public var address: IPAddress
        public var port: UInt16
        public init(address: IPAddress, port: UInt16) { self.address = address; self.port = port }
    }

    /// class * 100 + number (e.g. 400, 487), and the reason phrase.
    public struct ErrorCode: Hashable, Sendable {
        public var code: Int
        public var reason: String
        public init(code: Int, reason: String) { self.code = code; self.reason = reason }
    }

    /// A Binding Request with no attributes (the bare 20-byte request CoTURN answers).
    public static func bindingRequest(transactionID: [UInt8]) -> STUNMessage {
        precondition(transactionID.count == 12, "a STUN transaction id is 96 bits")
        return STUNMessage(type: bindingRequest, transactionID: transactionID)
    }

    public init(type: UInt16, transactionID: [UInt8]) {
        self.type = type
        self.transactionID = transactionID
    }

    /// The message on the wire: header, then XOR-MAPPED-ADDRESS, ERROR-CODE and SOFTWARE when set.
    public func encoded() -> [UInt8] {
        var body: [UInt8] = []
        if let mapped = mappedAddress {
            var value: [UInt8] = [0, mapped.address.isIPv4 ? 0x01 : 0x02]
            append16(mapped.port ^ UInt16(Self.magicCookie >> 16), to: &value)
            value += xored(mapped.address)
            appendAttribute(0x0020, value, to: &body)
        }
        if let error = errorCode {
            var value: [UInt8] = [0, 0, UInt8(error.code / 100 & 0x7), UInt8(error.code % 100)]
            value += Array(error.reason.utf8)
            appendAttribute(0x0009, value, to: &body)
        }
        if let software { appendAttribute(0x8022, Array(software.utf8), to: &body) }
        var out: [UInt8] = []
        append16(type & 0x3FFF, to: &out)
        append16(UInt16(body.count), to: &out)
        append32(Self.magicCookie, to: &out)
        out += transactionID
        return out + body
    }

    /// Decodes one message; attributes it does not know are skipped (comprehension-optional or not:
    /// a probe only reads).
    public init(decoding bytes: [UInt8]) throws(STUNError) {
        guard bytes.count >= 20 else { throw .truncated(needed: 20, available: bytes.count) }
        guard bytes[0] & 0xC0 == 0 else { throw .notSTUN("the first two bits are not zero (RFC 5389 section 6)") }
        let length = Int(read16(bytes, 2))
        guard read32(bytes, 4) == Self.magicCookie else { throw .notSTUN("no magic cookie 0x2112A442") }
        guard length % 4 == 0 else { throw .notSTUN("message length \(length) is not a multiple of 4") }
        guard bytes.count >= 20 + length else { throw .truncated(needed: 20 + length, available: bytes.count) }
        type = read16(bytes, 0)
        transactionID = Array(bytes[8..<20])
        var offset = 20
        let end = 20 + length
        var plainMapped: TransportAddress?
        while offset < end {
            guard offset + 4 <= end else { throw .truncated(needed: offset + 4, available: end) }
            let attribute = read16(bytes, offset)
            let size = Int(read16(bytes, offset + 2))
            let start = offset + 4
            guard start + size <= end else { throw .badAttribute(type: attribute, "its length \(size) runs past the message") }
            let value = Array(bytes[start..<(start + size)])
            switch attribute {
            case 0x0020: mappedAddress = try Self.address(value, xorWith: Self.magicCookie, transactionID: transactionID, attribute: attribute)
            case 0x0001: plainMapped = try Self.address(value, xorWith: nil, transactionID: transactionID, attribute: attribute)
            case 0x0009:
                guard value.count >= 4 else { throw .badAttribute(type: attribute, "shorter than 4 bytes") }
                errorCode = ErrorCode(code: Int(value[2] & 0x7) * 100 + Int(value[3]), reason: String(decoding: value[4...], as: UTF8.self))
            case 0x8022: software = String(decoding: value, as: UTF8.self)
            default: break
            }
            offset = start + (size + 3) / 4 * 4
        }
        if mappedAddress == nil { mappedAddress = plainMapped }
    }

    private static func address(_ value: [UInt8], xorWith cookie: UInt32?, transactionID: [UInt8], attribute: UInt16) throws(STUNError) -> TransportAddress {
        guard value.count >= 8 else { throw .badAttribute(type: attribute, "shorter than an IPv4 address") }
        var port = read16(value, 2)
        if let cookie { port ^= UInt16(cookie >> 16) }
        switch value[1] {
        case 0x01:
            var v4 = read32(value, 4)
            if let cookie { v4 ^= cookie }
            return TransportAddress(address: IPAddress(ipv4: v4), port: port)
        case 0x02:
            guard value.count >= 20 else { throw .badAttribute(type: attribute, "shorter than an IPv6 address") }
            var raw = Array(value[4..<20])
            if cookie != nil {
                let mask = [0x21, 0x12, 0xA4, 0x42] + transactionID
                for index in 0..<16 { raw[index] ^= mask[index] }
            }
            return TransportAddress(address: ipv6(raw), port: port)
        default:
            throw .badAttribute(type: attribute, "unknown address family \(value[1])")
        }
    }

    private func xored(_ address: IPAddress) -> [UInt8] {
        if let v4 = address.ipv4Value, address.isIPv4 {
            var out: [UInt8] = []
            append32(v4 ^ Self.magicCookie, to: &out)
            return out
        }
        let mask = [0x21, 0x12, 0xA4, 0x42] + transactionID
        return Self.ipv6Bytes(address).enumerated().map { $0.element ^ mask[$0.offset] }
    }

    private static func ipv6(_ raw: [UInt8]) -> IPAddress {
        var high: UInt64 = 0, low: UInt64 = 0
        for index in 0..<8 { high = high << 8 | UInt64(raw[index]) }
        for index in 8..<16 { low = low << 8 | UInt64(raw[index]) }
        return IPAddress(ipv6High: high, low: low)
    }

    private static func ipv6Bytes(_ address: IPAddress) -> [UInt8] {
        let groups = address.groups
        return groups.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }
}

/// Why a buffer is not a STUN message camhost can read.
public enum STUNError: Error, Hashable, Sendable, CustomStringConvertible {
    case truncated(needed: Int, available: Int)
    case notSTUN(String)
    case badAttribute(type: UInt16, String)

    public var description: String {
        switch self {
        case .truncated(let needed, let available): "STUN message truncated: \(needed) bytes needed, \(available) present"
        case .notSTUN(let why): "not a STUN message: \(why)"
        case .badAttribute(let type, let why): "STUN attribute 0x\(String(type, radix: 16)): \(why)"
        }
    }
}

private func read16(_ bytes: [UInt8], _ offset: Int) -> UInt16 { UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1]) }
private func read32(_ bytes: [UInt8], _ offset: Int) -> UInt32 { UInt32(read16(bytes, offset)) << 16 | UInt32(read16(bytes, offset + 2)) }
private func append16(_ value: UInt16, to out: inout [UInt8]) { out += [UInt8(value >> 8), UInt8(value & 0xFF)] }
private func append32(_ value: UInt32, to out: inout [UInt8]) { append16(UInt16(value >> 16), to: &out); append16(UInt16(value & 0xFFFF), to: &out) }
private func appendAttribute(_ type: UInt16, _ value: [UInt8], to out: inout [UInt8]) {
    append16(type, to: &out)
    append16(UInt16(value.count), to: &out)
    out += value
    out += [UInt8](repeating: 0, count: (4 - value.count % 4) % 4)
}
