/// An RTCP packet type (RFC 3550 section 12.1, RFC 4585 section 6.1, RFC 3611).
public struct RTCPPacketType: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let senderReport = RTCPPacketType(rawValue: 200)
    public static let receiverReport = RTCPPacketType(rawValue: 201)
    public static let sourceDescription = RTCPPacketType(rawValue: 202)
    public static let goodbye = RTCPPacketType(rawValue: 203)
    public static let application = RTCPPacketType(rawValue: 204)
    /// Transport-layer feedback, RTPFB (RFC 4585 section 6.2).
    public static let transportFeedback = RTCPPacketType(rawValue: 205)
    /// Payload-specific feedback, PSFB (RFC 4585 section 6.3).
    public static let payloadFeedback = RTCPPacketType(rawValue: 206)
    /// Extended reports, XR (RFC 3611).
    public static let extendedReport = RTCPPacketType(rawValue: 207)
}

/// The common 4-byte RTCP header (RFC 3550 section 6.4.1).
public struct RTCPHeader: Hashable, Sendable {
    /// Offset of the packet in its compound datagram.
    public var offset: Int
    public var padding: Bool
    /// The 5-bit field: report count, source count, subtype or feedback message type (FMT).
    public var count: UInt8
    public var packetType: RTCPPacketType
    /// The length field: packet length in 32-bit words minus one.
    public var lengthField: UInt16
    /// Total packet length in bytes, header and padding included.
    public var byteCount: Int { (Int(lengthField) + 1) * 4 }
}
