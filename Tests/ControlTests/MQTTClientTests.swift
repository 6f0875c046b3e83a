import Control
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct MQTTClientTests {
    @Test func libraryVersionIsReported() {
        #expect(MQTTClient.libraryVersion.hasPrefix("2."))
    }

    @Test func defaultClientIDsAreUniquePerClient() {
        let a = MQTTClient(), b = MQTTClient()
        #expect(a.clientID != b.clientID)
        #expect(a.clientID.hasPrefix("camhost-"))
        #expect(a.clientID.contains("-\(getpid())-"))
    }

    @Test func brokerURLParses() throws {
        let o = try MQTTClient.Options(url: "mqtts://user:pw@broker.example:8884")
        #expect(o.host == "broker.example" && o.port == 8884 && o.username == "user" && o.password == "pw" && o.requiresTLS)
        #expect(try MQTTClient.Options(url: "mqtt://10.0.0.1").port == 1883)
        #expect(throws: MQTTClient.BrokerURLError.self) { try MQTTClient.Options(url: "http://x") }
    }

    @Test func publishSubscribeRoundTrip() async throws {
        let broker = try Broker()
        let a = MQTTClient(options: broker.options), b = MQTTClient(options: broker.options)
        try await a.connect()
        try await b.connect()
        let messages = b.messages()
        try await b.subscribe("t/#")
        try await a.publish(topic: "t/1", text: "hello")
        var iterator = messages.makeAsyncIterator()
        let message = await iterator.next()
        #expect(message == MQTTMessage(topic: "t/1", payload: Array("hello".utf8), retain: false))
        await a.disconnect()
        await b.disconnect()
    }

    /// The controller's hot path: handlers on the network thread, answers queued from inside a
    /// handler (no wake-up of the loop by itself), order kept, removal honoured.
    @Test func handlersAnswerFromTheNetworkThreadInOrder() async throws {
        let broker = try Broker()
        let requester = MQTTClient(options: broker.options), responder = MQTTClient(options: broker.options)
        try await requester.connect()
        try await responder.connect()
        responder.addMessageHandler { [weak responder] message in
            guard let responder, message.topic.hasPrefix("ping/") else { return }
            try? responder.publishQueued(topic: "pong/" + message.topic.dropFirst(5), payload: message.payload, qos: .atLeastOnce)
        }
        try await responder.subscribe("ping/+")
        let received = Mutex<[String]>([])
        let key = requester.addMessageHandler { message in received.withLock { $0.append(message.text ?? "?") } }
        try await requester.subscribe("pong/+")
        let count = 300
        for n in 0..<count { try requester.publishQueued(topic: "ping/\(n % 7)", text: "\(n)") }
        let deadline = ContinuousClock.now + .seconds(10)
        while received.withLock({ $0.count }) < count, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(received.withLock { $0 } == (0..<count).map { "\($0)" })

        // Removed: the handler sees nothing more, while a stream on the same client still does.
        requester.removeMessageHandler(key)
        let stream = requester.messages()
        try requester.publishQueued(topic: "ping/x", text: "after")
        var iterator = stream.makeAsyncIterator()
        #expect(await iterator.next()?.text == "after")
        #expect(received.withLock { $0.count } == count)
        await requester.disconnect()
        await responder.disconnect()
    }

    @Test func queuedPublishWhileNotConnectedFailsAtOnce() {
        let client = MQTTClient(options: .init(host: "127.0.0.1", port: 1))
        #expect(throws: MosquittoError.self) { try client.publishQueued(topic: "x", text: "y") }
        #expect((try? client.setRetainedQueued(topic: "state/x", text: "kept for the next connect")) != nil)
    }

    @Test func connectionRefusedIsClear() async throws {
        let client = MQTTClient(options: .init(host: "127.0.0.1", port: 1))
        let error = await #expect(throws: MosquittoError.self) { try await client.connect() }
        #expect(error?.description.contains("127.0.0.1:1") == true)
        #expect(error?.description.lowercased().contains("refused") == true)
        #expect(client.state == .disconnected)
    }

    @Test func publishWhileNeverConnectedFailsAtOnce() async throws {
        let client = MQTTClient(options: .init(host: "127.0.0.1", port: 1))
        let error = await #expect(throws: MosquittoError.self) { try await client.publish(topic: "x", text: "y") }
        #expect(error?.kind == .notConnected)
    }

    @Test func oversizedMessagesAreDropped() async throws {
        let broker = try Broker()
        var options = broker.options
        options.maxPayloadBytes = 1024
        let client = MQTTClient(options: options)
        try await client.connect()
        let messages = client.messages()
        try await client.subscribe("big/#")
        try await client.publish(topic: "big/1", payload: [UInt8](repeating: 1, count: 4096))
        try await client.publish(topic: "big/2", text: "small")
        var iterator = messages.makeAsyncIterator()
        #expect(await iterator.next()?.topic == "big/2")
        await client.disconnect()
    }

    @Test func reconnectsResubscribesAndRepublishesRetainedState() async throws {
        let broker = try Broker()
        var options = broker.options
        options.reconnectJitterMilliseconds = 100
        let client = MQTTClient(options: options)
        try await client.connect()
        let messages = client.messages()
        try await client.subscribe("echo/#")
        try await client.setRetained(topic: "state/me", text: "online")

        broker.kill()
        #expect(await eventually(.seconds(2)) { client.state == .reconnecting })
        let started = ContinuousClock.now
        let error = await #expect(throws: MosquittoError.self) { try await client.publish(topic: "echo/x", text: "during outage") }
        #expect(error?.kind == .notConnected)
        #expect(ContinuousClock.now - started < .milliseconds(100))

        try broker.start()  // fresh broker, same port, no memory of the old session
        #expect(await eventually(.seconds(5)) { client.state == .connected })

        // Re-published retained state is visible to a newcomer.
        let observer = MQTTClient(options: broker.options)
        try await observer.connect()
        let observed = observer.messages()
        try await observer.subscribe("state/#")
        var oi = observed.makeAsyncIterator()
        let retained = await oi.next()
        #expect(retained?.text == "online" && retained?.retain == true)

        // Re-subscribed: a publish on echo/ comes back.
        try await observer.publish(topic: "echo/after", text: "back")
        var iterator = messages.makeAsyncIterator()
        #expect(await iterator.next()?.topic == "echo/after")
        await observer.disconnect()
        await client.disconnect()
    }
}
