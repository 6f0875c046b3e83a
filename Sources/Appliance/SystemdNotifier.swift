import POSIX

/// sd_notify(3) without libsystemd: one datagram to `$NOTIFY_SOCKET` per state change
/// (READY=1, STOPPING=1, WATCHDOG=1, STATUS=...). Does nothing outside systemd.
public struct SystemdNotifier: Sendable {
    private let socketPath: String?

    public init(environment: [String: String]) {
        socketPath = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        watchdogInterval = environment["WATCHDOG_USEC"].flatMap { UInt64($0) }.map { Duration.microseconds(Int64($0)) }
    }

    /// systemd's WatchdogSec, when set; ping at half of it.
    public let watchdogInterval: Duration?

    public var isActive: Bool { socketPath != nil }

    @discardableResult
    public func notify(_ state: String) -> Bool {
        guard let path = socketPath else { return false }
        return Sockets.sendDatagram(Array(state.utf8), toUnixSocket: path)
    }
}
