import Capture
import Testing
import TestSupport
import Wire

/// RTCP laid out byte by byte (REMB, FIR, TWCC, NACK, PLI, empty RR), written to pcap files of every
/// link type through pcap_dump, read back through libpcap and the analyser, and checked against tshark.
@Suite struct SyntheticCaptureTests {
    static let camera = "192.0.2.20"
    static let host = "192.0.2.1"
    static let cameraSSRC: UInt32 = 0xCA11_0001
    static let kurentoSSRC: UInt32 = 0x0CE1_7E00

    /// A camera sending RTP and SR, and Kurento's feedback going to `feedbackTo` (the camera, or 127.0.0.1).
    /// The camera's own RTP and SR are left out of NULL captures unless `cameraTraffic` says otherwise.
    static func traffic(feedbackTo: String, link: Frames.Link, cameraTraffic: Bool? = nil) -> [(time: Int64, bytes: [UInt8])] {
        let loopback = feedbackTo.hasPrefix("127.")
        let feedbackFrom = loopback ? "127.0.0.1" : host
        var frames: [(Int64, [UInt8])] = []
        var t: Int64 = 1_700_000_000_000_000_000
        func add(_ ip: [UInt8], onLoopback: Bool) {
            frames.append((t, link.wrap(ip, loopback: onLoopback)))
            t += 500_000_000
        }
        if cameraTraffic ?? (link != .null) {
            for n in 0..<3 { add(Frames.ipv4UDP(from: camera, 5004, to: host, 5004, Frames.rtp(ssrc: cameraSSRC, sequence: UInt16(n))), onLoopback: false) }
            for _ in 0..<2 {
                add(Frames.ipv4UDP(from: camera, 5005, to: host, 5005,
                                   Frames.senderReport(sender: cameraSSRC) + Frames.sourceDescription(cameraSSRC, cname: "cam@site")), onLoopback: false)
            }
        }
        let k = kurentoSSRC, c = cameraSSRC
        let feedback: [[UInt8]] = [
            Frames.receiverReport(sender: k, about: c) + Frames.sourceDescription(k, cname: "kms"),
            Frames.receiverReport(sender: k, about: nil) + Frames.remb(sender: k, exponent: 3, mantissa: 150_000, ssrcs: [c]),
            Frames.receiverReport(sender: k, about: nil) + Frames.fir(sender: k, ssrcs: [c]),
            Frames.receiverReport(sender: k, about: nil) + Frames.nack(sender: k, media: c) + Frames.pli(sender: k, media: c),
            Frames.twcc(sender: k, media: c),
        ]
        for payload in feedback {
            let datagram = Frames.ipv4UDP(from: feedbackFrom, 5005, to: feedbackTo, 5005, payload)
            add(datagram, onLoopback: loopback)
            if loopback {
                // The kernel's answer for the closed port quotes the datagram: never RTCP.
                add(Frames.icmpPortUnreachable(from: "127.0.0.1", to: "127.0.0.1", quoting: datagram), onLoopback: true)
            }
        }
        return frames
    }

    static let expectedFeedback: RTCPKindCounts = {
        var c = RTCPKindCounts()
        c.datagrams = 5; c.receiverReports = 4; c.sourceDescriptions = 1
        c.transportFeedback = 2; c.nacks = 1; c.transportWideCC = 1
        c.payloadFeedback = 3; c.rembs = 1; c.fullIntraRequests = 1; c.pictureLossIndications = 1
        return c
    }()

    static let expectedFromCamera: RTCPKindCounts = {
        var c = RTCPKindCounts()
        c.datagrams = 2; c.senderReports = 2; c.sourceDescriptions = 2
        return c
    }()

    static func diagnose(_ path: String) throws -> RTCPDiagnosis {
        var request = TrapDiagnosis.Request(camera: IPAddress(camera)!)
        request.readPath = path
        return try TrapDiagnosis.run(request)
    }

