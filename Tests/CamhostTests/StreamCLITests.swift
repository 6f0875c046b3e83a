import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `camhost stream receive` as a user runs it: usage errors and exit codes on their own, then
/// real streams in a network-namespace lab (a GStreamer H.264 camera, a Python sender of crafted
/// and hostile datagrams), with the JSON contract and the feedback seen on the wire.
@Suite(.serialized) struct StreamCLITests {
    static func camhost(_ arguments: [String], timeout: Duration = .seconds(30)) throws -> (status: Int32, stdout: String, stderr: String) {
        try TestProcess.run(TestEnvironment.camhostBinary, ["stream", "receive"] + arguments, environment: TestEnvironment.clean, timeout: timeout)
    }

    /// The report's keys in the contract's order.
    static let shape = #"^\{"camera": "[^"]*", "source": ("[^"]*"|null), "packets": \d+, "lost": \d+, "reordered": \d+, "foreign_packets": \d+, "frames": \d+, "keyframes": \d+, "rtcp_sent": \d+, "rtcp_to": ("[^"]*"|null), "remb_bps": \d+, "segments": \[.*\]\}$"#

    static func number(_ json: String, _ key: String) -> Int? {
        guard let regex = try? Regex("\"\(key)\": (\\d+)"), let match = json.firstMatch(of: regex),
              let text = match.output[1].substring else { return nil }
        return Int(text)
    }

    static func text(_ json: String, _ key: String) -> String? {
        guard let regex = try? Regex("\"\(key)\": \"([^\"]*)\""), let match = json.firstMatch(of: regex),
              let text = match.output[1].substring else { return nil }
        return String(text)
    }

    // MARK: Without traffic

    @Test func usageErrorsSayWhatIsWrong() throws {
        let port = "\(Loopback.freePort())"
        let cases: [([String], String)] = [
            (["--from", "127.0.0.1", "--port", port, "--duration", "1s"], "loopback"),
            (["--from", "0.0.0.0", "--port", port, "--duration", "1s"], "unspecified"),
            (["--from", "camera-1", "--port", port], "not an IP address"),
            (["--from", "192.0.2.10", "--port", port, "--record", ""], "--record: give a directory"),
            (["--from", "192.0.2.10", "--port", port, "--codec", "vp8"], "--codec vp8: unknown codec"),
            (["--from", "192.0.2.10", "--port", port, "--feedback", "nack,remb"], "unknown feedback \"remb\""),
            (["--from", "192.0.2.10", "--port", "65535"], "--port"),
            (["--from", "192.0.2.10"], "--port"),
        ]
        for (arguments, message) in cases {
            let result = try Self.camhost(arguments)
            #expect(result.status == 64, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
    }

    @Test func aLocalAddressIsNeverAFeedbackDestination() throws {
        // This host's own address on its first non-loopback interface, as the kernel lists it.
        let addresses = try TestProcess.run("/sbin/ip", ["-o", "-4", "addr", "show", "scope", "global"]).stdout
        guard let local = addresses.split(separator: "\n").compactMap({ line -> String? in
            guard let inet = line.firstRange(of: "inet ") else { return nil }
            return String(line[inet.upperBound...].prefix { $0 != "/" })
        }).first else { return }
        let result = try Self.camhost(["--from", local, "--port", "\(Loopback.freePort())", "--duration", "1s"])
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("an address of this host"), "\(result.stderr)")
    }

    @Test func portInUseExits69AndNoRTPExits2() throws {
        let (fd, port) = Loopback.bind(type: SOCK_DGRAM)
        defer { close(fd) }
        let busy = try Self.camhost(["--from", "192.0.2.10", "--port", "\(port)", "--duration", "1s"])
        #expect(busy.status == 69, "\(busy.stderr)")
        #expect(busy.stderr.contains("UDP port \(port) is in use"), "\(busy.stderr)")

        let free = Loopback.bind(type: SOCK_DGRAM)
        close(free.fd)
        let quiet = try Self.camhost(["--from", "192.0.2.10", "--port", "\(free.port)", "--duration", "700ms", "--json", "--camera", "gate"])
        #expect(quiet.status == 2, "\(quiet.stderr)")
        let json = quiet.stdout.trimmingCharacters()
        #expect(json == #"{"camera": "gate", "source": null, "packets": 0, "lost": 0, "reordered": 0, "foreign_packets": 0, "frames": 0, "keyframes": 0, "rtcp_sent": 0, "rtcp_to": null, "remb_bps": 0, "segments": []}"#)
    }

