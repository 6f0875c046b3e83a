#if canImport(Glibc)
import Glibc
#endif

/// Probes of other services: one UDP request and its answer (STUN), a TCP connection attempt
/// (a broker's port), each bounded by a time-out. Addresses are numeric (IPv4 or IPv6).
extension Sockets {
    /// Sends `request` to host:port and returns the first datagram that comes back from there
    /// within `timeout`. Errors: the socket's errno, `timedOut`, or `connectionRefused` when an
    /// ICMP port-unreachable says nothing listens.
    public static func exchangeDatagram(_ request: [UInt8], host: String, port: UInt16, timeout: Duration,
                                        maximumSize: Int = 2048) throws(Errno) -> [UInt8] {
        let connected = try connectedSocket(type: SOCK_DGRAM, host: host, port: port, timeout: timeout)
        defer { close(connected) }
        let sent = request.withUnsafeBytes { send(connected, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == request.count else { throw Errno.current }
        guard try waitReadable(connected, timeout: timeout) else { throw Errno.timedOut }
        var buffer = [UInt8](repeating: 0, count: maximumSize)
        let received = buffer.withUnsafeMutableBytes { recv(connected, $0.baseAddress, $0.count, 0) }
        guard received >= 0 else { throw Errno.current }
        return Array(buffer.prefix(received))
    }

    /// Whether a TCP connection to host:port is accepted within `timeout` (connects and closes).
    public static func probeConnection(host: String, port: UInt16, timeout: Duration) throws(Errno) {
        let fd = try connectedSocket(type: SOCK_STREAM, host: host, port: port, timeout: timeout)
        close(fd)
    }

    /// A TCP connection to a numeric host:port made within `timeout`, non-blocking, close-on-exec
    /// (the WebSocket client's). Errors: `invalidArgument` for a host that is not a numeric
    /// address, `timedOut`, or connect(2)'s errno (`connectionRefused`).
    /// TCP_NODELAY is set: a request-and-answer protocol's small messages go out at once instead
    /// of waiting for the previous one's acknowledgement (Nagle's algorithm).
    public static func connectTCP(host: String, port: UInt16, timeout: Duration) throws(Errno) -> FileDescriptor {
        let fd = try connectedSocket(type: SOCK_STREAM, host: host, port: port, timeout: timeout)
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return FileDescriptor(rawValue: fd)
    }

    private static func connectedSocket(type: __socket_type, host: String, port: UInt16, timeout: Duration) throws(Errno) -> Int32 {
        var storage = sockaddr_storage()
        let length: socklen_t
        let family: Int32
        if NumericAddress.isIPv4(host) {
            family = AF_INET
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafeMutableBytes(of: &storage) { raw in
                let address = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self)
                address.pointee.sin_family = sa_family_t(AF_INET)
                address.pointee.sin_port = port.bigEndian
                _ = inet_pton(AF_INET, host, &address.pointee.sin_addr)
            }
        } else if NumericAddress.isIPv6(host) {
            family = AF_INET6
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            withUnsafeMutableBytes(of: &storage) { raw in
                let address = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self)
                address.pointee.sin6_family = sa_family_t(AF_INET6)
                address.pointee.sin6_port = port.bigEndian
                _ = inet_pton(AF_INET6, host, &address.pointee.sin6_addr)
            }
        } else {
            throw Errno.invalidArgument
        }
        let fd = socket(family, Int32(type.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw Errno.current }
        let result = withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) }
        }
        if result != 0 {
            let error = Errno.current
            guard error.rawValue == EINPROGRESS else { close(fd); throw error }
            // A TCP connection in progress: wait until writable, then read its outcome.
            var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&descriptor, 1, Int32(timeout.milliseconds))
            guard ready > 0 else { close(fd); throw ready == 0 ? Errno.timedOut : Errno.current }
            var code: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &size)
            guard code == 0 else { close(fd); throw Errno(code) }
        }
        return fd
    }

    private static func waitReadable(_ fd: Int32, timeout: Duration) throws(Errno) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return false }
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, Int32(max(1, left.milliseconds)))
            if ready > 0 {
                // An ICMP error queued on a connected UDP socket shows as readable with POLLERR.
                if descriptor.revents & Int16(POLLERR) != 0 {
                    var code: Int32 = 0
                    var size = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &size)
                    throw Errno(code == 0 ? ECONNREFUSED : code)
                }
                return true
            }
            if ready < 0 && errno != EINTR { throw Errno.current }
        }
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    public var milliseconds: Int {
        let (seconds, attoseconds) = components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}
