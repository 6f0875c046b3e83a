#if canImport(Glibc)
import Glibc
#endif

/// Loopback socket helpers for tests.
public enum Loopback {
    /// A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read it back, close).
    public static func freePort() -> UInt16 {
        let (fd, port) = bind(type: SOCK_STREAM)
        close(fd)
        return port
    }

    /// A socket of `type` bound to 127.0.0.1 on a port the kernel chose, and that port.
    public static func bind(type: __socket_type) -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(type.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return (fd, UInt16(bigEndian: address.sin_port))
    }

    /// Whether something accepts TCP connections on 127.0.0.1:port.
    public static func isListening(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
    }

    /// Polls every 50 ms until `condition` holds or `timeout` passes.
    @discardableResult
    public static func waitUntil(timeout: Duration = .seconds(10), _ condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if condition() { return true }
            usleep(50_000)
        }
        return condition()
    }
}

/// A real Mosquitto broker on a random loopback port, killed when released.
public final class TestBroker: @unchecked Sendable {
    public let port: UInt16
    public let process: TestProcess

    public init(configuration extra: String = "", directory: TemporaryDirectory? = nil) throws {
        let port = Loopback.freePort()
        let scratch = try directory ?? TemporaryDirectory(prefix: "broker")
        let conf = scratch.file("mosquitto-\(port).conf")
        try writeFile(conf, "listener \(port) 127.0.0.1\nallow_anonymous true\npersistence false\n\(extra)\n")
        process = try TestProcess("/usr/sbin/mosquitto", ["-c", conf])
        self.port = port
        guard Loopback.waitUntil(timeout: .seconds(10), { Loopback.isListening(port) }) else {
            process.kill()
            throw TestFailure("mosquitto did not listen on \(port): \(process.errors())")
        }
    }

    public var url: String { "mqtt://127.0.0.1:\(port)" }

    public func kill() { process.kill() }

    deinit { process.kill() }
}
