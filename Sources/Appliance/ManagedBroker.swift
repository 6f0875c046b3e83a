import Logging
import Synchronization
import POSIX

/// The Mosquitto broker camhost runs for itself when no broker is configured: bound to
/// 127.0.0.1, restarted with back-off when it dies, never left behind when camhost exits.
public final class ManagedBroker: Sendable {
    /// What `/healthz` and the logs say about it.
    public struct Status: Sendable, Equatable {
        public var running: Bool
        public var pid: Int32?
        public var restarts: Int
        public var lastExit: String?
    }

    public let port: Int
    private let executable: String
    private let dataDirectory: String
    private let logPath: String
    private let logger: Logger
    private let state = Mutex(State())
    private let thread = Mutex<ThreadHandle?>(nil)
    private let privateDirectory = Mutex<String?>(nil)
    private let restartActions = Mutex<[@Sendable () -> Void]>([])

    private struct State {
        var stopping = false
        var pid: ProcessID?
        var restarts = 0
        var lastExit: String?
        var everStarted = false
        var startError: String?
    }

    public init(executable: String, port: Int, dataDirectory: String, logDirectory: String, logger: Logger) {
        self.executable = executable
        self.port = port
        self.dataDirectory = dataDirectory
        self.logPath = joinPath(logDirectory, "mosquitto.log")
        self.logger = logger
    }

    public var url: BrokerURL { BrokerURL(host: "127.0.0.1", port: port) }

    public var status: Status {
        state.withLock { Status(running: $0.pid != nil, pid: $0.pid, restarts: $0.restarts, lastExit: $0.lastExit) }
    }

    /// Writes the broker's configuration and starts the supervising thread. Throws when the
    /// binary is missing or the first start fails outright.
    public func start() throws(SystemError) {
        guard FileSystem.isExecutable(executable) else {
            let error = Errno.current
            throw SystemError(operation: "run the managed MQTT broker", path: executable, errno: error.rawValue == 0 ? .noSuchFileOrDirectory : error)
        }
        let configPath = try writeConfiguration()
        let first = try spawn(configPath: configPath)
        state.withLock { $0.pid = first.pid; $0.everStarted = true }
        logger.info("managed MQTT broker started", metadata: ["pid": "\(first.pid)", "listen": "127.0.0.1:\(port)", "log": "\(logPath)"])
        // The supervising thread both spawns and waits: PR_SET_PDEATHSIG is tied to the thread
        // that spawned the child, so it must be a thread that lives as long as the broker.
        let spawned = startThread { [self] in
            supervise(first: first, configPath: configPath)
        }
        thread.withLock { $0 = spawned }
        // Return once the broker accepts connections, so clients started next connect at their
        // first attempt instead of sleeping through a retry (it takes Mosquitto ~10-50 ms).
        if !waitUntilListening(timeout: .seconds(2)) {
            logger.warning("managed MQTT broker is not accepting connections yet", metadata: ["log": "\(logPath)"])
        }
    }

    /// Runs `action` on the supervising thread each time a restarted broker accepts connections:
    /// clients of this broker reconnect then instead of after their back-off.
    public func whenRestarted(_ action: @escaping @Sendable () -> Void) {
        restartActions.withLock { $0.append(action) }
    }

    /// Nil while the broker's port is free to bind; otherwise what holds it, in words ("127.0.0.1:1883
    /// is taken by pid 4242 (mosquitto -c ...)"). A second `serve` on the host meets the first
    /// one's broker here: Mosquitto would only exit with status 1 and say why in its own log.
    public func portConflict() -> String? {
        guard let code = PortHolder.bindError(loopbackPort: UInt16(port)) else { return nil }
        guard code == .addressInUse else { return "127.0.0.1:\(port) cannot be bound (\(code))" }
        let holder = PortHolder.listening(onTCPPort: UInt16(port))
        return "127.0.0.1:\(port) is taken by \(holder?.description ?? "another process")"
    }

