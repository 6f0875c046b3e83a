import Synchronization
import Testing
import TestSupport
import Wire
@testable import Media

/// Collects what a stream hands its sinks.
final class CollectingSink: AccessUnitSink {
    let units = Mutex<[(AccessUnit, ParameterSets)]>([])
    func receive(_ unit: AccessUnit, parameterSets: ParameterSets) {
        units.withLock { $0.append((unit, parameterSets)) }
    }
}

/// The receiver in-process, fed by a real GStreamer camera in the stream lab: what the recorder
/// and the live fan-out will get through the `AccessUnitSink` seam.
@Suite(.serialized) struct StreamReceiverLabTests {
    @Test(.timeLimit(.minutes(1))) func sinksGetEveryPictureInOrderWithParameterSets() throws {
        let lab = try StreamLab()
        defer { lab.tearDown() }
        let sink = CollectingSink()
        var configuration = StreamConfiguration(camera: "lab", source: IPAddress(lab.cameraAddress)!, port: lab.rtpPort)
        configuration.feedback = [.nack, .pli]
        let receiver = try StreamReceiver(configuration, sinks: [sink])
        receiver.start()
        let camera = try lab.startCamera(frames: 50)
        camera.wait(timeout: .seconds(20))
        // The last picture has had time to arrive; one report interval for the counters.
        Loopback.waitUntil(timeout: .seconds(5)) { sink.units.withLock { $0.count } >= 50 }
        let report = receiver.stop()
        let units = sink.units.withLock { $0 }
        #expect(units.count == 50, "\(report)")
        #expect(report.frames == 50 && report.keyframes == 2 && report.lost == 0, "\(report)")
        guard let first = units.first else { return }
        #expect(first.0.isKeyframe)
        #expect(first.0.codec == .h264)
        // In-band SPS and PPS come with the keyframe, and are the ones handed on.
        #expect(first.0.nalUnits.map { $0[0] & 0x1F }.contains(7))
        let sps = try H264SPS(first.1.sps)
        #expect(sps.width == 640 && sps.height == 360)
        #expect(sps.codecString.hasPrefix("avc1."))
        // 25 fps in a 90 kHz clock: 3600 ticks apart, strictly in order.
        let steps = zip(units.dropFirst(), units).map { $0.0.timestamp - $1.0.timestamp }
        #expect(steps.allSatisfy { $0 == 3600 }, "\(steps)")
        #expect(units.filter { $0.0.isKeyframe }.count == 2)
        #expect(report.rtcpTo == "\(lab.cameraAddress):\(lab.cameraRTCPPort)")
        #expect(report.keyframeRequests == 0, "no loss, no keyframe request: \(report)")
    }
}
