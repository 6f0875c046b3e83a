/// One message received from the broker.
public struct MQTTMessage: Sendable, Equatable {
    public let topic: String
    public let payload: [UInt8]
    /// Set when the broker delivered a stored retained message (on subscribe), not a live publish.
    public let retain: Bool

    public init(topic: String, payload: [UInt8], retain: Bool = false) {
        self.topic = topic
        self.payload = payload
        self.retain = retain
    }

    /// The payload as UTF-8 text, or nil when it is not valid UTF-8.
    public var text: String? { String(validating: payload, as: UTF8.self) }
}

/// MQTT delivery guarantee (MQTT 3.1.1 §4.3).
public enum MQTTQoS: Int32, Sendable {
    case atMostOnce = 0
    case atLeastOnce = 1
}

/// Where the client's connection stands.
public enum MQTTConnectionState: String, Sendable, Equatable {
    case disconnected, connecting, connected, reconnecting, closed
}
