/// Which end of a connection a codec serves; it decides the masking rule (RFC 6455 section 5.1:
/// a client masks every frame it sends, a server never does, and each refuses the other's mistake).
public enum WebSocketRole: Sendable {
    case server
    case client
}

/// A frame's opcode (RFC 6455 section 5.2); values 3-7 and 11-15 are reserved and refused.
public enum WebSocketOpcode: UInt8, Sendable {
    case continuation = 0x0
    case text = 0x1
    case binary = 0x2
    case close = 0x8
    case ping = 0x9
    case pong = 0xA

    /// Close, ping and pong (RFC 6455 section 5.5): at most 125 bytes, never fragmented.
    public var isControl: Bool { rawValue & 0x8 != 0 }
}

/// A frame header of at most 14 bytes, held inline (no allocation per frame and connection).
public struct WebSocketFrameHeader: Sendable {
    private var storage: (UInt64, UInt64) = (0, 0)
    /// The header's length in bytes: 2 to 14.
    public private(set) var count = 0

    /// The header of a frame carrying `payloadLength` bytes, with the shortest length encoding
    /// (RFC 6455 section 5.2), masked with `maskingKey` when given (client frames).
    public init(opcode: WebSocketOpcode, fin: Bool = true, payloadLength: Int, maskingKey: UInt32? = nil) {
        append((fin ? 0x80 : 0) | opcode.rawValue)
        let maskBit: UInt8 = maskingKey == nil ? 0 : 0x80
        if payloadLength <= 125 {
            append(maskBit | UInt8(payloadLength))
        } else if payloadLength <= 0xFFFF {
            append(maskBit | 126)
            append(UInt8(payloadLength >> 8))
            append(UInt8(payloadLength & 0xFF))
        } else {
            append(maskBit | 127)
            let length = UInt64(payloadLength)
            for shift in stride(from: 56, through: 0, by: -8) { append(UInt8(truncatingIfNeeded: length >> UInt64(shift))) }
        }
        if let key = maskingKey {
            for shift in stride(from: 24, through: 0, by: -8) { append(UInt8(truncatingIfNeeded: key >> UInt32(shift))) }
        }
    }

    private mutating func append(_ byte: UInt8) {
        withUnsafeMutableBytes(of: &storage) { $0[count] = byte }
        count += 1
    }

    /// The header's bytes, valid only inside `body`.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var copy = storage
        let count = self.count
        return try Swift.withUnsafeBytes(of: &copy) { try body(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
    }

    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }
}

/// Writes whole frames (RFC 6455 section 5.2). Server frames are sent as header + payload
/// without copying the payload (see `WebSocketFrameHeader`); these helpers build a frame in one
/// array, as the client must anyway (masking rewrites every payload byte).
public enum WebSocketFrame {
    /// A complete frame. A client frame (`role == .client`) is masked with a fresh random key
    /// (RFC 6455 section 5.3: from a strong source, unpredictable to the page's script).
    public static func encode(_ opcode: WebSocketOpcode, payload: [UInt8], fin: Bool = true, role: WebSocketRole) -> [UInt8] {
        payload.withUnsafeBytes { encode(opcode, payload: $0, fin: fin, role: role) }
    }

    public static func encode(_ opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer, fin: Bool = true, role: WebSocketRole) -> [UInt8] {
        let key: UInt32? = role == .client ? UInt32.random(in: 0...UInt32.max) : nil
        let header = WebSocketFrameHeader(opcode: opcode, fin: fin, payloadLength: payload.count, maskingKey: key)
        var frame = [UInt8]()
        frame.reserveCapacity(header.count + payload.count)
        header.withUnsafeBytes { frame.append(contentsOf: $0) }
        let start = frame.count
        frame.append(contentsOf: payload)
        if let key {
            frame.withUnsafeMutableBytes { mask(UnsafeMutableRawBufferPointer(rebasing: $0[start...]), key: key) }
        }
        return frame
    }

    /// A message as one frame.
    public static func encode(_ message: WebSocketMessage, role: WebSocketRole) -> [UInt8] {
        switch message {
        case .binary(let bytes): return encode(.binary, payload: bytes, role: role)
        case .text(var text): return text.withUTF8 { encode(.text, payload: UnsafeRawBufferPointer($0), role: role) }
        }
    }

    /// A close frame's payload: the code and up to 123 bytes of reason (RFC 6455 section 5.5.1),
    /// cut at a character boundary so it stays valid UTF-8.
    public static func closePayload(_ code: WebSocketCloseCode, reason: String) -> [UInt8] {
        var payload: [UInt8] = [UInt8(code.rawValue >> 8), UInt8(code.rawValue & 0xFF)]
        for scalar in reason.unicodeScalars {
            let encoded = Array(String(scalar).utf8)
            if payload.count + encoded.count > 125 { break }
            payload.append(contentsOf: encoded)
        }
        return payload
    }

    /// XORs `bytes` with the 4-byte masking key (RFC 6455 section 5.3): the same operation masks
    /// and unmasks. Eight bytes at a time; the key's first byte masks the first payload byte.
    public static func mask(_ bytes: UnsafeMutableRawBufferPointer, key: UInt32) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let keyBytes = [UInt8(key >> 24), UInt8(key >> 16 & 0xFF), UInt8(key >> 8 & 0xFF), UInt8(key & 0xFF)]
        var word: UInt64 = 0
        withUnsafeMutableBytes(of: &word) { for i in 0..<8 { $0[i] = keyBytes[i & 3] } }
        var index = 0
        while index + 8 <= bytes.count {
            let value = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            base.storeBytes(of: value ^ word, toByteOffset: index, as: UInt64.self)
            index += 8
        }
        while index < bytes.count {
            bytes[index] ^= keyBytes[index & 3]
            index += 1
        }
    }
}
