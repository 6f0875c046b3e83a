import JSONText
import Logging
import Synchronization

/// How a camera answered a command.
public enum CommandOutcome: Sendable, Equatable {
    case done
    case accepted
    case failed(String)
    case timedOut

    /// `done`, `accepted`, `failed`, `timed-out` (the CLI's `result` field).
    public var name: String {
        switch self {
        case .done: "done"
        case .accepted: "accepted"
        case .failed: "failed"
        case .timedOut: "timed-out"
        }
    }
    /// Done or accepted: the CLI exits 0 only for these.
    public var isSuccess: Bool { self == .done || self == .accepted }
}

/// One command's record (what the audit row and `--json` show).
public struct CommandResult: Sendable {
    public let camera: CameraID
    public let command: CameraCommand
    public let correlationID: String
    public let outcome: CommandOutcome
    public let latency: Duration
    public var latencyMilliseconds: Double {
        Double(latency.components.seconds) * 1000 + Double(latency.components.attoseconds) / 1e15
    }
}

/// Sends commands to cameras per their firmware profile and waits for the ack (or, for profiles
/// without acks, the state echo). Commands to one camera run strictly in order; different
/// cameras run concurrently. Never hangs: not connected fails at once, otherwise a timeout.
///
/// The hot path has no task hops of its own: the caller's task publishes and suspends; the ack
/// is parsed on the MQTT network thread (a message handler), which resumes the caller. Time-outs
/// come from one sweeper per controller while commands are pending, not a timer per command.
public final class CameraController: Sendable {
    public let client: MQTTClient
    public let profile: FirmwareProfile
    public let defaultTimeout: Duration
    private let logger: Logger
    /// What cameras send that is ignored, at most a few lines per topic per 10 s.
    private let brokerLog: ThrottledLog

    private enum Resolution: Sendable { case outcome(CommandOutcome), error(MosquittoError) }
    private enum Expectation: Sendable { case ack, echo(field: String, payload: String?) }
    private struct Pending {
        let correlationID: String
        let expectation: Expectation
        let deadline: ContinuousClock.Instant
        let waiter: CheckedContinuation<Resolution, Never>
    }
    private struct State {
        /// The command on the wire to each camera (at most one per camera).
        var pending: [CameraID: Pending] = [:]
        /// Cameras with a command in progress, each with the commands queued behind it, in order.
        var busy: [CameraID: [CheckedContinuation<Void, Never>]] = [:]
        var handler: UInt64?
        var watcher: Task<Void, Never>?
        /// The time-out sweeper runs while anything is pending.
        var sweeping = false
    }
    private let state = Mutex(State())
    /// How often pending commands are checked against their deadline.
    private static let sweepInterval: Duration = .milliseconds(20)

    public init(client: MQTTClient, profile: FirmwareProfile, timeout: Duration = .seconds(5),
                logger: Logger = Logger(label: "camhost.control.commands")) {
        self.client = client
        self.profile = profile
        self.defaultTimeout = timeout
        self.logger = logger
        self.brokerLog = ThrottledLog(logger: logger)
    }

    /// Subscribes to the profile's ack (or status and error) topics and starts listening.
    /// Call after `client.connect()` or before it; subscriptions survive reconnects.
    public func start() async throws {
        let states = client.stateChanges()
        let handler = client.addMessageHandler { [weak self] message in self?.handle(message) }
        let watcher = Task { [weak self] in
            for await s in states where s != .connected {
                guard let self else { return }
                self.failAll(MosquittoError(kind: .connectionLost, message: "connection to the broker lost while waiting for the camera",
                                            broker: self.client.options.brokerAddress))
            }
        }
        state.withLock { $0.handler = handler; $0.watcher = watcher }
        if let ack = profile.topics.ack { try await client.subscribe(ack.filter) }
        if profile.encoding == .plain {
            try await client.subscribe(profile.topics.status.filter)
            if let error = profile.topics.error { try await client.subscribe(error.filter) }
        }
    }

