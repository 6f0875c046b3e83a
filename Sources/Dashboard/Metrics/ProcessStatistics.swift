import POSIX

/// This process's memory, CPU time and open files, read from /proc/self (Linux).
struct ProcessStatistics: Sendable {
    var residentBytes: Double = 0
    var virtualBytes: Double = 0
    var cpuSeconds: Double = 0
    var startTimeSeconds: Double = 0
    var openFiles: Double = 0
    var maxFiles: Double = 0

    static func current() -> ProcessStatistics {
        var stats = ProcessStatistics()
        let ticks = Double(ProcFS.clockTicksPerSecond)
        let pageSize = Double(ProcFS.pageSize)
        if let stat = ProcFS.read("/proc/self/stat"), let close = stat.lastIndex(of: ")") {
            // Fields after "(comm)": state is field 3; utime 14, stime 15, starttime 22, vsize 23, rss 24.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            func field(_ number: Int) -> Double { fields.count > number - 3 ? Double(fields[number - 3]) ?? 0 : 0 }
            stats.cpuSeconds = (field(14) + field(15)) / ticks
            stats.virtualBytes = field(23)
            stats.residentBytes = field(24) * pageSize
            if let uptime = ProcFS.read("/proc/uptime")?.split(separator: " ").first.flatMap({ Double($0) }) {
                stats.startTimeSeconds = (Double(Clock.unixSeconds) - uptime + field(22) / ticks).rounded()
            }
        }
        if let count = ProcFS.openDescriptorCount() { stats.openFiles = Double(count) }
        if let limit = ProcFS.descriptorLimit() { stats.maxFiles = Double(limit) }
        return stats
    }
}
