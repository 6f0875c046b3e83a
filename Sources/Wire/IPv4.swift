/// A decoded IPv4 header (RFC 791 section 3.1); the payload stays in the caller's buffer.
public struct IPv4Packet: Hashable, Sendable {
    public var source: IPAddress
    public var destination: IPAddress
    public var transportProtocol: IPProtocol
    public var timeToLive: UInt8
    public var identification: UInt16
    public var dontFragment: Bool
    public var moreFragments: Bool
    /// Fragment offset in 8-byte units.
    public var fragmentOffset: UInt16
    /// Header length in bytes (IHL × 4, options included).
    public var headerLength: Int
    public var totalLength: Int
    /// Payload bytes inside the decoded buffer: from the end of the header to the total length.
    public var payloadRange: Range<Int>

    /// Only an unfragmented packet or the first fragment (offset 0) starts with the transport header.
    public var carriesTransportHeader: Bool { fragmentOffset == 0 }

    /// Decodes the header at the start of `bytes`; trailing bytes past the total length (link padding) are ignored.
    public init(decoding bytes: UnsafeRawBufferPointer) throws(WireError) {
        guard let first = bytes.u8(at: 0), bytes.count >= 20 else {
            throw .truncated(layer: .ipv4, offset: 0, needed: 20, available: bytes.count)
        }
        guard first >> 4 == 4 else { throw .badIPVersion(first >> 4) }
        let ihl = first & 0x0F
        let total = bytes.u16(at: 2) ?? 0
        let headerLength = Int(ihl) * 4
        guard ihl >= 5, Int(total) >= headerLength else {
            throw .badIPv4HeaderLength(ihl: ihl, totalLength: total)
        }
        guard bytes.count >= Int(total) else {
            throw .truncated(layer: .ipv4, offset: 0, needed: Int(total), available: bytes.count)
        }
        let flagsAndOffset = bytes.u16(at: 6) ?? 0
        self.identification = bytes.u16(at: 4) ?? 0
        self.dontFragment = flagsAndOffset & 0x4000 != 0
        self.moreFragments = flagsAndOffset & 0x2000 != 0
        self.fragmentOffset = flagsAndOffset & 0x1FFF
        self.timeToLive = bytes.u8(at: 8) ?? 0
        self.transportProtocol = IPProtocol(rawValue: bytes.u8(at: 9) ?? 0)
        self.source = IPAddress(ipv4: bytes.u32(at: 12) ?? 0)
        self.destination = IPAddress(ipv4: bytes.u32(at: 16) ?? 0)
        self.headerLength = headerLength
        self.totalLength = Int(total)
        self.payloadRange = headerLength..<Int(total)
    }
}
