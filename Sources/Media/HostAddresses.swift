import POSIX
import Wire

/// This host's own addresses: as an offer's `c=` each of them sends Kurento's RTCP over `lo`.
public enum HostAddresses {
    /// Every IPv4 and IPv6 address on this host's interfaces (getifaddrs), loopback included.
    public static func current() throws(Errno) -> [IPAddress] {
        var addresses: [IPAddress] = []
        for entry in try Sockets.interfaceAddresses() {
            if let address = IPAddress(networkBytes: entry.bytes), !addresses.contains(address) { addresses.append(address) }
        }
        return addresses
    }
}
