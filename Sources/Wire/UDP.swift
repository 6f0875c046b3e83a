/// A decoded UDP header (RFC 768); the payload stays in the caller's buffer.
public struct UDPDatagram: Hashable, Sendable {
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    /// The UDP length field: header plus payload.
    public var length: Int
    public var checksum: UInt16
    /// Payload bytes inside the decoded buffer, limited to the UDP length.
    public var payloadRange: Range<Int>

    /// Decodes the header at the start of `bytes` (an IP payload); bytes past the UDP length are ignored.
    public init(decoding bytes: UnsafeRawBufferPointer) throws(WireError) {
        guard bytes.count >= 8, let source = bytes.u16(at: 0), let destination = bytes.u16(at: 2),
              let length = bytes.u16(at: 4), let checksum = bytes.u16(at: 6)
        else { throw .truncated(layer: .udp, offset: 0, needed: 8, available: bytes.count) }
        guard length >= 8, Int(length) <= bytes.count else {
            throw .badUDPLength(length, available: bytes.count)
        }
        self.sourcePort = source
        self.destinationPort = destination
        self.length = Int(length)
        self.checksum = checksum
        self.payloadRange = 8..<Int(length)
    }
}
