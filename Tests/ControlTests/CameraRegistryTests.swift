import Control
import Testing

@Suite struct CameraRegistryTests {
    @Test(arguments: ["acme-json", "plainval"])
    func registryFollowsStatusAndLastWill(profile name: String) async throws {
        let broker = try Broker()
        let profile = try loadProfile(name)
        let simulator = CameraSimulator(configuration: .init(count: 3, profile: profile, broker: broker.options))
        try await simulator.start()
        let client = MQTTClient(options: broker.options)
        try await client.connect()
        let registry = CameraRegistry(client: client, profile: profile)
        try await registry.start()
        #expect(await eventually { registry.snapshot().count == 3 && registry.snapshot().allSatisfy { $0.online && $0.firmware == "sim-1.0" } })
        let first = try #require(registry.snapshot().first)
        #expect(first.mode == profile.modes[0] && first.profile == name)
        #expect(first.listEntry.lastSeen.hasSuffix("Z") && first.listEntry.lastSeen.count == 20)

        let controller = CameraController(client: client, profile: profile)
        try await controller.start()
        #expect(try await controller.send(.setMode(profile.modes[1]), to: first.id).outcome == .done)
        #expect(await eventually { registry.camera(first.id)?.mode == profile.modes[1] })

        await simulator.stop()  // a clean power-off publishes offline itself; the rogue below stands in for a last will
        let rogue = MQTTClient(options: broker.options)
        try await rogue.connect()
        try await rogue.publish(topic: profile.topics.availability.render(id: first.id), text: profile.offline, retain: true)
        #expect(await eventually { registry.camera(first.id)?.online == false })
    }
}
