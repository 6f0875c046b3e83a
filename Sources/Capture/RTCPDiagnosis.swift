import JSONText
import Wire

/// The result of a loopback-trap diagnosis for one camera: verdict, counts, evidence, cadence and the fix.
public struct RTCPDiagnosis: Sendable {
    /// One flow of RTCP datagrams (same route, endpoints and interface), as shown to people.
    public struct Evidence: Sendable {
        public var route: FeedbackRoute
        public var source: Endpoint
        public var destination: Endpoint
        public var interface: String?
        public var counts: RTCPKindCounts
        public var referencedSSRCs: [UInt32]
        /// For loopback flows: whether they refer to the camera's stream.
        public var refersToCamera: Bool?
        /// Seconds from the first RTCP of the capture.
        public var firstSeconds: Double
        public var lastSeconds: Double

        public var summary: String {
            let place = interface.map { " on \($0)" } ?? ""
            var text = "\(counts.datagrams) RTCP datagram\(counts.datagrams == 1 ? "" : "s") \(source) → \(destination)\(place) (\(route.rawValue)): \(counts.summary)"
            if !referencedSSRCs.isEmpty {
                text += ", about SSRC \(referencedSSRCs.prefix(4).map(RTCPDiagnosis.hex).joined(separator: ", "))"
            }
            if refersToCamera == true { text += " — the camera's stream" }
            return text
        }
    }

    public var verdict: Verdict
    public var camera: IPAddress
    public var counts: [FeedbackRoute: RTCPKindCounts]
    public var cadence: [FeedbackRoute: TrapAnalyser.Cadence]
    public var cameraSSRCs: [UInt32]
    public var evidence: [Evidence]
    /// Where misrouted feedback went (loopback destinations referring to the camera).
    public var trapDestinations: [Endpoint]
    /// This host's address toward the camera: what the SDP `c=` line must NOT say (Kurento would
    /// send its feedback to itself, over lo, as with 0.0.0.0); named in the fix as a wrong choice.
    public var hostAddress: IPAddress?
    public var notes: [String]
    /// Seconds between the first and last RTCP seen.
    public var spanSeconds: Double
    /// Filled in by the caller: what was captured (interfaces or file) and how much.
    public var source = ""
    public var statistics = CaptureStatistics()

