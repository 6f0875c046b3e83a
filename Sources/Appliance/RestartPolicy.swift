/// When a supervised neighbour (the broker, Kurento, CoTURN) may be restarted: exponential back-off
/// after each restart that did not bring it back, and a budget of restarts in any rolling hour, so
/// a neighbour that cannot start never becomes a restart storm (the old platform's health script
/// restarted every 12 minutes whatever happened).
public struct RestartPolicy: Sendable, Hashable {
    /// The wait after the first failed restart; doubled after each further one.
    public var initialDelay: Duration
    /// The longest wait between two restarts.
    public var maximumDelay: Duration
    /// Restarts allowed in any window of `budgetWindow`; then none until the oldest leaves it.
    public var budget: Int
    public var budgetWindow: Duration

    public init(initialDelay: Duration = .seconds(10), maximumDelay: Duration = .seconds(600), budget: Int = 6,
                budgetWindow: Duration = .seconds(3600)) {
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.budget = budget
        self.budgetWindow = budgetWindow
    }
}

/// One neighbour's restart history under a `RestartPolicy`. Times are durations since any fixed
/// origin (the supervisor uses its start), so the ledger is plain data a test can drive.
public struct RestartLedger: Sendable, Hashable {
    /// What the supervisor should do about a neighbour that failed its probe.
    public enum Decision: Sendable, Hashable {
        case restartNow
        /// Back-off: wait until then (a restart attempted recently did not help yet).
        case backOff(until: Duration)
        /// The budget is spent: no restart until then; the health page says so.
        case budgetExhausted(until: Duration)
    }

    public let policy: RestartPolicy
    /// When each restart in the current budget window was made.
    public private(set) var restarts: [Duration] = []
    /// Restarts since the neighbour last passed its probe.
    public private(set) var consecutiveFailures = 0

    public init(policy: RestartPolicy) { self.policy = policy }

    /// The wait after `failures` restarts that did not bring the neighbour back: 0 before the
    /// first, then initialDelay, 2x, 4x, ... up to maximumDelay.
    public func delay(afterFailures failures: Int) -> Duration {
        guard failures > 0 else { return .zero }
        var delay = policy.initialDelay
        for _ in 1..<failures {
            delay *= 2
            if delay >= policy.maximumDelay { return policy.maximumDelay }
        }
        return min(delay, policy.maximumDelay)
    }

    public func decide(at now: Duration) -> Decision {
        let recent = restarts.filter { now - $0 < policy.budgetWindow }
        if recent.count >= policy.budget, let oldest = recent.first {
            return .budgetExhausted(until: oldest + policy.budgetWindow)
        }
        if let last = restarts.last {
            let ready = last + delay(afterFailures: consecutiveFailures)
            if now < ready { return .backOff(until: ready) }
        }
        return .restartNow
    }

    /// A restart was made now.
    public mutating func recordRestart(at now: Duration) {
        restarts.removeAll { now - $0 >= policy.budgetWindow }
        restarts.append(now)
        consecutiveFailures += 1
    }

    /// The neighbour passed its probe: the back-off starts again from the beginning (the budget
    /// window keeps counting, so flapping still runs into it).
    public mutating func recordHealthy() { consecutiveFailures = 0 }
}
