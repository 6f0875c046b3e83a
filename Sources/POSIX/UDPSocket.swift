#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Why a socket call failed: the call, the address it was about, and the error number.
public struct SocketError: Error, Sendable, CustomStringConvertible {
    public let errno: Errno
    public let operation: String
    public let address: String

    public init(errno: Errno, operation: String, address: String) {
        self.errno = errno
        self.operation = operation
        self.address = address
    }

    /// EADDRINUSE: another process holds the port.
    public var isAddressInUse: Bool { errno == .addressInUse }
    public var description: String { "\(operation) \(address): \(errno)" }
}

/// A UDP endpoint: an IPv4 or IPv6 host (host-order integers, as Wire's `IPAddress` keeps them) and a port.
public struct UDPAddress: Hashable, Sendable, CustomStringConvertible {
    public enum Host: Hashable, Sendable {
        case v4(UInt32)
        case v6(high: UInt64, low: UInt64)
    }

    public var host: Host
    public var port: UInt16

    public init(host: Host, port: UInt16) {
        self.host = host
        self.port = port
    }

    public var description: String {
        switch host {
        case .v4(let v): "\(v >> 24).\(v >> 16 & 0xFF).\(v >> 8 & 0xFF).\(v & 0xFF):\(port)"
        case .v6(let high, let low): "[\(String(high, radix: 16)):\(String(low, radix: 16))]:\(port)"
        }
    }

    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        switch host {
        case .v4(let value):
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = value.bigEndian
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case .v6(let high, let low):
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &address.sin6_addr) { raw in
                for i in 0..<8 {
                    raw[i] = UInt8(truncatingIfNeeded: high >> UInt64(56 - 8 * i))
                    raw[8 + i] = UInt8(truncatingIfNeeded: low >> UInt64(56 - 8 * i))
                }
            }
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
    }

    init?(_ storage: UnsafePointer<sockaddr_storage>) {
        switch Int32(storage.pointee.ss_family) {
        case AF_INET:
            let address = UnsafeRawPointer(storage).assumingMemoryBound(to: sockaddr_in.self).pointee
            host = .v4(UInt32(bigEndian: address.sin_addr.s_addr))
            port = UInt16(bigEndian: address.sin_port)
        case AF_INET6:
            let address = UnsafeRawPointer(storage).assumingMemoryBound(to: sockaddr_in6.self).pointee
            var high: UInt64 = 0, low: UInt64 = 0
            withUnsafeBytes(of: address.sin6_addr) { raw in
                for i in 0..<8 {
                    high = high << 8 | UInt64(raw[i])
                    low = low << 8 | UInt64(raw[8 + i])
                }
            }
            host = .v6(high: high, low: low)
            port = UInt16(bigEndian: address.sin6_port)
        default:
            return nil
        }
    }
}

/// One non-blocking UDP socket bound to a local address: RTP or RTCP of one stream.
public final class UDPSocket: @unchecked Sendable {
    public let descriptor: Int32
    public let localAddress: UDPAddress

    /// Binds a new socket to `address` (port 0: the kernel picks). `receiveBufferBytes` asks the
    /// kernel for a larger queue, so a keyframe's burst of packets is not dropped while the
    /// receiving thread is busy.
    public init(bindingTo address: UDPAddress, receiveBufferBytes: Int32? = nil) throws(SocketError) {
        let family = if case .v4 = address.host { AF_INET } else { AF_INET6 }
        let fd = socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(errno: .current, operation: "socket", address: address.description) }
        if var size = receiveBufferBytes {
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        if case .failure(let error) = nothingOrErrno({ address.withSockaddr { Glibc.bind(fd, $0, $1) } }) {
            close(fd)
            throw SocketError(errno: error, operation: "bind", address: address.description)
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        descriptor = fd
        localAddress = withUnsafePointer(to: &storage) { UDPAddress($0) } ?? address
    }

    /// One datagram read into `buffer`: its full length (larger than the buffer when it was cut),
    /// and its sender; nil when none is waiting. EINTR is retried.
    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> (length: Int, from: UDPAddress)? {
        var storage = sockaddr_storage()
        while true {
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let result = valueOrErrno {
                withUnsafeMutablePointer(to: &storage) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_TRUNC), $0, &length)
                    }
                }
            }
            switch result {
            case .success(let n):
                guard let from = withUnsafePointer(to: &storage, { UDPAddress($0) }) else { continue }
                return (n, from)
            case .failure(.wouldBlock):
                return nil
            // An ICMP error queued for an earlier send (port unreachable): not a datagram.
            case .failure(.connectionRefused), .failure(Errno(EHOSTUNREACH)), .failure(Errno(ENETUNREACH)):
                continue
            case .failure(let error):
                throw SocketError(errno: error, operation: "recvfrom", address: localAddress.description)
            }
        }
    }

    /// Sends one datagram; EINTR is retried.
    public func send(_ bytes: UnsafeRawBufferPointer, to address: UDPAddress) throws(SocketError) {
        let result = valueOrErrno { address.withSockaddr { sendto(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), $0, $1) } }
        if case .failure(let error) = result { throw SocketError(errno: error, operation: "sendto", address: address.description) }
    }

    deinit { close(descriptor) }
}

/// Waits until one of a set of descriptors is readable (poll(2)), reusing its array.
public struct ReadinessPoller: ~Copyable {
    private var entries: [pollfd]

    public init(descriptors: [Int32]) {
        entries = descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
    }

    /// Waits up to `milliseconds` (EINTR ends the wait early); afterwards `isReadable(i)` says
    /// which of the descriptors, by position, have data.
    public mutating func wait(milliseconds: Int32) throws(SocketError) {
        let result = valueOrErrno(retryOnInterrupt: false) { entries.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), milliseconds) } }
        switch result {
        case .success(let ready) where ready > 0: return
        case .success, .failure(.interrupted): for i in entries.indices { entries[i].revents = 0 }
        case .failure(let error): throw SocketError(errno: error, operation: "poll", address: "")
        }
    }

    public func isReadable(_ index: Int) -> Bool { entries[index].revents & Int16(POLLIN | POLLERR) != 0 }
}

/// The addresses of this host's interfaces (getifaddrs(3)): where feedback would be delivered
/// locally instead of reaching a camera.
public func localInterfaceAddresses() -> [UDPAddress.Host] {
    var list: UnsafeMutablePointer<ifaddrs>? = nil
    guard getifaddrs(&list) == 0 else { return [] }
    defer { freeifaddrs(list) }
    var hosts: [UDPAddress.Host] = []
    var entry = list
    while let current = entry {
        if let address = current.pointee.ifa_addr {
            var storage = sockaddr_storage()
            let family = Int32(address.pointee.sa_family)
            let size = family == AF_INET ? MemoryLayout<sockaddr_in>.size : family == AF_INET6 ? MemoryLayout<sockaddr_in6>.size : 0
            if size > 0 {
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: address, count: size)) }
                if let parsed = withUnsafePointer(to: &storage, { UDPAddress($0) }) { hosts.append(parsed.host) }
            }
        }
        entry = current.pointee.ifa_next
    }
    return hosts
}
