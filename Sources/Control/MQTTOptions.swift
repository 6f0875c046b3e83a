#if canImport(Glibc)
import Glibc
#endif

extension MQTTClient {
    /// How to reach and authenticate with the broker.
    public struct Options: Sendable {
        /// Client certificate authentication and server verification for `mqtts://`.
        public struct TLS: Sendable {
            public var caFile: String
            public var certificateFile: String?
            public var keyFile: String?
            public init(caFile: String, certificateFile: String? = nil, keyFile: String? = nil) {
                self.caFile = caFile
                self.certificateFile = certificateFile
                self.keyFile = keyFile
            }
        }

        /// The message the broker publishes for us when the connection dies (MQTT 3.1.1 §3.1.2.5).
        public struct Will: Sendable {
            public var topic: String
            public var payload: [UInt8]
            public var qos: MQTTQoS
            public var retain: Bool
            public init(topic: String, payload: [UInt8], qos: MQTTQoS = .atLeastOnce, retain: Bool = true) {
                self.topic = topic
                self.payload = payload
                self.qos = qos
                self.retain = retain
            }
        }

        public var host: String
        public var port: Int
        public var tls: TLS?
        public var username: String?
        public var password: String?
        /// Nil means `<clientIDPrefix>-<hostname>-<pid>-<random hex>`, unique per process and per
        /// client: two processes (or two clients in one) never share an id, so the broker never
        /// disconnects one in favour of the other (MQTT 3.1.1 §3.1.4).
        public var clientID: String?
        public var clientIDPrefix: String
        public var keepAliveSeconds: Int
        public var will: Will?
        /// Reconnect back-off: first delay and ceiling, in whole seconds (libmosquitto's unit);
        /// camhost adds up to `reconnectJitterMilliseconds` of random delay on each drop.
        public var reconnectDelayMin: Int
        public var reconnectDelayMax: Int
        public var reconnectJitterMilliseconds: Int
        /// Larger messages are dropped (and logged with their topic) instead of delivered.
        public var maxPayloadBytes: Int
        /// How long `connect()` waits for CONNACK and `publish`/`subscribe` for the broker's ack.
        public var ackTimeout: Duration
        /// Buffered messages per `messages()` stream; the oldest are dropped beyond this.
        public var messageBuffer: Int

        public init(host: String = "127.0.0.1", port: Int? = nil, tls: TLS? = nil,
                    username: String? = nil, password: String? = nil,
                    clientID: String? = nil, clientIDPrefix: String = "camhost",
                    keepAliveSeconds: Int = 30, will: Will? = nil,
                    reconnectDelayMin: Int = 1, reconnectDelayMax: Int = 30,
                    reconnectJitterMilliseconds: Int = 250,
                    maxPayloadBytes: Int = 256 * 1024, ackTimeout: Duration = .seconds(10),
                    messageBuffer: Int = 100_000) {
            self.host = host
            self.port = port ?? (tls == nil ? 1883 : 8883)
            self.tls = tls
            self.username = username
            self.password = password
            self.clientID = clientID
            self.clientIDPrefix = clientIDPrefix
            self.keepAliveSeconds = keepAliveSeconds
            self.will = will
            self.reconnectDelayMin = reconnectDelayMin
            self.reconnectDelayMax = reconnectDelayMax
            self.reconnectJitterMilliseconds = reconnectJitterMilliseconds
            self.maxPayloadBytes = maxPayloadBytes
            self.ackTimeout = ackTimeout
            self.messageBuffer = messageBuffer
        }

        /// Parses `mqtt://[user:pass@]host[:port]` or `mqtts://...` (TLS needs `tls` set after).
        public init(url: String) throws(BrokerURLError) {
            var rest = Substring(url)
            var secure = false
            if rest.hasPrefix("mqtt://") { rest = rest.dropFirst(7) }
            else if rest.hasPrefix("mqtts://") { rest = rest.dropFirst(8); secure = true }
            else { throw BrokerURLError(url: url, reason: "it must start with mqtt:// or mqtts://") }
            if rest.hasSuffix("/") { rest = rest.dropLast() }
            var user: String?
            var pass: String?
            if let at = rest.lastIndex(of: "@") {
                let creds = rest[..<at]
                rest = rest[rest.index(after: at)...]
                if let colon = creds.firstIndex(of: ":") {
                    user = String(creds[..<colon])
                    pass = String(creds[creds.index(after: colon)...])
                } else {
                    user = String(creds)
                }
            }
            var host = String(rest)
            var port: Int? = nil
            if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
                host = String(rest[rest.index(after: rest.startIndex)..<close])
                let after = rest[rest.index(after: close)...]
                if after.hasPrefix(":") {
                    guard let p = Int(after.dropFirst()), (1...65535).contains(p) else {
                        throw BrokerURLError(url: url, reason: "the port must be 1–65535")
                    }
                    port = p
                }
            } else if let colon = rest.lastIndex(of: ":") {
                host = String(rest[..<colon])
                guard let p = Int(rest[rest.index(after: colon)...]), (1...65535).contains(p) else {
                    throw BrokerURLError(url: url, reason: "the port must be 1–65535")
                }
                port = p
            }
            guard !host.isEmpty else { throw BrokerURLError(url: url, reason: "the host is missing") }
            self.init(host: host, port: port ?? (secure ? 8883 : 1883), username: user, password: pass)
            self.requiresTLS = secure
        }

        /// Set by `init(url:)` for `mqtts://`: `connect()` refuses to go on without `tls`.
        public var requiresTLS = false

        /// `host:port`, as shown in errors.
        public var brokerAddress: String {
            host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }

    /// A broker URL that could not be understood.
    public struct BrokerURLError: Error, Sendable, CustomStringConvertible {
        public let url: String
        public let reason: String
        public var description: String { "bad broker URL \"\(url)\": \(reason) (example: mqtt://127.0.0.1:1883)" }
    }

    /// `<prefix>-<hostname>-<pid>-<8 random hex digits>`.
    public static func makeClientID(prefix: String = "camhost") -> String {
        var name = [CChar](repeating: 0, count: 256)
        let host = gethostname(&name, name.count) == 0
            ? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            : "host"
        let random = UInt32.random(in: .min ... .max)
        let hex = String(random, radix: 16)
        return "\(prefix)-\(host)-\(getpid())-\(String(repeating: "0", count: 8 - hex.count))\(hex)"
    }
}
