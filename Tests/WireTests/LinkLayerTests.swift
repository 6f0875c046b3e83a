import Testing
@testable import Wire

@Suite("Link layers")
struct LinkLayerTests {
    let ipPacket = Layouts.ipv4(
        source: IPAddress(10, 0, 0, 5), destination: IPAddress(10, 0, 0, 9),
        payload: Layouts.udp(sourcePort: 5005, destinationPort: 40001, payload: [0x80, 0xC9, 0, 1, 0, 0, 0, 1]))

    func decode(_ frame: [UInt8], _ type: LinkType) throws -> LinkFrame {
        try frame.withBytes { try LinkLayer.decode($0, linkType: type) }
    }

    @Test func ethernet() throws {
        let frame = Layouts.ethernet(etherType: 0x0800, payload: ipPacket)
        let link = try decode(frame, .ethernet)
        #expect(link.networkProtocol == .ipv4)
        #expect(link.payloadRange == 14..<frame.count)
        #expect(link.isLoopbackInterface == nil)
        #expect(link.interfaceIndex == nil)
        #expect(link.vlanID == nil)
    }

    @Test func ethernetWithQinQTags() throws {
        let frame = Layouts.ethernet(etherType: 0x86DD, vlans: [(0x88A8, 0x2064), (0x8100, 0x0007)], payload: [0x60])
        let link = try decode(frame, .ethernet)
        #expect(link.networkProtocol == .ipv6)
        #expect(link.payloadRange == 22..<frame.count)
        #expect(link.vlanID == 100)
    }

    @Test func ethernetCarryingARPIsNotIP() {
        let frame = Layouts.ethernet(etherType: 0x0806, payload: [0, 1])
        #expect(throws: WireError.notIP(linkProtocol: 0x0806)) { try decode(frame, .ethernet) }
    }

    @Test func ethernetTruncatedInsideVLANTag() {
        let frame = Array(Layouts.ethernet(etherType: 0x0800, vlans: [(0x8100, 5)], payload: []).prefix(15))
        #expect(throws: WireError.truncated(layer: .link, offset: 12, needed: 4, available: 15)) { try decode(frame, .ethernet) }
    }

    func sll(arphrd: UInt16, proto: UInt16) -> [UInt8] {
        var b = ByteBuilder()
        b.u16(0); b.u16(arphrd); b.u16(6); b.append([0, 0, 0, 0, 0, 0, 0, 0]); b.u16(proto)
        b.append(ipPacket)
        return b.bytes
    }

    @Test func linuxSLLLoopbackAndEthernetDevices() throws {
        let lo = try decode(sll(arphrd: 772, proto: 0x0800), .linuxSLL)
        #expect(lo.isLoopbackInterface == true)
        #expect(lo.deviceType == 772)
        #expect(lo.payloadRange.lowerBound == 16)
        let eth = try decode(sll(arphrd: 1, proto: 0x0800), .linuxSLL)
        #expect(eth.isLoopbackInterface == false)
        #expect(eth.interfaceIndex == nil)
    }

    func sll2(ifindex: UInt32, arphrd: UInt16) -> [UInt8] {
        var b = ByteBuilder()
        b.u16(0x0800); b.u16(0); b.u32(ifindex); b.u16(arphrd); b.u8(0); b.u8(6)
        b.append([1, 2, 3, 4, 5, 6, 0, 0])
        b.append(ipPacket)
        return b.bytes
    }

    @Test func linuxSLL2CarriesInterfaceIndex() throws {
        let lo = try decode(sll2(ifindex: 1, arphrd: 772), .linuxSLL2)
        #expect(lo.isLoopbackInterface == true)
        #expect(lo.interfaceIndex == 1)
        #expect(lo.payloadRange.lowerBound == 20)
        let eth = try decode(sll2(ifindex: 3, arphrd: 1), .linuxSLL2)
        #expect(eth.isLoopbackInterface == false)
        #expect(eth.interfaceIndex == 3)
        #expect(throws: WireError.truncated(layer: .link, offset: 0, needed: 20, available: 19)) {
            try decode(Array(sll2(ifindex: 1, arphrd: 1).prefix(19)), .linuxSLL2)
        }
    }

    @Test(arguments: [
        (LinkType.null, [UInt8]([2, 0, 0, 0]), NetworkProtocol.ipv4),  // host order, little-endian machine
        (LinkType.null, [0, 0, 0, 2], .ipv4),  // host order, big-endian machine
        (LinkType.null, [30, 0, 0, 0], .ipv6),  // Darwin AF_INET6
        (LinkType.loop, [0, 0, 0, 24], .ipv6),  // OpenBSD, network order
        (LinkType.loop, [0, 0, 0, 28], .ipv6),  // FreeBSD
        (LinkType.null, [10, 0, 0, 0], .ipv6),  // Linux
    ])
    func bsdLoopback(type: LinkType, family: [UInt8], expected: NetworkProtocol) throws {
        let link = try decode(family + [0x45], type)
        #expect(link.networkProtocol == expected)
        #expect(link.isLoopbackInterface == true)
        #expect(link.payloadRange == 4..<5)
    }

    @Test func bsdLoopbackUnknownFamily() {
        #expect(throws: WireError.notIP(linkProtocol: 23)) { try decode([0x17, 0, 0, 0], .null) }
    }

    @Test(arguments: [LinkType.raw, .rawLinux, .rawBSD, .ipv4])
    func rawIPv4(type: LinkType) throws {
        let link = try decode(ipPacket, type)
        #expect(link.networkProtocol == .ipv4)
        #expect(link.payloadRange == 0..<ipPacket.count)
        #expect(link.isLoopbackInterface == nil)
    }

    @Test func rawIPv6AndMismatchedVersions() throws {
        #expect(try decode([0x60, 0], .raw).networkProtocol == .ipv6)
        #expect(try decode([0x60, 0], .ipv6).networkProtocol == .ipv6)
        #expect(throws: WireError.badIPVersion(6)) { try decode([0x60], .ipv4) }
        #expect(throws: WireError.badIPVersion(4)) { try decode([0x45], .ipv6) }
        #expect(throws: WireError.badIPVersion(5)) { try decode([0x50], .raw) }
        #expect(throws: WireError.truncated(layer: .link, offset: 0, needed: 1, available: 0)) { try decode([], .raw) }
    }

    @Test func unsupportedLinkType() {
        #expect(throws: WireError.unsupportedLinkType(127)) { try decode(ipPacket, LinkType(rawValue: 127)) }
        #expect(LinkType.linuxSLL2.description == "LINUX_SLL2")
    }

    @Test func fullFrameThroughSLL2ToUDPPayload() throws {
        let frame = sll2(ifindex: 1, arphrd: 772)
        let packet = try frame.withBytes { try CapturedPacket(decoding: $0, linkType: .linuxSLL2) }
        #expect(packet.link.isLoopbackInterface == true)
        #expect(packet.ip.source == IPAddress(10, 0, 0, 5))
        #expect(packet.ip.destination == IPAddress(10, 0, 0, 9))
        guard case .udp(let udp) = packet.transport else { Issue.record("not UDP"); return }
        #expect(udp.sourcePort == 5005 && udp.destinationPort == 40001)
        #expect(Array(frame[udp.payloadRange]) == [0x80, 0xC9, 0, 1, 0, 0, 0, 1])
        #expect(packet.udpPayloadRange == udp.payloadRange)
    }
}
