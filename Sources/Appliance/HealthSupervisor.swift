import Control
import Logging
import POSIX
import Storage
import Synchronization
import Wire

/// The health supervisor: probes camhost's neighbours and its own resources at the protocol level
/// on a schedule (every 12 minutes by default, as the old platform's health script, and again
/// after `retryInterval` while something fails), records every result in SQLite
/// (`health_history`), and restarts a failing neighbour through its configured command with
/// exponential back-off and a restart budget per hour (`RestartLedger`): never a restart storm.
public final class HealthSupervisor: Sendable {
    /// What one probe found.
    public struct Result: Sendable, Equatable {
        public var ok: Bool
        public var detail: String
        public init(ok: Bool, detail: String) { self.ok = ok; self.detail = detail }
    }

    /// A probe: a name (the `health_history` check name), a function that runs it (blocking, bounded
    /// by its own time-out), and the neighbour to restart when it fails, if any.
    public struct Probe: Sendable {
        public var name: String
        public var run: @Sendable () -> Result
        public var neighbour: Neighbour?
        public init(name: String, neighbour: Neighbour? = nil, run: @escaping @Sendable () -> Result) {
            self.name = name
            self.run = run
            self.neighbour = neighbour
        }
    }

    /// A service beside camhost that it may restart: the broker, Kurento, CoTURN.
    public struct Neighbour: Sendable, Hashable {
        public var name: String
        /// The command that restarts it, e.g. ["systemctl", "restart", "coturn.service"].
        public var restartCommand: [String]
        public init(name: String, restartCommand: [String]) {
            self.name = name
            self.restartCommand = restartCommand
        }
    }

    public struct Options: Sendable {
        public var interval: Duration = .seconds(12 * 60)
        public var retryInterval: Duration = .seconds(30)
        public var policy = RestartPolicy()
        public var keepDays = 30
        /// The longest a restart command may run before it is killed and counted as failed.
        public var restartTimeout: Duration = .seconds(60)
        public init() {}
    }

    private struct State: Sendable {
        var latest: [String: Result] = [:]
        var ledgers: [String: RestartLedger] = [:]
        var restarts: [String: Int] = [:]
        var failedRestarts: [String: Int] = [:]
        /// Neighbours whose spent budget is already in the history (said once, not at every probe).
        var budgetSaid: Set<String> = []
        var thread: ThreadHandle?
    }

    private let probes: [Probe]
    private let settings: Options
    private let history: HealthHistory?
    private let logger: Logger
    private let state = Mutex(State())
    private let stopping = Atomic<Bool>(false)
    private let origin = ContinuousClock.now

    public init(probes: [Probe], options: Options = Options(), history: HealthHistory?, logger: Logger = Logger(label: "camhost.health")) {
        self.probes = probes
        self.settings = options
        self.history = history
        self.logger = logger
    }

    /// The newest result of each probe.
    public var latest: [String: Result] { state.withLock { $0.latest } }

    /// Restarts made per neighbour, and how many of them failed (for /metrics and the health page).
    public var restartCounts: [String: (made: Int, failed: Int)] {
        state.withLock { s in s.restarts.reduce(into: [:]) { $0[$1.key] = ($1.value, s.failedRestarts[$1.key] ?? 0) } }
    }

    /// Runs every probe once now, records the results and restarts what failed (when its ledger
    /// allows). Returns whether every probe passed. The schedule calls it; tests may too.
    @discardableResult
    public func runOnce() -> Bool {
        var allOK = true
        for probe in probes {
            let result = probe.run()
            allOK = allOK && result.ok
            state.withLock { $0.latest[probe.name] = result }
            record(check: probe.name, result)
            if !result.ok { logger.warning("health probe failed", metadata: ["probe": "\(probe.name)", "detail": "\(result.detail)"]) }
            guard let neighbour = probe.neighbour else { continue }
            if result.ok {
                state.withLock { s in s.ledgers[neighbour.name]?.recordHealthy() }
            } else {
                restartIfAllowed(neighbour)
            }
        }
        return allOK
    }