    /// Stops listening; pending commands fail.
    public func stop() {
        let (handler, watcher) = state.withLock { s in
            defer { s.handler = nil; s.watcher = nil }
            return (s.handler, s.watcher)
        }
        if let handler { client.removeMessageHandler(handler) }
        watcher?.cancel()
        failAll(MosquittoError(kind: .connectionLost, message: "controller stopped", broker: client.options.brokerAddress))
    }

    /// Sends `command` to `camera` after any earlier command to the same camera has finished.
    /// Throws `CommandError` (invalid for this profile) or `MosquittoError` (not connected,
    /// broker did not take it); otherwise the camera's answer is in `outcome`.
    public func send(_ command: CameraCommand, to camera: CameraID, timeout: Duration? = nil) async throws -> CommandResult {
        guard client.state == .connected else {
            throw MosquittoError(kind: .notConnected, message: "cannot send \(command) to camera \(camera): client is \(client.state)",
                                 broker: client.options.brokerAddress)
        }
        await acquire(camera)
        defer { release(camera) }
        return try await perform(command, to: camera, timeout: timeout ?? defaultTimeout)
    }

    /// Waits until no earlier command to `camera` is in progress, then holds its slot.
    private func acquire(_ camera: CameraID) async {
        let free = state.withLock { s -> Bool in
            guard s.busy[camera] == nil else { return false }
            s.busy[camera] = []
            return true
        }
        if free { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let freedMeanwhile = state.withLock { s -> Bool in
                guard s.busy[camera] != nil else { s.busy[camera] = []; return true }
                s.busy[camera]!.append(continuation)
                return false
            }
            if freedMeanwhile { continuation.resume() }
        }
    }

