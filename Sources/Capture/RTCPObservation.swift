import Wire

/// An address and UDP port, as seen on the wire.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16
    public init(address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }
    public var description: String { address.isIPv6 ? "[\(address)]:\(port)" : "\(address):\(port)" }
}

/// RTCP packets counted by type inside compound datagrams, in the names RFC 3550/4585/5104 use.
/// RTPFB counts every transport-layer feedback packet (NACK and TWCC included), PSFB every
/// payload-specific one (PLI, FIR and REMB included); NACK, PLI, FIR and REMB are counted again on their own.
public struct RTCPKindCounts: Hashable, Sendable {
    public var datagrams = 0
    public var senderReports = 0
    public var receiverReports = 0
    public var sourceDescriptions = 0
    public var goodbyes = 0
    public var applications = 0
    public var transportFeedback = 0
    public var payloadFeedback = 0
    public var nacks = 0
    public var pictureLossIndications = 0
    public var fullIntraRequests = 0
    public var rembs = 0
    /// Transport-wide congestion control feedback (also in `transportFeedback`).
    public var transportWideCC = 0

    public init() {}

    public mutating func add(_ kind: RTCPKind) {
        switch kind {
        case .senderReport: senderReports += 1
        case .receiverReport: receiverReports += 1
        case .sourceDescription: sourceDescriptions += 1
        case .goodbye: goodbyes += 1
        case .application: applications += 1
        case .genericNACK: transportFeedback += 1; nacks += 1
        case .transportWideCC: transportFeedback += 1; transportWideCC += 1
        case .transportFeedback: transportFeedback += 1
        case .pictureLossIndication: payloadFeedback += 1; pictureLossIndications += 1
        case .fullIntraRequest: payloadFeedback += 1; fullIntraRequests += 1
        case .receiverEstimatedMaximumBitrate: payloadFeedback += 1; rembs += 1
        case .payloadFeedback: payloadFeedback += 1
        case .extendedReport, .unknown: break
        }
    }

    public mutating func add(_ other: RTCPKindCounts) {
        datagrams += other.datagrams
        senderReports += other.senderReports
        receiverReports += other.receiverReports
        sourceDescriptions += other.sourceDescriptions
        goodbyes += other.goodbyes
        applications += other.applications
        transportFeedback += other.transportFeedback
        payloadFeedback += other.payloadFeedback
        nacks += other.nacks
        pictureLossIndications += other.pictureLossIndications
        fullIntraRequests += other.fullIntraRequests
        rembs += other.rembs
        transportWideCC += other.transportWideCC
    }

    /// The contract's key order: datagrams, SR, RR, SDES, BYE, APP, RTPFB, PSFB, NACK, PLI, FIR, REMB.
    public var fields: [(String, Int)] {
        [("datagrams", datagrams), ("SR", senderReports), ("RR", receiverReports), ("SDES", sourceDescriptions),
         ("BYE", goodbyes), ("APP", applications), ("RTPFB", transportFeedback), ("PSFB", payloadFeedback),
         ("NACK", nacks), ("PLI", pictureLossIndications), ("FIR", fullIntraRequests), ("REMB", rembs)]
    }

    /// "RR×12 SDES×12", non-zero packet types only.
    public var summary: String {
        fields.dropFirst().filter { $0.1 > 0 }.map { "\($0.0)×\($0.1)" }.joined(separator: " ")
    }
}

/// One UDP datagram that held a valid compound RTCP packet, with what the analyser needs,
/// copied out of the captured bytes so it can cross threads.
public struct RTCPObservation: Sendable {
    /// Capture time, nanoseconds since the epoch.
    public var time: Int64
    /// The interface it was captured on, when known (live capture, or LINUX_SLL2's index).
    public var interface: String?
    /// Whether it travelled over a loopback interface: from the link layer or the capture
    /// device when they tell, else by address (destination 127/8, 0.0.0.0 or ::1, or source = destination).
    public var onLoopback: Bool
    public var source: Endpoint
    public var destination: Endpoint
    /// Packet types inside the datagram; `datagrams` is 1.
    public var counts: RTCPKindCounts
    /// SSRCs of the packets' senders (SR/RR/feedback sender, first SDES/BYE source).
    public var senderSSRCs: [UInt32]
    /// Media SSRCs reported on or asked about: report blocks, feedback media SSRC, FIR/REMB lists.
    public var referencedSSRCs: [UInt32]
    /// Bitrates of REMB packets in the datagram, bit/s.
    public var rembBitrates: [UInt64]
    /// Whether any packet is reception feedback (reports, NACK, TWCC, PLI, FIR, REMB).
    public var carriesFeedback: Bool
}

/// A source of RTP seen for the first time: a camera's SSRC can be learnt from its media even before its first SR.
public struct MediaSource: Hashable, Sendable {
    public var source: Endpoint
    public var ssrc: UInt32
}

/// What the packet classifier hands from a capture thread to the analyser.
public enum CaptureEvent: Sendable {
    case rtcp(RTCPObservation)
    case mediaSource(MediaSource)
}
