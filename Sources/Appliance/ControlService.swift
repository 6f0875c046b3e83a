import Control
import Logging
import POSIX
import Storage
import Synchronization

/// Camera control inside `serve`: keeps one MQTT connection to the configured (or managed)
/// broker, the camera registry and the command controllers, and offers the dashboard a
/// snapshot and an audited `send`. The first connect is retried until it works (the managed
/// broker may still be starting); after that the client reconnects by itself.
public final class ControlService: Sendable {
    public let control: CameraControl
    private let audit: CameraCommandAudit
    private let logger: Logger
    private let connector = Mutex<Task<Void, Never>?>(nil)
    private let lastError = Mutex<String?>(nil)

    public init(configuration: Configuration, store: Store, logger: Logger = Logger(label: "camhost.control")) throws(ControlSetupError) {
        let settings = try ControlSettings(configuration: configuration)
        let profiles = try settings.loadProfiles()
        control = try CameraControl(settings: settings, profiles: profiles, logger: logger)
        audit = CameraCommandAudit(store: store)
        self.logger = logger
    }

    /// Starts connecting in the background; returns once connected or after `wait`.
    public func start(wait: Duration = .seconds(3)) {
        let connected = Flag()
        let task = Task { [self] in
            do { try await control.start() } catch { logger.error("camera control could not subscribe: \(error)") }
            var delay = Duration.milliseconds(100)
            while !Task.isCancelled {
                do {
                    try await control.connect()
                    lastError.withLock { $0 = nil }
                    connected.set()
                    logger.info("camera control connected", metadata: ["broker": "\(control.settings.brokerURL)", "client_id": "\(control.client.clientID)"])
                    return
                } catch {
                    let text = "\(error)"
                    let first = lastError.withLock { previous -> Bool in defer { previous = text }; return previous != text }
                    if first { logger.warning("camera control cannot connect yet; retrying", metadata: ["error": "\(text)"]) }
                }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
        connector.withLock { $0 = task }
        let deadline = ContinuousClock.now + wait
        while !connected.isSet && ContinuousClock.now < deadline { Clock.sleep(milliseconds: 20) }
    }

    /// The broker is back (camhost restarted its managed broker): reconnect now, not after the back-off.
    public func reconnectNow() { control.client.reconnectNow() }

    /// Cameras seen on the broker.
    public func snapshot() -> [CameraStatus] { control.snapshot() }

    /// Sends a command on behalf of `actor` (e.g. `user:alice`) and writes its audit row.
    public func send(_ command: CameraCommand, to camera: CameraID, actor: String, timeout: Duration? = nil) async throws -> CommandResult {
        let logger = self.logger
        return try await control.send(command, to: camera, actor: actor, audit: audit, timeout: timeout) { error in
            logger.error("audit row not written: \(error)")
        }
    }

    /// The `/healthz` entry: connected or not, to which broker, how many cameras.
    public var health: (ok: Bool, detail: String) {
        let state = control.connectionState
        let cameras = control.snapshot()
        let online = cameras.filter(\.online).count
        if state == .connected {
            return (true, "connected to \(control.settings.brokerURL) as \(control.client.clientID); \(cameras.count) cameras, \(online) online")
        }
        let why = lastError.withLock { $0 }.map { ": \($0)" } ?? ""
        return (false, "\(state) to \(control.settings.brokerURL)\(why)")
    }

    /// Stops connecting and disconnects; waits at most `limit`.
    public func stop(limit: Duration = .seconds(2)) {
        connector.withLock { $0?.cancel(); $0 = nil }
        let done = Flag()
        Task { [control] in
            await control.stop()
            done.set()
        }
        let deadline = ContinuousClock.now + limit
        while !done.isSet && ContinuousClock.now < deadline { Clock.sleep(milliseconds: 10) }
    }
}

/// A one-way flag shared between a task and a waiting thread.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}
