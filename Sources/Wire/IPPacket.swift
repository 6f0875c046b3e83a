/// An IPv4 or IPv6 packet header, whichever the buffer holds.
public enum IPPacket: Hashable, Sendable {
    case v4(IPv4Packet)
    case v6(IPv6Packet)

    /// Decodes by the version nibble of the first byte.
    public init(decoding bytes: UnsafeRawBufferPointer) throws(WireError) {
        guard let first = bytes.u8(at: 0) else {
            throw .truncated(layer: .ipv4, offset: 0, needed: 1, available: 0)
        }
        switch first >> 4 {
        case 4: self = .v4(try IPv4Packet(decoding: bytes))
        case 6: self = .v6(try IPv6Packet(decoding: bytes))
        default: throw .badIPVersion(first >> 4)
        }
    }

    public var source: IPAddress {
        switch self { case .v4(let p): p.source; case .v6(let p): p.source }
    }
    public var destination: IPAddress {
        switch self { case .v4(let p): p.destination; case .v6(let p): p.destination }
    }
    public var transportProtocol: IPProtocol {
        switch self { case .v4(let p): p.transportProtocol; case .v6(let p): p.transportProtocol }
    }
    public var payloadRange: Range<Int> {
        switch self { case .v4(let p): p.payloadRange; case .v6(let p): p.payloadRange }
    }
    public var carriesTransportHeader: Bool {
        switch self { case .v4(let p): p.carriesTransportHeader; case .v6(let p): p.carriesTransportHeader }
    }
}
