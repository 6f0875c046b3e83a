#if canImport(Glibc)
import Glibc
#endif

/// One address configured on one of this host's network interfaces.
public struct InterfaceAddress: Sendable, Hashable {
    /// The interface name, e.g. `eth0`, `lo`.
    public let interface: String
    /// The address in network byte order: 4 bytes for IPv4, 16 for IPv6.
    public let bytes: [UInt8]
}

/// getifaddrs(3) failed: its errno.
public struct InterfaceAddressesError: Error, Sendable, CustomStringConvertible {
    public let code: Int32
    public var description: String { "cannot list this host's addresses (getifaddrs): \(String(cString: strerror(code)))" }
}

/// Every IPv4 and IPv6 address on this host's interfaces (up or not), loopback included.
public func interfaceAddresses() throws(InterfaceAddressesError) -> [InterfaceAddress] {
    var list: UnsafeMutablePointer<ifaddrs>?
    guard getifaddrs(&list) == 0 else { throw InterfaceAddressesError(code: errno) }
    defer { freeifaddrs(list) }
    var result: [InterfaceAddress] = []
    var entry = list
    while let current = entry {
        defer { entry = current.pointee.ifa_next }
        guard let address = current.pointee.ifa_addr else { continue }
        let name = String(cString: current.pointee.ifa_name)
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            let bytes = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                withUnsafeBytes(of: sin.pointee.sin_addr) { Array($0) }
            }
            result.append(InterfaceAddress(interface: name, bytes: bytes))
        case AF_INET6:
            let bytes = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                withUnsafeBytes(of: sin6.pointee.sin6_addr) { Array($0) }
            }
            result.append(InterfaceAddress(interface: name, bytes: bytes))
        default:
            continue
        }
    }
    return result
}
