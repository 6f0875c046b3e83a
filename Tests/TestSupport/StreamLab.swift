#if canImport(Glibc)
import Glibc
#endif

/// A network lab for stream tests, built and torn down by the test itself (needs root): a
/// namespace `strlab-XXXX` holding the camera end of a veth pair; 10.78.N.1/29 on the host end,
/// the camera at 10.78.N.2 and a stranger at 10.78.N.3 on the camera end. The camera is a
/// GStreamer H.264 pipeline (x264enc, rtph264pay, rtpsession) or a Python script sending crafted
/// datagrams; `camhost stream receive` runs on the host. Traffic stays on the veth, bounded in
/// count and time; everything is removed in `tearDown()`/deinit even when a test fails.
public final class StreamLab: @unchecked Sendable {
    public let namespace: String
    public let hostInterface: String
    public let cameraInterface: String
    public let hostAddress: String
    public let cameraAddress: String
    public let strangerAddress: String
    /// Host side: camhost's RTP port (RTCP on the next).
    public let rtpPort: UInt16
    /// Camera side: the port the camera sends RTP from, and the one its RTCP uses (both ways).
    public let cameraRTPPort: UInt16
    public let cameraRTCPPort: UInt16
    private var processes: [TestProcess] = []
    private var torn = false

    public init() throws {
        guard getuid() == 0 else { throw TestFailure("the stream lab needs root (ip netns, veth)") }
        var random = SystemRandomNumberGenerator()
        let tag = String(UInt32.random(in: 0x1000...0xFFFF, using: &random), radix: 16)
        let used = (try? TestProcess.run("/sbin/ip", ["-o", "-4", "addr"]).stdout) ?? ""
        var subnet = 0
        for _ in 0..<50 {
            let candidate = Int.random(in: 1...31, using: &random) * 8
            if !used.contains("10.78.0.\(candidate + 1)/") {
                subnet = candidate
                break
            }
        }
        guard subnet != 0 else { throw TestFailure("no free 10.78.0.N/29 subnet for the lab") }
        namespace = "strlab-\(tag)"
        hostInterface = "shm\(tag)"
        cameraInterface = "shc\(tag)"
        hostAddress = "10.78.0.\(subnet + 1)"
        cameraAddress = "10.78.0.\(subnet + 2)"
        strangerAddress = "10.78.0.\(subnet + 3)"
        rtpPort = UInt16.random(in: 20_000...29_998, using: &random) & ~1
        cameraRTPPort = UInt16.random(in: 40_000...44_998, using: &random) & ~1
        cameraRTCPPort = UInt16.random(in: 45_000...49_998, using: &random) & ~1
        do {
            try Self.ip(["netns", "add", namespace])
            try Self.ip(["link", "add", hostInterface, "type", "veth", "peer", "name", cameraInterface])
            try Self.ip(["link", "set", cameraInterface, "netns", namespace])
            try Self.ip(["addr", "add", "\(hostAddress)/29", "dev", hostInterface])
            try Self.ip(["link", "set", hostInterface, "up"])
            try Self.ip(["netns", "exec", namespace, "ip", "addr", "add", "\(cameraAddress)/29", "dev", cameraInterface])
            try Self.ip(["netns", "exec", namespace, "ip", "addr", "add", "\(strangerAddress)/29", "dev", cameraInterface])
            try Self.ip(["netns", "exec", namespace, "ip", "link", "set", cameraInterface, "up"])
            try Self.ip(["netns", "exec", namespace, "ip", "link", "set", "lo", "up"])
        } catch {
            tearDown()
            throw error
        }
        // veth needs a moment before the first datagram is not dropped.
        usleep(200_000)
    }

    static func ip(_ arguments: [String]) throws {
        let result = try TestProcess.run("/sbin/ip", arguments, timeout: .seconds(10))
        guard result.status == 0 else { throw TestFailure("ip \(arguments.joined(separator: " ")): \(result.stderr)") }
    }

