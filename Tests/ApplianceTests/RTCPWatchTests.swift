import Appliance
import Testing
import TestSupport
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// The RTCP watch of `serve` on the real lab: an alarm within 2 s of the first misrouted
/// feedback, cleared when feedback reaches the camera again.
@Suite(.serialized) struct RTCPWatchTests {
    static func now() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }

    @Test(.timeLimit(.minutes(2))) func alarmRaisedAndCleared() throws {
        let lab = try RTCPLab()
        defer { lab.tearDown() }
        let camera = IPAddress(lab.cameraAddress)!
        let watch = RTCPWatch(cameras: [camera, IPAddress("192.0.2.99")!], interface: "any")
        #expect(watch.start())
        defer { watch.stop() }
        #expect(watch.snapshot().first?.state == .waiting)

        try lab.start(feedback: .unspecified, seconds: 6)
        var raisedAt: Int64 = 0
        let raised = Loopback.waitUntil(timeout: .seconds(10)) {
            raisedAt = Self.now()
            return watch.snapshot().first?.state == .trap
        }
        #expect(raised)
        let trap = watch.snapshot()[0]
        #expect(trap.misroutedFeedback >= 1)
        #expect(trap.feedbackToCamera == 0)
        #expect(trap.cameraSSRCs.contains(lab.cameraSSRC))
        // since = capture time of the first misrouted datagram; the poll saw the alarm within 2 s of it.
        #expect(raisedAt - (trap.since ?? 0) < 2_000_000_000, "alarm \(Double(raisedAt - (trap.since ?? 0)) / 1e9) s after the packet")
        #expect(watch.snapshot()[1].state == .waiting)
        lab.waitForTraffic()

        try lab.start(feedback: .camera, seconds: 6)
        #expect(Loopback.waitUntil(timeout: .seconds(10)) { watch.snapshot().first?.state == .healthy })
        #expect(watch.snapshot()[0].feedbackToCamera >= 1)
        lab.waitForTraffic()
    }

    @Test func noCamerasMeansOff() {
        let watch = RTCPWatch(cameras: [], interface: "any")
        #expect(!watch.start())
        #expect(!watch.isCapturing)
    }
}
