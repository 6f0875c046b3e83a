import JSONText
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What camhost knows about one camera, from its retained status and availability.
public struct CameraStatus: Sendable, Equatable {
    public var id: CameraID
    public var online: Bool
    /// Wall-clock seconds since 1970 of the last message from the camera.
    public var lastSeen: Int
    public var mode: String
    public var firmware: String
    public var stream: String
    public var profile: String

    /// The `camera list --json` row.
    public var listEntry: CameraListEntry {
        CameraListEntry(id: id.rawValue, online: online, mode: mode, profile: profile, lastSeen: iso8601(lastSeen))
    }
}

/// One element of `camhost camera list --json`.
public struct CameraListEntry: Sendable, Codable, Equatable {
    public var id: String
    public var online: Bool
    public var mode: String
    public var profile: String
    /// ISO 8601, UTC, e.g. `2026-01-31T12:00:00Z`.
    public var lastSeen: String
    enum CodingKeys: String, CodingKey { case id, online, mode, profile, lastSeen = "last_seen" }
}

/// Cameras seen on the broker, kept up to date from retained status and last-will availability.
public final class CameraRegistry: Sendable {
    public let client: MQTTClient
    public let profile: FirmwareProfile
    private let logger: Logger
    /// Malformed status and availability, at most a few lines per topic per 10 s.
    private let brokerLog: ThrottledLog
    private let cameras = Mutex<[CameraID: CameraStatus]>([:])
    private let handler = Mutex<UInt64?>(nil)

    public init(client: MQTTClient, profile: FirmwareProfile, logger: Logger = Logger(label: "camhost.control.registry")) {
        self.client = client
        self.profile = profile
        self.logger = logger
        self.brokerLog = ThrottledLog(logger: logger)
    }

    /// Subscribes to availability and status; messages are handled on the MQTT network thread.
    public func start() async throws {
        let key = client.addMessageHandler { [weak self] message in self?.handle(message) }
        handler.withLock { $0 = key }
        try await client.subscribe(profile.topics.availability.filter)
        try await client.subscribe(profile.topics.status.filter)
    }

    public func stop() {
        if let key = handler.withLock({ k in defer { k = nil }; return k }) { client.removeMessageHandler(key) }
    }

    /// All cameras, sorted by id.
    public func snapshot() -> [CameraStatus] { cameras.withLock { $0.values.sorted { $0.id < $1.id } } }
    public func camera(_ id: CameraID) -> CameraStatus? { cameras.withLock { $0[id] } }

    func handle(_ message: MQTTMessage) {
        let now = Int(time(nil))
        if let (id, _) = profile.topics.availability.match(message.topic) {
            guard let text = message.text, text == profile.online || text == profile.offline else {
                brokerLog.log(.warning, "ignored unknown availability payload", topic: message.topic)
                return
            }
            update(id, now) { $0.online = text == profile.online }
        } else if let (id, field) = profile.topics.status.match(message.topic) {
            switch profile.encoding {
            case .json:
                guard let value = try? JSONValue(parsing: message.payload, maxDepth: 4), case .object = value else {
                    brokerLog.log(.warning, "ignored malformed status", topic: message.topic)
                    return
                }
                update(id, now) { s in
                    if let m = value["mode"]?.stringValue { s.mode = String(m.prefix(64)) }
                    if let f = value["firmware"]?.stringValue { s.firmware = String(f.prefix(64)) }
                    if let st = value["stream"]?.stringValue { s.stream = String(st.prefix(64)) }
                }
            case .plain:
                guard let field, let text = message.text.map({ String($0.prefix(64)) }) else { return }
                update(id, now) { s in
                    switch field {
                    case "mode": s.mode = text
                    case "firmware": s.firmware = text
                    case "stream": s.stream = text
                    default: break
                    }
                }
            }
        }
    }

    private func update(_ id: CameraID, _ now: Int, _ change: (inout CameraStatus) -> Void) {
        cameras.withLock { all in
            var status = all[id] ?? CameraStatus(id: id, online: true, lastSeen: now, mode: "", firmware: "", stream: "", profile: profile.name)
            status.lastSeen = now
            change(&status)
            all[id] = status
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` without Foundation's formatters (they pull ICU into the binary).
func iso8601(_ seconds: Int) -> String {
    var t = time_t(seconds)
    var parts = tm()
    gmtime_r(&t, &parts)
    func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
    return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
}