    /// Starts the GStreamer camera in the namespace: `frames` pictures of H.264 (or H.265) at 25 fps
    /// (x264enc or x265enc, a keyframe every second, parameter sets in band), RTP from `cameraRTPPort` to
    /// the host, RTCP sent from and received on `cameraRTCPPort`. `dropProbability` loses RTP
    /// packets after the payloader (this kernel has no netem). Ends by itself after the frames.
    @discardableResult
    /// `port` (default `rtpPort`), `size` and `pattern` (videotestsrc's: `snow` keeps x264 near
    /// its bitrate) let a test run a second camera beside the first.
    public func startCamera(frames: Int, dropProbability: Double = 0, bitrateKbps: Int = 1500, codec: String = "h264",
                            port: UInt16? = nil, size: (width: Int, height: Int) = (640, 360), pattern: String = "ball") throws -> TestProcess {
        let port = port ?? rtpPort
        // A second camera's RTP and RTCP leave from ports of their own.
        let (rtpFrom, rtcpFrom) = port == rtpPort ? (cameraRTPPort, cameraRTCPPort) : (cameraRTPPort + 2, cameraRTCPPort + 2)
        var drop: [String] = []
        if dropProbability > 0 { drop = ["identity", "drop-probability=\(dropProbability)", "!"] }
        let arguments = [
            "netns", "exec", namespace, "timeout", "-s", "KILL", "\(max(30, frames / 25 + 10))", "gst-launch-1.0", "-q",
            "rtpsession", "name=s", "rtcp-min-interval=1000000000",
            "videotestsrc", "num-buffers=\(frames)", "is-live=true", "pattern=\(pattern)", "!",
            "video/x-raw,width=\(size.width),height=\(size.height),framerate=25/1", "!",
            codec == "h265" ? "x265enc" : "x264enc", "tune=zerolatency", "speed-preset=ultrafast", "key-int-max=25", "bitrate=\(bitrateKbps)", "!",
            codec == "h265" ? "rtph265pay" : "rtph264pay", "config-interval=-1", "pt=96", "mtu=1200", "!",
        ] + drop + [
            "s.send_rtp_sink",
            "s.send_rtp_src", "!", "udpsink", "host=\(hostAddress)", "port=\(port)", "bind-port=\(rtpFrom)",
            "s.send_rtcp_src", "!", "udpsink", "host=\(hostAddress)", "port=\(port + 1)", "bind-port=\(rtcpFrom)",
            "sync=false", "async=false",
            "udpsrc", "port=\(rtcpFrom)", "reuse=true", "!", "s.recv_rtcp_sink",
        ]
        let process = try TestProcess("/sbin/ip", arguments)
        processes.append(process)
        return process
    }

    /// Runs a Python 3 script in the namespace (Debian's interpreter), with `arguments` as
    /// sys.argv[1:], killed after `timeoutSeconds`.
    public func startPython(_ script: String, _ arguments: [String], timeoutSeconds: Int = 30) throws -> TestProcess {
        let process = try TestProcess("/sbin/ip", ["netns", "exec", namespace, "timeout", "-s", "KILL", "\(timeoutSeconds)", "/usr/bin/python3", "-c", script] + arguments)
        processes.append(process)
        return process
    }

    /// Starts `camhost stream receive` on the host with `arguments` after --from and --port, and
    /// returns once its RTP port is bound (so the first packets sent are not refused).
    public func startReceiver(_ arguments: [String]) throws -> TestProcess {
        let process = try TestProcess(TestEnvironment.camhostBinary,
                                      ["stream", "receive", "--from", cameraAddress, "--port", "\(rtpPort)"] + arguments,
                                      environment: TestEnvironment.clean)
        processes.append(process)
        Self.waitUntilBound(udpPort: rtpPort, by: process)
        return process
    }

    /// Waits (up to 10 s) until an IPv4 UDP socket is bound to `udpPort` (/proc/net/udp), or
    /// `process` ended.
    public static func waitUntilBound(udpPort: UInt16, by process: TestProcess) {
        let port = ":" + String(udpPort, radix: 16, uppercase: true).leftPadded(to: 4)
        Loopback.waitUntil(timeout: .seconds(10)) {
            let table = (try? readFile("/proc/net/udp")) ?? ""
            return table.split(separator: "\n").contains { $0.split(separator: " ").dropFirst().first?.hasSuffix(port) ?? false }
                || !process.isRunning
        }
    }

    /// Starts `tcpdump -i <host interface> -w path` for the lab's UDP traffic, flushing each packet.
    public func tcpdump(path: String) throws -> TestProcess {
        let process = try TestProcess("/usr/bin/tcpdump", ["-i", hostInterface, "-w", path, "-U", "-s", "0", "-n", "udp"])
        processes.append(process)
        return process
    }

    /// Stops every process and removes the namespace and the veth pair. Safe to call twice.
    public func tearDown() {
        if torn { return }
        torn = true
        for process in processes { process.signal(SIGTERM) }
        for process in processes where process.wait(timeout: .seconds(3)) == nil { process.kill() }
        processes.removeAll()
        _ = try? TestProcess.run("/sbin/ip", ["link", "del", hostInterface], timeout: .seconds(10))
        _ = try? TestProcess.run("/sbin/ip", ["netns", "del", namespace], timeout: .seconds(10))
    }

    deinit { tearDown() }
}

extension String {
    func leftPadded(to length: Int) -> String { String(repeating: "0", count: max(0, length - count)) + self }
}
