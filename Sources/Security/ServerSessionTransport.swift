import CGnuTLS
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The receiving side of a server's TLS session: reads the socket for GnuTLS and ends the
/// connection when the client starts a renegotiation (docs/security.md, "TLS profile").
///
/// A GnuTLS server hands a client's new ClientHello to the application as GNUTLS_E_REHANDSHAKE;
/// libmicrohttpd then closes the connection, but politely (close_notify), which clients and
/// testssl.sh cannot tell from a renegotiation that went through. Renegotiation costs the
/// server a full handshake each time the client asks (a DoS lever) and nothing here needs it,
/// so it is refused outright: the socket is shut before GnuTLS sees the ClientHello, and the
/// client gets an unexpected end of stream instead of a clean close.
///
/// TLS 1.2 shows each record's content type in clear. The client's records are followed from
/// the first byte: after its ChangeCipherSpec comes one encrypted handshake record (Finished);
/// any later handshake record from the client can only start a renegotiation (RFC 5246
/// section 7.4.1.2). TLS 1.3 has no renegotiation and hides its handshake records inside
/// application data (RFC 8446 section 5.1), so nothing there ever matches.
public final class ServerSessionTransport: @unchecked Sendable {
    // Touched only by the one thread that drives the session.
    private let fd: Int32
    private var header: (UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0)
    private var headerBytes = 0
    private var bodyLeft = 0
    private var clientChangedCipher = false
    private var handshakeRecordsAfterChange = 0
    /// False once the stream does not look like TLS records (then nothing is refused).
    private var following = true
    private var refused = false

    /// Whether this connection was ended for starting a renegotiation.
    public var refusedRenegotiation: Bool { refused }

    private init(fd: Int32) { self.fd = fd }

    /// Takes over the receiving side of `session` (a `gnutls_session_t`, as libmicrohttpd hands it
    /// out) on socket `fd`. Sending stays GnuTLS's own. The returned object must outlive the
    /// session: keep it until the server library has freed the session.
    public static func attach(session: UnsafeMutableRawPointer, fd: Int32) -> ServerSessionTransport {
        let transport = ServerSessionTransport(fd: fd)
        let gnutlsSession = OpaquePointer(session)
        let unmanaged = Unmanaged.passUnretained(transport).toOpaque()
        // The send pointer stays the socket (GnuTLS's writev path); only receiving is ours.
        gnutls_transport_set_ptr2(gnutlsSession, unmanaged, UnsafeMutableRawPointer(bitPattern: Int(fd)))
        gnutls_transport_set_pull_function(gnutlsSession, pull)
        gnutls_transport_set_pull_timeout_function(gnutlsSession, pullTimeout)
        return transport
    }

    fileprivate func receive(_ buffer: UnsafeMutableRawPointer, _ size: Int) -> Int {
        if refused {
            errno = ECONNRESET
            return -1
        }
        let count = recv(fd, buffer, size, 0)
        guard count > 0, following else { return count }
        if startsRenegotiation(UnsafeRawBufferPointer(start: buffer, count: count)) {
            refused = true
            // GnuTLS sends close_notify even on a session it gave up on ("alert messages are
            // sent anyway"), and a clean close is what the client must not get: shut the socket
            // first, so that send fails and the client sees the stream end without it.
            shutdown(fd, Int32(SHUT_RDWR))
            errno = ECONNRESET
            return -1
        }
        return count
    }

    /// Follows the record headers through `bytes`; true at a client handshake record that can
    /// only be a renegotiation's ClientHello.
    private func startsRenegotiation(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        while index < bytes.count {
            if bodyLeft > 0 {
                let skipped = min(bodyLeft, bytes.count - index)
                bodyLeft -= skipped
                index += skipped
                continue
            }
            withUnsafeMutableBytes(of: &header) { $0[headerBytes] = bytes[index] }
            headerBytes += 1
            index += 1
            guard headerBytes == 5 else { continue }
            headerBytes = 0
            let type = header.0
            bodyLeft = Int(header.3) << 8 | Int(header.4)
            // ChangeCipherSpec 20, alert 21, handshake 22, application data 23, heartbeat 24;
            // anything else (an SSL 2 hello, garbage) is not followed further.
            guard (20...24).contains(type), header.1 == 3 else {
                following = false
                return false
            }
            if type == 20 {
                clientChangedCipher = true
            } else if type == 22 && clientChangedCipher {
                handshakeRecordsAfterChange += 1
                if handshakeRecordsAfterChange > 1 { return true }
            }
        }
        return false
    }
}

private let pull: gnutls_pull_func = { pointer, buffer, size in
    guard let pointer, let buffer else { return -1 }
    return Unmanaged<ServerSessionTransport>.fromOpaque(pointer).takeUnretainedValue().receive(buffer, size)
}

/// GnuTLS waits for data through this when a time-out applies (its default would read the
/// receive pointer, now ours, as the socket).
private let pullTimeout: gnutls_pull_timeout_func = { pointer, milliseconds in
    guard let pointer else { return -1 }
    let transport = Unmanaged<ServerSessionTransport>.fromOpaque(pointer).takeUnretainedValue()
    return transport.waitReadable(milliseconds)
}

extension ServerSessionTransport {
    fileprivate func waitReadable(_ milliseconds: UInt32) -> Int32 {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let timeout = milliseconds == UInt32.max ? -1 : Int32(min(milliseconds, UInt32(Int32.max)))
        while true {
            let ready = poll(&entry, 1, timeout)
            if ready >= 0 || errno != EINTR { return ready }
        }
    }
}
