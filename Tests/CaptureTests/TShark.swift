import Capture
import TestSupport

/// Per-route RTCP counts as Wireshark's RTCP dissector sees them, for cross-checking ours.
enum TShark {
    static var isAvailable: Bool { fileExists("/usr/bin/tshark") }

    /// Counts datagrams and SR/RR/SDES/BYE/APP/RTPFB/PSFB packets per route, decoding `ports` as RTCP.
    /// Routes: from the camera, to the camera, loopback (127/8 destination or source = destination), other.
    static func counts(file: String, ports: [UInt16], camera: String) throws -> [FeedbackRoute: RTCPKindCounts] {
        var arguments = ["-r", file, "-n"]
        for port in ports { arguments += ["-d", "udp.port==\(port),rtcp"] }
        arguments += ["-Y", "rtcp && !icmp", "-T", "fields", "-E", "separator=/t", "-e", "ip.src", "-e", "ip.dst", "-e", "rtcp.pt"]
        let result = try TestProcess.run("/usr/bin/tshark", arguments, timeout: .seconds(120))
        guard result.status == 0 else { throw TestFailure("tshark failed: \(result.stderr)") }
        var counts: [FeedbackRoute: RTCPKindCounts] = [:]
        for line in result.stdout.split(separator: "\n") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 3 else { continue }
            let (source, destination) = (fields[0], fields[1])
            let route: FeedbackRoute =
                destination.hasPrefix("127.") || source == destination ? .onLoopback
                : source == camera ? .fromCamera
                : destination == camera ? .toCamera : .other
            var c = counts[route] ?? RTCPKindCounts()
            c.datagrams += 1
            for pt in fields[2].split(separator: ",") {
                switch pt {
                case "200": c.senderReports += 1
                case "201": c.receiverReports += 1
                case "202": c.sourceDescriptions += 1
                case "203": c.goodbyes += 1
                case "204": c.applications += 1
                case "205": c.transportFeedback += 1
                case "206": c.payloadFeedback += 1
                default: break
                }
            }
            counts[route] = c
        }
        return counts
    }

    /// Our counts reduced to what tshark's `rtcp.pt` shows (no NACK/PLI/FIR/REMB/TWCC split).
    static func comparable(_ c: RTCPKindCounts) -> [Int] {
        [c.datagrams, c.senderReports, c.receiverReports, c.sourceDescriptions, c.goodbyes, c.applications, c.transportFeedback, c.payloadFeedback]
    }
}
