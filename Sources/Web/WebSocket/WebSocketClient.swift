import POSIX
import Synchronization

/// Client side (ws:// over TCP; for Kurento): blocking calls with time-outs, safe from one reader
/// thread + any writers. Frames it sends are masked (RFC 6455 section 5.3); pings are answered
/// inside `receive`.
public final class WebSocketClient: Sendable {
    /// The URL connected to.
    public let url: String
    private let fd: FileDescriptor
    private let options: WebSocketOptions
    private let reader: Mutex<ReaderState>
    private let writer = Mutex(WriterState())

    private struct ReaderState {
        var parser: WebSocketFrameParser
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        /// Why the connection is over for reading: the error every later receive throws.
        var ended: WebSocketError?
    }

    private struct WriterState {
        var closeSent = false
        var failed: WebSocketError?
    }

    private init(url: String, fd: FileDescriptor, options: WebSocketOptions, parser: WebSocketFrameParser) {
        self.url = url
        self.fd = fd
        self.options = options
        self.reader = Mutex(ReaderState(parser: parser))
    }

    deinit { fd.close() }

    /// Connects and completes the opening handshake (RFC 6455 section 4.1) within `timeout`.
    /// `url` is `ws://host[:port][/path]` with a numeric host or `localhost`.
    public static func connect(url: String, timeout: Duration, options: WebSocketOptions = .init()) throws(WebSocketError) -> WebSocketClient {
        let target = try Target(url)
        let deadline = ContinuousClock.now + timeout
        let fd: FileDescriptor
        do throws(Errno) {
            fd = try Sockets.connectTCP(host: target.address, port: target.port, timeout: timeout)
        } catch .timedOut {
            throw .timedOut("no TCP connection to \(target.address):\(target.port) within \(timeout)")
        } catch {
            throw .connectionFailed("cannot connect to \(target.address):\(target.port): \(error)")
        }
        var parser = WebSocketFrameParser(role: .client, maxMessageBytes: options.maxMessageBytes)
        do throws(WebSocketError) {
            let key = WebSocketHandshake.makeKey()
            let request = "GET \(target.path) HTTP/1.1\r\nHost: \(target.hostHeader)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n\r\n"
            try writeAll(fd, Array(request.utf8), deadline: deadline)
            let (head, rest) = try readHead(fd, deadline: deadline)
            try checkAnswer(head, key: key, url: url)
            parser.append(rest)
        } catch {
            fd.close()
            throw error
        }
        return WebSocketClient(url: url, fd: fd, options: options, parser: parser)
    }

    /// Sends one message as one masked frame.
    public func send(_ message: WebSocketMessage) throws(WebSocketError) {
        try write(WebSocketFrame.encode(message, role: .client), isClose: false)
    }

