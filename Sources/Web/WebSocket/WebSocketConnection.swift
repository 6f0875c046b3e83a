import POSIX
import Synchronization

/// What a WebSocket endpoint does with its connections. Every call comes on the server's
/// WebSocket event loop thread, which serves all connections: never block in them.
public protocol WebSocketHandler: AnyObject, Sendable {
    func opened(_ connection: WebSocketConnection)
    func received(_ message: WebSocketMessage, on connection: WebSocketConnection)
    /// The connection is gone. `code`: the peer's close code when it sent a close frame with one,
    /// else the code this side closed with; nil when the connection ended without a close handshake.
    func closed(_ connection: WebSocketConnection, code: WebSocketCloseCode?)
}

/// One upgraded connection, server side. `send` and `close` may be called from any thread; the
/// bytes are written by the event loop, so a caller never waits for a slow peer.
public final class WebSocketConnection: Sendable {
    public let id: UInt64
    /// The upgrade request (path, headers, cookies, client address).
    public let request: HTTPRequest
    let options: WebSocketOptions
    let handler: any WebSocketHandler
    private let outgoing = Mutex(Outgoing())
    private let wake: @Sendable (WebSocketConnection) -> Void

    init(id: UInt64, request: HTTPRequest, options: WebSocketOptions, handler: any WebSocketHandler,
         wake: @escaping @Sendable (WebSocketConnection) -> Void) {
        self.id = id
        self.request = request
        self.options = options
        self.handler = handler
        self.wake = wake
    }

    /// Queues a message without blocking. false (nothing queued) when closed, or when
    /// queuedBytes + the message's size would exceed `limit` (a slow reader).
    @discardableResult public func send(_ message: WebSocketMessage, ifQueuedBelow limit: Int = .max) -> Bool {
        let frame: OutgoingFrame
        switch message {
        case .binary(let bytes): frame = OutgoingFrame(opcode: .binary, payload: .bytes(bytes))
        case .text(let text): frame = OutgoingFrame(opcode: .text, payload: .text(text))
        }
        switch enqueue(frame, limit: limit) {
        case .refused: return false
        case .queued: return true
        case .queuedFirst:
            wake(self)
            return true
        }
    }

    /// Bytes accepted by send() (frame headers included) and not yet written to the socket.
    public var queuedBytes: Int { outgoing.withLock { $0.queuedBytes } }

    /// Starts the close handshake (RFC 6455 section 7.1.2): queues a close frame after what is
    /// already queued; the connection is released when the peer answers, or after a short wait.
    /// Later sends are refused. Does nothing on a connection already closing.
    public func close(_ code: WebSocketCloseCode = .normal, reason: String = "") {
        if startClosing(code, reason: reason) { wake(self) }
    }

    // MARK: - The event loop's side

    enum Enqueued { case refused, queued, queuedFirst }

    func enqueue(_ frame: OutgoingFrame, limit: Int = .max) -> Enqueued {
        outgoing.withLock { state in
            guard !state.closing, !state.released else { return .refused }
            let size = frame.size
            guard limit >= state.queuedBytes, size <= limit - state.queuedBytes else { return .refused }
            state.frames.append(frame)
            state.queuedBytes += size
            return state.frames.count - state.head == 1 ? .queuedFirst : .queued
        }
    }

    /// A control frame from the loop (ping, pong): not subject to a limit, refused once closing.
    func enqueueControl(_ opcode: WebSocketOpcode, payload: [UInt8]) {
        _ = enqueue(OutgoingFrame(opcode: opcode, payload: .bytes(payload)))
    }

    /// Queues our close frame; false when one was queued already (or the connection is gone).
    func startClosing(_ code: WebSocketCloseCode?, reason: String) -> Bool {
        outgoing.withLock { state in
            guard !state.closing, !state.released else { return false }
            let payload = code.map { WebSocketFrame.closePayload($0, reason: reason) } ?? []
            let frame = OutgoingFrame(opcode: .close, payload: .bytes(payload))
            state.frames.append(frame)
            state.queuedBytes += frame.size
            state.closing = true
            state.closeCode = code
            return true
        }
    }

