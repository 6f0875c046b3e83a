#if canImport(Glibc)
import Glibc
#endif

/// A network lab for RTCP tests, built and torn down by the test itself (needs root):
/// a namespace `camlab-XXXX` holding the camera end of a veth pair, 10.77.N.1/30 on the host end,
/// 10.77.N.2/30 on the camera end. GStreamer (`rtpsession`, the session element of `rtpbin`) plays the camera (RTP+RTCP from inside the namespace)
/// and the receiver on the host, whose RTCP feedback goes to the camera (healthy) or to 0.0.0.0
/// (the loopback trap). Traffic stays on the veth and lo, a few dozen packets a second, and stops
/// with the processes; everything is removed in `tearDown()`/deinit even when a test fails.
public final class RTCPLab: @unchecked Sendable {
    public let namespace: String
    public let hostInterface: String
    public let cameraInterface: String
    public let subnet: Int
    public let hostAddress: String
    public let cameraAddress: String
    /// Host side: RTP and RTCP from the camera arrive here.
    public let rtpPort: UInt16
    public var rtcpPort: UInt16 { rtpPort + 1 }
    /// Camera side: where feedback is meant to arrive (also used, on the host's lo, by the trap).
    public let feedbackPort: UInt16
    /// The camera's RTP SSRC, unique per lab so concurrent labs never claim each other's feedback.
    public let cameraSSRC: UInt32
    private var processes: [TestProcess] = []
    private var traffic: [TestProcess] = []
    private var torn = false

    public init() throws {
        guard getuid() == 0 else { throw TestFailure("the RTCP lab needs root (ip netns, veth)") }
        var random = SystemRandomNumberGenerator()
        let tag = String(UInt32.random(in: 0x1000...0xFFFF, using: &random), radix: 16)
        // 10.77.N.0/30 with N unused by any interface of this host.
        let used = (try? TestProcess.run("/sbin/ip", ["-o", "-4", "addr"]).stdout) ?? ""
        var subnet = 0
        for _ in 0..<50 {
            let candidate = Int.random(in: 100...249, using: &random)
            if !used.contains("10.77.\(candidate).") { subnet = candidate; break }
        }
        guard subnet != 0 else { throw TestFailure("no free 10.77.N.0/30 subnet for the lab") }
        self.subnet = subnet
        namespace = "camlab-\(tag)"
        hostInterface = "chm\(tag)"
        cameraInterface = "chc\(tag)"
        hostAddress = "10.77.\(subnet).1"
        cameraAddress = "10.77.\(subnet).2"
        rtpPort = UInt16.random(in: 20_000...29_998, using: &random) & ~1
        feedbackPort = UInt16.random(in: 30_000...39_998, using: &random) & ~1
        cameraSSRC = UInt32.random(in: 0x1000_0000...0xEFFF_FFFF, using: &random)
        do {
            try Self.ip(["netns", "add", namespace])
            try Self.ip(["link", "add", hostInterface, "type", "veth", "peer", "name", cameraInterface])
            try Self.ip(["link", "set", cameraInterface, "netns", namespace])
            try Self.ip(["addr", "add", "\(hostAddress)/30", "dev", hostInterface])
            try Self.ip(["link", "set", hostInterface, "up"])
            try Self.ip(["netns", "exec", namespace, "ip", "addr", "add", "\(cameraAddress)/30", "dev", cameraInterface])
            try Self.ip(["netns", "exec", namespace, "ip", "link", "set", cameraInterface, "up"])
            try Self.ip(["netns", "exec", namespace, "ip", "link", "set", "lo", "up"])
        } catch {
            tearDown()
            throw error
        }
    }

    static func ip(_ arguments: [String]) throws {
        let result = try TestProcess.run("/sbin/ip", arguments, timeout: .seconds(10))
        guard result.status == 0 else { throw TestFailure("ip \(arguments.joined(separator: " ")): \(result.stderr)") }
    }

    /// Where the receiver on the host sends its RTCP feedback.
    public enum Feedback: Sendable {
        /// To the camera's address: healthy.
        case camera
        /// To 0.0.0.0, as an SDP offer with `c=IN IP4 0.0.0.0` makes Kurento do: the trap.
        case unspecified
    }