    @Test(arguments: [Frames.Link.ethernet, .linuxSLL, .linuxSLL2, .raw])
    func trapInEveryLinkType(link: Frames.Link) throws {
        let directory = try TemporaryDirectory(prefix: "synthetic")
        let path = directory.file("trap.pcap")
        try Frames.writePcap(path, link: link, Self.traffic(feedbackTo: "127.0.0.1", link: link))
        let diagnosis = try Self.diagnose(path)
        #expect(diagnosis.verdict == .trap)
        #expect(diagnosis.counts(.onLoopback) == Self.expectedFeedback)
        #expect(diagnosis.counts(.fromCamera) == Self.expectedFromCamera)
        #expect(diagnosis.counts(.toCamera).datagrams == 0)
        #expect(diagnosis.cameraSSRCs.contains(Self.cameraSSRC))
        #expect(diagnosis.cadence[.onLoopback]?.rembLast == 1_200_000)
        #expect(diagnosis.hostAddress == IPAddress(Self.host))
        #expect(diagnosis.fix?.contains("c=IN IP4 192.0.2.20") == true && diagnosis.fix?.contains("own address 192.0.2.1") == true)
        #expect(diagnosis.statistics.frames == 15)
        if TShark.isAvailable {
            let theirs = try TShark.counts(file: path, ports: [5005], camera: Self.camera)
            for route in FeedbackRoute.allCases {
                #expect(TShark.comparable(theirs[route] ?? RTCPKindCounts()) == TShark.comparable(diagnosis.counts(route)), "\(link) \(route)")
            }
        }
    }

    @Test(arguments: [Frames.Link.ethernet, .linuxSLL, .linuxSLL2, .raw])
    func healthyInEveryLinkType(link: Frames.Link) throws {
        let directory = try TemporaryDirectory(prefix: "synthetic")
        let path = directory.file("healthy.pcap")
        try Frames.writePcap(path, link: link, Self.traffic(feedbackTo: Self.camera, link: link))
        let diagnosis = try Self.diagnose(path)
        #expect(diagnosis.verdict == .healthy)
        #expect(diagnosis.counts(.toCamera) == Self.expectedFeedback)
        #expect(diagnosis.counts(.onLoopback).datagrams == 0)
        #expect(diagnosis.cadence[.toCamera]?.rembMinimum == 1_200_000)
        #expect(diagnosis.fix == nil)
        #expect(diagnosis.json.hasPrefix(#"{"verdict": "healthy", "camera": "192.0.2.20", "rtcp": {"to_camera": {"datagrams": 5, "SR": 0, "RR": 4, "SDES": 1, "BYE": 0, "APP": 0, "RTPFB": 2, "PSFB": 3, "NACK": 1, "PLI": 1, "FIR": 1, "REMB": 1}, "from_camera": {"datagrams": 2, "SR": 2,"#))
    }

    /// Feedback to 127.0.0.1 in a BSD loopback (NULL) capture is on loopback by its address: with no SSRC of the camera in the capture, any loopback feedback counts.
    @Test func nullLinkTypeIsLoopback() throws {
        let directory = try TemporaryDirectory(prefix: "synthetic")
        let path = directory.file("null.pcap")
        try Frames.writePcap(path, link: .null, Self.traffic(feedbackTo: "127.0.0.1", link: .null))
        #expect(try OfflineCapture.linkType(path: path) == .null)
        let diagnosis = try Self.diagnose(path)
        #expect(diagnosis.verdict == .trap)
        #expect(diagnosis.counts(.onLoopback) == Self.expectedFeedback)
        #expect(diagnosis.cameraSSRCs.isEmpty)
    }

