import Synchronization

/// The broker's health as a camera would see it: a fresh connection, a subscription, and one
/// message published and received back (a round trip through the broker), within a time-out.
public enum MQTTProbe {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// The round trip's time. Throws `Failure` saying which step failed.
    public static func roundTrip(options: MQTTClient.Options, timeout: Duration = .seconds(5)) async throws -> Duration {
        var options = options
        options.clientIDPrefix += "-probe"
        let client = MQTTClient(options: options)
        let started = ContinuousClock.now
        let topic = "camhost/health/\(client.clientID)"
        let received = Atomic<Bool>(false)
        let handler = client.addMessageHandler { message in
            if message.topic == topic { received.store(true, ordering: .releasing) }
        }
        defer { client.removeMessageHandler(handler) }
        do {
            try await withDeadline(timeout, step: "connect") { try await client.connect() }
            try await withDeadline(timeout, step: "subscribe") { try await client.subscribe(topic) }
            let sent = ContinuousClock.now
            try await withDeadline(timeout, step: "publish") { try await client.publish(topic: topic, text: "probe") }
            while !received.load(ordering: .acquiring) {
                guard ContinuousClock.now - started < timeout else {
                    throw Failure(description: "the broker accepted the message but did not deliver it back within \(timeout)")
                }
                try await Task.sleep(for: .milliseconds(5))
            }
            let elapsed = ContinuousClock.now - sent
            await client.disconnect()
            return elapsed
        } catch {
            await client.disconnect()
            if let failure = error as? Failure { throw failure }
            throw Failure(description: "\(error)")
        }
    }

    private static func withDeadline(_ timeout: Duration, step: String, _ body: @escaping @Sendable () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask { try await body(); return true }
            group.addTask { try await Task.sleep(for: timeout); return false }
            let finished = try await group.next() ?? false
            group.cancelAll()
            if !finished { throw Failure(description: "\(step) did not finish within \(timeout)") }
        }
    }
}
