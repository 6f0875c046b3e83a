/// A libpcap link-layer header type (the LINKTYPE_/DLT_ number a capture reports).
public struct LinkType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// BSD loopback, AF family in host byte order.
    public static let null = LinkType(rawValue: 0)
    /// Ethernet II (with optional 802.1Q / 802.1ad tags).
    public static let ethernet = LinkType(rawValue: 1)
    /// Raw IP as `pcap_datalink()` reports it on Linux (DLT_RAW = 12).
    public static let rawLinux = LinkType(rawValue: 12)
    /// Raw IP as DLT_RAW on some BSDs (14).
    public static let rawBSD = LinkType(rawValue: 14)
    /// Raw IP as written in capture files (LINKTYPE_RAW = 101).
    public static let raw = LinkType(rawValue: 101)
    /// OpenBSD loopback, AF family in network byte order.
    public static let loop = LinkType(rawValue: 108)
    /// Linux cooked capture v1 (16-byte header).
    public static let linuxSLL = LinkType(rawValue: 113)
    /// Raw IPv4 only.
    public static let ipv4 = LinkType(rawValue: 228)
    /// Raw IPv6 only.
    public static let ipv6 = LinkType(rawValue: 229)
    /// Linux cooked capture v2 (20-byte header with interface index).
    public static let linuxSLL2 = LinkType(rawValue: 276)

    public var description: String {
        switch self {
        case .null: "NULL"
        case .ethernet: "EN10MB"
        case .rawLinux, .rawBSD, .raw: "RAW"
        case .loop: "LOOP"
        case .linuxSLL: "LINUX_SLL"
        case .ipv4: "IPV4"
        case .ipv6: "IPV6"
        case .linuxSLL2: "LINUX_SLL2"
        default: "linktype \(rawValue)"
        }
    }
}

/// The network-layer protocol a link-layer header announces.
public enum NetworkProtocol: Hashable, Sendable {
    case ipv4, ipv6
}

/// What the link layer of one captured frame says: where the IP packet is and which interface it was seen on.
public struct LinkFrame: Hashable, Sendable {
    /// IPv4 or IPv6.
    public var networkProtocol: NetworkProtocol
    /// Byte range of the IP packet inside the frame (to the end of the frame; IP lengths trim it further).
    public var payloadRange: Range<Int>
    /// true/false when the link type tells (SLL/SLL2 ARPHRD 772, BSD loopback); nil when it carries no interface info.
    public var isLoopbackInterface: Bool?
    /// Interface index when the link type carries it (LINUX_SLL2).
    public var interfaceIndex: UInt32?
    /// ARPHRD device type when the link type carries it (LINUX_SLL, LINUX_SLL2).
    public var deviceType: UInt16?
    /// Outermost 802.1Q/802.1ad VLAN ID, when the Ethernet frame was tagged.
    public var vlanID: UInt16?
}

/// Decodes link-layer headers of captured frames.
public enum LinkLayer {
    /// Linux ARPHRD_LOOPBACK, the device type of `lo` in cooked captures.
    public static let arphrdLoopback: UInt16 = 772

