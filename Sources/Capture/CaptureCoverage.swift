import Wire

/// What a capture could see: the analyser needs it to tell "no feedback" from "not looked where it goes".
public struct CaptureCoverage: Hashable, Sendable {
    /// A loopback interface was captured (or `any`, or a file: assumed).
    public var loopback: Bool
    /// A non-loopback interface was captured (or `any`, or a file: assumed).
    public var network: Bool
    public init(loopback: Bool, network: Bool) {
        self.loopback = loopback
        self.network = network
    }
    /// Everything: `any`, or a capture file whose origin is unknown.
    public static let everything = CaptureCoverage(loopback: true, network: true)
}

/// Packet counts of a capture so far, and what its link types can tell.
public struct CaptureStatistics: Hashable, Sendable {
    /// The link types of the file or of the devices captured, in order, without repeats.
    public var linkTypes: [LinkType] = []
    /// Whether the link type (Linux cooked v1/v2) or the capture device (a named interface) says
    /// which interface each packet crossed. When not (a file of BSD NULL/LOOP, Ethernet or raw IP),
    /// loopback is decided by address: destination in 127/8, 0.0.0.0 or ::1, or source = destination.
    public var interfaceKnown = true
    /// Frames read from the devices or the file.
    public var frames = 0
    /// Frames that held a valid RTCP compound packet.
    public var rtcpDatagrams = 0
    /// Frames the kernel dropped (live only, from pcap_stats).
    public var dropped = 0
    public init() {}
}
