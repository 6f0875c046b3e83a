import Capture
import Synchronization
import Testing
import TestSupport
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// Real RTP and RTCP between GStreamer in a network namespace (the camera) and GStreamer on the
/// host (the receiver), captured live with libpcap on `any`, `lo` and the veth at once, and with
/// tcpdump into files of three link types; every capture must reach the verdict it can see.
@Suite(.serialized) struct LabCaptureTests {
    /// One live capture feeding its own analyser.
    final class Watch: Sendable {
        let capture: LiveCapture
        let analyser: Mutex<TrapAnalyser>
        init(_ interfaces: [String], lab: RTCPLab, write: String? = nil) throws {
            capture = try LiveCapture(interfaces: interfaces, ports: lab.ports, writePath: write)
            analyser = Mutex(TrapAnalyser(camera: IPAddress(lab.cameraAddress)!, coverage: capture.coverage))
            capture.start { [self] event in self.analyser.withLock { $0.add(event) } }
        }
        func finish() -> RTCPDiagnosis {
            capture.stop()
            return analyser.withLock { $0.diagnosis() }
        }
    }

    static func read(_ path: String, lab: RTCPLab) throws -> RTCPDiagnosis {
        var request = TrapDiagnosis.Request(camera: IPAddress(lab.cameraAddress)!)
        request.readPath = path
        request.ports = lab.ports
        return try TrapDiagnosis.run(request)
    }

    static func stop(_ process: TestProcess) {
        process.signal(SIGINT)
        process.wait(timeout: .seconds(5))
    }

    /// Our per-route counts of a file against tshark's.
    static func crossCheck(_ path: String, _ diagnosis: RTCPDiagnosis, lab: RTCPLab) throws {
        let theirs = try TShark.counts(file: path, ports: [lab.rtcpPort, lab.feedbackPort], camera: lab.cameraAddress)
        for route in FeedbackRoute.allCases {
            #expect(TShark.comparable(theirs[route] ?? RTCPKindCounts()) == TShark.comparable(diagnosis.counts(route)), "\(path) \(route)")
        }
    }

    @Test(.timeLimit(.minutes(2))) func trap() throws {
        let lab = try RTCPLab()
        defer { lab.tearDown() }
        let directory = try TemporaryDirectory(prefix: "lab-trap")
        let exported = directory.file("any-export.pcap")
        let any = try Watch(["any"], lab: lab, write: exported)
        let lo = try Watch(["lo"], lab: lab)
        let veth = try Watch([lab.hostInterface], lab: lab)
        let loAndVeth = try Watch(["lo", lab.hostInterface], lab: lab)
        let sll2 = try lab.tcpdump(interface: "any", path: directory.file("any.pcap"))
        let sll = try lab.tcpdump(interface: "any", path: directory.file("any-sll.pcap"), linkType: "LINUX_SLL")
        let loFile = try lab.tcpdump(interface: "lo", path: directory.file("lo.pcap"))
        usleep(500_000)
        try lab.start(feedback: .unspecified, seconds: 7)
        lab.waitForTraffic()
        usleep(300_000)
        for process in [sll2, sll, loFile] { Self.stop(process) }

        let live = any.finish()
        #expect(live.verdict == .trap, "\(live.text)")
        #expect(live.counts(.onLoopback).receiverReports >= 2)
        #expect(live.counts(.fromCamera).senderReports >= 2)
        #expect(live.counts(.toCamera).datagrams == 0)
        #expect(live.cameraSSRCs.contains(lab.cameraSSRC))
        #expect(live.hostAddress == IPAddress(lab.hostAddress))
        #expect(live.fix?.contains("c=IN IP4 \(lab.cameraAddress)") == true && live.fix?.contains("own address \(lab.hostAddress)") == true)
        #expect(live.evidence.first?.interface == "lo")
        #expect(lo.finish().verdict == .trap)
        #expect(loAndVeth.finish().verdict == .trap)
        let vethOnly = veth.finish()
        #expect(vethOnly.verdict == .indeterminate, "\(vethOnly.text)")
        #expect(vethOnly.counts(.fromCamera).datagrams >= 2)

        for (name, linkType) in [("any-export.pcap", LinkType.linuxSLL2), ("any.pcap", .linuxSLL2), ("any-sll.pcap", .linuxSLL), ("lo.pcap", .ethernet)] {
            let path = directory.file(name)
            #expect(try OfflineCapture.linkType(path: path) == linkType, "\(name)")
            let fromFile = try Self.read(path, lab: lab)
            #expect(fromFile.verdict == .trap, "\(name): \(fromFile.text)")
            try Self.crossCheck(path, fromFile, lab: lab)
        }
        // The export holds exactly the RTCP the live capture saw.
        let exportedDiagnosis = try Self.read(exported, lab: lab)
        for route in FeedbackRoute.allCases { #expect(exportedDiagnosis.counts(route) == live.counts(route)) }
    }

    @Test(.timeLimit(.minutes(2))) func healthy() throws {
        let lab = try RTCPLab()
        defer { lab.tearDown() }
        let directory = try TemporaryDirectory(prefix: "lab-healthy")
        let any = try Watch(["any"], lab: lab)
        let lo = try Watch(["lo"], lab: lab)
        let veth = try Watch([lab.hostInterface], lab: lab, write: directory.file("veth-export.pcap"))
        let sll2 = try lab.tcpdump(interface: "any", path: directory.file("any.pcap"))
        let vethFile = try lab.tcpdump(interface: lab.hostInterface, path: directory.file("veth.pcap"))
        usleep(500_000)
        try lab.start(feedback: .camera, seconds: 7)
        lab.waitForTraffic()
        usleep(300_000)
        for process in [sll2, vethFile] { Self.stop(process) }

        let live = any.finish()
        #expect(live.verdict == .healthy, "\(live.text)")
        #expect(live.counts(.toCamera).receiverReports >= 2)
        #expect(live.counts(.onLoopback).datagrams == 0)
        #expect((live.cadence[.toCamera]?.largestGap ?? 0) > 0)
        #expect((live.cadence[.toCamera]?.largestGap ?? .max) < 4_000_000_000)
        #expect(veth.finish().verdict == .healthy)
        #expect(lo.finish().verdict == .indeterminate)
        for (name, linkType) in [("any.pcap", LinkType.linuxSLL2), ("veth.pcap", .ethernet), ("veth-export.pcap", .ethernet)] {
            let path = directory.file(name)
            #expect(try OfflineCapture.linkType(path: path) == linkType, "\(name)")
            let fromFile = try Self.read(path, lab: lab)
            #expect(fromFile.verdict == .healthy, "\(name): \(fromFile.text)")
            try Self.crossCheck(path, fromFile, lab: lab)
        }
    }
}
