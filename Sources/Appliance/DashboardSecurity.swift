import Dashboard
import Security
import Storage
import Web

/// The dashboard's security objects built from the configuration: one `Authenticator` and one
/// `RateLimiter` per process, shared by every route.
public struct DashboardSecurity: Sendable {
    public let authenticator: Authenticator
    public let rateLimiter: RateLimiter

    public init(configuration: Configuration, store: Store) {
        authenticator = Authenticator(store: store, settings: Self.authSettings(configuration))
        rateLimiter = RateLimiter(limits: Self.rateLimits(configuration))
    }

    /// `[auth]` as `AuthSettings`.
    public static func authSettings(_ configuration: Configuration) -> AuthSettings {
        AuthSettings(
            sessionIdleSeconds: Int64(configuration[Settings.authSessionIdleMinutes]) * 60,
            sessionAbsoluteSeconds: Int64(configuration[Settings.authSessionAbsoluteHours]) * 3600,
            lockoutThreshold: configuration[Settings.authLockoutThreshold],
            lockoutBaseSeconds: Int64(configuration[Settings.authLockoutBaseSeconds]),
            allowList: configuration[Settings.authAllowList])
    }

    /// `[rate_limit]` as limits per route class. Log-in is never unlimited; health checks
    /// always are (load balancers and benchmarks poll them).
    public static func rateLimits(_ configuration: Configuration) -> [RouteClass: RateLimiter.Limit] {
        let burst = Double(configuration[Settings.rateLimitBurst])
        let login = configuration[Settings.rateLimitLoginPerMinute]
        let api = Double(configuration[Settings.rateLimitApiRps])
        let page = Double(configuration[Settings.rateLimitPageRps])
        return [
            .login: .perMinute(login, burst: max(1, min(login, 5))),
            .api: api > 0 ? .init(perSecond: api, burst: burst) : .unlimited,
            .page: page > 0 ? .init(perSecond: page, burst: burst) : .unlimited,
            .asset: page > 0 ? .init(perSecond: page * 4, burst: burst * 4) : .unlimited,
            .metrics: page > 0 ? .init(perSecond: page, burst: burst) : .unlimited,
            .health: .unlimited,
        ]
    }

    /// With no users yet, a fresh one-time set-up URL for the log (`camhost.setup`); nil otherwise.
    public func setupURL(base: String) throws -> String? {
        try authenticator.prepareSetup().map { "\(base)/setup?token=\($0)" }
    }
}
