/// Why an RTCP packet could not be written.
public enum RTCPWriteError: Error, Hashable, Sendable {
    /// More entries than the 5-bit count field (31) or the 16-bit length field can carry.
    case tooManyEntries(Int)
    /// An SDES item longer than its 8-bit length field (255 bytes).
    case itemTooLong(Int)
    /// A feedback message with nothing to carry (a NACK without entries, a FIR without sources).
    case empty
}

/// Writes RTCP packets into one reusable buffer, each appended to the compound datagram being
/// built (RFC 3550 section 6.1: RR or SR first, then SDES with CNAME, then feedback).
/// After the first datagram the buffer keeps its capacity: writing allocates nothing.
public struct RTCPWriter: Sendable {
    /// The datagram written so far.
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 1500) { bytes.reserveCapacity(capacity) }

    /// Starts the next datagram, keeping the buffer.
    public mutating func reset() { bytes.removeAll(keepingCapacity: true) }

    /// Sender report (RFC 3550 section 6.4.1).
    public mutating func senderReport(ssrc: UInt32, ntpTimestamp: UInt64, rtpTimestamp: UInt32, packetCount: UInt32,
                                      octetCount: UInt32, blocks: some Collection<RTCPReportBlock>) throws(RTCPWriteError) {
        guard blocks.count <= 31 else { throw .tooManyEntries(blocks.count) }
        header(count: UInt8(blocks.count), type: .senderReport, words: 6 + 6 * blocks.count)
        u32(ssrc); u32(UInt32(truncatingIfNeeded: ntpTimestamp >> 32)); u32(UInt32(truncatingIfNeeded: ntpTimestamp))
        u32(rtpTimestamp); u32(packetCount); u32(octetCount)
        for block in blocks { reportBlock(block) }
    }

    /// Receiver report (RFC 3550 section 6.4.2); no blocks is valid (nothing received yet).
    public mutating func receiverReport(ssrc: UInt32, blocks: some Collection<RTCPReportBlock>) throws(RTCPWriteError) {
        guard blocks.count <= 31 else { throw .tooManyEntries(blocks.count) }
        header(count: UInt8(blocks.count), type: .receiverReport, words: 1 + 6 * blocks.count)
        u32(ssrc)
        for block in blocks { reportBlock(block) }
    }

    /// A receiver report with one block, without a collection to hold it.
    public mutating func receiverReport(ssrc: UInt32, block: RTCPReportBlock?) {
        header(count: block == nil ? 0 : 1, type: .receiverReport, words: block == nil ? 1 : 7)
        u32(ssrc)
        if let block { reportBlock(block) }
    }

    /// Source description with one chunk holding the CNAME item (RFC 3550 section 6.5.1).
    public mutating func sourceDescription(ssrc: UInt32, cname: String) throws(RTCPWriteError) {
        let length = cname.utf8.count
        guard length <= 255 else { throw .itemTooLong(length) }
        // SSRC, type, length, text, then a null item and zero padding to a 32-bit boundary.
        let chunk = 4 + 2 + length + 1
        let padded = (chunk + 3) & ~3
        header(count: 1, type: .sourceDescription, words: padded / 4)
        u32(ssrc)
        bytes.append(RTCPSDESItem.cname)
        bytes.append(UInt8(length))
        bytes.append(contentsOf: cname.utf8)
        for _ in 0..<(padded - chunk + 1) { bytes.append(0) }
    }

    /// Generic NACK (RFC 4585 section 6.2.1).
    public mutating func nack(senderSSRC: UInt32, mediaSSRC: UInt32, entries: some Collection<RTCPNACKEntry>) throws(RTCPWriteError) {
        guard !entries.isEmpty else { throw .empty }
        guard entries.count <= 0xFFFF - 2 else { throw .tooManyEntries(entries.count) }
        header(count: 1, type: .transportFeedback, words: 2 + entries.count)
        u32(senderSSRC); u32(mediaSSRC)
        for entry in entries { u16(entry.packetID); u16(entry.bitmaskOfLostPackets) }
    }

    /// Picture loss indication (RFC 4585 section 6.3.1): no FCI.
    public mutating func pictureLossIndication(senderSSRC: UInt32, mediaSSRC: UInt32) {
        header(count: 1, type: .payloadFeedback, words: 2)
        u32(senderSSRC); u32(mediaSSRC)
    }

    /// Full intra request (RFC 5104 section 4.3.1); the media SSRC field is 0, the sources are in the FCI.
    public mutating func fullIntraRequest(senderSSRC: UInt32, entries: some Collection<RTCPFIREntry>) throws(RTCPWriteError) {
        guard !entries.isEmpty else { throw .empty }
        guard entries.count <= (0xFFFF - 2) / 2 else { throw .tooManyEntries(entries.count) }
        header(count: 4, type: .payloadFeedback, words: 2 + 2 * entries.count)
        u32(senderSSRC); u32(0)
        for entry in entries { u32(entry.ssrc); bytes.append(entry.sequenceNumber); bytes.append(0); u16(0) }
    }

    /// A full intra request for one source, without a collection to hold it.
    public mutating func fullIntraRequest(senderSSRC: UInt32, mediaSSRC: UInt32, sequenceNumber: UInt8) {
        header(count: 4, type: .payloadFeedback, words: 4)
        u32(senderSSRC); u32(0)
        u32(mediaSSRC); bytes.append(sequenceNumber); bytes.append(0); u16(0)
    }

    /// Receiver estimated maximum bitrate (draft-alvestrand-rmcat-remb-03 section 2.2): `bitrate`
    /// in bit/s as an 18-bit mantissa and a 6-bit exponent, rounded down.
    public mutating func receiverEstimatedMaximumBitrate(senderSSRC: UInt32, bitrate: UInt64, ssrcs: some Collection<UInt32>) throws(RTCPWriteError) {
        guard ssrcs.count <= 255 else { throw .tooManyEntries(ssrcs.count) }
        header(count: 15, type: .payloadFeedback, words: 4 + ssrcs.count)
        u32(senderSSRC); u32(0)
        u32(0x5245_4D42)  // "REMB"
        let (exponent, mantissa) = Self.rembFields(bitrate)
        bytes.append(UInt8(ssrcs.count))
        let packed = UInt32(exponent) << 18 | mantissa
        bytes.append(UInt8(truncatingIfNeeded: packed >> 16)); u16(UInt16(truncatingIfNeeded: packed))
        for ssrc in ssrcs { u32(ssrc) }
    }

    /// A REMB for one source, without a collection to hold it.
    public mutating func receiverEstimatedMaximumBitrate(senderSSRC: UInt32, bitrate: UInt64, ssrc: UInt32) {
        header(count: 15, type: .payloadFeedback, words: 5)
        u32(senderSSRC); u32(0)
        u32(0x5245_4D42)
        let (exponent, mantissa) = Self.rembFields(bitrate)
        bytes.append(1)
        let packed = UInt32(exponent) << 18 | mantissa
        bytes.append(UInt8(truncatingIfNeeded: packed >> 16)); u16(UInt16(truncatingIfNeeded: packed))
        u32(ssrc)
    }

    /// The smallest exponent whose mantissa fits 18 bits.
    static func rembFields(_ bitrate: UInt64) -> (exponent: UInt8, mantissa: UInt32) {
        var exponent: UInt8 = 0
        var mantissa = bitrate
        while mantissa > 0x3FFFF {
            mantissa >>= 1
            exponent += 1
        }
        return (exponent, UInt32(mantissa))
    }

    // MARK: Encoding

    private mutating func header(count: UInt8, type: RTCPPacketType, words: Int) {
        // The length field counts 32-bit words minus one; `words` is the body after the header.
        bytes.append(0x80 | count & 0x1F)
        bytes.append(type.rawValue)
        u16(UInt16(truncatingIfNeeded: words))
    }

    private mutating func reportBlock(_ block: RTCPReportBlock) {
        u32(block.ssrc)
        // The cumulative count is a 24-bit signed value: clamp, then keep its low 24 bits.
        let lost = Swift.min(Swift.max(block.cumulativePacketsLost, -0x80_0000), 0x7F_FFFF)
        u32(UInt32(block.fractionLost) << 24 | UInt32(bitPattern: lost) & 0xFF_FFFF)
        u32(block.extendedHighestSequenceNumber)
        u32(block.interarrivalJitter)
        u32(block.lastSenderReport)
        u32(block.delaySinceLastSenderReport)
    }

    private mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 8)); bytes.append(UInt8(truncatingIfNeeded: value))
    }

    private mutating func u32(_ value: UInt32) {
        u16(UInt16(truncatingIfNeeded: value >> 16)); u16(UInt16(truncatingIfNeeded: value))
    }
}

extension RTCPNACKEntry {
    /// Packs lost sequence numbers, in ascending (wrap-aware) order, into as few entries as
    /// RFC 4585 section 6.2.1 allows: each entry covers its packet ID and the 16 after it.
    public static func entries(lost sequenceNumbers: some Sequence<UInt16>, into entries: inout [RTCPNACKEntry]) {
        for sequence in sequenceNumbers {
            if var last = entries.last {
                let distance = sequence &- last.packetID
                if distance == 0 { continue }
                if distance <= 16 {
                    last.bitmaskOfLostPackets |= 1 << (distance - 1)
                    entries[entries.count - 1] = last
                    continue
                }
            }
            entries.append(RTCPNACKEntry(packetID: sequence, bitmaskOfLostPackets: 0))
        }
    }
}
