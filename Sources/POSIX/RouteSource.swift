#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension UDPAddress.Host {
    /// This host's address that the kernel's routing would send from toward `destination`: a UDP
    /// socket is connected there (which sends nothing) and its local address read back. Nil when
    /// no route leads there. What a camera is told to stream to.
    public static func routedSource(toward destination: UDPAddress.Host) -> UDPAddress.Host? {
        let family = if case .v4 = destination { AF_INET } else { AF_INET6 }
        let fd = socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let connected = UDPAddress(host: destination, port: 9).withSockaddr { address, length in
            nothingOrErrno { connect(fd, address, length) }
        }
        guard case .success = connected else { return nil }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        guard named == 0 else { return nil }
        return withUnsafePointer(to: &storage) { UDPAddress($0) }?.host
    }
}
