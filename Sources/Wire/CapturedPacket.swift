/// One captured frame decoded through link layer, IP and transport; every range is an offset into the frame.
public struct CapturedPacket: Hashable, Sendable {
    /// What follows the IP header(s).
    public enum Transport: Hashable, Sendable {
        /// A UDP datagram; its `payloadRange` is relative to the frame.
        case udp(UDPDatagram)
        /// An ICMP/ICMPv6 message; its `bodyRange` is relative to the frame. Never RTCP, even when it quotes RTCP.
        case icmp(ICMPMessage)
        /// A non-first fragment: no transport header here.
        case fragment(IPProtocol)
        /// Any other protocol, left undecoded.
        case other(IPProtocol)
    }

    public var link: LinkFrame
    /// The IP header; its `payloadRange` is relative to the frame.
    public var ip: IPPacket
    public var transport: Transport

    /// The UDP payload's range in the frame, when this is a UDP datagram.
    public var udpPayloadRange: Range<Int>? {
        if case .udp(let udp) = transport { udp.payloadRange } else { nil }
    }

    /// Decodes `frame` captured with `linkType`. Allocates nothing; the frame is only read.
    public init(decoding frame: UnsafeRawBufferPointer, linkType: LinkType) throws(WireError) {
        let link = try LinkLayer.decode(frame, linkType: linkType)
        let base = link.payloadRange.lowerBound
        let ipBytes = UnsafeRawBufferPointer(rebasing: frame[link.payloadRange])
        var ip: IPPacket
        switch link.networkProtocol {
        case .ipv4:
            var v4 = try IPv4Packet(decoding: ipBytes)
            v4.payloadRange = (v4.payloadRange.lowerBound + base)..<(v4.payloadRange.upperBound + base)
            ip = .v4(v4)
        case .ipv6:
            guard let first = ipBytes.u8(at: 0), first >> 4 == 6 else {
                throw .badIPVersion((ipBytes.u8(at: 0) ?? 0) >> 4)
            }
            var v6 = try IPv6Packet(decoding: ipBytes)
            v6.payloadRange = (v6.payloadRange.lowerBound + base)..<(v6.payloadRange.upperBound + base)
            ip = .v6(v6)
        }
        self.link = link
        self.ip = ip
        let range = ip.payloadRange
        let payload = UnsafeRawBufferPointer(rebasing: frame[range])
        let proto = ip.transportProtocol
        if !ip.carriesTransportHeader {
            transport = .fragment(proto)
            return
        }
        switch proto {
        case .udp:
            var udp = try UDPDatagram(decoding: payload)
            udp.payloadRange = (udp.payloadRange.lowerBound + range.lowerBound)..<(udp.payloadRange.upperBound + range.lowerBound)
            transport = .udp(udp)
        case .icmp, .icmpv6:
            var icmp = try ICMPMessage(decoding: payload, isICMPv6: proto == .icmpv6)
            icmp.bodyRange = (icmp.bodyRange.lowerBound + range.lowerBound)..<(icmp.bodyRange.upperBound + range.lowerBound)
            transport = .icmp(icmp)
        default:
            transport = .other(proto)
        }
    }
}
