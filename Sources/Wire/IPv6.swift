/// A decoded IPv6 header chain (RFC 8200 sections 3 and 4) up to the upper-layer header.
public struct IPv6Packet: Hashable, Sendable {
    /// The fragment header's fields (RFC 8200 section 4.5).
    public struct Fragment: Hashable, Sendable {
        /// Offset in 8-byte units.
        public var offset: UInt16
        public var moreFragments: Bool
        public var identification: UInt32
    }

    public var source: IPAddress
    public var destination: IPAddress
    /// The upper-layer protocol after all skipped extension headers.
    public var transportProtocol: IPProtocol
    public var hopLimit: UInt8
    public var trafficClass: UInt8
    public var flowLabel: UInt32
    public var payloadLength: Int
    /// Number of extension headers skipped.
    public var extensionHeaderCount: Int
    public var fragment: Fragment?
    /// Upper-layer payload inside the decoded buffer (after extension headers, limited by the payload length).
    public var payloadRange: Range<Int>

    /// Only an unfragmented packet or the first fragment (offset 0) starts with the upper-layer header.
    public var carriesTransportHeader: Bool { (fragment?.offset ?? 0) == 0 }

    /// Decodes the fixed header and skips hop-by-hop, routing, destination-options, AH and fragment headers.
    public init(decoding bytes: UnsafeRawBufferPointer) throws(WireError) {
        guard let first = bytes.u8(at: 0), bytes.count >= 40 else {
            throw .truncated(layer: .ipv6, offset: 0, needed: 40, available: bytes.count)
        }
        guard first >> 4 == 6 else { throw .badIPVersion(first >> 4) }
        let word0 = bytes.u32(at: 0) ?? 0
        self.trafficClass = UInt8(truncatingIfNeeded: word0 >> 20)
        self.flowLabel = word0 & 0xFFFFF
        let payloadLength = Int(bytes.u16(at: 4) ?? 0)
        guard payloadLength > 0 else { throw .ipv6Jumbogram }
        let end = 40 + payloadLength
        guard bytes.count >= end else {
            throw .truncated(layer: .ipv6, offset: 0, needed: end, available: bytes.count)
        }
        self.payloadLength = payloadLength
        self.hopLimit = bytes.u8(at: 7) ?? 0
        self.source = IPAddress(bytes: bytes, at: 8, ipv6: true) ?? .ipv6Unspecified
        self.destination = IPAddress(bytes: bytes, at: 24, ipv6: true) ?? .ipv6Unspecified

        var next = IPProtocol(rawValue: bytes.u8(at: 6) ?? 0)
        var offset = 40
        var count = 0
        var fragment: Fragment?
        // Each extension header is at least 8 bytes, so this loop ends within the payload length.
        loop: while true {
            switch next {
            case .hopByHopOptions, .ipv6Routing, .ipv6DestinationOptions, .authenticationHeader, .ipv6Fragment:
                guard offset + 8 <= end, let nextHeader = bytes.u8(at: offset), let lengthField = bytes.u8(at: offset + 1) else {
                    throw .truncated(layer: .ipv6ExtensionHeader, offset: offset, needed: 8, available: end - offset)
                }
                let length: Int
                switch next {
                case .ipv6Fragment:
                    let offsetAndFlags = bytes.u16(at: offset + 2) ?? 0
                    fragment = Fragment(
                        offset: offsetAndFlags >> 3, moreFragments: offsetAndFlags & 1 != 0,
                        identification: bytes.u32(at: offset + 4) ?? 0)
                    length = 8
                case .authenticationHeader:
                    length = (Int(lengthField) + 2) * 4  // RFC 4302 section 2.2
                default:
                    length = (Int(lengthField) + 1) * 8  // RFC 8200 section 4.3-4.6
                }
                guard offset + length <= end else {
                    throw .truncated(layer: .ipv6ExtensionHeader, offset: offset, needed: length, available: end - offset)
                }
                next = IPProtocol(rawValue: nextHeader)
                offset += length
                count += 1
                if fragment != nil && fragment!.offset != 0 { break loop }  // later fragments: the rest is opaque
            default:
                break loop
            }
        }
        self.transportProtocol = next
        self.extensionHeaderCount = count
        self.fragment = fragment
        self.payloadRange = offset..<end
    }
}
