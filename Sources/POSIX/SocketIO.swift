#if canImport(Glibc)
import Glibc
#endif
import CLinux

// Socket I/O for the WebSocket server and client: gathered sends, half-close, waiting with
// poll(2), the unread-by-peer count.
extension FileDescriptor {
    /// Bytes written to this socket that its peer has not read yet (SIOCOUTQ); nil when the
    /// descriptor cannot tell (not a socket).
    public var unreadByPeer: Int? {
        var count: Int32 = 0
        return clinux_ioctl_siocoutq(rawValue, &count) == 0 ? Int(count) : nil
    }

    /// One sendmsg(2) of `buffers` in order (a frame's header and its shared payload without
    /// joining them), with MSG_NOSIGNAL (a peer that has gone answers `brokenPipe` instead of
    /// killing the process with SIGPIPE); the number of bytes sent, which may be fewer than all.
    public func send(gathering buffers: [UnsafeRawBufferPointer]) throws(Errno) -> Int {
        var vectors = buffers.map { iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count) }
        return try vectors.withUnsafeMutableBufferPointer { vector in
            var message = msghdr()
            message.msg_iov = vector.baseAddress
            message.msg_iovlen = vector.count
            return valueOrErrno { Glibc.sendmsg(rawValue, &message, Int32(MSG_NOSIGNAL)) }
        }.get()
    }

    /// One send(2) with MSG_NOSIGNAL: a peer that has gone answers `brokenPipe` instead of
    /// killing the process with SIGPIPE.
    public func send(_ bytes: UnsafeRawBufferPointer) throws(Errno) -> Int {
        try valueOrErrno { Glibc.send(rawValue, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL)) }.get()
    }

    /// shutdown(2) of the sending side (SHUT_WR): the peer reads the end of the stream.
    public func shutdownWriting() {
        _ = Glibc.shutdown(rawValue, Int32(SHUT_WR))
    }

    /// Waits until the descriptor is readable (or has an error or hang-up) for at most
    /// `timeout`; false on a time-out. A signal that interrupts the wait ends it early (true is
    /// not returned for it: callers loop with their own deadline).
    public func waitReadable(timeout: Duration) throws(Errno) -> Bool {
        try wait(events: Int16(POLLIN), timeout: timeout)
    }

    /// Waits until the descriptor can take more bytes (or has an error) for at most `timeout`.
    public func waitWritable(timeout: Duration) throws(Errno) -> Bool {
        try wait(events: Int16(POLLOUT), timeout: timeout)
    }

    private func wait(events: Int16, timeout: Duration) throws(Errno) -> Bool {
        var descriptor = pollfd(fd: rawValue, events: events, revents: 0)
        let milliseconds = Int32(clamping: max(0, timeout.milliseconds))
        switch valueOrErrno(retryOnInterrupt: false, { poll(&descriptor, 1, milliseconds) }) {
        case .success(let ready): return ready > 0
        case .failure(.interrupted): return false
        case .failure(let error): throw error
        }
    }
}
