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
public final class CameraController: Sendable {
    public let client: MQTTClient
    public let profile: FirmwareProfile
    public let defaultTimeout: Duration
    private let logger: Logger

    private enum Resolution: Sendable { case outcome(CommandOutcome), error(MosquittoError) }
    private enum Expectation: Sendable { case ack, echo(field: String, payload: String?) }
    private struct Pending {
        let correlationID: String
        let expectation: Expectation
        var result: Resolution?
        var waiter: CheckedContinuation<Resolution, Never>?
    }
    private struct State {
        var pending: [CameraID: Pending] = [:]
        var queues: [CameraID: Task<Void, Never>] = [:]
        var listeners: [Task<Void, Never>] = []
    }
    private let state = Mutex(State())

    public init(client: MQTTClient, profile: FirmwareProfile, timeout: Duration = .seconds(5),
                logger: Logger = Logger(label: "camhost.control.commands")) {
        self.client = client
        self.profile = profile
        self.defaultTimeout = timeout
        self.logger = logger
    }

    /// Subscribes to the profile's ack (or status and error) topics and starts listening.
    /// Call after `client.connect()` or before it; subscriptions survive reconnects.
    public func start() async throws {
        let messages = client.messages()
        let states = client.stateChanges()
        let listener = Task { [weak self] in
            for await message in messages {
                guard let self else { return }
                self.handle(message)
            }
        }
        let watcher = Task { [weak self] in
            for await s in states where s != .connected {
                guard let self else { return }
                self.failAll(MosquittoError(kind: .connectionLost, message: "connection to the broker lost while waiting for the camera",
                                            broker: self.client.options.brokerAddress))
            }
        }
        state.withLock { $0.listeners += [listener, watcher] }
        if let ack = profile.topics.ack { try await client.subscribe(ack.filter) }
        if profile.encoding == .plain {
            try await client.subscribe(profile.topics.status.filter)
            if let error = profile.topics.error { try await client.subscribe(error.filter) }
        }
    }

    /// Stops listening; pending commands fail.
    public func stop() {
        let tasks = state.withLock { s in defer { s.listeners = [] }; return s.listeners }
        tasks.forEach { $0.cancel() }
        failAll(MosquittoError(kind: .connectionLost, message: "controller stopped", broker: client.options.brokerAddress))
    }

    /// Sends `command` to `camera` after any earlier command to the same camera has finished.
    /// Throws `CommandError` (invalid for this profile) or `MosquittoError` (not connected,
    /// broker did not take it); otherwise the camera's answer is in `outcome`.
    public func send(_ command: CameraCommand, to camera: CameraID, timeout: Duration? = nil) async throws -> CommandResult {
        let broker = client.options.brokerAddress
        guard client.state == .connected else {
            throw MosquittoError(kind: .notConnected, message: "cannot send \(command) to camera \(camera): client is \(client.state)", broker: broker)
        }
        let timeout = timeout ?? defaultTimeout
        let task = state.withLock { s -> Task<CommandResult, any Error> in
            let previous = s.queues[camera]
            let task = Task<CommandResult, any Error> {
                await previous?.value
                return try await self.perform(command, to: camera, timeout: timeout)
            }
            s.queues[camera] = Task { _ = await task.result }
            return task
        }
        return try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
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
        state.withLock { $0.pending[camera] = Pending(correlationID: correlationID, expectation: expectation) }
        do {
            try await client.publish(topic: topic, payload: payload, qos: .atLeastOnce)
        } catch {
            _ = state.withLock { $0.pending.removeValue(forKey: camera) }
            throw error
        }
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            if !Task.isCancelled { self?.resolve(camera, correlationID, .outcome(.timedOut)) }
        }
        let resolution = await withCheckedContinuation { (continuation: CheckedContinuation<Resolution, Never>) in
            let ready = state.withLock { s -> Resolution? in
                guard var p = s.pending[camera], p.correlationID == correlationID else { return .outcome(.timedOut) }
                if let r = p.result { s.pending[camera] = nil; return r }
                p.waiter = continuation
                s.pending[camera] = p
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
        timer.cancel()
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

    private func resolve(_ camera: CameraID, _ correlationID: String?, _ resolution: Resolution) {
        let waiter = state.withLock { s -> CheckedContinuation<Resolution, Never>? in
            guard var p = s.pending[camera], correlationID == nil || p.correlationID == correlationID, p.result == nil else { return nil }
            if let w = p.waiter { s.pending[camera] = nil; return w }
            p.result = resolution
            s.pending[camera] = p
            return nil
        }
        waiter?.resume(returning: resolution)
    }

    private func failAll(_ error: MosquittoError) {
        let cameras = state.withLock { Array($0.pending.keys) }
        for camera in cameras { resolve(camera, nil, .error(error)) }
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
                logger.warning("ignored non-UTF-8 state echo", metadata: ["topic": "\(message.topic)"])
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
            logger.warning("ignored malformed ack", metadata: ["topic": "\(message.topic)", "error": "\(error)"])
            return
        }
        guard let corr = value[fields.correlation]?.stringValue, let word = value[fields.result]?.stringValue else {
            logger.warning("ignored ack without string \(fields.correlation)/\(fields.result)", metadata: ["topic": "\(message.topic)"])
            return
        }
        let outcome: CommandOutcome
        if fields.done.contains(word) { outcome = .done }
        else if fields.accepted.contains(word) { outcome = .accepted }
        else if fields.failed.contains(word) { outcome = .failed(value[fields.reason]?.stringValue.map { String($0.prefix(200)) } ?? word) }
        else {
            logger.warning("ignored ack with unknown result", metadata: ["topic": "\(message.topic)", "result": "\(word.prefix(40))"])
            return
        }
        let known = state.withLock { $0.pending[camera]?.correlationID == corr }
        guard known else {
            logger.info("ignored ack for unknown correlation id", metadata: ["topic": "\(message.topic)", "correlation": "\(corr.prefix(40))"])
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
