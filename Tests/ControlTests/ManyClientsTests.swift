import Control
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// libmosquitto's own loop thread waits with select(): a process aborted as soon as any of its
/// descriptors reached FD_SETSIZE (1024), about 300 clients. The poll() loop has no such limit.
/// 400 cameras (≈1,200 descriptors) prove it here without starving the timing-sensitive tests
/// that run beside this one; scripts/bench-control.sh runs 1,000 in one process.
@Suite(.serialized) struct ManyClientsTests {
    static let count = 400

    @Test func camerasBeyondFDSetSizeInOneProcess() async throws {
        let broker = try Broker()
        let profile = try loadProfile("acme-json")
        let simulator = CameraSimulator(configuration: .init(count: Self.count, profile: profile, broker: broker.options))
        try await simulator.start()
        #expect(openDescriptors() > 1024, "the test must push descriptors past FD_SETSIZE")

        let client = MQTTClient(options: broker.options)
        try await client.connect()
        let registry = CameraRegistry(client: client, profile: profile)
        try await registry.start()
        #expect(await eventually(.seconds(20)) { registry.snapshot().filter(\.online).count == Self.count })

        // The last camera, whose socket is far above 1024, still answers.
        let controller = CameraController(client: client, profile: profile, timeout: .seconds(5))
        try await controller.start()
        let last = simulator.cameraIDs[Self.count - 1]
        #expect(try await controller.send(.setMode(profile.modes[1]), to: last).outcome == .done)
        #expect(simulator.mode(of: last) == profile.modes[1])

        await simulator.stop()
        await client.disconnect()
        #expect(await eventually(.seconds(5)) { openDescriptors() < 200 }, "clients must give their descriptors back: \(openDescriptors())")
        _ = broker
    }
}

func openDescriptors() -> Int {
    guard let directory = opendir("/proc/self/fd") else { return -1 }
    defer { closedir(directory) }
    var count = 0
    while readdir(directory) != nil { count += 1 }
    return count - 2
}