    /// The next message, nil when none came within `timeout`. Pings are answered here; a close
    /// frame from the server is answered and thrown as `.closed(code, reason)`, as is every call after.
    public func receive(timeout: Duration) throws(WebSocketError) -> WebSocketMessage? {
        let deadline = ContinuousClock.now + timeout
        return try reader.withLock { (state: inout ReaderState) throws(WebSocketError) -> WebSocketMessage? in
            while true {
                if let ended = state.ended { throw ended }
                let event: WebSocketFrameEvent?
                do throws(WebSocketError) {
                    event = try state.parser.next()
                } catch {
                    state.ended = error
                    try? write(WebSocketFrame.encode(.close, payload: WebSocketFrame.closePayload(error.closeCode, reason: WebSocketEventLoop.reasonText(error)), role: .client), isClose: true)
                    fd.shutdownWriting()
                    throw error
                }
                switch event {
                case .message(let message)?:
                    return message
                case .ping(let payload)?:
                    try? write(WebSocketFrame.encode(.pong, payload: payload, role: .client), isClose: false)
                    continue
                case .pong?:
                    continue
                case .close(let code, let reason)?:
                    state.ended = .closed(code, reason)
                    // Echo the code (RFC 6455 section 5.5.1), unless our close went first.
                    let payload = code.map { WebSocketFrame.closePayload($0, reason: "") } ?? []
                    try? write(WebSocketFrame.encode(.close, payload: payload, role: .client), isClose: true)
                    fd.shutdownWriting()
                    throw .closed(code, reason)
                case nil:
                    break
                }
                let left = deadline - ContinuousClock.now
                guard left > .zero else { return nil }
                let readable: Bool
                do { readable = try fd.waitReadable(timeout: left) } catch { throw .connectionFailed("poll: \(error)") }
                guard readable else { continue }
                let count: Int
                do throws(Errno) {
                    count = try state.buffer.withUnsafeMutableBytes { raw in attempt { () throws(Errno) in try fd.read(into: raw) } }.get()
                } catch .wouldBlock {
                    continue
                } catch {
                    state.ended = .connectionFailed("read from \(url): \(error)")
                    throw state.ended!
                }
                if count == 0 {
                    state.ended = .closed(nil, "the server ended the connection without a close frame")
                    throw state.ended!
                }
                state.buffer.withUnsafeBytes { state.parser.append(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            }
        }
    }

    /// Starts the close handshake: sends a close frame and, unless another thread is inside
    /// `receive`, waits up to two seconds for the server's; that thread's receive then throws
    /// `.closed`. Later sends throw.
    public func close(_ code: WebSocketCloseCode = .normal, reason: String = "") {
        do throws(WebSocketError) {
            try write(WebSocketFrame.encode(.close, payload: WebSocketFrame.closePayload(code, reason: reason), role: .client), isClose: true)
        } catch {
            return
        }
        let deadline = ContinuousClock.now + .seconds(2)
        reader.withLockIfAvailable { (state: inout ReaderState) in
            while state.ended == nil {
                let left = deadline - ContinuousClock.now
                guard left > .zero, (try? fd.waitReadable(timeout: left)) == true else { break }
                let count = (try? state.buffer.withUnsafeMutableBytes { raw in attempt { () throws(Errno) in try fd.read(into: raw) } }.get()) ?? -1
                if count == 0 { state.ended = .closed(code, "closed by this side"); break }
                if count < 0 { continue }
                state.buffer.withUnsafeBytes { state.parser.append(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                while state.ended == nil, let event = try? state.parser.next() {
                    if case .close(let peerCode, let peerReason) = event { state.ended = .closed(peerCode, peerReason) }
                }
            }
            if state.ended == nil { state.ended = .closed(code, "closed by this side") }
        }
        fd.shutdownWriting()
    }

    private func write(_ frame: [UInt8], isClose: Bool) throws(WebSocketError) {
        try writer.withLock { (state: inout WriterState) throws(WebSocketError) in
            if let failed = state.failed { throw failed }
            if state.closeSent { throw .closed(nil, "this side already sent its close frame") }
            do throws(WebSocketError) {
                try Self.writeAll(fd, frame, deadline: .now + options.idleTimeout)
            } catch {
                state.failed = error
                throw error
            }
            if isClose { state.closeSent = true }
        }
    }

    private static func writeAll(_ fd: FileDescriptor, _ bytes: [UInt8], deadline: ContinuousClock.Instant) throws(WebSocketError) {
        var written = 0
        while written < bytes.count {
            do throws(Errno) {
                written += try bytes.withUnsafeBytes { raw in attempt { () throws(Errno) in try fd.send(UnsafeRawBufferPointer(rebasing: raw[written...])) } }.get()
            } catch .wouldBlock {
                let left = deadline - ContinuousClock.now
                guard left > .zero, (try? fd.waitWritable(timeout: left)) == true else {
                    throw .timedOut("the server took no data for the send's time-out")
                }
            } catch {
                throw .connectionFailed("write: \(error)")
            }
        }
    }

    /// Reads the answer's head (up to the blank line) and the bytes after it.
    private static func readHead(_ fd: FileDescriptor, deadline: ContinuousClock.Instant) throws(WebSocketError) -> (String, [UInt8]) {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        let end: [UInt8] = [13, 10, 13, 10]
        while true {
            if let range = firstRange(of: end, in: received) {
                return (String(decoding: received[..<range], as: UTF8.self), Array(received[(range + 4)...]))
            }
            guard received.count < 16 * 1024 else { throw .handshakeFailed("the server's answer has no end of headers within 16 KiB") }
            let left = deadline - ContinuousClock.now
            guard left > .zero, (try? fd.waitReadable(timeout: left)) == true else {
                throw .timedOut("no handshake answer from the server in time")
            }
            let count: Int
            do throws(Errno) {
                count = try chunk.withUnsafeMutableBytes { raw in attempt { () throws(Errno) in try fd.read(into: raw) } }.get()
            } catch .wouldBlock {
                continue
            } catch {
                throw .connectionFailed("read: \(error)")
            }
            if count == 0 { throw .handshakeFailed("the server closed the connection during the handshake") }
            received.append(contentsOf: chunk[0..<count])
        }
    }

    private static func firstRange(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            return start
        }
        return nil
    }

    /// RFC 6455 section 4.1: 101, `Upgrade: websocket`, `Connection: Upgrade`, the right Accept.
    private static func checkAnswer(_ head: String, key: String, url: String) throws(WebSocketError) {
        let lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusLine = lines.first.map(String.init) ?? ""
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1.") else {
            throw .handshakeFailed("\(url) did not answer with HTTP: \(statusLine)")
        }
        guard parts[1] == "101" else { throw .handshakeFailed("\(url) answered \(statusLine) instead of 101 Switching Protocols") }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[String(line[..<colon]).lowercased()] = String(line[line.index(after: colon)...]).trimmingSpaces
        }
        guard let upgrade = headers["upgrade"], WebSocketHandshake.tokens(upgrade).contains("websocket") else {
            throw .handshakeFailed("\(url) answered 101 without 'Upgrade: websocket'")
        }
        guard let connection = headers["connection"], WebSocketHandshake.tokens(connection).contains("upgrade") else {
            throw .handshakeFailed("\(url) answered 101 without 'Connection: Upgrade'")
        }
        let expected = WebSocketHandshake.accept(forKey: key)
        guard headers["sec-websocket-accept"] == expected else {
            throw .handshakeFailed("\(url) answered Sec-WebSocket-Accept '\(headers["sec-websocket-accept"] ?? "")', expected '\(expected)'")
        }
        if let extensions = headers["sec-websocket-extensions"], !extensions.isEmpty {
            throw .handshakeFailed("\(url) chose extensions '\(extensions)' that were not offered")
        }
    }

    /// Where a ws:// URL points.
    struct Target {
        var address: String
        var port: UInt16
        var hostHeader: String
        var path: String

        init(_ url: String) throws(WebSocketError) {
            let rest: Substring
            if url.hasPrefix("ws://") {
                rest = url.dropFirst(5)
            } else if url.hasPrefix("wss://") {
                throw .invalidURL("\(url): wss:// (WebSocket over TLS) is not supported by camhost's client; use ws:// (Kurento listens on ws://127.0.0.1:8888/kurento)")
            } else {
                throw .invalidURL("\(url) does not start with ws://")
            }
            let authority = rest.prefix { $0 != "/" && $0 != "?" }
            let pathPart = rest.dropFirst(authority.count)
            path = pathPart.isEmpty ? "/" : (pathPart.first == "?" ? "/" + pathPart : String(pathPart))
            var host: Substring
            var portText: Substring?
            if authority.hasPrefix("[") {
                guard let close = authority.firstIndex(of: "]") else { throw .invalidURL("\(url): unterminated [IPv6] address") }
                host = authority[authority.index(after: authority.startIndex)..<close]
                let after = authority[authority.index(after: close)...]
                if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty { throw .invalidURL("\(url): bad text after the address") }
            } else if let colon = authority.lastIndex(of: ":") {
                host = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
            } else {
                host = authority
            }
            guard !host.isEmpty else { throw .invalidURL("\(url) has no host") }
            if let portText {
                guard let value = UInt16(portText), value > 0 else { throw .invalidURL("\(url): port '\(portText)' is not 1-65535") }
                port = value
            } else {
                port = 80
            }
            if host == "localhost" { host = "127.0.0.1" }
            guard NumericAddress.isValid(String(host)) else {
                throw .invalidURL("\(url): host '\(host)' is not a numeric IPv4 or IPv6 address (or localhost)")
            }
            address = String(host)
            let shownHost = address.contains(":") ? "[\(address)]" : address
            hostHeader = portText == nil ? shownHost : "\(shownHost):\(port)"
        }
    }
}
