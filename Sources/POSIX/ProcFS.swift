#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Linux's /proc: this process's counters and which files processes hold open.
public enum ProcFS {
    /// A small /proc file as text (one read: /proc files are generated whole), nil when unreadable.
    public static func read(_ path: String, limit: Int = 4096) -> String? {
        guard let fd = try? FileDescriptor.open(path, .readOnly) else { return nil }
        defer { fd.close() }
        guard let bytes = try? fd.read(upTo: limit), !bytes.isEmpty else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Clock ticks per second (the unit of /proc/PID/stat's times).
    public static var clockTicksPerSecond: Int { sysconf(Int32(_SC_CLK_TCK)) }

    public static var pageSize: Int { sysconf(Int32(_SC_PAGESIZE)) }

    /// How many descriptors this process has open (the entries of /proc/self/fd, less the one
    /// reading it).
    public static func openDescriptorCount() -> Int? {
        var count = 0
        guard (try? Directory.forEachEntry(at: "/proc/self/fd", { _, _ in count += 1 })) != nil else { return nil }
        return max(count - 1, 0)
    }

    /// The soft limit on open descriptors (RLIMIT_NOFILE).
    public static func descriptorLimit() -> UInt64? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        return UInt64(limit.rlim_cur)
    }

    /// The absolute paths, starting with `prefix`, of files some process holds open, from
    /// /proc/PID/fd (best effort: processes of other users are invisible to non-root).
    public static func openFiles(under prefix: [UInt8]) -> Set<[UInt8]> {
        var found: Set<[UInt8]> = []
        try? Directory.forEachEntry(at: "/proc") { name, _ in
            guard !name.isEmpty, name.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return }
            let fdDirectory = "/proc/" + String(decoding: name, as: UTF8.self) + "/fd"
            try? Directory.forEachEntry(at: fdDirectory) { fdName, _ in
                guard let target = FileSystem.linkTarget(fdDirectory + "/" + String(decoding: fdName, as: UTF8.self)) else { return }
                if target.count > prefix.count, target.starts(with: prefix) { found.insert(target) }
            }
        }
        return found
    }
}
