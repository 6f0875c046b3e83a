#if canImport(Glibc)
import Glibc
#endif
import CLinux

/// An epoll(7) instance: one thread waits on many descriptors and learns which are ready
/// (the WebSocket event loop; poll(2) would rescan every descriptor on each wake-up).
public final class EPoll: Sendable {
    /// What a descriptor is ready for (or what to wait for), as epoll's event bits.
    public struct Events: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let readable = Events(rawValue: EPOLLIN.rawValue)
        public static let writable = Events(rawValue: EPOLLOUT.rawValue)
        /// The peer shut its side down (EPOLLRDHUP).
        public static let peerHangUp = Events(rawValue: EPOLLRDHUP.rawValue)
        public static let hangUp = Events(rawValue: EPOLLHUP.rawValue)
        public static let error = Events(rawValue: EPOLLERR.rawValue)
    }

    /// One ready descriptor: the `token` it was registered with and what it is ready for.
    public struct Event: Sendable {
        public var token: UInt64
        public var events: Events
    }

    private let fd: Int32

    public init() throws(Errno) {
        fd = try valueOrErrno { epoll_create1(Int32(EPOLL_CLOEXEC)) }.get()
    }

    deinit { _ = Glibc.close(fd) }

    /// Watches `descriptor` for `events` (level-triggered); `token` comes back with each event.
    public func add(_ descriptor: Int32, events: Events, token: UInt64) throws(Errno) {
        try control(EPOLL_CTL_ADD, descriptor, events: events, token: token)
    }

    public func modify(_ descriptor: Int32, events: Events, token: UInt64) throws(Errno) {
        try control(EPOLL_CTL_MOD, descriptor, events: events, token: token)
    }

    /// Stops watching `descriptor` (before it is closed: a descriptor duplicated elsewhere would
    /// otherwise stay registered).
    public func remove(_ descriptor: Int32) {
        var unused = epoll_event()
        _ = epoll_ctl(fd, EPOLL_CTL_DEL, descriptor, &unused)
    }

    private func control(_ operation: Int32, _ descriptor: Int32, events: Events, token: UInt64) throws(Errno) {
        var event = epoll_event()
        event.events = events.rawValue
        event.data.u64 = token
        try nothingOrErrno { epoll_ctl(fd, operation, descriptor, &event) }.get()
    }

    /// Waits up to `milliseconds` (-1: without limit) and returns the ready descriptors (at most
    /// `maximum`); empty on a time-out or when a signal interrupted the wait.
    public func wait(milliseconds: Int32, maximum: Int = 64) throws(Errno) -> [Event] {
        var raw = [epoll_event](repeating: epoll_event(), count: maximum)
        let result = raw.withUnsafeMutableBufferPointer { buffer in
            valueOrErrno(retryOnInterrupt: false) { epoll_wait(fd, buffer.baseAddress, Int32(buffer.count), milliseconds) }
        }
        switch result {
        case .success(let count):
            return (0..<Int(count)).map { Event(token: raw[$0].data.u64, events: Events(rawValue: raw[$0].events)) }
        case .failure(.interrupted): return []
        case .failure(let error): throw error
        }
    }
}

/// Wakes a thread blocked in `EPoll.wait` from any other thread: a non-blocking pipe whose read
/// end is registered with the epoll instance. Signals while one is pending cost one failed write.
public final class WakeUpPipe: Sendable {
    public let readEnd: FileDescriptor
    private let writeEnd: FileDescriptor

    public init() throws(Errno) {
        let ends = try FileDescriptor.pipe()
        ends.read.setNonBlocking()
        ends.write.setNonBlocking()
        readEnd = ends.read
        writeEnd = ends.write
    }

    deinit {
        readEnd.close()
        writeEnd.close()
    }

    /// Makes the read end readable (a full pipe already is: the write's EAGAIN is ignored).
    public func signal() {
        var byte: UInt8 = 1
        _ = Glibc.write(writeEnd.rawValue, &byte, 1)
    }

    /// Empties the pipe, after a wake-up.
    public func drain() {
        var buffer = [UInt8](repeating: 0, count: 256)
        while buffer.withUnsafeMutableBytes({ Glibc.read(readEnd.rawValue, $0.baseAddress, $0.count) }) > 0 {}
    }
}
