/// Why a datagram is not a valid RTP packet (RFC 3550 section 5.1); offsets are from the datagram start.
public enum RTPError: Error, Hashable, Sendable {
    /// Fewer than the 12 bytes of the fixed header, or than the CSRC list the header announces.
    case truncatedHeader(needed: Int, available: Int)
    /// The version field is not 2.
    case badVersion(UInt8)
    /// The header extension's length runs past the datagram (RFC 3550 section 5.3.1).
    case extensionOverrun(declared: Int, available: Int)
    /// The padding count in the last octet is 0 or larger than the payload (RFC 3550 section 5.1).
    case badPadding(count: UInt8, payload: Int)
    /// A payload type in 72...76 with the marker bit (RTCP SR..APP on one port): RTCP, not RTP (RFC 5761 section 4).
    case looksLikeRTCP(packetType: UInt8)
}

/// One RTP packet's fixed header, CSRC list, header extension and payload (RFC 3550 section 5.1).
/// It borrows the datagram's bytes and allocates nothing: use it only while they are alive.
public struct RTPPacket {
    public let bytes: UnsafeRawBufferPointer
    public let marker: Bool
    public let payloadType: UInt8
    public let sequenceNumber: UInt16
    public let timestamp: UInt32
    public let ssrc: UInt32
    public let csrcCount: Int
    /// The header extension's profile-defined 16 bits (0xBEDE for RFC 8285 one-byte elements), when present.
    public let extensionProfile: UInt16?
    /// The extension's body (after its 4-byte header) inside `bytes`, empty when absent.
    public let extensionRange: Range<Int>
    /// The payload inside `bytes`, padding excluded.
    public let payloadRange: Range<Int>
    /// The padding octets removed from the end (0 without the P bit).
    public let paddingCount: Int

    /// Validates and decodes `bytes` as one RTP packet.
    public init(parsing bytes: UnsafeRawBufferPointer) throws(RTPError) {
        guard let first = bytes.u8(at: 0), let second = bytes.u8(at: 1), let sequence = bytes.u16(at: 2),
              let timestamp = bytes.u32(at: 4), let ssrc = bytes.u32(at: 8)
        else { throw .truncatedHeader(needed: 12, available: bytes.count) }
        guard first >> 6 == 2 else { throw .badVersion(first >> 6) }
        // RFC 5761 section 4: RTCP types 200...204 read as marker + payload type 72...76.
        if (200...204).contains(second) { throw .looksLikeRTCP(packetType: second) }
        let csrcCount = Int(first & 0x0F)
        var offset = 12 + 4 * csrcCount
        guard offset <= bytes.count else { throw .truncatedHeader(needed: offset, available: bytes.count) }
        var profile: UInt16? = nil
        var extensionRange = offset..<offset
        if first & 0x10 != 0 {
            guard let defined = bytes.u16(at: offset), let words = bytes.u16(at: offset + 2) else {
                throw .extensionOverrun(declared: 4, available: bytes.count - offset)
            }
            let length = 4 + 4 * Int(words)
            guard offset + length <= bytes.count else {
                throw .extensionOverrun(declared: length, available: bytes.count - offset)
            }
            profile = defined
            extensionRange = (offset + 4)..<(offset + length)
            offset += length
        }
        var end = bytes.count
        var padding = 0
        if first & 0x20 != 0 {
            // The last octet counts the padding, itself included.
            let count = bytes.u8(at: end - 1) ?? 0
            guard count > 0, Int(count) <= end - offset else { throw .badPadding(count: count, payload: end - offset) }
            padding = Int(count)
            end -= padding
        }
        self.bytes = bytes
        self.marker = second & 0x80 != 0
        self.payloadType = second & 0x7F
        self.sequenceNumber = sequence
        self.timestamp = timestamp
        self.ssrc = ssrc
        self.csrcCount = csrcCount
        self.extensionProfile = profile
        self.extensionRange = extensionRange
        self.payloadRange = offset..<end
        self.paddingCount = padding
    }

    /// The contributing sources (RFC 3550 section 5.1: CSRC list).
    public var csrcs: SSRCList { SSRCList(bytes: bytes, start: 12, stride: 4, count: csrcCount) }

    /// The payload bytes, borrowed.
    public var payload: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[payloadRange]) }

    /// The header extension's body, borrowed (empty when absent).
    public var extensionBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[extensionRange]) }
}
