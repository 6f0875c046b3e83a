/// What the parser hands up: a whole message (fragments assembled) or a control frame.
public enum WebSocketFrameEvent: Sendable, Equatable {
    case message(WebSocketMessage)
    case ping([UInt8])
    case pong([UInt8])
    /// A close frame: its code (nil when the frame had no payload) and reason.
    case close(WebSocketCloseCode?, String)
}

/// Parses frames from bytes that arrive in pieces of any size (RFC 6455 section 5), checking
/// every rule a peer can break, each with the close code to answer it with:
/// - 1002: RSV bits (no extension is ever negotiated), reserved opcodes, the wrong masking for
///   `role`, a 64-bit length with its top bit set, a control frame over 125 bytes or fragmented,
///   a continuation without a message, a new message inside a fragmented one, a close frame of
///   one byte or with a code that may not be sent (1004-1006, 1015, below 1000, 1016-2999, 5000+);
/// - 1007: a text message or close reason that is not UTF-8;
/// - 1009: a message over `maxMessageBytes`, refused as soon as a frame header announces it.
/// After an error or a close event the parser must not be fed any more.
public struct WebSocketFrameParser: Sendable {
    public let role: WebSocketRole
    public let maxMessageBytes: Int
    private var buffer: [UInt8] = []
    private var start = 0
    /// The fragmented message being assembled (opcode text or binary), with its payload so far.
    private var fragmentOpcode: WebSocketOpcode?
    private var fragments: [UInt8] = []

    public init(role: WebSocketRole, maxMessageBytes: Int) {
        self.role = role
        self.maxMessageBytes = maxMessageBytes
    }

    /// Bytes received and not yet handed out (a partial frame, or frames `next()` has not taken),
    /// plus the fragments of an unfinished message.
    public var bufferedBytes: Int { buffer.count - start + fragments.count }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Drops what was consumed: all of it when everything was, else only when it is most of the buffer.
    private mutating func compact() {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 16)
            start = 0
        } else if start > 4096 && start * 2 > buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
    }

    /// The next message or control frame, nil when more bytes are needed.
    public mutating func next() throws(WebSocketError) -> WebSocketFrameEvent? {
        while true {
            let available = buffer.count - start
            guard available >= 2 else { return nil }
            let first = buffer[start], second = buffer[start + 1]
            let fin = first & 0x80 != 0
            guard first & 0x70 == 0 else {
                throw .protocolViolation(.protocolError, "RSV bits set (0x\(String(first & 0x70, radix: 16))) but no extension was negotiated")
            }
            guard let opcode = WebSocketOpcode(rawValue: first & 0x0F) else {
                throw .protocolViolation(.protocolError, "unknown opcode 0x\(String(first & 0x0F, radix: 16))")
            }
            let masked = second & 0x80 != 0
            switch role {
            case .server where !masked:
                throw .protocolViolation(.protocolError, "client frame not masked (RFC 6455 section 5.1)")
            case .client where masked:
                throw .protocolViolation(.protocolError, "server frame masked (RFC 6455 section 5.1)")
            default: break
            }
            let shortLength = Int(second & 0x7F)
            if opcode.isControl {
                guard fin else { throw .protocolViolation(.protocolError, "fragmented \(opcode) frame (control frames are never fragmented)") }
                guard shortLength <= 125 else {
                    throw .protocolViolation(.protocolError, "\(opcode) frame longer than 125 bytes")
                }
            }
            let lengthBytes = shortLength == 126 ? 2 : shortLength == 127 ? 8 : 0
            let headerLength = 2 + lengthBytes + (masked ? 4 : 0)
            guard available >= 2 + lengthBytes else { return nil }
            var length = UInt64(shortLength)
            if lengthBytes > 0 {
                length = 0
                for i in 0..<lengthBytes { length = length << 8 | UInt64(buffer[start + 2 + i]) }
                if lengthBytes == 8 && length >> 63 != 0 {
                    throw .protocolViolation(.protocolError, "64-bit payload length with its most significant bit set")
                }
            }
            if !opcode.isControl {
                switch (opcode, fragmentOpcode) {
                case (.continuation, nil):
                    throw .protocolViolation(.protocolError, "continuation frame without a message to continue")
                case (.text, .some), (.binary, .some):
                    throw .protocolViolation(.protocolError, "new \(opcode) message before the fragmented one ended")
                default: break
                }
                let total = UInt64(fragments.count) + length
                if total > UInt64(maxMessageBytes) {
                    let what = fragments.isEmpty ? "frame" : "message"
                    throw .protocolViolation(.messageTooBig, "\(what) of \(total) bytes over the \(maxMessageBytes)-byte limit")
                }
            }
            let payloadLength = Int(length)
            guard available >= headerLength + payloadLength else { return nil }
            var payload = [UInt8](buffer[(start + headerLength)..<(start + headerLength + payloadLength)])
            if masked {
                var key: UInt32 = 0
                for i in 0..<4 { key = key << 8 | UInt32(buffer[start + 2 + lengthBytes + i]) }
                payload.withUnsafeMutableBytes { WebSocketFrame.mask($0, key: key) }
            }
            start += headerLength + payloadLength

            switch opcode {
            case .ping: return .ping(payload)
            case .pong: return .pong(payload)
            case .close: return try Self.close(payload)
            case .text, .binary:
                if fin { return try Self.message(opcode, payload) }
                fragmentOpcode = opcode
                fragments = payload
            case .continuation:
                if fragments.isEmpty { fragments = payload } else { fragments.append(contentsOf: payload) }
                if fin, let kind = fragmentOpcode {
                    let whole = fragments
                    fragments = []
                    fragmentOpcode = nil
                    return try Self.message(kind, whole)
                }
            }
        }
    }

    private static func message(_ opcode: WebSocketOpcode, _ payload: [UInt8]) throws(WebSocketError) -> WebSocketFrameEvent {
        guard opcode == .text else { return .message(.binary(payload)) }
        guard let text = String(validating: payload, as: UTF8.self) else {
            throw .protocolViolation(.invalidPayload, "text message of \(payload.count) bytes is not valid UTF-8")
        }
        return .message(.text(text))
    }

    private static func close(_ payload: [UInt8]) throws(WebSocketError) -> WebSocketFrameEvent {
        if payload.isEmpty { return .close(nil, "") }
        guard payload.count >= 2 else { throw .protocolViolation(.protocolError, "close frame with a 1-byte payload (a code takes 2)") }
        let code = WebSocketCloseCode(UInt16(payload[0]) << 8 | UInt16(payload[1]))
        guard code.isValidOnTheWire else {
            throw .protocolViolation(.protocolError, "close code \(code.rawValue) may not be sent (RFC 6455 section 7.4)")
        }
        guard let reason = String(validating: payload[2...], as: UTF8.self) else {
            throw .protocolViolation(.invalidPayload, "close reason is not valid UTF-8")
        }
        return .close(code, reason)
    }
}