    /// NULL/LOOP is also the link type of tunnels (utun, tun, gif): a camera reached through one,
    /// its feedback addressed to it, is healthy, and the camera's own reports come from the camera.
    @Test(arguments: [Frames.Link.null, .loop])
    func tunnelLinkTypeOfAHealthyStream(link: Frames.Link) throws {
        let directory = try TemporaryDirectory(prefix: "synthetic")
        let path = directory.file("tunnel.pcap")
        try Frames.writePcap(path, link: link, Self.traffic(feedbackTo: Self.camera, link: link, cameraTraffic: true))
        #expect(try OfflineCapture.linkType(path: path).rawValue == UInt32(link.dlt))
        let diagnosis = try Self.diagnose(path)
        #expect(diagnosis.verdict == .healthy)
        #expect(diagnosis.counts(.toCamera) == Self.expectedFeedback)
        #expect(diagnosis.counts(.fromCamera) == Self.expectedFromCamera)
        #expect(diagnosis.counts(.onLoopback).datagrams == 0)
        #expect(diagnosis.cameraSSRCs == [Self.cameraSSRC])
        #expect(diagnosis.fix == nil)
        let name = link == .null ? "NULL" : "LOOP"
        #expect(diagnosis.statistics.linkTypes.map(\.description) == [name])
        #expect(diagnosis.statistics.interfaceKnown == false)
        #expect(diagnosis.json.hasSuffix(#""link_types": ["\#(name)"], "interface_known": false}}"#), "\(diagnosis.json)")
        #expect(diagnosis.text.contains("Interfaces: the capture's link type (\(name)) does not say which interface a packet crossed"), "\(diagnosis.text)")
        #expect(diagnosis.text.contains("tunnels (utun, tun, gif)"))
        if TShark.isAvailable {
            let theirs = try TShark.counts(file: path, ports: [5005], camera: Self.camera)
            for route in FeedbackRoute.allCases {
                #expect(TShark.comparable(theirs[route] ?? RTCPKindCounts()) == TShark.comparable(diagnosis.counts(route)), "\(link) \(route)")
            }
        }
    }

    /// The real trap in a NULL/LOOP capture still reads trap, with the camera's own SR counted as the camera's.
    @Test(arguments: [Frames.Link.null, .loop])
    func tunnelLinkTypeOfTheTrap(link: Frames.Link) throws {
        let directory = try TemporaryDirectory(prefix: "synthetic")
        let path = directory.file("trap.pcap")
        try Frames.writePcap(path, link: link, Self.traffic(feedbackTo: "127.0.0.1", link: link, cameraTraffic: true))
        let diagnosis = try Self.diagnose(path)
        #expect(diagnosis.verdict == .trap)
        #expect(diagnosis.counts(.onLoopback) == Self.expectedFeedback)
        #expect(diagnosis.counts(.fromCamera) == Self.expectedFromCamera)
        #expect(diagnosis.counts(.toCamera).datagrams == 0)
        #expect(diagnosis.cameraSSRCs == [Self.cameraSSRC])
        #expect(diagnosis.trapDestinations.map(\.description) == ["127.0.0.1:5005"])
        #expect(diagnosis.evidence.first?.refersToCamera == true)
        #expect(diagnosis.text.contains("Interfaces: "))
        if TShark.isAvailable {
            let theirs = try TShark.counts(file: path, ports: [5005], camera: Self.camera)
            for route in FeedbackRoute.allCases {
                #expect(TShark.comparable(theirs[route] ?? RTCPKindCounts()) == TShark.comparable(diagnosis.counts(route)), "\(link) \(route)")
            }
        }
    }

    /// Linux cooked captures carry the interface's device type: nothing is decided by address, and nothing is said about it.
    @Test(arguments: [Frames.Link.linuxSLL, .linuxSLL2])
    func cookedCapturesTellTheInterface(link: Frames.Link) throws {
        let directory = try TemporaryDirectory(prefix: "synthetic")
        let path = directory.file("cooked.pcap")
        try Frames.writePcap(path, link: link, Self.traffic(feedbackTo: Self.camera, link: link))
        let diagnosis = try Self.diagnose(path)
        #expect(diagnosis.statistics.interfaceKnown)
        #expect(diagnosis.json.hasSuffix(#""link_types": ["\#(link == .linuxSLL ? "LINUX_SLL" : "LINUX_SLL2")"], "interface_known": true}}"#), "\(diagnosis.json)")
        #expect(!diagnosis.text.contains("Interfaces: "))
    }

