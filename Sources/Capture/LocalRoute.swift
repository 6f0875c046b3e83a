import Wire
#if canImport(Glibc)
import Glibc
#endif

/// This host's source address toward a destination, as the kernel's routing picks it: connect a
/// UDP socket (which sends nothing) and read its local address back.
public enum LocalRoute {
    public static func sourceAddress(toward destination: IPAddress) -> IPAddress? {
        if let v4 = destination.ipv4Value, destination.isIPv4 {
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            guard fd >= 0 else { return nil }
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(9).bigEndian
            address.sin_addr.s_addr = v4.bigEndian
            let rc = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard rc == 0 else { return nil }
            var local = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let ok = withUnsafeMutablePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
            guard ok == 0 else { return nil }
            return IPAddress(ipv4: UInt32(bigEndian: local.sin_addr.s_addr))
        }
        guard let parsed = inet6(destination) else { return nil }
        let fd = socket(AF_INET6, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = UInt16(9).bigEndian
        address.sin6_addr = parsed
        let rc = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        guard rc == 0 else { return nil }
        var local = sockaddr_in6()
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        let ok = withUnsafeMutablePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        guard ok == 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &local.sin6_addr, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        return IPAddress(String(cString: buffer))
    }

    private static func inet6(_ address: IPAddress) -> in6_addr? {
        var result = in6_addr()
        return inet_pton(AF_INET6, address.description, &result) == 1 ? result : nil
    }
}