    /// The code of the close frame this side sent, once it was queued.
    var sentCloseCode: WebSocketCloseCode? { outgoing.withLock { $0.closeCode } }
    var isClosing: Bool { outgoing.withLock { $0.closing } }

    enum FlushResult { case drained, blocked, failed }

    /// Writes queued frames until the queue is empty or the socket would block (loop thread only).
    func flush(to fd: FileDescriptor) -> FlushResult {
        outgoing.withLock { state in
            while state.head < state.frames.count {
                let frame = state.frames[state.head]
                let written: Int
                do throws(Errno) {
                    written = try frame.write(to: fd)
                } catch .wouldBlock {
                    return .blocked
                } catch {
                    return .failed
                }
                state.queuedBytes -= written
                if frame.written + written == frame.size {
                    state.frames[state.head] = OutgoingFrame.sent
                    state.head += 1
                    // A queue that never quite drains (a steady stream) drops its written
                    // frames now and then instead of growing.
                    if state.head >= 256 && state.head * 2 >= state.frames.count {
                        state.frames.removeFirst(state.head)
                        state.head = 0
                    }
                } else {
                    state.frames[state.head].written += written
                    return .blocked
                }
            }
            state.frames.removeAll(keepingCapacity: state.frames.capacity <= 64)
            state.head = 0
            return .drained
        }
    }

    /// Drops whatever is queued: the socket is gone (loop thread only).
    func release() {
        outgoing.withLock { state in
            state.released = true
            state.frames = []
            state.head = 0
            state.queuedBytes = 0
        }
    }
}

/// A connection's send queue, behind its Mutex.
struct Outgoing {
    var frames: [OutgoingFrame] = []
    /// Frames before this index are written (dropped when the queue drains).
    var head = 0
    var queuedBytes = 0
    /// Our close frame is queued: nothing more is accepted.
    var closing = false
    var closeCode: WebSocketCloseCode?
    var released = false
}

/// One queued frame: its inline header and the caller's payload, never copied.
struct OutgoingFrame: Sendable {
    enum Payload: Sendable {
        case bytes([UInt8])
        case text(String)
    }

    static let sent = OutgoingFrame(opcode: .pong, payload: .bytes([]))

    let header: WebSocketFrameHeader
    let payload: Payload
    let size: Int
    /// Bytes of header + payload already written.
    var written = 0

    init(opcode: WebSocketOpcode, payload: Payload) {
        let length: Int
        switch payload {
        case .bytes(let bytes): length = bytes.count
        case .text(let text): length = text.utf8.count
        }
        self.header = WebSocketFrameHeader(opcode: opcode, payloadLength: length)
        self.payload = payload
        self.size = header.count + length
    }

    /// One sendmsg of what is left of header and payload.
    func write(to fd: FileDescriptor) throws(Errno) -> Int {
        let written = self.written
        let result: Result<Int, Errno> = withPayloadBytes { payload in
            header.withUnsafeBytes { header in
                attempt { () throws(Errno) -> Int in
                    if written < header.count {
                        return try fd.send(gathering: [UnsafeRawBufferPointer(rebasing: header[written...]), payload])
                    }
                    return try fd.send(UnsafeRawBufferPointer(rebasing: payload[(written - header.count)...]))
                }
            }
        }
        return try result.get()
    }

    private func withPayloadBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        switch payload {
        case .bytes(let bytes): return bytes.withUnsafeBytes(body)
        case .text(var text): return text.withUTF8 { body(UnsafeRawBufferPointer($0)) }
        }
    }
}

/// A typed-throwing call's outcome as a value, to carry it out of closures that only rethrow
/// untyped errors (withUnsafeBytes).
func attempt<T>(_ body: () throws(Errno) -> T) -> Result<T, Errno> {
    do throws(Errno) { return .success(try body()) } catch { return .failure(error) }
}
