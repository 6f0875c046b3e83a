import Wire
#if canImport(Glibc)
import Glibc
#endif

/// Turns captured frames into capture events: RTCP datagrams found on any UDP port (RFC 5761
/// section 4 heuristic, then RFC 3550 appendix A.2 validation) and first sightings of RTP sources.
/// One per capture thread; it allocates only for RTCP and for new RTP sources.
struct PacketClassifier {
    let linkType: LinkType
    /// The capture device's name ("any" yields names from LINUX_SLL2 interface indexes).
    let device: String?
    /// Whether the capture device is a loopback interface, when known.
    let deviceIsLoopback: Bool?
    /// Only datagrams with one of these ports at either end; empty: all.
    let ports: Set<UInt16>
    private var interfaceNames: [UInt32: String] = [:]
    private var mediaSources: Set<MediaSource> = []
    private var lastMediaSource: MediaSource?
    /// Bound on remembered RTP sources, so memory stays flat on hostile traffic.
    static let mediaSourceLimit = 4096
    /// Whether each frame's link header says if it crossed a loopback interface.
    let linkTellsInterface: Bool

    /// Only Linux cooked captures (v1 and v2) carry the interface's device type. BSD NULL/LOOP is
    /// the link type of loopback *and* of tunnels (BSD and macOS utun, tun, gif), so it tells
    /// nothing; Ethernet (Linux captures `lo` as Ethernet too) and raw IP tell nothing either.
    static func linkTellsInterface(_ linkType: LinkType) -> Bool {
        linkType == .linuxSLL || linkType == .linuxSLL2
    }

    init(linkType: LinkType, device: String?, deviceIsLoopback: Bool?, ports: Set<UInt16>) {
        self.linkType = linkType
        self.linkTellsInterface = Self.linkTellsInterface(linkType)
        self.device = device
        self.deviceIsLoopback = deviceIsLoopback
        self.ports = ports
    }

    /// Classifies one frame, handing what is news (an RTCP datagram, a new RTP source) to `report`;
    /// returns whether the frame held RTCP. Nothing else is built for the common frame, RTP of the
    /// source seen just before: no event, no optional of one to fill and destroy per packet.
    mutating func classify(_ frame: UnsafeRawBufferPointer, time: Int64, report: (CaptureEvent) -> Void) -> Bool {
        guard let packet = try? CapturedPacket(decoding: frame, linkType: linkType) else { return false }
        guard case .udp(let udp) = packet.transport else { return false }
        if !ports.isEmpty && !ports.contains(udp.sourcePort) && !ports.contains(udp.destinationPort) { return false }
        let payload = UnsafeRawBufferPointer(rebasing: frame[udp.payloadRange])
        if RTCPCompoundPacket.isLikelyRTCP(payload) {
            guard let compound = try? RTCPCompoundPacket(validating: payload) else { return false }
            report(.rtcp(observe(compound, packet: packet, udp: udp, time: time)))
            return true
        }
        // RTP (RFC 3550 section 5.1): version 2, SSRC at offset 8.
        guard payload.count >= 12, payload[0] >> 6 == 2 else { return false }
        let ssrc = UInt32(payload[8]) << 24 | UInt32(payload[9]) << 16 | UInt32(payload[10]) << 8 | UInt32(payload[11])
        let source = MediaSource(source: Endpoint(address: packet.ip.source, port: udp.sourcePort), ssrc: ssrc)
        if source == lastMediaSource { return false }
        lastMediaSource = source
        guard mediaSources.count < Self.mediaSourceLimit, mediaSources.insert(source).inserted else { return false }
        report(.mediaSource(source))
        return false
    }

    private mutating func observe(_ compound: RTCPCompoundPacket, packet: CapturedPacket, udp: UDPDatagram, time: Int64) -> RTCPObservation {
        var counts = RTCPKindCounts()
        counts.datagrams = 1
        var senders: [UInt32] = []
        var referenced: [UInt32] = []
        var rembs: [UInt64] = []
        var feedback = false
        for rtcp in compound {
            let kind = rtcp.kind
            counts.add(kind)
            if kind.isReceptionFeedback {
                // An SR without report blocks reports on nothing: it is the sender's own statement.
                if kind != .senderReport || rtcp.header.count > 0 { feedback = true }
            }
            if case .receiverEstimatedMaximumBitrate(let bitrate) = kind { rembs.append(bitrate) }
            if let sender = rtcp.senderSSRC, !senders.contains(sender) { senders.append(sender) }
            for ssrc in rtcp.referencedSSRCs where ssrc != 0 && !referenced.contains(ssrc) { referenced.append(ssrc) }
        }
        let source = packet.ip.source, destination = packet.ip.destination
        let loopback = (linkTellsInterface ? packet.link.isLoopbackInterface : nil) ?? deviceIsLoopback
            ?? (destination.isLoopback || destination.isUnspecified || source == destination)
        return RTCPObservation(
            time: time, interface: interfaceName(packet.link.interfaceIndex), onLoopback: loopback,
            source: Endpoint(address: source, port: udp.sourcePort),
            destination: Endpoint(address: destination, port: udp.destinationPort),
            counts: counts, senderSSRCs: senders, referencedSSRCs: referenced, rembBitrates: rembs,
            carriesFeedback: feedback)
    }

    private mutating func interfaceName(_ index: UInt32?) -> String? {
        guard let index else { return device }
        // Offline, an index names an interface of the machine that captured: do not resolve it here.
        guard device == "any" else { return device ?? "if\(index)" }
        if let name = interfaceNames[index] { return name }
        var buffer = [CChar](repeating: 0, count: Int(IF_NAMESIZE) + 1)
        let name = if_indextoname(index, &buffer) != nil ? String(cString: buffer) : "if\(index)"
        interfaceNames[index] = name
        return name
    }
}
