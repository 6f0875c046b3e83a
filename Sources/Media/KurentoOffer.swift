import Control
import Wire

/// The SDP offer camhost gives Kurento's RtpEndpoint for one camera, built from the camera's
/// firmware profile so that Kurento's RTCP feedback reaches the camera (docs/sdp.md).
///
/// Kurento sends RTCP to the offer's media-level `c=` (else the session's) at the `a=rtcp` port
/// (else RTP + 1); an offer saying `0.0.0.0`, loopback or this host's own address makes Linux
/// deliver that feedback locally and the camera stops after its RTCP time-out (the loopback trap).
/// So the offer either names the camera (*direct*) or asks Kurento to answer wherever the RTP
/// comes from (*COMEDIA*: port 9, `a=direction:active`); a trap address is refused, never offered.
public struct KurentoOffer: Sendable {
    public let camera: CameraID
    public let address: IPAddress
    public let stream: FirmwareProfile.Stream
    public let description: SessionDescription

    /// Builds the offer. `hostAddresses`: this host's own addresses (`HostAddresses.current()`),
    /// any of which as `c=` would send the feedback over `lo`.
    public init(camera: CameraID, address: IPAddress, stream: FirmwareProfile.Stream, hostAddresses: [IPAddress],
                sessionID: UInt64 = 0) throws(OfferError) {
        if let refusal = OfferError.refusal(for: address, hostAddresses: hostAddresses) { throw refusal }
        self.camera = camera
        self.address = address
        self.stream = stream

        let pt = String(stream.payloadType)
        var lines: [SDPLine] = []
        let rtpPort: UInt16
        switch stream.offer {
        case .direct(let cameraRTPPort):
            rtpPort = cameraRTPPort
            lines.append(.connection(SDPConnection(address)))
            if let kbps = stream.maxBitrateKbps { lines.append(.bandwidth(type: "AS", value: UInt64(kbps))) }
            if stream.rtcpMux {
                // RFC 5761 section 5.1.3: a=rtcp with the RTP port for receivers that do not know rtcp-mux.
                lines.append(.attribute(.rtcp(port: cameraRTPPort, connection: nil)))
                lines.append(.attribute(.rtcpMux))
            } else if let rtcpPort = stream.rtcpPort, rtcpPort != cameraRTPPort &+ 1 {
                lines.append(.attribute(.rtcp(port: rtcpPort, connection: nil)))
            }
        case .comedia:
            // Port 9 (discard): the real port is learnt from the camera's first packet.
            rtpPort = 9
            lines.append(.connection(SDPConnection(address)))
            if let kbps = stream.maxBitrateKbps { lines.append(.bandwidth(type: "AS", value: UInt64(kbps))) }
            lines.append(.attribute(.direction(.active)))
            if stream.rtcpMux { lines.append(.attribute(.rtcpMux)) }
        }
        lines.append(.attribute(.mediaDirection(.sendonly)))
        lines.append(.attribute(.rtpMap(SDPRTPMap(payloadType: UInt8(stream.payloadType), encoding: stream.codec, clockRate: UInt32(stream.clockRate)))))
        lines.append(.attribute(.formatParameters(format: pt, parameters: Self.formatParameters(stream))))
        for feedback in stream.rtcpFeedback {
            let words = feedback.rawValue.split(separator: " ", maxSplits: 1)
            lines.append(.attribute(.rtcpFeedback(SDPFeedback(format: pt, type: String(words[0]), parameter: words.count > 1 ? String(words[1]) : nil))))
        }
        let media = MediaDescription(media: SDPMedia(type: "video", port: rtpPort, transport: "RTP/AVPF", formats: [pt]), lines: lines)
        description = SessionDescription(lines: [
            .version(0),
            .origin(SDPOrigin(username: "camhost", sessionID: String(sessionID), sessionVersion: "0", address: address)),
            .sessionName("camhost \(camera)"),
            .timing(start: 0, stop: 0),
        ], media: [media])
    }

    /// The offer as SDP text (CRLF line ends).
    public var text: String { description.text }

    /// `a=fmtp` for the codec: packetization mode 1 (non-interleaved: single NAL, STAP-A, FU-A,
    /// RFC 6184 section 6.2), the profile-level-id read from the SPS and the parameter sets, when the profile has them.
    static func formatParameters(_ stream: FirmwareProfile.Stream) -> String {
        let sets = stream.parameterSets
        if stream.codec == "H265" {
            guard sets.count == 3, let sprop = stream.spropParameterSets else { return "" }
            let parts = sprop.split(separator: ",")
            return "sprop-vps=\(parts[0]);sprop-sps=\(parts[1]);sprop-pps=\(parts[2])"
        }
        var parameters = ["packetization-mode=1"]
        if let sps = sets.first, sps.count >= 4, sps[0] & 0x1F == 7 {
            // RFC 6184 section 8.1: profile_idc, constraint flags, level_idc, the SPS bytes after its header.
            parameters.append("profile-level-id=" + sps[1...3].map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined())
        }
        if let sprop = stream.spropParameterSets { parameters.append("sprop-parameter-sets=\(sprop)") }
        return parameters.joined(separator: ";")
    }

