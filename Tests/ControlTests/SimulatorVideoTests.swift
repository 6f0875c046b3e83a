import Control
import Testing
import TestSupport
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// The simulated camera streams real H.264 (issue 12): RFC 6184 packets that the receiver's
/// depacketizer turns back into the file's pictures, in order; sender reports on the RTCP port;
/// and it still stops after its RTCP time-out when nothing answers.
@Suite struct SimulatorVideoTests {
    @Test(.timeLimit(.minutes(1))) func realVideoGoesOutAsRTPAndStopsWithoutRTCP() async throws {
        let directory = try TemporaryDirectory(prefix: "simvideo")
        let file = try TestVideo(seconds: 2, width: 320, height: 180, rate: 25, gop: 25, in: directory)
        let video = try SimulatorVideo(annexB: file.path, frameRate: 25)
        #expect(video.accessUnits.count == file.pictures.count)
        let broker = try Broker()
        let profile = try loadProfile("plainval")
        let simulator = CameraSimulator(configuration: .init(count: 1, profile: profile, broker: broker.options, rtcpTimeout: .milliseconds(1500),
                                                             video: video))
        try await simulator.start()
        let client = MQTTClient(options: broker.options)
        try await client.connect()
        let controller = CameraController(client: client, profile: profile, timeout: .seconds(2))
        try await controller.start()
        let rtp = UDPReceiver(), rtcp = UDPReceiver()
        let id = simulator.cameraIDs[0]
        let started = try await controller.send(.startStream(StreamDestination(host: "127.0.0.1", rtpPort: rtp.port, rtcpPort: rtcp.port)), to: id)
        #expect(started.outcome == .done)
        // Nobody answers: the camera sends for its 1.5 s time-out, then stops, as firmware does.
        #expect(await eventually(.seconds(6)) { simulator.stream(of: id)?.stoppedForLackOfRTCP == true })
        let datagrams = rtp.collect()
        let reports = rtcp.collect()
        var depacketizer = VideoDepacketizer(codec: .h264)
        var units: [AccessUnit] = []
        var sequence: UInt16?
        for datagram in datagrams {
            try datagram.withUnsafeBytes { raw in
                let packet = try RTPPacket(parsing: raw)
                #expect(packet.payloadType == 96)
                if let sequence { #expect(packet.sequenceNumber == sequence &+ 1) }
                sequence = packet.sequenceNumber
                try depacketizer.push(payload: packet.payload, timestamp: Int64(packet.timestamp), marker: packet.marker, lossBefore: false) { units.append($0) }
            }
        }
        // ~1.5 s at 25 frames/s, each picture the file's own, in order, 3600 ticks apart.
        #expect(units.count >= 25 && units.count <= 50, "\(units.count) pictures")
        let matching = zip(units, file.pictures).allSatisfy { $0.nalUnits == $1.nalUnits }
        #expect(matching, "the pictures sent are the file's")
        #expect(zip(units.dropFirst(), units).allSatisfy { $0.timestamp - $1.timestamp == 3600 })
        #expect(datagrams.allSatisfy { $0.count <= 1200 + 12 })
        // A sender report (type 200) with SDES (202), at least one a second.
        #expect(reports.count >= 1 && reports.allSatisfy { $0.count >= 28 && $0[1] == 200 })
        #expect(reports.first.map { $0.contains(202) } == true)
        await simulator.stop()
        _ = broker
    }
}

extension UDPReceiver {
    /// Every datagram waiting, as bytes.
    func collect() -> [[UInt8]] {
        var out: [[UInt8]] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if count <= 0 { return out }
            out.append(Array(buffer[0..<count]))
        }
    }
}
