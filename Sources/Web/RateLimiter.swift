import Synchronization

/// What kind of thing a route serves; rate limits and metrics are kept per class.
public enum RouteClass: String, Sendable, CaseIterable, Hashable {
    case login, api, page, asset, metrics, health
}

/// Token buckets per client address and route class. Memory stays bounded under many
/// addresses: past `maximumClients` buckets, full buckets (indistinguishable from new ones)
/// are dropped, then the least recently used.
public final class RateLimiter: Sendable {
    /// A bucket's refill rate and size. A rate of 0 means no limit.
    public struct Limit: Sendable, Equatable {
        public var perSecond: Double
        public var burst: Double

        public init(perSecond: Double, burst: Double) {
            self.perSecond = perSecond
            self.burst = max(burst, 1)
        }

        public static let unlimited = Limit(perSecond: 0, burst: 1)
        public static func perMinute(_ count: Int, burst: Int) -> Limit { Limit(perSecond: Double(count) / 60, burst: Double(burst)) }
        public var isUnlimited: Bool { perSecond <= 0 }
    }

    /// The answer for one request.
    public enum Decision: Sendable, Equatable {
        case allowed
        /// Refused; the client may retry after this many whole seconds (at least 1).
        case limited(retryAfterSeconds: Int)
    }

    struct Key: Hashable {
        let address: String
        let routeClass: RouteClass
    }

    struct Bucket {
        var tokens: Double
        var updated: Double
    }

    struct State {
        var buckets: [Key: Bucket] = [:]
        var rejections: [RouteClass: Int] = [:]
    }

    public let limits: [RouteClass: Limit]
    public let maximumClients: Int
    private let now: @Sendable () -> Double
    private let state = Mutex(State())

    /// `now` returns monotonic seconds; tests pass their own clock.
    public init(limits: [RouteClass: Limit], maximumClients: Int = 50_000, now: (@Sendable () -> Double)? = nil) {
        self.limits = limits
        self.maximumClients = max(maximumClients, 16)
        if let now {
            self.now = now
        } else {
            let origin = ContinuousClock.now
            self.now = { let elapsed = ContinuousClock.now - origin
                return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18 }
        }
    }

    /// Takes one token from the bucket of `address` for `routeClass`.
    public func admit(_ address: String, _ routeClass: RouteClass) -> Decision {
        guard let limit = limits[routeClass], !limit.isUnlimited else { return .allowed }
        let time = now()
        return state.withLock { state in
            let key = Key(address: address, routeClass: routeClass)
            var bucket = state.buckets[key] ?? Bucket(tokens: limit.burst, updated: time)
            bucket.tokens = min(limit.burst, bucket.tokens + max(0, time - bucket.updated) * limit.perSecond)
            bucket.updated = time
            let decision: Decision
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                decision = .allowed
            } else {
                let wait = (1 - bucket.tokens) / limit.perSecond
                decision = .limited(retryAfterSeconds: max(1, Int(wait.rounded(.up))))
                state.rejections[routeClass, default: 0] += 1
            }
            if state.buckets.updateValue(bucket, forKey: key) == nil, state.buckets.count > maximumClients {
                sweep(&state, at: time)
            }
            return decision
        }
    }

    /// How many buckets are held now (bounded by `maximumClients`).
    public var trackedClients: Int { state.withLock { $0.buckets.count } }

    /// Requests refused so far, per route class (for /metrics).
    public var rejections: [RouteClass: Int] { state.withLock { $0.rejections } }

    /// Drops full buckets, then the least recently used, down to 3/4 of the cap; amortised
    /// O(log n) per new address since it runs once per cap/4 insertions at most.
    private func sweep(_ state: inout State, at time: Double) {
        state.buckets = state.buckets.filter { key, bucket in
            guard let limit = limits[key.routeClass] else { return false }
            return bucket.tokens + (time - bucket.updated) * limit.perSecond < limit.burst
        }
        let target = maximumClients * 3 / 4
        guard state.buckets.count > target else { return }
        let ordered = state.buckets.sorted { $0.value.updated < $1.value.updated }
        for (key, _) in ordered.prefix(state.buckets.count - target) {
            state.buckets.removeValue(forKey: key)
        }
    }

    /// The 429 answer (RFC 6585 section 4) with `Retry-After` (RFC 9110 section 10.2.3).
    public static func tooManyRequests(retryAfterSeconds: Int) -> HTTPResponse {
        var response = HTTPResponse.error(429, code: "rate-limited", message: "too many requests; retry after \(retryAfterSeconds) s")
        response.setHeader("Retry-After", String(retryAfterSeconds))
        return response
    }
}
