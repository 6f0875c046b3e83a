import Appliance
import Control
import Media
import Testing
import TestSupport
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// Issue 14's end-to-end test in the network-namespace lab. Kurento is not installable here
/// (FACTS.md), so a GStreamer receiver stands in for its RtpEndpoint and sends its RTCP where the
/// offer's `c=`/`a=rtcp` say, as Kurento does (media-level `c=`, else the session's; the `a=rtcp`
/// port, else the `m=` port + 1). The camera, as firmware does, stops after its RTCP time-out
/// without feedback. With camhost's offer it keeps streaming past that time-out and the diagnosis
/// says healthy; with the old platform's `c=IN IP4 0.0.0.0` it stops, and the RTCP watch raised
/// the trap alarm before it did.
@Suite(.serialized) struct KurentoLabTests {
    static let rtcpTimeout = 3.0

    /// A firmware profile whose offer is direct: the camera's RTP port and its RTCP port.
    func stream(_ lab: RTCPLab) throws -> FirmwareProfile.Stream {
        try FirmwareProfile(toml: """
            [profile]
            name = "lab"
            encoding = "json"
            [topics]
            command = "c/{id}/cmd"
            ack = "c/{id}/ack"
            status = "c/{id}/status"
            availability = "c/{id}/avail"
            [availability]
            online = "on"
            offline = "off"
            [json]
            correlation_field = "id"
            command_field = "cmd"
            result_field = "result"
            reason_field = "reason"
            done = ["ok"]
            failed = ["err"]
            [commands.reboot]
            name = "reboot"
            [stream]
            codec = "H264"
            payload_type = 96
            clock_rate = 90000
            rtcp_feedback = ["nack", "nack pli"]
            rtcp_timeout_seconds = \(Self.rtcpTimeout)
            offer = "direct"
            camera_rtp_port = \(lab.cameraRTPPort)
            rtcp_port = \(lab.feedbackPort)
            """, file: "lab.toml").stream
    }

    /// Where Kurento sends its RTCP for this offer (FACTS.md: media-level c= else session-level;
    /// only the port of a=rtcp is read, else the m= port + 1).
    func feedbackTarget(_ offer: String) throws -> (host: String, port: UInt16) {
        let description = try SessionDescription(parsing: offer)
        let video = try #require(description.media.first { $0.media.type == "video" })
        let connection = try #require(video.connection ?? description.connection)
        let address = try #require(connection.ipAddress)
        return ("\(address)", video.rtcp?.port ?? video.media.port &+ 1)
    }

    func diagnose(_ lab: RTCPLab) throws -> TestProcess {
        let process = try TestProcess(TestEnvironment.camhostBinary,
                                      ["diagnose", "rtcp", "--camera", lab.cameraAddress, "--duration", "6s",
                                       "--ports", lab.ports.map(String.init).joined(separator: ","), "--json"],
                                      environment: TestEnvironment.clean)
        usleep(400_000)
        return process
    }

    @Test(.timeLimit(.minutes(2))) func camhostsOfferKeepsTheCameraStreaming() throws {
        let lab = try RTCPLab()
        defer { lab.tearDown() }
        let camera = try #require(IPAddress(lab.cameraAddress))
        let hosts = try HostAddresses.current()
        let offer = try KurentoOffer(camera: CameraID("lab")!, address: camera, stream: try stream(lab), hostAddresses: hosts)
        #expect(try SDPCheck(text: offer.text, camera: camera, hostAddresses: hosts).verdict == .ok)
        let target = try feedbackTarget(offer.text)
        #expect(target.host == lab.cameraAddress && target.port == lab.feedbackPort)

        let watch = RTCPWatch(cameras: [camera], interface: "any")
        #expect(watch.start())
        defer { watch.stop() }
        let diagnosis = try diagnose(lab)
        try lab.startReceiver(feedbackHost: target.host, feedbackPort: target.port, seconds: 10)
        let cameraProcess = try lab.startTimedCamera(rtcpTimeout: Self.rtcpTimeout, duration: 7)
        watch.expectFeedback(camera: "lab", address: camera, within: .seconds(Self.rtcpTimeout), offer: offer.text)

        // Past its 3-s RTCP time-out (7 s), the camera still streams.
        #expect(cameraProcess.wait(timeout: .seconds(20)) == 0, "\(cameraProcess.output()) \(cameraProcess.errors())")
        #expect(cameraProcess.output().hasPrefix("STREAMED "))
        #expect(diagnosis.wait(timeout: .seconds(20)) == 0, "\(diagnosis.output())\n\(diagnosis.errors())")
        #expect(diagnosis.output().hasPrefix("{\"verdict\": \"healthy\", \"camera\": \"\(lab.cameraAddress)\""))
        let status = try #require(watch.snapshot().first)
        #expect(status.state == .healthy)
        #expect(status.feedbackToCamera >= 3)
        #expect(status.evidence == nil)   // the confirmation after the time-out found feedback
    }

