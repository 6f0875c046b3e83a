#if canImport(Glibc)
import Glibc
#endif

/// Who listens on a TCP port, read from /proc (what `ss -ltnp` shows): for messages that say not
/// only that a port is taken but by which program.
public enum ListeningSockets {
    public struct Owner: Sendable, Equatable {
        public var pid: ProcessID
        /// /proc/PID/comm: the program's name.
        public var name: String
    }

    /// The socket inodes listening on `port` (IPv4 and IPv6).
    public static func inodes(port: UInt16) -> [UInt64] {
        var found: [UInt64] = []
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = ProcFS.read(table, limit: 4 << 20) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                // sl local_address rem_address st ... inode (field 9)
                guard fields.count > 9, fields[3] == "0A", let colon = fields[1].lastIndex(of: ":"),
                      UInt16(fields[1][fields[1].index(after: colon)...], radix: 16) == port, let inode = UInt64(fields[9]) else { continue }
                found.append(inode)
            }
        }
        return found
    }

    /// The process holding a socket that listens on `port`, when /proc lets this user see it.
    public static func owner(ofPort port: UInt16) -> Owner? {
        let wanted = Set(inodes(port: port).map { Array("socket:[\($0)]".utf8) })
        guard !wanted.isEmpty, let proc = opendir("/proc") else { return nil }
        defer { closedir(proc) }
        while let entry = readdir(proc) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
            guard let pid = Int32(name) else { continue }
            let fdDirectory = "/proc/\(pid)/fd"
            guard let fds = opendir(fdDirectory) else { continue }
            defer { closedir(fds) }
            while let fd = readdir(fds) {
                let fdName = withUnsafeBytes(of: fd.pointee.d_name) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
                guard fdName != ".", fdName != "..", let target = FileSystem.linkTarget(fdDirectory + "/" + fdName), wanted.contains(target) else { continue }
                let comm = ProcFS.read("/proc/\(pid)/comm")?.split(separator: "\n").first.map(String.init) ?? "?"
                return Owner(pid: pid, name: comm)
            }
        }
        return nil
    }
}
