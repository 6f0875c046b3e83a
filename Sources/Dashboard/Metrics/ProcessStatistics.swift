#if canImport(Glibc)
import Glibc
#endif

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
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        if let stat = read("/proc/self/stat"), let close = stat.lastIndex(of: ")") {
            // Fields after "(comm)": state is field 3; utime 14, stime 15, starttime 22, vsize 23, rss 24.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            func field(_ number: Int) -> Double { fields.count > number - 3 ? Double(fields[number - 3]) ?? 0 : 0 }
            stats.cpuSeconds = (field(14) + field(15)) / ticks
            stats.virtualBytes = field(23)
            stats.residentBytes = field(24) * pageSize
            if let uptime = read("/proc/uptime")?.split(separator: " ").first.flatMap({ Double($0) }) {
                var now = timespec()
                clock_gettime(CLOCK_REALTIME, &now)
                stats.startTimeSeconds = (Double(now.tv_sec) - uptime + field(22) / ticks).rounded()
            }
        }
        if let directory = opendir("/proc/self/fd") {
            var count = 0
            while let entry = readdir(directory) {
                if entry.pointee.d_name.0 != 0x2E { count += 1 }
            }
            closedir(directory)
            stats.openFiles = Double(max(count - 1, 0))  // minus the directory's own descriptor
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { stats.maxFiles = Double(limit.rlim_cur) }
        return stats
    }

    /// A small /proc file as text.
    static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }
}