    @Test(.timeLimit(.minutes(2))) func legacyOfferStopsTheCameraAfterTheWatchAlarms() throws {
        let lab = try RTCPLab()
        defer { lab.tearDown() }
        let camera = try #require(IPAddress(lab.cameraAddress))
        let hosts = try HostAddresses.current()
        let offer = try KurentoOffer(camera: CameraID("lab")!, address: camera, stream: try stream(lab), hostAddresses: hosts)
        // The old platform's shape: the same offer with c=IN IP4 0.0.0.0.
        let legacy = offer.text.replacingAll("IN IP4 \(lab.cameraAddress)", with: "IN IP4 0.0.0.0")
        #expect(try SDPCheck(text: legacy, camera: camera, hostAddresses: hosts).verdict == .trap)
        #expect(throws: OfferError.unspecified(IPAddress(0, 0, 0, 0))) {
            _ = try KurentoOffer(camera: CameraID("lab")!, address: IPAddress(0, 0, 0, 0), stream: try stream(lab), hostAddresses: hosts)
        }
        let target = try feedbackTarget(legacy)
        #expect(target.host == "0.0.0.0" && target.port == lab.feedbackPort)

        let watch = RTCPWatch(cameras: [camera], interface: "any")
        #expect(watch.start())
        defer { watch.stop() }
        let diagnosis = try diagnose(lab)
        try lab.startReceiver(feedbackHost: target.host, feedbackPort: target.port, seconds: 10)
        let cameraProcess = try lab.startTimedCamera(rtcpTimeout: Self.rtcpTimeout, duration: 7)

        // The camera gives up after its RTCP time-out ...
        #expect(cameraProcess.wait(timeout: .seconds(20)) == 3, "\(cameraProcess.output()) \(cameraProcess.errors())")
        let words = cameraProcess.output().split(separator: " ")
        #expect(words.first == "STOPPED")
        let stoppedAt = try #require(words.dropFirst().first.flatMap { Int64($0) })
        // ... and the watch raised the alarm before it did, from the first misrouted report.
        let trap = try #require(watch.snapshot().first)
        #expect(trap.state == .trap)
        #expect(trap.misroutedFeedback >= 1 && trap.feedbackToCamera == 0)
        let since = try #require(trap.since)
        #expect(since < stoppedAt, "alarm at \(since), camera stopped at \(stoppedAt)")
        #expect(diagnosis.wait(timeout: .seconds(20)) == 1, "\(diagnosis.output())\n\(diagnosis.errors())")
        #expect(diagnosis.output().hasPrefix("{\"verdict\": \"trap\""))
    }

    /// Kurento sends its feedback nowhere the watch can see (here: no receiver at all): after the
    /// RTCP time-out the confirmation raises the alarm with its evidence.
    @Test(.timeLimit(.minutes(2))) func noFeedbackWithinTheTimeOutRaisesTheAlarmWithEvidence() throws {
        let lab = try RTCPLab()
        defer { lab.tearDown() }
        let camera = try #require(IPAddress(lab.cameraAddress))
        let watch = RTCPWatch(cameras: [camera], interface: "any")
        #expect(watch.start())
        defer { watch.stop() }
        let cameraProcess = try lab.startTimedCamera(rtcpTimeout: 30, duration: 4)
        watch.expectFeedback(camera: "lab", address: camera, within: .seconds(2), offer: "v=0\r\nc=IN IP4 192.0.2.1\r\n")
        #expect(Loopback.waitUntil(timeout: .seconds(6)) { watch.snapshot().first?.state == .trap })
        let status = try #require(watch.snapshot().first)
        #expect(status.evidence?.hasPrefix("no RTCP feedback reached camera lab (\(lab.cameraAddress)) within its RTCP time-out of 2.0 seconds") == true, "\(status.evidence ?? "nil")")
        #expect(status.evidence?.contains("the offer sent to Kurento said c=IN IP4 192.0.2.1") == true)
        #expect(status.fromCamera >= 1)
        cameraProcess.wait(timeout: .seconds(10))
    }
}

extension String {
    /// Every occurrence of `target` replaced (the standard library has no Foundation-free one).
    func replacingAll(_ target: String, with replacement: String) -> String {
        var out = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }
}
