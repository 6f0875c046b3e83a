import CGnuTLS
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One HTTPS GET or POST over GnuTLS, for CLI commands that read a running `serve`'s API
/// (`camhost stream list`): the server's certificate is verified against `trustFile` (serve's
/// own, often self-signed, certificate, as `curl --cacert` does) or the system's trust store.
/// HTTP/1.0 with `Connection: close`: the body is everything up to the end of the stream.
public enum HTTPSClient {
    public struct Response: Sendable {
        public var status: Int
        public var body: [UInt8]
    }

    /// Why a request failed, for people.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    public static func request(_ method: String = "GET", url: String, headers: [(String, String)] = [], trustFile: String?,
                               timeoutSeconds: Int = 10) throws(Failure) -> Response {
        guard let target = Target(url) else { throw Failure("\(url) is not https://HOST:PORT/PATH") }
        let fd = try connect(target, timeoutSeconds: timeoutSeconds)
        defer { close(fd) }

        var credentials: gnutls_certificate_credentials_t?
        guard gnutls_certificate_allocate_credentials(&credentials) >= 0, let credentials else { throw Failure("GnuTLS: cannot allocate credentials") }
        defer { gnutls_certificate_free_credentials(credentials) }
        if let trustFile {
            let loaded = gnutls_certificate_set_x509_trust_file(credentials, trustFile, GNUTLS_X509_FMT_PEM)
            guard loaded > 0 else {
                throw Failure("cannot read a trusted certificate from \(trustFile)\(loaded < 0 ? ": \(TLSError(code: loaded, operation: "load").message)" : "") (give serve's certificate with --cacert)")
            }
        } else {
            gnutls_certificate_set_x509_system_trust(credentials)
        }
        var session: gnutls_session_t?
        guard gnutls_init(&session, UInt32(GNUTLS_CLIENT)) >= 0, let session else { throw Failure("GnuTLS: cannot make a session") }
        defer { gnutls_deinit(session) }
        gnutls_set_default_priority(session)
        gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, UnsafeMutableRawPointer(credentials))
        if !NumericAddressText.isNumeric(target.host) {
            gnutls_server_name_set(session, GNUTLS_NAME_DNS, target.host, target.host.utf8.count)
        }
        // A numeric host is matched against the certificate's IP address SANs (RFC 6125
        // section 6.2.1), a name against its DNS SANs. Both stay allocated until the session ends.
        var v4 = in_addr(), v6 = in6_addr()
        let ip = UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 4)
        defer { ip.deallocate() }
        var typed = gnutls_typed_vdata_st()
        if inet_pton(AF_INET, target.host, &v4) == 1 {
            withUnsafeBytes(of: &v4) { ip.copyMemory(from: $0.baseAddress!, byteCount: 4) }
            typed = gnutls_typed_vdata_st(type: GNUTLS_DT_IP_ADDRESS, data: ip.assumingMemoryBound(to: UInt8.self), size: 4)
            gnutls_session_set_verify_cert2(session, &typed, 1, 0)
        } else if inet_pton(AF_INET6, target.host, &v6) == 1 {
            withUnsafeBytes(of: &v6) { ip.copyMemory(from: $0.baseAddress!, byteCount: 16) }
            typed = gnutls_typed_vdata_st(type: GNUTLS_DT_IP_ADDRESS, data: ip.assumingMemoryBound(to: UInt8.self), size: 16)
            gnutls_session_set_verify_cert2(session, &typed, 1, 0)
        } else {
            gnutls_session_set_verify_cert(session, target.host, 0)
        }
        gnutls_transport_set_int2(session, fd, fd)
        gnutls_handshake_set_timeout(session, UInt32(timeoutSeconds * 1000))
        // The socket's time-outs make a silent peer return GNUTLS_E_AGAIN: retried until the deadline.
        let deadline = ContinuousClock.now + .seconds(timeoutSeconds)
        func expired() -> Bool { ContinuousClock.now >= deadline }
        var result: Int32
        repeat { result = gnutls_handshake(session) } while result < 0 && gnutls_error_is_fatal(result) == 0 && !expired()
        guard result >= 0 else {
            let status = gnutls_session_get_verify_cert_status(session)
            let why = result == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR || status != 0
                ? "the certificate of \(target.host) is not trusted (status 0x\(String(status, radix: 16)); give serve's certificate with --cacert, e.g. <data_dir>/tls/cert.pem)"
                : TLSError(code: result, operation: "handshake").message
            throw Failure("TLS handshake with \(target.host):\(target.port) failed: \(why)")
        }
        var request = "\(method) \(target.path) HTTP/1.0\r\nHost: \(target.hostHeader)\r\nConnection: close\r\nContent-Length: 0\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        let bytes = Array(request.utf8)
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { gnutls_record_send(session, $0.baseAddress, $0.count) }
            if (count == Int(GNUTLS_E_AGAIN) || count == Int(GNUTLS_E_INTERRUPTED)) && !expired() { continue }
            guard count > 0 else { throw Failure("sending the request failed: \(TLSError(code: Int32(count), operation: "send").message)") }
            sent += count
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = buffer.withUnsafeMutableBytes { gnutls_record_recv(session, $0.baseAddress, $0.count) }
            if count == 0 || count == Int(GNUTLS_E_PREMATURE_TERMINATION) { break }
            if count == Int(GNUTLS_E_INTERRUPTED) { continue }
            if count == Int(GNUTLS_E_AGAIN) {
                guard expired() else { continue }
                throw Failure("no answer from \(target.host):\(target.port) within \(timeoutSeconds) s")
            }
            guard count > 0 else { throw Failure("reading the answer failed: \(TLSError(code: Int32(count), operation: "receive").message)") }
            received += buffer[0..<count]
            guard received.count < 64 << 20 else { throw Failure("the answer is larger than 64 MB") }
        }
        gnutls_bye(session, GNUTLS_SHUT_WR)
        return try parse(received)
    }

    static func parse(_ bytes: [UInt8]) throws(Failure) -> Response {
        let separator: [UInt8] = [13, 10, 13, 10]
        var end: Int?
        if bytes.count >= 4 {
            for index in 0...(bytes.count - 4) where bytes[index..<index + 4].elementsEqual(separator) { end = index; break }
        }
        guard let end else { throw Failure("the answer is not HTTP (no header end)") }
        let head = String(decoding: bytes[..<end], as: UTF8.self)
        let statusLine = head.split(separator: "\r\n", maxSplits: 1).first ?? ""
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) else { throw Failure("the answer is not HTTP: \(statusLine)") }
        return Response(status: status, body: Array(bytes[(end + 4)...]))
    }

    private static func connect(_ target: Target, timeoutSeconds: Int) throws(Failure) -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(target.host, String(target.port), &hints, &list) == 0, let list else {
            throw Failure("cannot resolve \(target.host)")
        }
        defer { freeaddrinfo(list) }
        var lastError: Int32 = 0
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let current = entry {
            entry = current.pointee.ai_next
            let fd = socket(current.pointee.ai_family, current.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), current.pointee.ai_protocol)
            guard fd >= 0 else { lastError = errno; continue }
            var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var rc: Int32
            repeat { rc = Glibc.connect(fd, current.pointee.ai_addr, current.pointee.ai_addrlen) } while rc != 0 && errno == EINTR
            if rc == 0 { return fd }
            lastError = errno
            close(fd)
        }
        throw Failure("cannot connect to \(target.host):\(target.port): \(String(cString: strerror(lastError))) (is `camhost serve` running there? --url)")
    }

    struct Target {
        var host: String
        var port: UInt16
        var path: String
        var hostHeader: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

        init?(_ url: String) {
            guard url.hasPrefix("https://") else { return nil }
            let rest = url.dropFirst("https://".count)
            let authority = rest.prefix { $0 != "/" }
            path = rest.count > authority.count ? String(rest.dropFirst(authority.count)) : "/"
            if authority.hasPrefix("[") {
                guard let close = authority.firstIndex(of: "]") else { return nil }
                host = String(authority[authority.index(after: authority.startIndex)..<close])
                let after = authority[authority.index(after: close)...]
                if after.isEmpty { port = 443 } else {
                    guard after.hasPrefix(":"), let p = UInt16(after.dropFirst()) else { return nil }
                    port = p
                }
            } else if let colon = authority.lastIndex(of: ":") {
                host = String(authority[..<colon])
                guard let p = UInt16(authority[authority.index(after: colon)...]) else { return nil }
                port = p
            } else {
                host = String(authority)
                port = 443
            }
            guard !host.isEmpty else { return nil }
        }
    }
}

/// Whether a host is a numeric address (no SNI for those, RFC 6066 section 3).
enum NumericAddressText {
    static func isNumeric(_ host: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }
}