    @Test func sigtermStopsAndReports() throws {
        let port = Loopback.bind(type: SOCK_DGRAM)
        close(port.fd)
        let process = try TestProcess(TestEnvironment.camhostBinary, ["stream", "receive", "--from", "192.0.2.10", "--port", "\(port.port)"],
                                      environment: TestEnvironment.clean)
        // Bound means running: the stop signals are blocked before the sockets are made.
        StreamLab.waitUntilBound(udpPort: port.port, by: process)
        process.signal(SIGTERM)
        #expect(process.wait(timeout: .seconds(5)) == 2)
        #expect(process.output().contains("no RTP arrived"), "\(process.output())")
    }

    // MARK: Real streams in the lab

    @Test(.timeLimit(.minutes(1))) func gstreamerCameraEveryFrameCounted() throws {
        let lab = try StreamLab()
        defer { lab.tearDown() }
        let receiver = try lab.startReceiver(["--duration", "7s", "--json", "--camera", "lab-cam"])
        usleep(500_000)
        let camera = try lab.startCamera(frames: 100)
        camera.wait(timeout: .seconds(20))
        #expect(receiver.wait(timeout: .seconds(20)) == 0, "\(receiver.errors())")
        let json = receiver.output().trimmingCharacters()
        #expect(json.wholeMatch(of: try Regex(Self.shape)) != nil, "\(json)")
        #expect(Self.number(json, "frames") == 100, "\(json)\n\(camera.errors())")
        #expect(Self.number(json, "keyframes") == 4, "\(json)")
        #expect(Self.number(json, "lost") == 0, "\(json)")
        #expect(Self.number(json, "foreign_packets") == 0, "\(json)")
        #expect((Self.number(json, "packets") ?? 0) > 100, "\(json)")
        // Four seconds of stream: a report at once, then at least one a second.
        #expect((Self.number(json, "rtcp_sent") ?? 0) >= 4, "\(json)")
        // The camera sends its RTCP from its RTCP port: feedback goes back there (RFC 4961).
        #expect(Self.text(json, "rtcp_to") == "\(lab.cameraAddress):\(lab.cameraRTCPPort)", "\(json)")
        #expect(Self.text(json, "source") == "\(lab.cameraAddress):\(lab.cameraRTPPort)", "\(json)")
        #expect(Self.number(json, "remb_bps") == 8_000_000, "\(json)")
    }

