import Testing
@testable import Wire

@Suite("IPv4, IPv6, UDP, ICMP")
struct IPTests {
    let a = IPAddress(192, 168, 1, 10)
    let b = IPAddress(192, 168, 1, 64)
    let rtcp: [UInt8] = [0x80, 0xC9, 0, 1, 0xDE, 0xAD, 0xBE, 0xEF]

    func captured(_ ip: [UInt8], link: LinkType = .raw) throws -> CapturedPacket {
        try ip.withBytes { try CapturedPacket(decoding: $0, linkType: link) }
    }

    @Test func ipv4WithOptionsAndEthernetTrailer() throws {
        // Router-alert option (RFC 2113) plus NOP padding: IHL 6.
        let packet = Layouts.ipv4(
            source: a, destination: b, options: [0x94, 0x04, 0x00, 0x00],
            payload: Layouts.udp(sourcePort: 5001, destinationPort: 6001, payload: rtcp))
        let framed = Layouts.ethernet(etherType: 0x0800, payload: packet + [0, 0, 0, 0, 0, 0])  // Ethernet minimum-size padding
        let decoded = try captured(framed, link: .ethernet)
        guard case .v4(let v4) = decoded.ip else { Issue.record("not IPv4"); return }
        #expect(v4.headerLength == 24)
        #expect(v4.totalLength == packet.count)
        #expect(v4.dontFragment && !v4.moreFragments)
        #expect(v4.payloadRange == (14 + 24)..<(14 + packet.count))
        #expect(decoded.udpPayloadRange.map { Array(framed[$0]) } == rtcp)
    }

    @Test func ipv4Fragments() throws {
        let udp = Layouts.udp(sourcePort: 1, destinationPort: 2, payload: rtcp)
        let first = try captured(Layouts.ipv4(source: a, destination: b, flagsAndOffset: 0x2000, payload: udp))
        if case .udp = first.transport {} else { Issue.record("first fragment should carry UDP") }
        let later = try captured(Layouts.ipv4(source: a, destination: b, flagsAndOffset: 0x0003, payload: udp))
        #expect(later.transport == .fragment(.udp))
    }