    @Test func rawFileSaysLinktype101ButLibpcapSays12() throws {
        let directory = try TemporaryDirectory(prefix: "synthetic")
        let path = directory.file("raw.pcap")
        try Frames.writePcap(path, link: .raw, Self.traffic(feedbackTo: "127.0.0.1", link: .raw))
        let header = try readBytes(path)
        #expect(header[20] == 101)
        #expect(try OfflineCapture.linkType(path: path) == .rawLinux)
    }

    /// Loopback feedback about another SSRC does not make a trap for this camera; only the camera's own SR: no-rtcp.
    @Test func otherStreamsFeedbackIsNotTheCamerasTrap() throws {
        let directory = try TemporaryDirectory(prefix: "synthetic")
        let path = directory.file("other.pcap")
        var t: Int64 = 1_000_000_000
        var frames: [(time: Int64, bytes: [UInt8])] = []
        frames.append((t, Frames.Link.ethernet.wrap(Frames.ipv4UDP(from: Self.camera, 5005, to: Self.host, 5005, Frames.senderReport(sender: Self.cameraSSRC)), loopback: false)))
        t += 1_000_000_000
        frames.append((t, Frames.Link.ethernet.wrap(Frames.ipv4UDP(from: "127.0.0.1", 6000, to: "127.0.0.1", 6001, Frames.receiverReport(sender: 1, about: 0xDEAD_BEEF)), loopback: true)))
        try Frames.writePcap(path, link: .ethernet, frames)
        let diagnosis = try Self.diagnose(path)
        #expect(diagnosis.verdict == .noRTCP)
        #expect(diagnosis.counts(.onLoopback).datagrams == 1)
        #expect(diagnosis.notes.contains { $0.contains("other than the camera's") })
    }

    @Test func sourceEqualsDestinationIsLoopback() throws {
        let directory = try TemporaryDirectory(prefix: "synthetic")
        let path = directory.file("self.pcap")
        let rr = Frames.receiverReport(sender: 7, about: Self.cameraSSRC)
        try Frames.writePcap(path, link: .ethernet, [
            (1, Frames.Link.ethernet.wrap(Frames.ipv4UDP(from: Self.camera, 5004, to: Self.host, 5004, Frames.rtp(ssrc: Self.cameraSSRC, sequence: 1)), loopback: false)),
            (2, Frames.Link.ethernet.wrap(Frames.ipv4UDP(from: Self.host, 5005, to: Self.host, 5005, rr), loopback: false)),
        ])
        let diagnosis = try Self.diagnose(path)
        #expect(diagnosis.verdict == .trap)
        #expect(diagnosis.trapDestinations.map(\.description) == ["192.0.2.1:5005"])
    }

    @Test func coverageMakesIndeterminate() {
        var analyser = TrapAnalyser(camera: IPAddress(Self.camera)!, coverage: CaptureCoverage(loopback: false, network: true))
        #expect(analyser.diagnosis().verdict == .indeterminate)
        analyser.coverage = CaptureCoverage(loopback: true, network: false)
        #expect(analyser.diagnosis().verdict == .indeterminate)
        analyser.coverage = .everything
        #expect(analyser.diagnosis().verdict == .noRTCP)
    }

    @Test func cadenceIsTheLargestGap() throws {
        let directory = try TemporaryDirectory(prefix: "synthetic")
        let path = directory.file("gaps.pcap")
        let rr = Frames.receiverReport(sender: 7, about: Self.cameraSSRC)
        let times: [Int64] = [0, 1_000_000_000, 2_000_000_000, 9_500_000_000, 10_000_000_000]
        try Frames.writePcap(path, link: .ethernet, times.map { ($0 + 5_000_000_000, Frames.Link.ethernet.wrap(Frames.ipv4UDP(from: Self.host, 5005, to: Self.camera, 5005, rr), loopback: false)) })
        let diagnosis = try Self.diagnose(path)
        #expect(diagnosis.cadence[.toCamera]?.largestGap == 7_500_000_000)
        #expect(diagnosis.json.contains(#""largest_gap_seconds": 7.500"#))
        #expect(diagnosis.text.contains("ten-second cliff"))
    }

