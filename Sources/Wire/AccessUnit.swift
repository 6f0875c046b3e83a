/// The video codecs camhost depacketizes and records.
public enum VideoCodec: String, Sendable, Hashable, CaseIterable {
    /// H.264 / AVC, RTP payload format RFC 6184.
    case h264
    /// H.265 / HEVC, RTP payload format RFC 7798.
    case h265
}

/// One coded picture as the depacketizer hands it on: the seam between a stream's RTP input and
/// everything that consumes pictures (the fMP4 recorder, the live fan-out).
public struct AccessUnit: Sendable, Hashable {
    public var codec: VideoCodec
    /// The NAL units of the picture in decoding order, each without start code or length prefix.
    public var nalUnits: [[UInt8]]
    /// The RTP timestamp extended past wrap-around (RFC 3550 §5.1), in the clock of the payload
    /// format (90 kHz for video, RFC 6184 §5.1), so successive pictures compare and subtract.
    public var timestamp: Int64
    /// A picture a decoder can start from: H.264 IDR (nal_unit_type 5) or H.265 IRAP (16–23).
    public var isKeyframe: Bool

    public init(codec: VideoCodec, nalUnits: [[UInt8]], timestamp: Int64, isKeyframe: Bool) {
        self.codec = codec
        self.nalUnits = nalUnits
        self.timestamp = timestamp
        self.isKeyframe = isKeyframe
    }
}

/// The parameter sets a decoder needs before the first picture: SPS and PPS, and VPS for H.265.
public struct ParameterSets: Sendable, Hashable {
    public var vps: [UInt8]?
    public var sps: [UInt8]
    public var pps: [UInt8]

    public init(vps: [UInt8]? = nil, sps: [UInt8], pps: [UInt8]) {
        self.vps = vps
        self.sps = sps
        self.pps = pps
    }
}
