import CLinux
#if canImport(Glibc)
import Glibc
#endif

/// Reading and removing byte ranges of an open file: what log rotation needs to move the start
/// of a log another process is still appending to, without losing what it appends meanwhile.
extension FileDescriptor {
    /// fallocate(2) FALLOC_FL_COLLAPSE_RANGE: removes bytes [0, length) so that the rest moves to
    /// the start, atomically for a writer appending with O_APPEND. `length` must be a multiple of
    /// the file system's block size; ext4 and XFS support it, others answer `notSupported`.
    public func collapseStart(_ length: Int64) throws(Errno) {
        try nothingOrErrno { clinux_fallocate(rawValue, 0x08 /* FALLOC_FL_COLLAPSE_RANGE */, 0, Int(length)) }.get()
    }
}

extension Errno {
    public static let notSupported = Errno(EOPNOTSUPP)
}

extension Clock {
    /// Seconds since local midnight (the schedules' HH:MM are local time, as cron's were).
    public static func localSecondOfDay() -> Int {
        var now = time_t(unixSeconds)
        var parts = tm()
        localtime_r(&now, &parts)
        return Int(parts.tm_hour) * 3600 + Int(parts.tm_min) * 60 + Int(parts.tm_sec)
    }

    /// Local date and time as YYYYMMDD-HHMMSS (rotated log names).
    public static func localStamp() -> String {
        var now = time_t(unixSeconds)
        var parts = tm()
        localtime_r(&now, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))-\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))"
    }
}
