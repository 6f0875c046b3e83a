#if canImport(Glibc)
import Glibc
#endif

/// The system clocks, in milliseconds.
public enum Clock {
    /// Wall-clock time since 1970 (CLOCK_REALTIME): for timestamps people read.
    public static func wallMilliseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }

    /// A clock that never jumps (CLOCK_MONOTONIC): for durations and deadlines.
    public static func monotonicMilliseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }
}
