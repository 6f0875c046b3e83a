import POSIX
import Wire

/// Which feedback messages beyond receiver reports and REMB the camera's firmware honours
/// (its SDP `a=rtcp-fb` lines: `nack`, `nack pli`, `ccm fir`).
public struct FeedbackKinds: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Generic NACK for lost packets (RFC 4585 section 6.2.1).
    public static let nack = FeedbackKinds(rawValue: 1)
    /// Picture loss indication when a keyframe is needed (RFC 4585 section 6.3.1).
    public static let pli = FeedbackKinds(rawValue: 2)
    /// Full intra request when a keyframe is needed (RFC 5104 section 4.3.1).
    public static let fir = FeedbackKinds(rawValue: 4)

    /// Parses a comma-separated list such as `nack,pli,fir`; nil names the unknown word.
    public static func parse(_ text: String) -> Result<FeedbackKinds, FeedbackKindsError> {
        var kinds: FeedbackKinds = []
        for word in text.split(separator: ",", omittingEmptySubsequences: false) {
            switch word {
            case "nack": kinds.insert(.nack)
            case "pli": kinds.insert(.pli)
            case "fir": kinds.insert(.fir)
            default: return .failure(FeedbackKindsError(word: String(word)))
            }
        }
        return .success(kinds)
    }

    public var names: [String] {
        [(FeedbackKinds.nack, "nack"), (.pli, "pli"), (.fir, "fir")].filter { contains($0.0) }.map(\.1)
    }
}

/// A word in a feedback list that is none of nack, pli, fir.
public struct FeedbackKindsError: Error, Sendable, CustomStringConvertible {
    public let word: String
    public var description: String { "unknown feedback \"\(word)\": use a comma-separated list of nack, pli, fir" }
}

/// One camera stream camhost receives: where it comes from, where it arrives, what it carries and
/// which feedback the camera hears.
public struct StreamConfiguration: Sendable {
    /// The camera's id, for reports and recordings.
    public var camera: String
    /// The camera's address: only its packets are the stream's; feedback goes there.
    public var source: IPAddress
    /// The local RTP port; RTCP arrives on `port + 1` unless `rtcpMux`.
    public var port: UInt16
    /// The camera's RTCP port, when its profile names one; else the port its own RTCP comes
    /// from (RFC 4961), else its RTP source port + 1.
    public var cameraRTCPPort: UInt16?
    /// RTP and RTCP on one port (RFC 5761).
    public var rtcpMux = false
    public var codec: VideoCodec = .h264
    /// The RTP clock rate of the payload format (90 kHz for video, RFC 6184 section 8.2.1).
    public var clockRate = 90_000
    public var feedback: FeedbackKinds = []
    /// The most REMB ever announces, in bit/s (the profile's maximum bitrate).
    public var maxBitrate: UInt64 = 8_000_000
    /// From the profile's `sprop-parameter-sets`, until the camera sends its own in band.
    public var parameterSets: ParameterSets?
    /// How long a packet waits for a missing one before it is declared lost.
    public var reorderWait: Duration = .milliseconds(100)
    /// How often receiver reports go out (the camera gives up after ~10 s without). A little
    /// under a second, so that no gap between two reports exceeds one even with scheduling delay.
    public var reportInterval: Duration = .milliseconds(950)
    /// The camera runs on this host (serve --demo's simulated cameras): a local or loopback
    /// source is then where the camera really listens, not the loopback trap.
    public var allowsLocalSource = false

    public init(camera: String, source: IPAddress, port: UInt16) {
        self.camera = camera
        self.source = source
        self.port = port
    }
}

/// Why a stream could not start.
public enum StreamError: Error, Sendable, CustomStringConvertible {
    /// Feedback for a camera must reach the camera: a loopback, unspecified or local address
    /// would deliver it on this host (the loopback trap).
    case refusedDestination(IPAddress, reason: String)
    /// The RTP or RTCP port is held by another socket.
    case portInUse(UInt16, SocketError)
    case socket(SocketError)

    public var description: String {
        switch self {
        case .refusedDestination(let address, let reason):
            "\(address) is \(reason): RTCP feedback sent there would stay on this host and never reach the camera (the loopback trap); give the camera's own address"
        case .portInUse(let port, let error):
            "UDP port \(port) is in use (\(error)); choose another --port or stop the process holding it"
        case .socket(let error):
            "\(error)"
        }
    }

    /// Checks that `address` may receive feedback: not loopback, not unspecified, not one of this host's.
    public static func checkDestination(_ address: IPAddress) throws(StreamError) {
        if address.isLoopback { throw .refusedDestination(address, reason: "a loopback address") }
        if address.isUnspecified { throw .refusedDestination(address, reason: "the unspecified address") }
        if localInterfaceAddresses().contains(where: { $0 == address.udpHost }) {
            throw .refusedDestination(address, reason: "an address of this host")
        }
    }
}

/// What a stream did, as counters: the `stream receive` report and the dashboard's numbers.
public struct StreamReport: Sendable, Hashable {
    public var camera: String
    /// The camera's RTP source address and port, once a packet came.
    public var source: String?
    /// RTP packets of the stream accepted (duplicates and late ones excluded).
    public var packets = 0
    public var bytes = 0
    /// Packets never received, counted over every source the camera used.
    public var lost = 0
    /// Packets that arrived after a later one and were put back in order.
    public var reordered = 0
    /// Datagrams from any other address, dropped.
    public var foreignPackets = 0
    /// Datagrams from the camera that are not RTP or RTCP, or whose payload did not decode.
    public var malformed = 0
    /// Duplicates, and packets that came after they had been declared lost.
    public var late = 0
    public var frames = 0
    public var keyframes = 0
    /// Pictures not handed on: damaged by loss, or before a keyframe.
    public var droppedFrames = 0
    /// RTCP datagrams sent, and where the last one went.
    public var rtcpSent = 0
    public var rtcpTo: String?
    public var rtcpReceived = 0
    public var nacksSent = 0
    public var keyframeRequests = 0
    /// The last REMB value sent (0 before the first).
    public var rembBitrate: UInt64 = 0
    /// Received bitrate over the last report interval, bit/s.
    public var bitrate: UInt64 = 0
    /// Interarrival jitter, in milliseconds.
    public var jitterMilliseconds = 0.0
    /// Times the camera started a new SSRC (a reboot) during the stream.
    public var ssrcChanges = 0

    public init(camera: String) { self.camera = camera }
}

extension IPAddress {
    var udpHost: UDPAddress.Host {
        if let (high, low) = ipv6Halves { return .v6(high: high, low: low) }
        return .v4(ipv4Value ?? 0)
    }

    init(_ host: UDPAddress.Host) {
        switch host {
        case .v4(let value): self.init(ipv4: value)
        case .v6(let high, let low): self.init(ipv6High: high, low: low)
        }
    }
}

extension UDPAddress {
    /// "ip:port", with IPv6 in brackets.
    var text: String {
        let address = IPAddress(host)
        return address.isIPv4 ? "\(address):\(port)" : "[\(address)]:\(port)"
    }
}
