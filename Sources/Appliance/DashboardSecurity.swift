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
            sessionIdleSeconds: Int64(configuration.integer("auth.session_idle_minutes")) * 60,
            sessionAbsoluteSeconds: Int64(configuration.integer("auth.session_absolute_hours")) * 3600,
            lockoutThreshold: configuration.integer("auth.lockout_threshold"),
            lockoutBaseSeconds: Int64(configuration.integer("auth.lockout_base_seconds")),
            allowList: configuration.strings("auth.allow_list"))
    }

    /// `[rate_limit]` as limits per route class. Log-in is never unlimited; health checks
    /// always are (load balancers and benchmarks poll them).
    public static func rateLimits(_ configuration: Configuration) -> [RouteClass: RateLimiter.Limit] {
        let burst = Double(configuration.integer("rate_limit.burst"))
        let login = configuration.integer("rate_limit.login_per_minute")
        let api = Double(configuration.integer("rate_limit.api_rps"))
        let page = Double(configuration.integer("rate_limit.page_rps"))
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
