import Control
import Logging
import Synchronization

/// Cameras over MQTT for the CLI and the service: one broker connection, and a registry and a
/// command controller per firmware profile, so each camera is spoken to in its own firmware's
/// language (known from the topics its status arrives on) or else the default profile's.
public final class CameraControl: Sendable {
    public let client: MQTTClient
    public let settings: ControlSettings
    public let profiles: [String: FirmwareProfile]
    public let defaultProfile: FirmwareProfile
    private let registries: [CameraRegistry]
    private let controllers: [String: CameraController]
    private let lastMessage = Atomic<Int64>(0)
    private let watcher = Mutex<UInt64?>(nil)

    /// `only` limits the profiles to one (a `--profile` flag); nil loads every profile.
    public init(settings: ControlSettings, profiles: [String: FirmwareProfile], only: String? = nil,
                logger: Logger = Logger(label: "camhost.control")) throws(ControlSetupError) {
        var chosen = profiles
        if let only {
            guard let profile = profiles[only] else {
                throw ControlSetupError(kind: .usage, message: "no firmware profile named \"\(only)\" in \(settings.profilesDirectory); profiles there: \(profiles.keys.sorted().joined(separator: ", "))")
            }
            chosen = [only: profile]
        }
        self.settings = settings
        self.profiles = chosen
        self.defaultProfile = chosen[only ?? settings.defaultProfile] ?? chosen.values.first!
        let client = MQTTClient(options: settings.options, logger: logger)
        self.client = client
        self.registries = chosen.values.sorted { $0.name < $1.name }.map { CameraRegistry(client: client, profile: $0, logger: logger) }
        var controllers: [String: CameraController] = [:]
        for (name, profile) in chosen {
            controllers[name] = CameraController(client: client, profile: profile, timeout: settings.commandTimeout, logger: logger)
        }
        self.controllers = controllers
    }

    /// Subscribes (remembered across reconnects) and starts listening. Before or after `connect`.
    public func start() async throws {
        let key = client.addMessageHandler { [weak self] _ in self?.lastMessage.store(Self.now(), ordering: .relaxed) }
        watcher.withLock { $0 = key }
        for registry in registries { try await registry.start() }
        for controller in controllers.values { try await controller.start() }
    }

    /// Connects once; throws `MosquittoError` when the broker cannot be reached or refuses.
    public func connect() async throws { try await client.connect() }

    public var connectionState: MQTTConnectionState { client.state }

    /// Waits until the broker has delivered the retained status (no message for `quiet`), at
    /// most `limit`. For one-shot CLI commands that read the registry right after connecting.
    public func settle(quiet: Duration = .milliseconds(150), limit: Duration = .seconds(3)) async {
        let started = Self.now()
        let quietNS = Self.nanoseconds(quiet), limitNS = Self.nanoseconds(limit)
        while true {
            try? await Task.sleep(for: .milliseconds(25))
            let now = Self.now()
            let last = max(lastMessage.load(ordering: .relaxed), started)
            if now - last >= quietNS || now - started >= limitNS { return }
        }
    }

    /// Every camera seen, sorted by id; a camera seen under two profiles counts once (the most
    /// recently heard).
    public func snapshot() -> [CameraStatus] {
        var byID: [CameraID: CameraStatus] = [:]
        for registry in registries {
            for status in registry.snapshot() where (byID[status.id]?.lastSeen ?? Int.min) < status.lastSeen {
                byID[status.id] = status
            }
        }
        return byID.values.sorted { $0.id < $1.id }
    }

    public func camera(_ id: CameraID) -> CameraStatus? {
        var best: CameraStatus?
        for registry in registries {
            if let status = registry.camera(id), (best?.lastSeen ?? Int.min) < status.lastSeen { best = status }
        }
        return best
    }

    /// The camera's profile: from where its status was seen, else the default.
    public func profile(of camera: CameraID) -> FirmwareProfile {
        self.camera(camera).flatMap { profiles[$0.profile] } ?? defaultProfile
    }

    /// Sends `command` in the camera's firmware language and waits for its answer.
    /// Throws `CommandError` (not valid for that profile) or `MosquittoError` (broker).
    public func send(_ command: CameraCommand, to camera: CameraID, timeout: Duration? = nil) async throws -> CommandResult {
        let profile = profile(of: camera)
        return try await controllers[profile.name]!.send(command, to: camera, timeout: timeout)
    }

    public func stop() async {
        if let key = watcher.withLock({ k in defer { k = nil }; return k }) { client.removeMessageHandler(key) }
        for registry in registries { registry.stop() }
        for controller in controllers.values { controller.stop() }
        await client.disconnect()
    }

    private static func now() -> Int64 {
        nanoseconds(ContinuousClock.now - epoch)
    }

    private static func nanoseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
    }

    private static let epoch = ContinuousClock.now
}