    /// Hands the camera's slot to the next queued command, or frees it.
    private func release(_ camera: CameraID) {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let queue = s.busy[camera], !queue.isEmpty else { s.busy[camera] = nil; return nil }
            return s.busy[camera]!.removeFirst()
        }
        next?.resume()
    }

    private func perform(_ command: CameraCommand, to camera: CameraID, timeout: Duration) async throws -> CommandResult {
        let correlationID = makeCorrelationID()
        let (topic, payload) = try profile.encode(command, to: camera, correlationID: correlationID)
        let expectation: Expectation
        if profile.encoding == .json {
            expectation = .ack
        } else {
            let spec = profile.commands[command.kind]!
            var values = command.parameters
            values["id"] = camera.rawValue
            expectation = .echo(field: spec.echoField!, payload: spec.echoPayload == "*" ? nil : renderTemplate(spec.echoPayload!, values))
        }
        let started = ContinuousClock.now
        let resolution = await withCheckedContinuation { (continuation: CheckedContinuation<Resolution, Never>) in
            // Registered before the publish: the ack may arrive before `publishQueued` returns.
            let startSweeper = state.withLock { s -> Bool in
                s.pending[camera] = Pending(correlationID: correlationID, expectation: expectation,
                                            deadline: started + timeout, waiter: continuation)
                defer { s.sweeping = true }
                return !s.sweeping
            }
            if startSweeper { Task { [weak self] in await self?.sweepTimeouts() } }
            do {
                // QoS 1 on the wire; the camera's ack, not the broker's PUBACK, is what we wait for.
                try client.publishQueued(topic: topic, payload: payload, qos: .atLeastOnce)
            } catch {
                let failure = error as? MosquittoError
                    ?? MosquittoError(kind: .library, message: "\(error)", broker: client.options.brokerAddress)
                resolve(camera, correlationID, .error(failure))
            }
        }
        switch resolution {
        case .error(let e): throw e
        case .outcome(let outcome):
            let result = CommandResult(camera: camera, command: command, correlationID: correlationID,
                                       outcome: outcome, latency: ContinuousClock.now - started)
            logger.info("camera command", metadata: ["camera": "\(camera)", "command": "\(command)", "correlation": "\(correlationID)",
                                                     "result": "\(outcome.name)", "latency_ms": "\(result.latencyMilliseconds)"])
            return result
        }
    }

    /// Times out commands whose deadline passed; runs while any command is pending.
    private func sweepTimeouts() async {
        while true {
            try? await Task.sleep(for: Self.sweepInterval)
            let now = ContinuousClock.now
            let (expired, finished) = state.withLock { s -> ([CheckedContinuation<Resolution, Never>], Bool) in
                var expired: [CheckedContinuation<Resolution, Never>] = []
                for (camera, pending) in s.pending where pending.deadline <= now {
                    s.pending[camera] = nil
                    expired.append(pending.waiter)
                }
                if s.pending.isEmpty { s.sweeping = false }
                return (expired, s.pending.isEmpty)
            }
            for waiter in expired { waiter.resume(returning: .outcome(.timedOut)) }
            if finished { return }
        }
    }

    /// Ends the pending command to `camera` (when `correlationID` is nil or matches).
    private func resolve(_ camera: CameraID, _ correlationID: String?, _ resolution: Resolution) {
        let waiter = state.withLock { s -> CheckedContinuation<Resolution, Never>? in
            guard let p = s.pending[camera], correlationID == nil || p.correlationID == correlationID else { return nil }
            s.pending[camera] = nil
            return p.waiter
        }
        waiter?.resume(returning: resolution)
    }

    private func failAll(_ error: MosquittoError) {
        let waiters = state.withLock { s in
            defer { s.pending = [:] }
            return s.pending.values.map(\.waiter)
        }
        for waiter in waiters { waiter.resume(returning: .error(error)) }
    }

    // MARK: Incoming

    private func handle(_ message: MQTTMessage) {
        if let ack = profile.topics.ack, let (camera, _) = ack.match(message.topic) {
            handleAck(message, camera: camera)
        } else if profile.encoding == .plain, !message.retain, let (camera, field) = profile.topics.status.match(message.topic), let field {
            let expected = state.withLock { s -> (String, Expectation)? in
                s.pending[camera].map { ($0.correlationID, $0.expectation) }
            }
            guard let (corr, expectation) = expected, case .echo(let wantField, let wantPayload) = expectation, wantField == field else { return }
            guard let text = message.text else {
                brokerLog.log(.warning, "ignored non-UTF-8 state echo", topic: message.topic)
                return
            }
            if wantPayload == nil || wantPayload == text { resolve(camera, corr, .outcome(.done)) }
        } else if let errorTopic = profile.topics.error, let (camera, _) = errorTopic.match(message.topic), !message.retain {
            let reason = message.text.map { String($0.prefix(200)) } ?? "camera reported an error"
            resolve(camera, nil, .outcome(.failed(reason)))
        }
    }

    private func handleAck(_ message: MQTTMessage, camera: CameraID) {
        guard let fields = profile.json else { return }
        let value: JSONValue
        do {
            value = try JSONValue(parsing: message.payload)
        } catch {
            brokerLog.log(.warning, "ignored malformed ack", topic: message.topic, metadata: ["error": "\(error)"])
            return
        }
        guard let corr = value[fields.correlation]?.stringValue, let word = value[fields.result]?.stringValue else {
            brokerLog.log(.warning, "ignored ack without string \(fields.correlation)/\(fields.result)", topic: message.topic)
            return
        }
        let outcome: CommandOutcome
        if fields.done.contains(word) { outcome = .done }
        else if fields.accepted.contains(word) { outcome = .accepted }
        else if fields.failed.contains(word) { outcome = .failed(value[fields.reason]?.stringValue.map { String($0.prefix(200)) } ?? word) }
        else {
            brokerLog.log(.warning, "ignored ack with unknown result", topic: message.topic, metadata: ["result": "\(word.prefix(40))"])
            return
        }
        let known = state.withLock { $0.pending[camera]?.correlationID == corr }
        guard known else {
            brokerLog.log(.info, "ignored ack for unknown correlation id", topic: message.topic, metadata: ["correlation": "\(corr.prefix(40))"])
            return
        }
        resolve(camera, corr, .outcome(outcome))
    }
}

func makeCorrelationID() -> String {
    let value = UInt64.random(in: .min ... .max)
    let hex = String(value, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}