    @Test func ipv4Malformed() {
        var bad = Layouts.ipv4(source: a, destination: b, payload: [])
        bad[0] = 0x44
        #expect(throws: WireError.badIPv4HeaderLength(ihl: 4, totalLength: 20)) { try captured(bad) }
        var long = Layouts.ipv4(source: a, destination: b, payload: [1, 2])
        long[3] = 40
        #expect(throws: WireError.truncated(layer: .ipv4, offset: 0, needed: 40, available: 22)) { try captured(long) }
        #expect(throws: WireError.truncated(layer: .ipv4, offset: 0, needed: 20, available: 19)) {
            try captured(Array(long.prefix(19)))
        }
    }

    @Test func udpLengthIsHonoured() throws {
        var udp = Layouts.udp(sourcePort: 1, destinationPort: 2, payload: rtcp + [9, 9, 9, 9])
        udp[5] = UInt8(8 + rtcp.count)  // UDP length shorter than the IP payload
        let ip = Layouts.ipv4(source: a, destination: b, payload: udp)
        let packet = try captured(ip)
        #expect(packet.udpPayloadRange.map { Array(ip[$0]) } == rtcp)
        udp[5] = 200
        #expect(throws: WireError.badUDPLength(200, available: udp.count)) {
            try captured(Layouts.ipv4(source: a, destination: b, payload: udp))
        }
        udp[5] = 7
        #expect(throws: WireError.badUDPLength(7, available: udp.count)) {
            try captured(Layouts.ipv4(source: a, destination: b, payload: udp))
        }
    }

    @Test func icmpPortUnreachableQuotingRTCPIsNotUDP() throws {
        // What Linux sends back over lo when RTCP goes to 127.0.0.1 with nobody listening.
        let quoted = Layouts.ipv4(
            source: .ipv4Loopback, destination: .ipv4Loopback,
            payload: Layouts.udp(sourcePort: 5001, destinationPort: 6001, payload: rtcp))
        let icmp: [UInt8] = [3, 3, 0, 0, 0, 0, 0, 0] + quoted
        let packet = try captured(Layouts.ipv4(source: .ipv4Loopback, destination: .ipv4Loopback, protocol: 1, payload: icmp))
        guard case .icmp(let message) = packet.transport else { Issue.record("not ICMP"); return }
        #expect(message.isError && message.isPortUnreachable && !message.isICMPv6)
        #expect(message.bodyRange == 28..<(28 + quoted.count))
        #expect(packet.udpPayloadRange == nil)
    }

    @Test func ipv6WithExtensionHeaders() throws {
        let src = try #require(IPAddress("2001:db8::5"))
        let dst = try #require(IPAddress("2001:db8::9"))
        let udp = Layouts.udp(sourcePort: 7000, destinationPort: 7001, payload: rtcp)
        let packet = Layouts.ipv6(
            source: src, destination: dst,
            extensions: [
                (0, [1, 4, 0, 0, 0, 0]),  // hop-by-hop with a PadN option
                (43, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),  // routing, 16 bytes
                (60, [1, 4, 0, 0, 0, 0]),  // destination options
            ],
            payload: udp)
        let decoded = try captured(packet, link: .ipv6)
        guard case .v6(let v6) = decoded.ip else { Issue.record("not IPv6"); return }
        #expect(v6.source == src && v6.destination == dst)
        #expect(v6.extensionHeaderCount == 3)
        #expect(v6.transportProtocol == .udp)
        #expect(v6.payloadRange == (40 + 32)..<packet.count)
        #expect(decoded.udpPayloadRange.map { Array(packet[$0]) } == rtcp)
    }

    @Test func ipv6Fragments() throws {
        let src = IPAddress.ipv6Loopback
        let udp = Layouts.udp(sourcePort: 7000, destinationPort: 7001, payload: rtcp)
        let first = Layouts.ipv6(source: src, destination: src, extensions: [(44, [0, 1, 0, 0, 0, 42])], payload: udp)
        let decodedFirst = try captured(first)
        if case .v6(let v6) = decodedFirst.ip {
            #expect(v6.fragment == IPv6Packet.Fragment(offset: 0, moreFragments: true, identification: 42))
        }
        if case .udp = decodedFirst.transport {} else { Issue.record("first fragment should carry UDP") }
        let later = Layouts.ipv6(source: src, destination: src, extensions: [(44, [0, 0x18, 0, 0, 0, 42])], payload: udp)
        #expect(try captured(later).transport == .fragment(.udp))
    }

    @Test func ipv6Malformed() throws {
        let src = IPAddress.ipv6Loopback
        var packet = Layouts.ipv6(source: src, destination: src, extensions: [(0, [0, 0, 0, 0, 0, 0])], payload: [])
        packet[41] = 3  // hop-by-hop claims 32 bytes, 8 available
        #expect(throws: WireError.truncated(layer: .ipv6ExtensionHeader, offset: 40, needed: 32, available: 8)) { try captured(packet) }
        var jumbo = Layouts.ipv6(source: src, destination: src, payload: [1])
        jumbo[5] = 0
        #expect(throws: WireError.ipv6Jumbogram) { try captured(jumbo) }
    }

    @Test func icmpv6() throws {
        let src = IPAddress.ipv6Loopback
        let packet = Layouts.ipv6(source: src, destination: src, protocol: 58, payload: [1, 4, 0, 0, 0, 0, 0, 0, 0x60])
        guard case .icmp(let message) = try captured(packet).transport else { Issue.record("not ICMPv6"); return }
        #expect(message.isICMPv6 && message.isError && message.isPortUnreachable)
        let echo = Layouts.ipv6(source: src, destination: src, protocol: 58, payload: [128, 0, 0, 0, 0, 0, 0, 0])
        guard case .icmp(let request) = try captured(echo).transport else { Issue.record("not ICMPv6"); return }
        #expect(!request.isError)
    }
}
