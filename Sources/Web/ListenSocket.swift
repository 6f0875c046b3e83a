import CMicroHTTPD
#if canImport(Glibc)
import Glibc
#endif

/// A bound, listening TCP socket made here rather than by libmicrohttpd, so that a port already
/// in use or a privileged port gives an errno we can explain, and port 0 tells us what it got.
struct ListenSocket {
    let fd: Int32
    let port: UInt16

    /// `host` is a numeric IPv4 or IPv6 address (`0.0.0.0`, `::` for all interfaces).
    init(host: String, port: UInt16, backlog: Int32 = 512) throws(MHDError) {
        var v4 = sockaddr_in()
        var v6 = sockaddr_in6()
        let isV6: Bool
        if inet_pton(AF_INET, host, &v4.sin_addr) == 1 {
            isV6 = false
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = port.bigEndian
        } else if inet_pton(AF_INET6, host, &v6.sin6_addr) == 1 {
            isV6 = true
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = port.bigEndian
        } else {
            throw MHDError(.badAddress, "listen address '\(host)' is not a numeric IPv4 or IPv6 address; use e.g. 127.0.0.1 or ::1")
        }
        let fd = socket(isV6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw MHDError(.socket(errno: errno), "cannot create a socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound: Int32 = isV6
            ? withUnsafePointer(to: &v6) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
            : withUnsafePointer(to: &v4) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if bound != 0 {
            let err = errno
            close(fd)
            let shown = isV6 ? "[\(host)]:\(port)" : "\(host):\(port)"
            switch err {
            case EADDRINUSE:
                throw MHDError(.addressInUse, "cannot listen on \(shown): the port is already in use by another process (find it with `ss -ltnp 'sport = :\(port)'`), or choose another with --listen")
            case EACCES:
                throw MHDError(.permissionDenied, "cannot listen on \(shown): ports below 1024 need root or CAP_NET_BIND_SERVICE; choose a port above 1023 with --listen")
            case EADDRNOTAVAIL:
                throw MHDError(.badAddress, "cannot listen on \(shown): no interface of this machine has that address")
            default:
                throw MHDError(.socket(errno: err), "cannot listen on \(shown): \(String(cString: strerror(err)))")
            }
        }
        guard listen(fd, backlog) == 0 else {
            let err = errno
            close(fd)
            throw MHDError(.socket(errno: err), "cannot listen on port \(port): \(String(cString: strerror(err)))")
        }
        var actual = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &actual) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        let actualPort: UInt16 = withUnsafePointer(to: &actual) { pointer in
            isV6 ? pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
                 : pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
        self.fd = fd
        self.port = actualPort
    }

    /// The numeric text of a socket address libmicrohttpd reports for a client.
    static func text(of address: UnsafePointer<sockaddr>?) -> String {
        guard let address else { return "unknown" }
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            return address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                dottedQuad(UInt32(bigEndian: sin.pointee.sin_addr.s_addr))
            }
        case AF_INET6:
            return address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                var addr = sin6.pointee.sin6_addr
                let text = withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(INET6_ADDRSTRLEN) + 1) { buffer in
                    inet_ntop(AF_INET6, &addr, buffer.baseAddress, socklen_t(buffer.count)).map { String(cString: $0) } ?? "unknown"
                }
                return text.hasPrefix("::ffff:") && text.contains(".") ? String(text.dropFirst(7)) : text
            }
        default:
            return "unknown"
        }
    }

    /// `a.b.c.d` for an IPv4 address (host byte order): what inet_ntop writes, without its
    /// sprintf (this runs for every request).
    static func dottedQuad(_ address: UInt32) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) { buffer in
            var count = 0
            for shift in stride(from: 24, through: 0, by: -8) {
                if shift != 24 { buffer[count] = UInt8(ascii: "."); count += 1 }
                let octet = UInt8(truncatingIfNeeded: address >> UInt32(shift))
                if octet >= 100 { buffer[count] = UInt8(ascii: "0") + octet / 100; count += 1 }
                if octet >= 10 { buffer[count] = UInt8(ascii: "0") + octet / 10 % 10; count += 1 }
                buffer[count] = UInt8(ascii: "0") + octet % 10
                count += 1
            }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[..<count]), as: UTF8.self)
        }
    }
}
