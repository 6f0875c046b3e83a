import Control
import Synchronization
import Testing

/// `camera bench`'s measurement, against simulated cameras on a real broker.
@Suite struct CommandBenchmarkTests {
    @Test func everyCommandIsSentOnceAlternatingModesNeverTwoInFlightToOneCamera() async throws {
        let broker = try Broker()
        let profile = try loadProfile("acme-json")
        let simulator = CameraSimulator(configuration: .init(count: 4, profile: profile, broker: broker.options, seed: 7))
        try await simulator.start()
        let client = MQTTClient(options: broker.options)
        try await client.connect()
        let controller = CameraController(client: client, profile: profile, timeout: .seconds(5))
        try await controller.start()

        let inFlight = Mutex<[CameraID: Int]>([:])
        let overlapped = Atomic<Bool>(false)
        let benchmark = CommandBenchmark(count: 40, cameras: simulator.cameraIDs, concurrency: 8,
                                         modes: (profile.modes[0], profile.modes[1]))
        #expect(benchmark.concurrency == 4, "never more workers than cameras")
        let report = try await benchmark.run { command, camera in
            if inFlight.withLock({ counts -> Bool in counts[camera, default: 0] += 1; return counts[camera]! > 1 }) {
                overlapped.store(true, ordering: .relaxed)
            }
            defer { inFlight.withLock { $0[camera, default: 1] -= 1 } }
            return try await controller.send(command, to: camera)
        }
        #expect(report.commands == 40 && report.ok == 40 && report.failed == 0 && report.timed_out == 0, "\(report)")
        #expect(report.cameras == 4 && report.concurrency == 4)
        let sawOverlap = overlapped.load(ordering: .relaxed)
        #expect(!sawOverlap, "two commands were in flight to one camera")
        #expect(report.p50_ms > 0 && report.p50_ms <= report.p90_ms && report.p90_ms <= report.p99_ms && report.p99_ms <= report.max_ms)
        #expect(report.commands_per_second > 0)
        // 40 commands over 4 cameras: each camera got 10, alternating, so it ends in the second mode.
        for camera in simulator.cameraIDs { #expect(simulator.mode(of: camera) == profile.modes[1], "\(camera)") }
        await simulator.stop()
        controller.stop()
        _ = broker
    }
}