    /// Checks Kurento's answer and returns where to tell the camera to send. A COMEDIA offer needs
    /// `a=direction:passive` on every media line of the answer: without it Kurento did not take the
    /// role (older than 6.6.2) and would send RTCP to `c=`, so the answer is refused.
    public func accept(answer text: String) throws(OfferError) -> KurentoAnswer {
        let answer: SessionDescription
        do {
            answer = try SessionDescription(parsing: text)
        } catch {
            throw .malformedAnswer(error)
        }
        guard let index = answer.media.firstIndex(where: { $0.media.type == "video" }) else { throw .noVideoInAnswer }
        let video = answer.media[index]
        guard video.media.port != 0 else { throw .answerRejectedMedia(line: answer.lineNumber(media: index)) }
        if case .comedia = stream.offer {
            for (i, section) in answer.media.enumerated() where section.connectionDirection != .passive {
                throw .answerNotPassive(line: answer.lineNumber(media: i))
            }
        }
        let connection = video.connection ?? answer.connection
        return KurentoAnswer(address: connection?.ipAddress, rtpPort: video.media.port,
                             rtcpPort: video.isRTCPMultiplexed ? video.media.port : video.rtcp?.port ?? video.media.port &+ 1)
    }
}

/// Where Kurento receives: its RTP port from `m=` (a new random even port each time) and its
/// `c=` (the first non-loopback address libnice found: may be a Docker bridge; prefer `media.address`).
public struct KurentoAnswer: Sendable, Hashable {
    public let address: IPAddress?
    public let rtpPort: UInt16
    public let rtcpPort: UInt16

    public init(address: IPAddress?, rtpPort: UInt16, rtcpPort: UInt16) {
        self.address = address
        self.rtpPort = rtpPort
        self.rtcpPort = rtcpPort
    }
}

/// Why no offer was made or an answer was refused; each says what to fix.
public enum OfferError: Error, Sendable, Hashable, CustomStringConvertible {
    /// 0.0.0.0 or ::: Linux delivers datagrams to it over `lo`.
    case unspecified(IPAddress)
    case loopback(IPAddress)
    case multicast(IPAddress)
    /// An address of this host: feedback sent there never leaves it.
    case thisHost(IPAddress)
    case malformedAnswer(SDPError)
    case noVideoInAnswer
    /// The answer's `m=video` has port 0: Kurento refused the stream.
    case answerRejectedMedia(line: Int)
    /// A COMEDIA offer answered without `a=direction:passive` on this media line.
    case answerNotPassive(line: Int)

    /// The refusal for `address` as an offer's `c=`, or nil when it may be offered.
    public static func refusal(for address: IPAddress, hostAddresses: [IPAddress]) -> OfferError? {
        if address.isUnspecified { return .unspecified(address) }
        if address.isLoopback { return .loopback(address) }
        if address.isMulticast { return .multicast(address) }
        if hostAddresses.contains(address) { return .thisHost(address) }
        return nil
    }

    public var description: String {
        let fix = "give the camera's own address (the one its RTP comes from), e.g. --address 192.168.1.20, or set the camera's address in the cameras table"
        switch self {
        case .unspecified(let a):
            return "refused: c=\(a) is the unspecified address; Kurento's RTCP to it is delivered over lo and the camera stops after its RTCP time-out (the loopback trap): \(fix)"
        case .loopback(let a):
            return "refused: c=\(a) is a loopback address; RTCP to it never leaves this host: \(fix)"
        case .multicast(let a):
            return "refused: c=\(a) is a multicast address; a camera streams unicast and needs its feedback unicast: \(fix)"
        case .thisHost(let a):
            return "refused: c=\(a) is an address of this host; Kurento's RTCP to it goes over lo like 0.0.0.0 (the loopback trap): \(fix)"
        case .malformedAnswer(let e):
            return "Kurento's answer is not valid SDP: \(e)"
        case .noVideoInAnswer:
            return "Kurento's answer has no m=video line: the offer was not understood"
        case .answerRejectedMedia(let line):
            return "Kurento's answer rejects the video (port 0 on line \(line)): check the codec and payload type in the firmware profile"
        case .answerNotPassive(let line):
            return "refused: the offer asked for COMEDIA (a=direction:active) but the answer's media on line \(line) has no a=direction:passive; this Kurento (older than 6.6.2?) would send RTCP to c= instead of to the camera. Upgrade Kurento or set offer = \"direct\" with camera_rtp_port in the firmware profile"
        }
    }
}
