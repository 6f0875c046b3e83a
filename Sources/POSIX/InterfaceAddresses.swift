#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One address configured on one of this host's network interfaces.
public struct InterfaceAddress: Sendable, Hashable {
    /// The interface name, e.g. `eth0`, `lo`.
    public let interface: String
    /// The address in network byte order: 4 bytes for IPv4, 16 for IPv6.
    public let bytes: [UInt8]
}

extension Sockets {
    /// Every IPv4 and IPv6 address on this host's interfaces (up or not), loopback included (getifaddrs(3)).
    public static func interfaceAddresses() throws(Errno) -> [InterfaceAddress] {
        var list: UnsafeMutablePointer<ifaddrs>?
        try nothingOrErrno(retryOnInterrupt: false) { getifaddrs(&list) }.get()
        defer { freeifaddrs(list) }
        var result: [InterfaceAddress] = []
        var entry = list
        while let current = entry {
            defer { entry = current.pointee.ifa_next }
            guard let address = current.pointee.ifa_addr else { continue }
            let name = String(decoding: UnsafeRawBufferPointer(start: current.pointee.ifa_name, count: strlen(current.pointee.ifa_name)), as: UTF8.self)
            switch Int32(address.pointee.sa_family) {
            case AF_INET:
                let bytes = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { withUnsafeBytes(of: $0.pointee.sin_addr) { Array($0) } }
                result.append(InterfaceAddress(interface: name, bytes: bytes))
            case AF_INET6:
                let bytes = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { withUnsafeBytes(of: $0.pointee.sin6_addr) { Array($0) } }
                result.append(InterfaceAddress(interface: name, bytes: bytes))
            default:
                continue
            }
        }
        return result
    }
}
