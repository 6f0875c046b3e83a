#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Numeric IP addresses as text, checked by the C library's own parser (inet_pton).
public enum NumericAddress {
    /// Whether `text` is a numeric IPv4 address (dotted quad) or IPv6 address.
    public static func isValid(_ text: String) -> Bool { isIPv4(text) || isIPv6(text) }

    public static func isIPv4(_ text: String) -> Bool {
        var v4 = in_addr()
        return inet_pton(AF_INET, text, &v4) == 1
    }

    public static func isIPv6(_ text: String) -> Bool {
        var v6 = in6_addr()
        return inet_pton(AF_INET6, text, &v6) == 1
    }
}

/// Small socket tasks of the appliance: probing a local TCP port, one datagram to a Unix socket.
public enum Sockets {
    /// Whether something accepts TCP connections on 127.0.0.1:`port` now (connects and closes).
    public static func acceptsConnections(onLoopbackPort port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddrPointer in
                nothingOrErrno { connect(fd, sockaddrPointer, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        if case .success = result { return true }
        return false
    }

    /// Sends `message` as one datagram to the Unix socket at `path` (a leading '@' names an
    /// abstract socket). Returns whether all of it was sent.
    public static func sendDatagram(_ message: [UInt8], toUnixSocket path: String) -> Bool {
        var path = path
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        // A leading '@' names an abstract socket (first byte NUL).
        let abstract = path.hasPrefix("@")
        if abstract { path.removeFirst() }
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count + (abstract ? 1 : 0) < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let offset = abstract ? 1 : 0
            for (index, byte) in bytes.enumerated() { raw[index + offset] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 1 : 0))
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddrPointer in
                message.withUnsafeBytes { raw in
                    valueOrErrno { sendto(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL), sockaddrPointer, length) }
                }
            }
        }
        return (try? sent.get()) == message.count
    }
}
