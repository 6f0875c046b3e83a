import POSIX

/// Wall-clock time for expiries stored in the database; tests inject their own `now`.
public enum WallClock {
    @Sendable public static func unixSeconds() -> Int64 { Clock.unixSeconds }
}
