/// Why a datagram is not a valid compound RTCP packet (RFC 3550 appendix A.2); offsets are from the datagram start.
public enum RTCPError: Error, Hashable, Sendable {
    /// The datagram has no bytes.
    case empty
    /// Fewer than 4 bytes remain at `offset`, so no packet header fits.
    case truncatedHeader(offset: Int, available: Int)
    /// The version field of the packet at `offset` is not 2.
    case badVersion(offset: Int, version: UInt8)
    /// The first packet is neither SR nor RR (nor RTPFB/PSFB, which RFC 5506 reduced-size RTCP allows).
    case badFirstPacketType(UInt8)
    /// The packet at `offset` declares `declared` bytes but only `available` remain in the datagram.
    case lengthMismatch(offset: Int, declared: Int, available: Int)
    /// The padding bit is set on a packet that is not the last one (RFC 3550 section 6.4.1, A.2).
    case paddingNotInLastPacket(offset: Int)
    /// The padding count in the last octet is 0 or larger than the packet body.
    case badPadding(offset: Int, count: UInt8)
    /// The packet at `offset` is too short for what its header announces.
    case malformedPacket(offset: Int, packetType: UInt8, reason: RTCPMalformation)
}

/// What was inconsistent inside one RTCP packet.
public enum RTCPMalformation: Hashable, Sendable {
    /// Fewer bytes than the fixed part plus the announced report blocks / SSRCs / entries.
    case tooShortForCount
    /// An SDES item or chunk runs past the packet, or a chunk has no terminating null item.
    case sdesItemOverrun
    /// The BYE reason length runs past the packet.
    case byeReasonOverrun
    /// A feedback message is shorter than its common header or its FCI.
    case feedbackTooShort
}