    static func hex(_ ssrc: UInt32) -> String {
        let digits = String(ssrc, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    /// Counts of one route, zero when none was seen.
    public func counts(_ route: FeedbackRoute) -> RTCPKindCounts { counts[route] ?? RTCPKindCounts() }

    /// The feedback route that matters for the verdict, for cadence.
    var feedbackRoute: FeedbackRoute { verdict == .trap ? .onLoopback : .toCamera }

    /// The sentence that says what the verdict means for this camera.
    public var explanation: String {
        let toCamera = counts(.toCamera).datagrams
        let loop = counts(.onLoopback).datagrams
        switch verdict {
        case .healthy:
            return "healthy: RTCP feedback reaches the camera \(camera) (\(toCamera) datagram\(toCamera == 1 ? "" : "s") addressed to it)."
        case .trap:
            let destinations = trapDestinations.map(\.description).joined(separator: ", ")
            return "trap: the RTCP feedback for camera \(camera) goes over loopback to \(destinations) (\(loop) datagram\(loop == 1 ? "" : "s")) and none reaches the camera; it will drop the stream after about ten seconds."
        case .noRTCP:
            let own = counts(.fromCamera).datagrams
            return own > 0
                ? "no-rtcp: the camera \(camera) sends its own RTCP (\(own) datagrams) but no feedback was seen, neither towards it nor on loopback."
                : "no-rtcp: no RTCP about camera \(camera) was seen."
        case .indeterminate:
            return "indeterminate: no feedback was seen reaching camera \(camera), but the capture could not see everywhere it may go."
        }
    }

    /// The fix, in words: the SDP line to change, or nothing. Kurento sends its RTCP to the
    /// offer's `c=` address, so the offer must name the camera (the RTP sender) or ask for COMEDIA;
    /// this host's own address routes over lo just like 0.0.0.0 (issue 14, shared/FACTS.md).
    public var fix: String? {
        let family = camera.isIPv6 ? "IP6" : "IP4"
        let right = "`c=IN \(family) \(camera)` (the camera, which sends the RTP)"
        let notHost = hostAddress.map { " Not this host's own address \($0) either: Linux delivers that over lo too." } ?? ""
        let tools = " `camhost sdp check OFFER --camera \(camera)` finds the trap in an offer; `camhost sdp offer --camera ID` prints one that cannot spring it."
        switch verdict {
        case .healthy:
            return nil
        case .trap:
            let wrong = trapDestinations.first.map { $0.address.isLoopback || $0.address.isUnspecified ? "`c=IN IP4 0.0.0.0` (or a loopback address)" : "`c=IN \(family) \($0.address)`" } ?? "`c=IN IP4 0.0.0.0`"
            return "In the SDP offer given to Kurento's RtpEndpoint for this camera, replace \(wrong) with \(right), or ask for COMEDIA (`a=direction:active`, Kurento 6.6.2 and later). Never 0.0.0.0: Linux delivers datagrams sent there to this host over lo, so the camera gets no feedback." + notHost + tools
        case .noRTCP:
            return "Check that the stream runs and that RTCP is enabled on both sides (the offer's a=rtcp port or a=rtcp-mux); the offer's connection line must be \(right)." + tools
        case .indeterminate:
            return "Capture again on `any` (the default) to see loopback and the camera's interface together."
        }
    }

    // MARK: JSON

    /// The JSON document of `camhost diagnose rtcp --json`; key order follows the contract.
    public var json: String {
        var out = "{"
        out += "\"verdict\": \(Self.quote(verdict.rawValue)), \"camera\": \(Self.quote(camera.description)), \"rtcp\": {"
        out += FeedbackRoute.allCases.map { route in
            "\(Self.quote(route.rawValue)): {" + counts(route).fields.map { "\(Self.quote($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
        }.joined(separator: ", ")
        out += "}, \"evidence\": [" + evidence.map(Self.json).joined(separator: ", ") + "]"
        out += ", \"explanation\": \(Self.quote(explanation))"
        out += ", \"camera_ssrcs\": [" + cameraSSRCs.map { Self.quote(Self.hex($0)) }.joined(separator: ", ") + "]"
        out += ", \"feedback_to\": [" + trapDestinations.map { Self.quote($0.description) }.joined(separator: ", ") + "]"
        out += ", \"host_address\": " + (hostAddress.map { Self.quote($0.description) } ?? "null")
        out += ", \"cadence\": {" + [FeedbackRoute.toCamera, .onLoopback, .fromCamera].map { route in
            let c = cadence[route] ?? TrapAnalyser.Cadence()
            return "\(Self.quote(route.rawValue)): {\"datagrams\": \(c.datagrams), \"largest_gap_seconds\": \(Self.number(TrapAnalyser.seconds(c.largestGap))), \"span_seconds\": \(Self.number(TrapAnalyser.seconds(c.lastTime - c.firstTime)))}"
        }.joined(separator: ", ") + "}"
        out += ", \"largest_gap_seconds\": " + Self.number(TrapAnalyser.seconds(cadence[feedbackRoute]?.largestGap ?? 0))
        out += ", \"remb\": {" + FeedbackRoute.allCases.compactMap { route -> String? in
            guard let c = cadence[route], c.rembCount > 0 else { return nil }
            return "\(Self.quote(route.rawValue)): {\"count\": \(c.rembCount), \"min_bps\": \(c.rembMinimum), \"max_bps\": \(c.rembMaximum), \"last_bps\": \(c.rembLast)}"
        }.joined(separator: ", ") + "}"
        out += ", \"fix\": " + (fix.map(Self.quote) ?? "null")
        out += ", \"notes\": [" + notes.map(Self.quote).joined(separator: ", ") + "]"
        out += ", \"capture\": {\"source\": \(Self.quote(source)), \"frames\": \(statistics.frames), \"rtcp_datagrams\": \(statistics.rtcpDatagrams), \"dropped\": \(statistics.dropped), \"span_seconds\": \(Self.number(spanSeconds))"
        out += ", \"link_types\": [" + statistics.linkTypes.map { Self.quote($0.description) }.joined(separator: ", ") + "]"
        out += ", \"interface_known\": \(statistics.interfaceKnown)}"
        return out + "}"
    }

    static func json(_ item: Evidence) -> String {
        var out = "{\"route\": \(quote(item.route.rawValue)), \"source\": \(quote(item.source.description)), \"destination\": \(quote(item.destination.description))"
        out += ", \"interface\": " + (item.interface.map(quote) ?? "null")
        out += ", \"datagrams\": \(item.counts.datagrams), \"types\": {" + item.counts.fields.dropFirst().filter { $0.1 > 0 }.map { "\(quote($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
        out += ", \"referenced_ssrcs\": [" + item.referencedSSRCs.map { quote(hex($0)) }.joined(separator: ", ") + "]"
        if let refers = item.refersToCamera { out += ", \"refers_to_camera\": \(refers)" }
        out += ", \"first_seconds\": \(number(item.firstSeconds)), \"last_seconds\": \(number(item.lastSeconds))"
        out += ", \"summary\": \(quote(item.summary))}"
        return out
    }

    static func quote(_ text: String) -> String { jsonQuoted(text) }

    /// Seconds with millisecond precision, as a JSON number.
    static func number(_ value: Double) -> String {
        let milliseconds = Int64((value * 1000).rounded())
        let sign = milliseconds < 0 ? "-" : ""
        let magnitude = abs(milliseconds)
        let fraction = String(magnitude % 1000)
        return "\(sign)\(magnitude / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }

    // MARK: Text

    /// The report for people: the verdict sentence, where feedback went and should go, cadence, REMB, the fix.
    public var text: String {
        var lines = [explanation, ""]
        let should = hostAddress.map { "from \($0) to \(camera)" } ?? "to \(camera)"
        lines.append("Feedback should go \(should), out of the interface that routes to the camera.")
        let routes: [(FeedbackRoute, String)] = [(.toCamera, "to the camera"), (.onLoopback, "on loopback"), (.fromCamera, "from the camera"), (.other, "elsewhere")]
        for (route, label) in routes {
            let c = counts(route)
            lines.append("  \(label.padding(16)) \(c.datagrams) datagram\(c.datagrams == 1 ? "" : "s")\(c.datagrams > 0 ? ": " + c.summary : "")")
        }
        if !cameraSSRCs.isEmpty { lines.append("  camera SSRC      \(cameraSSRCs.prefix(8).map(Self.hex).joined(separator: ", "))") }
        if !evidence.isEmpty {
            lines.append("")
            lines.append("Evidence:")
            for item in evidence { lines.append("  - " + item.summary) }
        }
        lines.append("")
        let route = feedbackRoute
        if let c = cadence[route], c.datagrams > 1 {
            let gap = TrapAnalyser.seconds(c.largestGap)
            var line = "Cadence: largest gap between feedback datagrams \(route == .onLoopback ? "on loopback" : "to the camera") \(Self.number(gap)) s over \(Self.number(TrapAnalyser.seconds(c.lastTime - c.firstTime))) s"
            if gap >= 5 { line += " — close to the camera's ten-second cliff" }
            lines.append(line + ".")
        } else {
            lines.append("Cadence: fewer than two feedback datagrams \(route == .onLoopback ? "on loopback" : "to the camera"); no gap to measure.")
        }
        let rembs = FeedbackRoute.allCases.compactMap { route -> String? in
            guard let c = cadence[route], c.rembCount > 0 else { return nil }
            return "\(route.rawValue): \(c.rembCount) REMB, \(Self.bitrate(c.rembMinimum))–\(Self.bitrate(c.rembMaximum)), last \(Self.bitrate(c.rembLast))"
        }
        lines.append(rembs.isEmpty ? "REMB: none seen." : "REMB: " + rembs.joined(separator: "; ") + ".")
        for note in notes { lines.append("Note: " + note) }
        if let fix { lines.append(""); lines.append("Fix: " + fix) }
        lines.append("")
        lines.append("Captured: \(source) — \(statistics.frames) frames, \(statistics.rtcpDatagrams) RTCP datagrams\(statistics.dropped > 0 ? ", \(statistics.dropped) dropped by the kernel" : "").")
        if let interfaces = interfaceCaveat { lines.append("Interfaces: " + interfaces) }
        return lines.joined(separator: "\n")
    }

    /// Why routes were decided by address, when the capture's link type could not tell the interface.
    var interfaceCaveat: String? {
        guard !statistics.interfaceKnown else { return nil }
        let types = statistics.linkTypes.filter { $0 != .linuxSLL && $0 != .linuxSLL2 }
        let why = types.map { type -> String in
            switch type {
            case .null, .loop: "\(type) is the link type of BSD and macOS loopback and of tunnels (utun, tun, gif) alike"
            case .ethernet: "Linux captures lo as \(type) too"
            case .raw, .rawLinux, .rawBSD, .ipv4, .ipv6: "\(type) has no link header"
            default: "\(type) carries no interface"
            }
        }
        let named = types.isEmpty ? "the capture's link type" : "the capture's link type (\(types.map(\.description).joined(separator: ", ")))"
        let reason = why.isEmpty ? "" : ": " + why.joined(separator: "; ")
        return "\(named) does not say which interface a packet crossed\(reason). Loopback was decided by address: destination in 127.0.0.0/8, 0.0.0.0 or ::1, or source = destination."
    }

    static func bitrate(_ bps: UInt64) -> String {
        if bps >= 1_000_000 { return "\(number(Double(bps) / 1e6)) Mbit/s" }
        if bps >= 1_000 { return "\(number(Double(bps) / 1e3)) kbit/s" }
        return "\(bps) bit/s"
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