    /// Starts the camera (in the namespace) and the receiver (on the host); they stop by themselves
    /// after `seconds` (gst-launch under `timeout`), or at tear-down.
    public func start(feedback: Feedback, seconds: Int = 8) throws {
        // rtpsession is rtpbin's session element; used directly because gst-launch cannot reach
        // rtpbin's inner sessions to set rtcp-min-interval (1 s instead of RFC 3550's 5 s), and a
        // short capture must see a cadence.
        let camera = [
            "netns", "exec", namespace, "timeout", "-s", "KILL", "\(seconds)", "gst-launch-1.0", "-q",
            "rtpsession", "name=s", "rtcp-min-interval=1000000000",
            "audiotestsrc", "is-live=true", "!", "audio/x-raw,format=S16BE,rate=8000,channels=1", "!",
            "rtpL16pay", "ssrc=\(cameraSSRC)", "!", "s.send_rtp_sink",
            "s.send_rtp_src", "!", "udpsink", "host=\(hostAddress)", "port=\(rtpPort)",
            "s.send_rtcp_src", "!", "udpsink", "host=\(hostAddress)", "port=\(rtcpPort)", "sync=false", "async=false",
            "udpsrc", "port=\(feedbackPort)", "!", "s.recv_rtcp_sink",
        ]
        let target = feedback == .camera ? cameraAddress : "0.0.0.0"
        let receiver = [
            "-s", "KILL", "\(seconds)", "gst-launch-1.0", "-q",
            "rtpsession", "name=s", "rtcp-min-interval=1000000000",
            "udpsrc", "address=\(hostAddress)", "port=\(rtpPort)",
            "caps=application/x-rtp,media=audio,clock-rate=8000,encoding-name=L16,channels=1,payload=96", "!", "s.recv_rtp_sink",
            "s.recv_rtp_src", "!", "rtpL16depay", "!", "fakesink",
            "udpsrc", "address=\(hostAddress)", "port=\(rtcpPort)", "!", "s.recv_rtcp_sink",
            "s.send_rtcp_src", "!", "udpsink", "host=\(target)", "port=\(feedbackPort)", "sync=false", "async=false",
        ]
        let cameraProcess = try TestProcess("/sbin/ip", camera)
        processes.append(cameraProcess)
        let receiverProcess = try TestProcess("/usr/bin/timeout", receiver)
        processes.append(receiverProcess)
        traffic = [cameraProcess, receiverProcess]
    }

    /// Keeps `process` to be stopped at tear-down (the Kurento lab's receiver and camera).
    func adopt(_ process: TestProcess) { processes.append(process) }

    /// Starts `tcpdump -i interface -w path` for the lab's ports (and ICMP), flushing each packet.
    public func tcpdump(interface: String, path: String, linkType: String? = nil) throws -> TestProcess {
        var arguments = ["-i", interface, "-w", path, "-U", "-s", "0", "-n"]
        if let linkType { arguments += ["-y", linkType] }
        arguments.append("udp and (port \(rtpPort) or port \(rtcpPort) or port \(feedbackPort))")
        let process = try TestProcess("/usr/bin/tcpdump", arguments)
        processes.append(process)
        return process
    }

    /// Waits for the camera and receiver started last to stop by themselves.
    public func waitForTraffic() {
        for process in traffic { process.wait(timeout: .seconds(30)) }
    }

    /// The lab's ports, for `--ports`.
    public var ports: [UInt16] { [rtpPort, rtcpPort, feedbackPort] }

    /// Stops every process and removes the namespace and the veth pair. Safe to call twice.
    public func tearDown() {
        if torn { return }
        torn = true
        // GNU timeout passes SIGTERM on to gst-launch; SIGKILL would orphan it.
        for process in processes { process.signal(SIGTERM) }
        for process in processes where process.wait(timeout: .seconds(3)) == nil { process.kill() }
        processes.removeAll()
        _ = try? TestProcess.run("/sbin/ip", ["link", "del", hostInterface], timeout: .seconds(10))
        _ = try? TestProcess.run("/sbin/ip", ["netns", "del", namespace], timeout: .seconds(10))
    }

    deinit { tearDown() }
}
