import JSONText
import Wire

/// `camhost sdp check`: lints an SDP offer for a camera's stream, line by line, for where the
/// media server's RTCP feedback would go (docs/sdp.md).
///
/// A *trap* is an offer whose RTCP would go to an unspecified, loopback or this host's own
/// address: Linux delivers it over `lo` and the camera, hearing nothing, stops after its RTCP
/// time-out. A *warning* is an offer that works but loses something (no REMB on RTP/AVP, a
/// missing media-level `c=`, a half-COMEDIA offer) or may not reach the camera.
public struct SDPCheck: Sendable, Hashable {
    public enum Verdict: String, Sendable, Hashable {
        case ok, trap, warning

        /// 0 ok, 1 trap, 3 warnings only.
        public var exitCode: Int32 {
            switch self {
            case .ok: 0
            case .trap: 1
            case .warning: 3
            }
        }
    }

    public enum Severity: String, Sendable, Hashable { case trap, warning }

    /// One problem: the line it is on, how bad, what happens, and how to fix it.
    public struct Finding: Sendable, Hashable {
        public let line: Int
        public let severity: Severity
        public let message: String
        public let fix: String
    }

    public let verdict: Verdict
    /// In line order.
    public let findings: [Finding]

    /// Checks `offer`. `camera`: the camera's address when known (`--camera`); `hostAddresses`:
    /// this host's own addresses (`HostAddresses.current()`); `firstLine`: the number of the
    /// offer's `v=` line in the text it came from.
    public init(_ offer: SessionDescription, camera: IPAddress? = nil, hostAddresses: [IPAddress] = [], firstLine: Int = 1) {
        self.init(findings: Self.findings(offer, camera: camera, hostAddresses: hostAddresses, firstLine: firstLine))
    }

    /// Checks several offers (`SessionDescription.parseAll`): one verdict, the worst, and every finding in line order.
    public init(_ offers: [(description: SessionDescription, firstLine: Int)], camera: IPAddress? = nil, hostAddresses: [IPAddress] = []) {
        self.init(findings: offers.flatMap { Self.findings($0.description, camera: camera, hostAddresses: hostAddresses, firstLine: $0.firstLine) })
    }

    /// Parses and checks `text` one description at a time (`SessionDescription.parseEach`), so a
    /// large log of offers is never held parsed all at once.
    public init(text: String, camera: IPAddress? = nil, hostAddresses: [IPAddress] = []) throws(SDPError) {
        var findings: [Finding] = []
        try SessionDescription.parseEach(text) { offer, firstLine in
            findings += Self.findings(offer, camera: camera, hostAddresses: hostAddresses, firstLine: firstLine)
        }
        self.init(findings: findings)
    }

    init(findings: [Finding]) {
        self.findings = findings.sorted { $0.line < $1.line }
        verdict = findings.contains { $0.severity == .trap } ? .trap : findings.isEmpty ? .ok : .warning
    }

