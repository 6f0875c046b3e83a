/// A compound RTCP datagram validated per RFC 3550 appendix A.2, iterated as `RTCPPacket` views.
/// It borrows the datagram's bytes and allocates nothing: use it only while they are alive.
public struct RTCPCompoundPacket: Sequence {
    public let bytes: UnsafeRawBufferPointer
    /// Number of packets in the datagram.
    public let packetCount: Int
    /// The first packet is feedback, not SR/RR: reduced-size RTCP (RFC 5506 section 3.4.2).
    public let isReducedSize: Bool

    /// RFC 5761 section 4: with RTP and RTCP on one port, RTCP packet types sit in 192...223
    /// (where RTP payload types 64...95 with the marker bit would fall); version must be 2.
    public static func isLikelyRTCP(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= 8, let first = bytes.u8(at: 0), let type = bytes.u8(at: 1) else { return false }
        return first >> 6 == 2 && (192...223).contains(type)
    }

    /// Validates `bytes` as a compound packet: version 2 everywhere, SR or RR first (or RTPFB/PSFB,
    /// marked reduced-size), padding only on the last packet, lengths summing exactly to the datagram,
    /// and each known packet's body long enough for its counts.
    public init(validating bytes: UnsafeRawBufferPointer) throws(RTCPError) {
        guard !bytes.isEmpty else { throw .empty }
        var offset = 0
        var packets = 0
        var reducedSize = false
        while offset < bytes.count {
            let header = try Self.header(in: bytes, at: offset)
            if offset == 0 {
                switch header.packetType {
                case .senderReport, .receiverReport: break
                case .transportFeedback, .payloadFeedback: reducedSize = true
                default: throw .badFirstPacketType(header.packetType.rawValue)
                }
            }
            let end = offset + header.byteCount
            guard end <= bytes.count else {
                throw .lengthMismatch(offset: offset, declared: header.byteCount, available: bytes.count - offset)
            }
            var bodyEnd = end
            if header.padding {
                guard end == bytes.count else { throw .paddingNotInLastPacket(offset: offset) }
                // RFC 3550 section 6.4.1: the last octet counts the padding octets, itself included.
                let padding = bytes.u8(at: end - 1) ?? 0
                guard padding > 0, Int(padding) <= header.byteCount - 4 else {
                    throw .badPadding(offset: offset, count: padding)
                }
                bodyEnd -= Int(padding)
            }
            try RTCPPacket.validateBody(UnsafeRawBufferPointer(rebasing: bytes[offset..<bodyEnd]), header: header)
            packets += 1
            offset = end
        }
        self.bytes = bytes
        self.packetCount = packets
        self.isReducedSize = reducedSize
    }

    static func header(in bytes: UnsafeRawBufferPointer, at offset: Int) throws(RTCPError) -> RTCPHeader {
        guard let first = bytes.u8(at: offset), let type = bytes.u8(at: offset + 1),
              let length = bytes.u16(at: offset + 2)
        else { throw .truncatedHeader(offset: offset, available: bytes.count - offset) }
        guard first >> 6 == 2 else { throw .badVersion(offset: offset, version: first >> 6) }
        return RTCPHeader(
            offset: offset, padding: first & 0x20 != 0, count: first & 0x1F,
            packetType: RTCPPacketType(rawValue: type), lengthField: length)
    }

    public func makeIterator() -> Iterator { Iterator(bytes: bytes, offset: 0) }

    /// Yields each packet in order.
    public struct Iterator: IteratorProtocol {
        let bytes: UnsafeRawBufferPointer
        var offset: Int

        public mutating func next() -> RTCPPacket? {
            guard let header = try? RTCPCompoundPacket.header(in: bytes, at: offset) else { return nil }
            let end = offset + header.byteCount
            guard end <= bytes.count else { return nil }
            var bodyEnd = end
            if header.padding, let padding = bytes.u8(at: end - 1), Int(padding) <= header.byteCount - 4 {
                bodyEnd -= Int(padding)
            }
            let packet = RTCPPacket(header: header, bytes: UnsafeRawBufferPointer(rebasing: bytes[offset..<bodyEnd]))
            offset = end
            return packet
        }
    }
}
