/// One reception report block (RFC 3550 section 6.4.1): how well the reporter receives one source.
public struct RTCPReportBlock: Hashable, Sendable {
    /// The source this block reports on.
    public var ssrc: UInt32
    /// Fraction lost since the previous report, as a fixed-point number with the binary point at the left.
    public var fractionLost: UInt8
    /// Cumulative number of packets lost: a 24-bit signed value (duplicates can make it negative).
    public var cumulativePacketsLost: Int32
    public var extendedHighestSequenceNumber: UInt32
    public var interarrivalJitter: UInt32
    /// Middle 32 bits of the NTP timestamp of the last SR received from the source (LSR).
    public var lastSenderReport: UInt32
    /// Delay since that SR, in 1/65536 s (DLSR).
    public var delaySinceLastSenderReport: UInt32

    public init(
        ssrc: UInt32, fractionLost: UInt8, cumulativePacketsLost: Int32, extendedHighestSequenceNumber: UInt32,
        interarrivalJitter: UInt32, lastSenderReport: UInt32, delaySinceLastSenderReport: UInt32
    ) {
        self.ssrc = ssrc
        self.fractionLost = fractionLost
        self.cumulativePacketsLost = cumulativePacketsLost
        self.extendedHighestSequenceNumber = extendedHighestSequenceNumber
        self.interarrivalJitter = interarrivalJitter
        self.lastSenderReport = lastSenderReport
        self.delaySinceLastSenderReport = delaySinceLastSenderReport
    }

    init(bytes: UnsafeRawBufferPointer, at o: Int) {
        ssrc = bytes.u32(at: o) ?? 0
        let lossWord = bytes.u32(at: o + 4) ?? 0
        fractionLost = UInt8(truncatingIfNeeded: lossWord >> 24)
        // Sign-extend the 24-bit count.
        cumulativePacketsLost = Int32(bitPattern: lossWord << 8) >> 8
        extendedHighestSequenceNumber = bytes.u32(at: o + 8) ?? 0
        interarrivalJitter = bytes.u32(at: o + 12) ?? 0
        lastSenderReport = bytes.u32(at: o + 16) ?? 0
        delaySinceLastSenderReport = bytes.u32(at: o + 20) ?? 0
    }
}

/// The report blocks of an SR or RR, decoded on access from the borrowed packet bytes.
public struct RTCPReportBlocks: RandomAccessCollection {
    let bytes: UnsafeRawBufferPointer
    let start: Int
    public let count: Int

    init(bytes: UnsafeRawBufferPointer, start: Int, count: Int) {
        self.bytes = bytes
        self.start = start
        self.count = Swift.max(0, Swift.min(count, (bytes.count - start) / 24))
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }
    public subscript(position: Int) -> RTCPReportBlock {
        RTCPReportBlock(bytes: bytes, at: start + position * 24)
    }
}

/// A sender report, SR (RFC 3550 section 6.4.1).
public struct RTCPSenderReport {
    let bytes: UnsafeRawBufferPointer
    let reportCount: UInt8

    public var senderSSRC: UInt32 { bytes.u32(at: 4) ?? 0 }
    /// 64-bit NTP timestamp: seconds since 1900 in the high word, fraction in the low word.
    public var ntpTimestamp: UInt64 { bytes.u64(at: 8) ?? 0 }
    public var rtpTimestamp: UInt32 { bytes.u32(at: 16) ?? 0 }
    public var packetCount: UInt32 { bytes.u32(at: 20) ?? 0 }
    public var octetCount: UInt32 { bytes.u32(at: 24) ?? 0 }
    public var reportBlocks: RTCPReportBlocks { RTCPReportBlocks(bytes: bytes, start: 28, count: Int(reportCount)) }
}

/// A receiver report, RR (RFC 3550 section 6.4.2); zero report blocks is valid.
public struct RTCPReceiverReport {
    let bytes: UnsafeRawBufferPointer
    let reportCount: UInt8

    public var senderSSRC: UInt32 { bytes.u32(at: 4) ?? 0 }
    public var reportBlocks: RTCPReportBlocks { RTCPReportBlocks(bytes: bytes, start: 8, count: Int(reportCount)) }
}