    static func findings(_ offer: SessionDescription, camera: IPAddress?, hostAddresses: [IPAddress], firstLine: Int) -> [Finding] {
        var findings: [Finding] = []
        let offset = firstLine - 1
        func add(_ line: Int, _ severity: Severity, _ message: String, _ fix: String) {
            findings.append(Finding(line: line, severity: severity, message: message, fix: fix))
        }
        let cameraText = camera?.description ?? "<camera address>"
        let family = camera.map { $0.isIPv4 ? "IP4" : "IP6" } ?? "IP4"
        let sessionConnectionLine = offer.lines.firstIndex { if case .connection = $0 { true } else { false } }
            .map { offset + offer.lineNumber(line: $0) }
        let rtpMedia = offer.media.indices.filter { offer.media[$0].media.isRTP && offer.media[$0].media.port != 0 }
        let anyComedia = rtpMedia.contains { offer.media[$0].connectionDirection == .active }

        func trapReason(_ address: IPAddress) -> String? {
            if address.isUnspecified { return "\(address), the unspecified address: Linux delivers datagrams to it over lo" }
            if address.isLoopback { return "\(address), a loopback address: datagrams to it never leave this host" }
            if hostAddresses.contains(address) { return "\(address), an address of this host: datagrams to it go over lo like 0.0.0.0" }
            return nil
        }

        for index in rtpMedia {
            let section = offer.media[index]
            let mLine = offset + offer.lineNumber(media: index)
            let name = "m=\(section.media.type) (line \(mLine))"
            let comedia = section.connectionDirection == .active
            let mediaConnectionIndex = section.firstIndex { if case .connection = $0 { true } else { false } }
            let connection = section.connection ?? offer.connection
            let connectionLine = mediaConnectionIndex.map { offset + offer.lineNumber(media: index, line: $0) } ?? sessionConnectionLine

            if let connection, let connectionLine {
                if let address = connection.ipAddress {
                    if let reason = trapReason(address) {
                        if comedia {
                            add(connectionLine, .warning,
                                "\(name) asks for COMEDIA (a=direction:active), so Kurento >= 6.6.2 sends RTCP to where the RTP comes from; but c= is \(reason), and a media server without COMEDIA would send the camera's RTCP there",
                                "c=IN \(family) \(cameraText)")
                        } else {
                            add(connectionLine, .trap,
                                "RTCP for \(name) would go to \(reason); the camera hears no feedback and stops after its RTCP time-out (the loopback trap)",
                                "c=IN \(family) \(cameraText) at media level (right after line \(mLine)), or COMEDIA: m=\(section.media.type) 9 \(section.media.transport) ... with a=direction:active")
                        }
                    } else if address.isMulticast {
                        add(connectionLine, .warning, "\(name): c= is the multicast address \(address); a camera streams unicast and needs its feedback unicast",
                            "c=IN \(family) \(cameraText)")
                    } else if let camera, address != camera, !comedia {
                        add(connectionLine, .warning, "RTCP for \(name) would go to \(address), not to the camera \(camera): the camera hears no feedback",
                            "c=IN \(family) \(camera)")
                    }
                } else if !comedia {
                    add(connectionLine, .warning, "\(name): c= names \(connection.address), not an IP address: where RTCP goes depends on how the media server resolves it",
                        "c=IN \(family) \(cameraText)")
                }
                if mediaConnectionIndex == nil, connection.ipAddress.map({ trapReason($0) == nil }) ?? true {
                    add(mLine, .warning, "\(name) has no c= of its own: the session-level c= on line \(connectionLine) applies here, but code that copies or edits media sections, and receivers that read only the media level, lose it",
                        "add c=\(connection) right after line \(mLine)")
                }
            } else {
                add(mLine, .warning, "\(name) has no c= line, neither at media nor session level (RFC 8866 section 5.7): the media server cannot tell where to send RTCP",
                    "add c=IN \(family) \(cameraText) right after line \(mLine)")
            }

            // RFC 3605: a=rtcp may carry its own address, which receivers other than Kurento honour.
            if let rtcpIndex = section.firstIndex(where: { if case .attribute(.rtcp(_, let c?)) = $0 { c.ipAddress != nil } else { false } }),
               let address = section.rtcp?.connection?.ipAddress, let reason = trapReason(address), !comedia {
                add(offset + offer.lineNumber(media: index, line: rtcpIndex), .trap,
                    "RTCP for \(name) would go to \(reason) (a=rtcp names it, RFC 3605)",
                    "a=rtcp:\(section.rtcp!.port) IN \(family) \(cameraText), or a=rtcp:\(section.rtcp!.port) without an address")
            }

            if !section.media.usesFeedbackProfile {
                add(mLine, .warning,
                    "\(name) uses \(section.media.transport): no RTCP feedback is negotiated, so the media server sends no REMB (the camera cannot adapt its bitrate), NACK or PLI",
                    "m=\(section.media.type) \(section.media.port) RTP/AVPF \(section.media.formats.joined(separator: " ")) with a=rtcp-fb lines for what the camera honours (goog-remb, nack, nack pli, ccm fir)")
            } else if section.rtcpFeedback.isEmpty {
                add(mLine, .warning, "\(name) uses \(section.media.transport) but has no a=rtcp-fb line: no REMB, NACK or PLI will be sent",
                    "add a=rtcp-fb:\(section.media.formats.first ?? "96") goog-remb (and nack, nack pli, ccm fir where the camera honours them)")
            }

            if anyComedia && !comedia {
                add(mLine, .warning, "another media line asks for COMEDIA (a=direction:active) but \(name) does not: Kurento answers this one to its c=",
                    "add a=direction:active after line \(mLine) (and set its port to 9)")
            }

            if let direction = section.direction, direction == .recvonly || direction == .inactive,
               let line = section.firstIndex(where: { $0 == .attribute(.mediaDirection(direction)) }) {
                add(offset + offer.lineNumber(media: index, line: line), .warning,
                    "\(name) is a=\(direction.rawValue): an offer for a camera describes a sender",
                    "a=sendonly")
            }
        }
        if rtpMedia.isEmpty {
            add(offer.media.isEmpty ? firstLine : offset + offer.lineNumber(media: 0), .warning,
                "no RTP media line with a port: nothing here tells a media server where to send RTCP",
                "describe the camera's stream: m=video <port> RTP/AVPF <payload type> with c=IN \(family) \(cameraText)")
        }
        return findings
    }

    /// `{"verdict": s, "findings": [{"line": n, "severity": s, "message": s, "fix": s}]}`.
    public var json: String {
        var out = "{\"verdict\": \"\(verdict.rawValue)\", \"findings\": ["
        for (i, f) in findings.enumerated() {
            if i > 0 { out += ", " }
            out += "{\"line\": \(f.line), \"severity\": \"\(f.severity.rawValue)\", \"message\": "
            jsonQuote(f.message, into: &out)
            out += ", \"fix\": "
            jsonQuote(f.fix, into: &out)
            out += "}"
        }
        return out + "]}"
    }

    /// For people: the verdict, then each finding with its line and fix.
    public var text: String {
        var out: String
        switch verdict {
        case .ok: out = "ok: RTCP goes where the offer's media lines say, and nothing to warn about"
        case .trap: out = "trap: the media server's RTCP would not reach the camera"
        case .warning: out = "warning: no trap, but \(findings.count) thing\(findings.count == 1 ? "" : "s") to fix"
        }
        for f in findings {
            out += "\nline \(f.line): \(f.severity.rawValue): \(f.message)\n  fix: \(f.fix)"
        }
        return out
    }
}
