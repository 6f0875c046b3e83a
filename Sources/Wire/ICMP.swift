/// An ICMP or ICMPv6 message header, decoded so that errors quoting a UDP packet are never taken for that packet.
public struct ICMPMessage: Hashable, Sendable {
    public var isICMPv6: Bool
    public var type: UInt8
    public var code: UInt8
    /// The bytes after the 8-byte header: for error messages, the quoted original packet.
    public var bodyRange: Range<Int>

    /// Error messages quote the offending packet: ICMPv4 types 3, 4, 5, 11, 12 (RFC 792);
    /// ICMPv6 types below 128 (RFC 4443 section 2.1).
    public var isError: Bool {
        isICMPv6 ? type < 128 : [3, 4, 5, 11, 12].contains(type)
    }

    /// Destination unreachable, port unreachable: what Linux answers to a datagram for a closed local port.
    public var isPortUnreachable: Bool {
        isICMPv6 ? (type == 1 && code == 4) : (type == 3 && code == 3)
    }

    public init(decoding bytes: UnsafeRawBufferPointer, isICMPv6: Bool) throws(WireError) {
        guard bytes.count >= 8, let type = bytes.u8(at: 0), let code = bytes.u8(at: 1) else {
            throw .truncated(layer: .icmp, offset: 0, needed: 8, available: bytes.count)
        }
        self.isICMPv6 = isICMPv6
        self.type = type
        self.code = code
        self.bodyRange = 8..<bytes.count
    }
}