    private func waitUntilListening(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if Sockets.acceptsConnections(onLoopbackPort: UInt16(port)) { return true }
            Clock.sleep(milliseconds: 5)
        }
        return false
    }

    private func supervise(first: ChildProcess, configPath: String) {
        var child: ChildProcess? = first
        var delay = 0.5
        while true {
            guard let running = child else { break }
            let started = ContinuousClock.now
            var how = running.wait()
            if !state.withLock({ $0.stopping }), let conflict = portConflict() {
                how += "; \(conflict): set mqtt.managed_broker_port to a free port"
            }
            let stopping = state.withLock { s -> Bool in
                s.pid = nil
                s.lastExit = how
                return s.stopping
            }
            if stopping { break }
            if ContinuousClock.now - started > .seconds(60) { delay = 0.5 }
            logger.warning("managed MQTT broker \(how); restarting in \(delay) s", metadata: ["log": "\(logPath)"])
            if !sleepUnlessStopping(seconds: delay) { break }
            delay = min(delay * 2, 30)
            do {
                let next = try spawn(configPath: configPath)
                let stillWanted = state.withLock { s -> Bool in
                    s.restarts += 1
                    s.pid = next.pid
                    return !s.stopping
                }
                if !stillWanted { next.signal(.terminate) }
                child = next
                if stillWanted, waitUntilListening(timeout: .seconds(5)) {
                    for action in restartActions.withLock({ $0 }) { action() }
                }
            } catch {
                logger.error("cannot restart the managed MQTT broker: \(error)")
                child = nil
                // Keep trying: a transient failure (fork limits) must not end supervision.
                while sleepUnlessStopping(seconds: delay) {
                    if let next = try? spawn(configPath: configPath) {
                        state.withLock { $0.restarts += 1; $0.pid = next.pid }
                        child = next
                        break
                    }
                    delay = min(delay * 2, 30)
                }
            }
        }
    }

    /// Mosquitto started as root drops to its own user, which would clear the parent-death
    /// signal; so camhost (when root) starts it as `mosquitto` directly.
    private func spawn(configPath: String) throws(SystemError) -> ChildProcess {
        try ChildProcess(executable: executable, arguments: ["-c", configPath], outputPath: logPath, dieWithParent: true,
                         runAs: Self.brokerUser)
    }

    private static let brokerUser = "mosquitto"

    /// The broker's configuration, rewritten at every start. When camhost runs as root the
    /// broker runs as `mosquitto`, which may not enter the data directory (0750), so the file
    /// goes to a private directory of its own under /tmp instead, removed at stop.
    private func writeConfiguration() throws(SystemError) -> String {
        let conf = """
            # Written by camhost at every start; edits are overwritten. Configure mqtt.broker to use your own broker.
            listener \(port) 127.0.0.1
            allow_anonymous true
            persistence false
            # Camera commands are small request/reply packets: without this, Nagle's algorithm
            # and delayed ACKs add ~40 ms to every round trip.
            set_tcp_nodelay true
            log_dest stderr
            log_type error
            log_type warning
            log_type notice
            connection_messages true
            log_timestamp true

            """
        var directory = dataDirectory
        var owner: (user: UserID, group: GroupID)?
        if Users.isRoot, let entry = Users.lookUp(Self.brokerUser) {
            directory = try FileSystem.makeTemporaryDirectory("/tmp/camhost-broker-XXXXXX")
            owner = entry
            try? FileSystem.changeOwner(directory, user: entry.user, group: entry.group)
            privateDirectory.withLock { $0 = directory }
        }
        let path = joinPath(directory, "mosquitto.conf")
        try FileSystem.writeAtomically(Array(conf.utf8), to: path, permissions: 0o644)
        if let owner { try? FileSystem.changeOwner(path, user: owner.user, group: owner.group) }
        return path
    }

    private func sleepUnlessStopping(seconds: Double) -> Bool {
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int(seconds * 1000)))
        while ContinuousClock.now < deadline {
            if state.withLock({ $0.stopping }) { return false }
            Clock.sleep(milliseconds: 20)
        }
        return !state.withLock { $0.stopping }
    }

    /// Stops the broker (SIGTERM, then SIGKILL after `grace`) and the supervising thread.
    public func stop(grace: Duration = .seconds(5)) {
        let pid = state.withLock { s -> ProcessID? in
            s.stopping = true
            return s.pid
        }
        if let pid {
            Signals.send(.terminate, to: pid)
            let deadline = ContinuousClock.now.advanced(by: grace)
            while state.withLock({ $0.pid != nil }), ContinuousClock.now < deadline { Clock.sleep(milliseconds: 10) }
            if state.withLock({ $0.pid != nil }) { Signals.send(.kill, to: pid) }
        }
        if let spawned = thread.withLock({ value -> ThreadHandle? in let t = value; value = nil; return t }) {
            joinThread(spawned)
        }
        if let directory = privateDirectory.withLock({ value -> String? in let d = value; value = nil; return d }) {
            try? FileSystem.remove(joinPath(directory, "mosquitto.conf"))
            try? FileSystem.removeDirectory(directory)
        }
        logger.info("managed MQTT broker stopped")
    }
}