    /// `--record`: the GStreamer camera's pictures become fMP4 segments that ffprobe reads, every
    /// frame in them, listed in the report with paths relative to the folder.
    @Test(.timeLimit(.minutes(1))) func recordsTheStreamIntoSegmentsFFprobeReads() throws {
        let lab = try StreamLab()
        defer { lab.tearDown() }
        let folder = try TemporaryDirectory()
        let receiver = try lab.startReceiver(["--duration", "7s", "--json", "--camera", "lab-cam", "--record", folder.path, "--segment-seconds", "2"])
        usleep(500_000)
        let camera = try lab.startCamera(frames: 100)
        camera.wait(timeout: .seconds(20))
        #expect(receiver.wait(timeout: .seconds(20)) == 0, "\(receiver.errors())")
        let json = receiver.output().trimmingCharacters()
        #expect(json.wholeMatch(of: try Regex(Self.shape)) != nil, "\(json)")
        #expect(Self.number(json, "frames") == 100, "\(json)")
        let paths = json.matches(of: try Regex(#""path": "([^"]*)""#)).compactMap { $0.output[1].substring.map(String.init) }
        #expect(paths.count >= 2, "segments of 2 s from 4 s of video: \(json)")
        var frames = 0
        for path in paths {
            #expect(path.hasPrefix("lab-cam/") && path.hasSuffix(".mp4"), "\(path)")
            let probe = try TestProcess.run("/usr/bin/ffprobe", ["-v", "error", "-count_frames", "-select_streams", "v:0",
                                                                  "-show_entries", "stream=codec_name,nb_read_frames", "-of", "csv=p=0", folder.path + "/" + path],
                                            environment: TestEnvironment.clean)
            #expect(probe.status == 0 && probe.stderr.isEmpty, "\(probe.stderr)")
            let fields = probe.stdout.trimmingCharacters().split(separator: ",")
            #expect(fields.first == "h264")
            frames += Int(fields.last ?? "") ?? 0
        }
        #expect(frames == 100, "frames in the segments: \(frames)")
    }

    @Test(.timeLimit(.minutes(1))) func h265CameraEveryFrameCounted() throws {
        let lab = try StreamLab()
        defer { lab.tearDown() }
        let receiver = try lab.startReceiver(["--duration", "5s", "--json", "--codec", "h265"])
        usleep(500_000)
        let camera = try lab.startCamera(frames: 50, codec: "h265")
        camera.wait(timeout: .seconds(20))
        #expect(receiver.wait(timeout: .seconds(20)) == 0, "\(receiver.errors())")
        let json = receiver.output().trimmingCharacters()
        #expect(Self.number(json, "frames") == 50, "\(json)\n\(camera.errors())")
        #expect(Self.number(json, "keyframes") == 2, "\(json)")
        #expect(Self.number(json, "lost") == 0, "\(json)")
    }

    /// RTCP packet types and feedback formats seen on the host's veth towards the camera.
    static func feedbackOnTheWire(_ pcap: String, to camera: String, port: UInt16) throws -> (nack: Int, pli: Int, remb: [Int]) {
        let result = try TestProcess.run("/usr/bin/tshark", [
            "-r", pcap, "-n", "-d", "udp.port==\(port),rtcp", "-Y", "ip.dst==\(camera) && udp.dstport==\(port) && rtcp",
            "-T", "fields", "-E", "occurrence=a", "-E", "separator=;",
            "-e", "rtcp.pt", "-e", "rtcp.rtpfb.fmt", "-e", "rtcp.psfb.fmt",
            "-e", "rtcp.psfb.remb.fci.br_exp", "-e", "rtcp.psfb.remb.fci.br_mantissa",
        ], timeout: .seconds(60))
        var nack = 0, pli = 0
        var remb: [Int] = []
        for line in result.stdout.split(separator: "\n") {
            let fields = line.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 5 else { continue }
            nack += fields[1].split(separator: ",").filter { $0 == "1" }.count
            pli += fields[2].split(separator: ",").filter { $0 == "1" }.count
            // REMB: mantissa x 2^exponent (draft-alvestrand-rmcat-remb-03 section 2.2).
            let exponents = fields[3].split(separator: ",").compactMap { Int($0) }
            let mantissas = fields[4].split(separator: ",").compactMap { Int($0) }
            remb += zip(exponents, mantissas).map { $1 << $0 }
        }
        return (nack, pli, remb)
    }

    @Test(.timeLimit(.minutes(1))) func lossBringsNACKsAndKeyframeRequestsOnTheWire() throws {
        let lab = try StreamLab()
        defer { lab.tearDown() }
        let directory = try TemporaryDirectory(prefix: "stream-cli")
        let pcap = directory.file("loss.pcap")
        let dump = try lab.tcpdump(path: pcap)
        usleep(300_000)
        let receiver = try lab.startReceiver(["--duration", "7s", "--json", "--feedback", "nack,pli"])
        usleep(500_000)
        let camera = try lab.startCamera(frames: 100, dropProbability: 0.05)
        camera.wait(timeout: .seconds(20))
        #expect(receiver.wait(timeout: .seconds(20)) == 0, "\(receiver.errors())")
        usleep(300_000)
        dump.signal(SIGINT)
        dump.wait(timeout: .seconds(5))
        let json = receiver.output().trimmingCharacters()
        let lost = Self.number(json, "lost") ?? 0
        #expect(lost > 0, "\(json)")
        let frames = Self.number(json, "frames") ?? 0
        #expect(frames > 0 && frames < 100, "\(json)")
        let wire = try Self.feedbackOnTheWire(pcap, to: lab.cameraAddress, port: lab.cameraRTCPPort)
        #expect(wire.nack > 0, "\(wire) \(json)")
        #expect(wire.pli > 0, "\(wire) \(json)")
        #expect(!wire.remb.isEmpty && wire.remb.allSatisfy { $0 <= 8_000_000 }, "\(wire)")
    }

    @Test(.timeLimit(.minutes(1))) func heavyLossLowersREMB() throws {
        let lab = try StreamLab()
        defer { lab.tearDown() }
        let directory = try TemporaryDirectory(prefix: "stream-cli")
        let pcap = directory.file("remb.pcap")
        let dump = try lab.tcpdump(path: pcap)
        usleep(300_000)
        let receiver = try lab.startReceiver(["--duration", "7s", "--json"])
        usleep(500_000)
        let camera = try lab.startCamera(frames: 125, dropProbability: 0.25)
        camera.wait(timeout: .seconds(20))
        #expect(receiver.wait(timeout: .seconds(20)) == 0, "\(receiver.errors())")
        usleep(300_000)
        dump.signal(SIGINT)
        dump.wait(timeout: .seconds(5))
        let json = receiver.output().trimmingCharacters()
        let remb = Self.number(json, "remb_bps") ?? 0
        #expect(remb > 0 && remb < 8_000_000, "\(json)")
        let wire = try Self.feedbackOnTheWire(pcap, to: lab.cameraAddress, port: lab.cameraRTCPPort)
        #expect(wire.remb.count >= 3, "\(wire)")
        #expect((wire.remb.min() ?? .max) < (wire.remb.first ?? 0), "\(wire)")
        #expect(wire.nack == 0, "NACK was not asked for: \(wire)")
    }

    /// Sends, from inside the lab: a stranger's RTP; truncated and garbage datagrams and a 64 KB
    /// FU-A storm from the camera's address; then 20 good pictures (SPS/PPS/IDR in a STAP-A and
    /// FU-A, P slices), a restart with a new SSRC and 20 more. Listens for RTCP on its RTP port + 1
    /// and prints how many datagrams came.
    static let hostileSender = #"""
    import socket, struct, sys, time, select
    host, port, camera, stranger, src = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
    rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); rtp.bind((camera, src))
    rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); rtcp.bind((camera, src + 1))
    other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); other.bind((stranger, src))
    sps = bytes.fromhex("6764001eacd940a02ff97011000003000100000300320f162d96"); pps = bytes.fromhex("68ebe3cb22c0")
    def packet(seq, ts, ssrc, payload, marker=False):
        return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | 96, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + payload
    for i in range(30): other.sendto(packet(i, i * 3000, 0x5757, b"\x65stranger"), (host, port))
    for d in [b"", b"\x80", b"\x80\x60\x00", b"garbage that is not rtp at all", b"\x40" * 40]: rtp.sendto(d, (host, port))
    for d in [b"\x80\xc9", b"\x81\xc9\x00\x07" + b"\x00" * 8, b"junk"]: rtcp.sendto(d, (host, port + 1))
    # The storm: 64 KB datagrams of FU-A middles that never started, and one huge start that never ends.
    storm = b"\x7c\x05" + b"\xab" * 65000
    for i in range(8): rtp.sendto(packet(1000 + i, 1, 0x5151, storm), (host, port))
    rtp.sendto(packet(2000, 2, 0x5151, b"\x7c\x85" + b"\xcd" * 65000), (host, port))
    time.sleep(0.3)
    def stream(ssrc, seq, ts0, frames):
        for f in range(frames):
            ts = ts0 + f * 3600
            if f % 10 == 0:
                agg = b"\x78" + struct.pack("!H", len(sps)) + sps + struct.pack("!H", len(pps)) + pps
                rtp.sendto(packet(seq, ts, ssrc, agg), (host, port)); seq += 1
                body = bytes([0x88]) + bytes(range(256)) * 12
                pieces = [body[i:i + 1000] for i in range(0, len(body), 1000)]
                for n, piece in enumerate(pieces):
                    fu = bytes([0x7c, (0x80 if n == 0 else 0) | (0x40 if n == len(pieces) - 1 else 0) | 5]) + piece
                    rtp.sendto(packet(seq, ts, ssrc, fu, n == len(pieces) - 1), (host, port)); seq += 1
            else:
                rtp.sendto(packet(seq, ts, ssrc, b"\x41\x9a" + bytes(200), True), (host, port)); seq += 1
            time.sleep(0.04)
    stream(0xAAAA0001, 65500, 4294900000, 20)
    stream(0xBBBB0002, 17, 123, 20)
    got = 0
    end = time.time() + 1.5
    while time.time() < end:
        if select.select([rtcp], [], [], 0.1)[0]:
            rtcp.recv(2048); got += 1
    print("rtcp_received", got)
    """#

    /// Sends 30 one-packet pictures from the camera's address and counts the RTCP that reaches
    /// the port given as the camera's RTCP port (argv 4).
    static let fixedPortSender = #"""
    import socket, struct, sys, time, select
    host, port, camera, src, fixed = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); rtp.bind((camera, src))
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); listener.bind((camera, fixed))
    got = 0
    for i in range(30):
        payload = b"\x65\x88" + bytes(100) if i == 0 else b"\x41\x9a" + bytes(100)
        rtp.sendto(struct.pack("!BBHII", 0x80, 0x80 | 96, i, i * 3600, 0xC0FFEE) + payload, (host, port))
        time.sleep(0.05)
        while select.select([listener], [], [], 0)[0]: listener.recv(2048); got += 1
    end = time.time() + 1.2
    while time.time() < end:
        if select.select([listener], [], [], 0.1)[0]: listener.recv(2048); got += 1
    print("rtcp_received", got)
    """#

    @Test(.timeLimit(.minutes(1))) func aFixedCameraRTCPPortWins() throws {
        let lab = try StreamLab()
        defer { lab.tearDown() }
        let fixed = lab.cameraRTCPPort + 7
        let receiver = try lab.startReceiver(["--duration", "4s", "--json", "--camera-rtcp-port", "\(fixed)"])
        usleep(400_000)
        let sender = try lab.startPython(Self.fixedPortSender, [lab.hostAddress, "\(lab.rtpPort)", lab.cameraAddress, "\(lab.cameraRTPPort)", "\(fixed)"])
        #expect(sender.wait(timeout: .seconds(20)) == 0, "\(sender.errors())")
        #expect(receiver.wait(timeout: .seconds(20)) == 0, "\(receiver.errors())")
        let json = receiver.output().trimmingCharacters()
        #expect(Self.text(json, "rtcp_to") == "\(lab.cameraAddress):\(fixed)", "\(json)")
        #expect(Self.number(json, "packets") == 30, "\(json)")
        let received = sender.output().split(separator: " ").last.flatMap { Int($0.trimmingCharacters()) } ?? 0
        #expect(received >= 2, "\(sender.output()) \(json)")
    }

    @Test(.timeLimit(.minutes(1))) func strangersGarbageAndStormsAreCountedAndDropped() throws {
        let lab = try StreamLab()
        defer { lab.tearDown() }
        let receiver = try lab.startReceiver(["--duration", "6s", "--json"])
        usleep(500_000)
        let sender = try lab.startPython(Self.hostileSender, [lab.hostAddress, "\(lab.rtpPort)", lab.cameraAddress, lab.strangerAddress, "\(lab.cameraRTPPort)"])
        #expect(sender.wait(timeout: .seconds(20)) == 0, "\(sender.errors())")
        #expect(receiver.wait(timeout: .seconds(20)) == 0, "\(receiver.errors())")
        let json = receiver.output().trimmingCharacters()
        #expect(json.wholeMatch(of: try Regex(Self.shape)) != nil, "\(json)")
        #expect(Self.number(json, "foreign_packets") == 30, "\(json)")
        // Both sources' pictures, across the sequence and timestamp wrap and the restart.
        #expect(Self.number(json, "frames") == 40, "\(json)")
        #expect(Self.number(json, "keyframes") == 4, "\(json)")
        #expect(Self.number(json, "lost") == 0, "\(json)")
        // No RTCP of its own from the camera's sender: feedback goes to its RTP port + 1.
        #expect(Self.text(json, "rtcp_to") == "\(lab.cameraAddress):\(lab.cameraRTPPort + 1)", "\(json)")
        let received = sender.output().split(separator: " ").last.flatMap { Int($0.trimmingCharacters()) } ?? 0
        #expect(received >= 2, "\(sender.output())")
    }
}

extension StringProtocol {
    func trimmingCharacters() -> String {
        String(self.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