    /// Decodes the link-layer header of `frame` captured with `linkType`.
    public static func decode(_ frame: UnsafeRawBufferPointer, linkType: LinkType) throws(WireError) -> LinkFrame {
        switch linkType {
        case .ethernet:
            return try decodeEthernet(frame)
        case .linuxSLL:
            // Header: packet type, ARPHRD type, address length, 8 address bytes, protocol.
            guard let arphrd = frame.u16(at: 2), let proto = frame.u16(at: 14) else {
                throw .truncated(layer: .link, offset: 0, needed: 16, available: frame.count)
            }
            return LinkFrame(
                networkProtocol: try etherTypeProtocol(proto), payloadRange: 16..<frame.count,
                isLoopbackInterface: arphrd == arphrdLoopback, interfaceIndex: nil, deviceType: arphrd, vlanID: nil)
        case .linuxSLL2:
            // Header: protocol, reserved, interface index, ARPHRD type, packet type, address length, 8 address bytes.
            guard frame.count >= 20, let proto = frame.u16(at: 0), let index = frame.u32(at: 4),
                  let arphrd = frame.u16(at: 8)
            else { throw .truncated(layer: .link, offset: 0, needed: 20, available: frame.count) }
            return LinkFrame(
                networkProtocol: try etherTypeProtocol(proto), payloadRange: 20..<frame.count,
                isLoopbackInterface: arphrd == arphrdLoopback, interfaceIndex: index, deviceType: arphrd, vlanID: nil)
        case .null, .loop:
            guard let big = frame.u32(at: 0), let little = frame.u32LittleEndian(at: 0) else {
                throw .truncated(layer: .link, offset: 0, needed: 4, available: frame.count)
            }
            // The family is in host order for NULL and network order for LOOP, but captures
            // move between machines: accept whichever order gives a known family.
            let proto: NetworkProtocol
            if let p = addressFamilyProtocol(big) ?? addressFamilyProtocol(little) {
                proto = p
            } else {
                throw .notIP(linkProtocol: linkType == .loop ? big : little)
            }
            return LinkFrame(
                networkProtocol: proto, payloadRange: 4..<frame.count,
                isLoopbackInterface: true, interfaceIndex: nil, deviceType: nil, vlanID: nil)
        case .raw, .rawLinux, .rawBSD, .ipv4, .ipv6:
            guard let first = frame.u8(at: 0) else {
                throw .truncated(layer: .link, offset: 0, needed: 1, available: 0)
            }
            let version = first >> 4
            let proto: NetworkProtocol
            switch version {
            case 4 where linkType != .ipv6: proto = .ipv4
            case 6 where linkType != .ipv4: proto = .ipv6
            default: throw .badIPVersion(version)
            }
            return LinkFrame(
                networkProtocol: proto, payloadRange: 0..<frame.count,
                isLoopbackInterface: nil, interfaceIndex: nil, deviceType: nil, vlanID: nil)
        default:
            throw .unsupportedLinkType(linkType.rawValue)
        }
    }

    static func decodeEthernet(_ frame: UnsafeRawBufferPointer) throws(WireError) -> LinkFrame {
        // Ethernet II: destination MAC, source MAC, EtherType at offset 12.
        var offset = 12
        var vlanID: UInt16?
        while true {
            guard let etherType = frame.u16(at: offset) else {
                throw .truncated(layer: .link, offset: offset, needed: 2, available: frame.count)
            }
            switch etherType {
            case 0x8100, 0x88A8, 0x9100:
                // IEEE 802.1Q / 802.1ad tag: TCI (PCP, DEI, 12-bit VID), then the next EtherType.
                guard let tci = frame.u16(at: offset + 2) else {
                    throw .truncated(layer: .link, offset: offset, needed: 4, available: frame.count)
                }
                if vlanID == nil { vlanID = tci & 0x0FFF }
                offset += 4
            default:
                return LinkFrame(
                    networkProtocol: try etherTypeProtocol(etherType), payloadRange: (offset + 2)..<frame.count,
                    isLoopbackInterface: nil, interfaceIndex: nil, deviceType: nil, vlanID: vlanID)
            }
        }
    }

    static func etherTypeProtocol(_ etherType: UInt16) throws(WireError) -> NetworkProtocol {
        switch etherType {
        case 0x0800: .ipv4
        case 0x86DD: .ipv6
        default: throw .notIP(linkProtocol: UInt32(etherType))
        }
    }

    /// AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24 (Open/NetBSD), 28 (FreeBSD), 30 (Darwin).
    static func addressFamilyProtocol(_ family: UInt32) -> NetworkProtocol? {
        switch family {
        case 2: .ipv4
        case 10, 24, 28, 30: .ipv6
        default: nil
        }
    }
}