    private func restartIfAllowed(_ neighbour: Neighbour) {
        let now = ContinuousClock.now - origin
        let decision = state.withLock { s in
            s.ledgers[neighbour.name, default: RestartLedger(policy: settings.policy)].decide(at: now)
        }
        switch decision {
        case .backOff(let until):
            logger.info("not restarting yet (back-off)", metadata: ["neighbour": "\(neighbour.name)", "in_seconds": "\((until - now).components.seconds)"])
            return
        case .budgetExhausted(let until):
            let detail = "restart budget of \(settings.policy.budget) per \(settings.policy.budgetWindow) spent; next restart allowed in \((until - now).components.seconds) s"
            guard state.withLock({ $0.budgetSaid.insert(neighbour.name).inserted }) else { return }
            logger.error("not restarting: budget spent", metadata: ["neighbour": "\(neighbour.name)", "detail": "\(detail)"])
            record(check: neighbour.name + ".restart", Result(ok: false, detail: detail))
            return
        case .restartNow:
            break
        }
        state.withLock { s in
            s.ledgers[neighbour.name, default: RestartLedger(policy: settings.policy)].recordRestart(at: now)
            s.restarts[neighbour.name, default: 0] += 1
            s.budgetSaid.remove(neighbour.name)
        }
        let outcome = Self.runCommand(neighbour.restartCommand, timeout: settings.restartTimeout)
        let command = neighbour.restartCommand.joined(separator: " ")
        if !outcome.ok { state.withLock { $0.failedRestarts[neighbour.name, default: 0] += 1 } }
        logger.notice("restarted neighbour", metadata: ["neighbour": "\(neighbour.name)", "command": "\(command)", "outcome": "\(outcome.detail)"])
        record(check: neighbour.name + ".restart", Result(ok: outcome.ok, detail: "\(command): \(outcome.detail)"))
    }

    private func record(check: String, _ result: Result) {
        do {
            try history?.append(check: check, ok: result.ok, detail: result.detail)
        } catch {
            logger.error("cannot record a health result", metadata: ["check": "\(check)", "error": "\(error)"])
        }
    }

    /// Runs `argv` to completion (or kills it after `timeout`); ok when it exited 0.
    static func runCommand(_ argv: [String], timeout: Duration) -> Result {
        guard !argv.isEmpty else { return Result(ok: false, detail: "no restart command configured") }
        let pid: ProcessID
        do {
            pid = try spawnChild(argv, searchPath: true, actions: [
                .open(descriptor: 0, path: "/dev/null", .readOnly),
                .open(descriptor: 1, path: "/dev/null", .writeOnly),
                .open(descriptor: 2, path: "/dev/null", .writeOnly),
            ])
        } catch {
            return Result(ok: false, detail: "\(error)")
        }
        let deadline = ContinuousClock.now + timeout
        while true {
            if let status = try? reapChild(pid) {
                return Result(ok: status.succeeded, detail: status.description)
            }
            if ContinuousClock.now >= deadline {
                Signals.send(.kill, to: pid)
                _ = try? waitForChild(pid)
                return Result(ok: false, detail: "did not finish within \(timeout); killed")
            }
            Clock.sleep(milliseconds: 20)
        }
    }

    /// Probes now, then on schedule on a thread of its own, until `stop()`.
    public func start() {
        let thread = startThread { [self] in
            var lastPrune = ContinuousClock.now - .seconds(86_400)
            while !stopping.load(ordering: .acquiring) {
                let ok = runOnce()
                if ContinuousClock.now - lastPrune >= .seconds(86_400) {
                    _ = try? history?.prune(olderThanDays: settings.keepDays)
                    lastPrune = ContinuousClock.now
                }
                let pause = ok ? settings.interval : settings.retryInterval
                let until = ContinuousClock.now + pause
                while !stopping.load(ordering: .acquiring) && ContinuousClock.now < until {
                    Clock.sleep(milliseconds: 100)
                }
            }
        }
        state.withLock { $0.thread = thread }
    }

    public func stop() {
        stopping.store(true, ordering: .releasing)
        if let thread = state.withLock({ s -> ThreadHandle? in defer { s.thread = nil }; return s.thread }) { joinThread(thread) }
    }
}
