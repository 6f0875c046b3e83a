#if canImport(Glibc)
import Glibc
#endif

/// Who holds a local TCP port, as far as this machine can tell: a bind probe says whether the
/// port is free; Linux's /proc says which socket listens on it (net/tcp, net/tcp6) and which
/// process has that socket open (each process's fd links; another user's are visible to root only).
public struct PortHolder: Sendable, Equatable, CustomStringConvertible {
    /// The listening process, nil when /proc does not show it (no permission, or not Linux).
    public let pid: Int32?
    /// Its command line, spaces between the arguments.
    public let command: String?
    /// The socket owner's uid, from net/tcp.
    public let uid: UInt32?

    public var description: String {
        guard let pid else { return uid.map { "a process of uid \($0)" } ?? "another process" }
        return "pid \(pid)" + (command.map { " (\($0))" } ?? "")
    }

    /// Nil when `port` on 127.0.0.1 can be bound now (with SO_REUSEADDR, as servers bind, so a
    /// port left in TIME_WAIT counts as free); otherwise why the bind failed.
    public static func bindError(loopbackPort port: UInt16) -> Errno? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return Errno(rawValue: errno) }
        defer { close(fd) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return rc == 0 ? nil : Errno(rawValue: errno)
    }

    /// The process listening on TCP `port` (any local address, IPv4 or IPv6), when /proc shows it.
    public static func listening(onTCPPort port: UInt16) -> PortHolder? {
        var socket: (inode: String, uid: UInt32?)?
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] where socket == nil {
            socket = listeningSocket(in: readText(table) ?? "", port: port)
        }
        guard let socket else { return nil }
        let link = "socket:[\(socket.inode)]"
        for pid in processIDs() {
            let fdDirectory = "/proc/\(pid)/fd"
            for fd in directoryEntries(fdDirectory) where readLink(fdDirectory + "/" + fd) == link {
                let arguments = (readText("/proc/\(pid)/cmdline") ?? "").split(separator: "\0").joined(separator: " ")
                return PortHolder(pid: pid, command: arguments.isEmpty ? nil : arguments, uid: socket.uid)
            }
        }
        return PortHolder(pid: nil, command: nil, uid: socket.uid)
    }

    /// The inode and uid of the socket in state LISTEN (0A) on `port` in a /proc/net/tcp table:
    /// `sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode`,
    /// addresses as `HEXADDR:HEXPORT`.
    static func listeningSocket(in table: String, port: UInt16) -> (inode: String, uid: UInt32?)? {
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count > 9, fields[3] == "0A", let colon = fields[1].lastIndex(of: ":"),
                  UInt16(fields[1][fields[1].index(after: colon)...], radix: 16) == port else { continue }
            return (String(fields[9]), UInt32(fields[7]))
        }
        return nil
    }

    private static func processIDs() -> [Int32] {
        directoryEntries("/proc").compactMap { Int32($0) }
    }

    private static func directoryEntries(_ path: String) -> [String] {
        guard let stream = opendir(path) else { return [] }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            names.append(withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) })
        }
        return names
    }

    private static func readLink(_ path: String) -> String? {
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBytes { readlink(path, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count) }
        return n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : nil
    }

    /// A small /proc file (their size reads as 0, so read until the end).
    private static func readText(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while bytes.count < 4 << 20 {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes += chunk[..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