    @Test func exportKeepsOnlyRTCP() throws {
        let directory = try TemporaryDirectory(prefix: "synthetic")
        let path = directory.file("in.pcap"), out = directory.file("out.pcap")
        try Frames.writePcap(path, link: .linuxSLL2, Self.traffic(feedbackTo: "127.0.0.1", link: .linuxSLL2))
        var request = TrapDiagnosis.Request(camera: IPAddress(Self.camera)!)
        request.readPath = path
        request.writePath = out
        _ = try TrapDiagnosis.run(request)
        var frames = 0
        try OfflineCapture.read(path: out) { _ in frames += 1 }
        #expect(frames == 7)
        #expect(try OfflineCapture.linkType(path: out) == .linuxSLL2)
    }

    /// A file many times the read buffer (256 KiB) is read to its last packet: RTP first, the feedback last.
    @Test func largeFileIsReadToTheEnd() throws {
        let directory = try TemporaryDirectory(prefix: "synthetic")
        let path = directory.file("large.pcap")
        var frames: [(time: Int64, bytes: [UInt8])] = []
        let media = Frames.rtp(ssrc: Self.cameraSSRC, sequence: 0) + [UInt8](repeating: 0x5A, count: 1200)
        for n in 0..<4000 {
            frames.append((Int64(n) * 1_000_000, Frames.Link.ethernet.wrap(Frames.ipv4UDP(from: Self.camera, 5004, to: Self.host, 5004, media), loopback: false)))
        }
        let rr = Frames.receiverReport(sender: Self.kurentoSSRC, about: Self.cameraSSRC)
        frames.append((5_000_000_000, Frames.Link.ethernet.wrap(Frames.ipv4UDP(from: Self.host, 5005, to: Self.camera, 5005, rr), loopback: false)))
        try Frames.writePcap(path, link: .ethernet, frames)
        let diagnosis = try Self.diagnose(path)
        #expect(diagnosis.statistics.frames == 4001)
        #expect(diagnosis.statistics.rtcpDatagrams == 1)
        #expect(diagnosis.verdict == .healthy)
        #expect(diagnosis.cameraSSRCs == [Self.cameraSSRC])
    }

    // MARK: Malformed capture files

    static func pcapHeader(linkType: UInt32 = 1) -> [UInt8] {
        func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }
        return le32(0xA1B2_C3D4) + [2, 0, 4, 0] + le32(0) + le32(0) + le32(65535) + le32(linkType)
    }

    @Test func malformedFiles() throws {
        let directory = try TemporaryDirectory(prefix: "malformed")
        func expectFailure(_ name: String, _ bytes: [UInt8], _ code: PcapError.Code, _ words: String) throws {
            let path = directory.file(name)
            try writeFile(path, bytes)
            do {
                _ = try Self.diagnose(path)
                Issue.record("\(name) was accepted")
            } catch let error as PcapError {
                #expect(error.code == code, "\(name): \(error)")
                #expect(error.message.contains(words), "\(name): \(error.message)")
                #expect(error.input == path)
            }
        }
        try expectFailure("magic.pcap", Array("this is not a capture file at all".utf8), .open, "wrong magic")
        try expectFailure("empty.pcap", [], .open, "cannot read")
        try expectFailure("short-header.pcap", Array(Self.pcapHeader().prefix(10)), .open, "cannot read")
        // A record header announcing 100 bytes, then 10.
        var truncated = Self.pcapHeader()
        truncated += [1, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 100, 0, 0, 0] + [UInt8](repeating: 0, count: 10)
        try expectFailure("truncated.pcap", truncated, .read, "truncated")
        let zero = Self.pcapHeader() + [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        try expectFailure("zero.pcap", zero, .malformed, "zero captured bytes")
    }
}
