import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `camhost diagnose rtcp` as a user runs it: live on the RTCP lab (a namespace camera and a
/// GStreamer receiver), from files, with the JSON contract and every documented exit code.
@Suite(.serialized) struct DiagnoseCLITests {
    static func camhost(_ arguments: [String], timeout: Duration = .seconds(60)) throws -> (status: Int32, stdout: String, stderr: String) {
        try TestProcess.run(TestEnvironment.camhostBinary, ["diagnose", "rtcp"] + arguments, environment: TestEnvironment.clean, timeout: timeout)
    }

    /// The `rtcp` object's four routes with the twelve counters each, in the contract's order.
    static let countKeys = #""datagrams": \d+, "SR": \d+, "RR": \d+, "SDES": \d+, "BYE": \d+, "APP": \d+, "RTPFB": \d+, "PSFB": \d+, "NACK": \d+, "PLI": \d+, "FIR": \d+, "REMB": \d+"#

    static func value(_ json: String, route: String, key: String) -> Int? {
        guard let regex = try? Regex("\"\(route)\": \\{[^}]*\"\(key)\": (\\d+)"),
              let match = json.firstMatch(of: regex), let text = match.output[1].substring else { return nil }
        return Int(text)
    }

    @Test(.timeLimit(.minutes(2))) func liveTrapThenHealthy() throws {
        let directory = try TemporaryDirectory(prefix: "diagnose-cli")
        for feedback in [RTCPLab.Feedback.unspecified, .camera] {
            let lab = try RTCPLab()
            defer { lab.tearDown() }
            let saved = directory.file("\(feedback).pcap")
            let ports = lab.ports.map(String.init).joined(separator: ",")
            let capture = try TestProcess(TestEnvironment.camhostBinary,
                ["diagnose", "rtcp", "--camera", lab.cameraAddress, "--duration", "6500ms", "--ports", ports, "--write", saved, "--json"],
                environment: TestEnvironment.clean)
            usleep(400_000)
            try lab.start(feedback: feedback, seconds: 6)
            let status = capture.wait(timeout: .seconds(30))
            let json = capture.output()
            let expected: (Int32, String) = feedback == .camera ? (0, "healthy") : (1, "trap")
            #expect(status == expected.0, "\(json)\n\(capture.errors())")
            #expect(json.hasPrefix("{\"verdict\": \"\(expected.1)\", \"camera\": \"\(lab.cameraAddress)\", \"rtcp\": {\"to_camera\": {"))
            for route in ["to_camera", "from_camera", "on_loopback", "other"] {
                #expect(json.contains(try Regex("\"\(route)\": \\{\(Self.countKeys)\\}")), "\(route) in \(json)")
            }
            #expect(json.contains("\"evidence\": [{"))
            #expect((Self.value(json, route: "from_camera", key: "SR") ?? 0) >= 2)
            if feedback == .camera {
                #expect((Self.value(json, route: "to_camera", key: "RR") ?? 0) >= 2)
                #expect(Self.value(json, route: "on_loopback", key: "datagrams") == 0)
            } else {
                #expect(Self.value(json, route: "to_camera", key: "datagrams") == 0)
                #expect((Self.value(json, route: "on_loopback", key: "RR") ?? 0) >= 2)
                #expect(json.contains("c=IN IP4 \(lab.cameraAddress)") && json.contains("Not this host's own address \(lab.hostAddress)"))
            }
            // The saved RTCP gives the same verdict and counts, read back as a file (human output this time).
            let again = try Self.camhost(["--camera", lab.cameraAddress, "--read", saved])
            #expect(again.status == expected.0, "\(again.stdout)\(again.stderr)")
            #expect(again.stdout.hasPrefix("\(expected.1): "))
            #expect(again.stdout.contains("Cadence: largest gap"))
            if feedback == .unspecified {
                #expect(again.stdout.contains("Fix: In the SDP offer"))
                #expect(again.stdout.contains("(on_loopback)"))
            }
            let json2 = try Self.camhost(["--camera", lab.cameraAddress, "--read", saved, "--json"]).stdout
            for route in ["to_camera", "from_camera", "on_loopback", "other"] {
                for key in ["datagrams", "SR", "RR", "SDES"] {
                    #expect(Self.value(json2, route: route, key: key) == Self.value(json, route: route, key: key), "\(route).\(key)")
                }
            }
        }
    }

    /// A pcap file written by hand: global header, then records (little-endian, microseconds).
    static func pcap(linkType: UInt32 = 1, _ records: [[UInt8]]) -> [UInt8] {
        func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }
        var out = le32(0xA1B2_C3D4) + [2, 0, 4, 0] + le32(0) + le32(0) + le32(65535) + le32(linkType)
        for (n, record) in records.enumerated() {
            out += le32(UInt32(1_700_000_000 + n)) + le32(0) + le32(UInt32(record.count)) + le32(UInt32(record.count)) + record
        }
        return out
    }

    /// Ethernet + IPv4 + UDP 5005→5005 around an RTCP payload.
    static func frame(from source: [UInt8], to destination: [UInt8], _ payload: [UInt8]) -> [UInt8] {
        func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
        let udp = be16(5005) + be16(5005) + be16(8 + payload.count) + [0, 0] + payload
        let ip = [0x45, 0] + be16(20 + udp.count) + [0, 1, 0x40, 0, 64, 17, 0, 0] + source + destination + udp
        return [UInt8](repeating: 0, count: 12) + [0x08, 0x00] + ip
    }

    /// SR from the camera (SSRC 0x0A0B0C0D), no report blocks.
    static let senderReport: [UInt8] = [0x80, 200, 0, 6, 0x0A, 0x0B, 0x0C, 0x0D] + [UInt8](repeating: 0, count: 20)

    @Test func onlyTheCamerasOwnReportsIsNoRTCP() throws {
        let directory = try TemporaryDirectory(prefix: "diagnose-cli")
        let path = directory.file("sr.pcap")
        try writeFile(path, Self.pcap([Self.frame(from: [192, 0, 2, 20], to: [192, 0, 2, 1], Self.senderReport)]))
        let result = try Self.camhost(["--camera", "192.0.2.20", "--read", path, "--json"])
        #expect(result.status == 2)
        #expect(result.stdout.hasPrefix(#"{"verdict": "no-rtcp", "camera": "192.0.2.20", "rtcp": {"to_camera": {"datagrams": 0,"#))
        #expect(Self.value(result.stdout, route: "from_camera", key: "SR") == 1)
    }

    @Test func malformedCapturesExit65() throws {
        let directory = try TemporaryDirectory(prefix: "diagnose-cli")
        let valid = Self.pcap([Self.frame(from: [192, 0, 2, 20], to: [192, 0, 2, 1], Self.senderReport)])
        let cases: [(String, [UInt8], String)] = [
            ("magic.pcap", Array("GIF89a, not a capture".utf8) + [UInt8](repeating: 0, count: 20), "wrong magic"),
            ("truncated.pcap", Array(valid.dropLast(7)), "truncated"),
            ("zero.pcap", Self.pcap([[]]), "zero captured bytes"),
            ("empty.pcap", [], "cannot read this capture file"),
        ]
        for (name, bytes, words) in cases {
            let path = directory.file(name)
            try writeFile(path, bytes)
            let result = try Self.camhost(["--camera", "192.0.2.20", "--read", path])
            #expect(result.status == 65, "\(name): \(result.stdout)\(result.stderr)")
            #expect(result.stderr.contains(path) && result.stderr.contains(words), "\(name): \(result.stderr)")
            #expect(!result.stderr.contains("Fatal error"))
        }
        let missing = try Self.camhost(["--camera", "192.0.2.20", "--read", directory.file("nothing-here.pcap")])
        #expect(missing.status == 65)
    }

    @Test func usageErrorsExit64() throws {
        for arguments in [
            ["--camera", "not-an-ip"],
            ["--camera", "192.0.2.20", "--duration", "soon"],
            ["--camera", "192.0.2.20", "--ports", "5004-"],
            ["--camera", "192.0.2.20", "--read", "/tmp/x.pcap", "--interface", "lo"],
            ["--camera", "192.0.2.20", "--interface", "no-such-if0", "--duration", "1s"],
            [],
        ] {
            let result = try Self.camhost(arguments)
            #expect(result.status == 64, "\(arguments): \(result.stderr)")
        }
    }

    /// Without CAP_NET_RAW (as `nobody`, through setpriv) capture is refused with the setcap hint.
    @Test func noPermissionExit77() throws {
        let result = try TestProcess.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", TestEnvironment.camhostBinary,
                                                             "diagnose", "rtcp", "--camera", "192.0.2.20", "--duration", "1s"], environment: TestEnvironment.clean)
        #expect(result.status == 77, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains("setcap cap_net_raw,cap_net_admin=eip"))
    }

    @Test func helpDocumentsExitCodes() throws {
        let result = try TestProcess.run(TestEnvironment.camhostBinary, ["diagnose", "rtcp", "--help"])
        #expect(result.status == 0)
        for words in ["0  healthy", "1  trap", "2  no-rtcp", "64 usage error", "65 unreadable", "77 no permission", "setcap", "Examples:"] {
            #expect(result.stdout.contains(words), "\(words)")
        }
    }
}
