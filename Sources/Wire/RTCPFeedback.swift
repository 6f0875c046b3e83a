/// A transport-layer feedback message, RTPFB (RFC 4585 section 6.2).
public struct RTCPTransportFeedback {
    let bytes: UnsafeRawBufferPointer

    /// Feedback message type: 1 generic NACK, 3/4 TMMBR/TMMBN (RFC 5104), 15 transport-wide CC.
    public var format: UInt8 { (bytes.u8(at: 0) ?? 0) & 0x1F }
    public var senderSSRC: UInt32 { bytes.u32(at: 4) ?? 0 }
    public var mediaSSRC: UInt32 { bytes.u32(at: 8) ?? 0 }

    /// What this message carries.
    public enum Kind {
        /// Generic NACK (RFC 4585 section 6.2.1).
        case nack(RTCPNACKEntries)
        /// Transport-wide congestion control (draft-holmer-rmcat-transport-wide-cc-extensions-01 section 3.1).
        case transportWideCC(RTCPTransportWideCC)
        /// Any other FMT, with its feedback control information.
        case other(format: UInt8)
    }

    public var kind: Kind {
        switch format {
        case 1: .nack(RTCPNACKEntries(bytes: bytes))
        case 15: .transportWideCC(RTCPTransportWideCC(bytes: bytes))
        default: .other(format: format)
        }
    }
}

/// One generic NACK entry: a lost packet ID and a bitmask of the 16 following lost packets.
public struct RTCPNACKEntry: Hashable, Sendable {
    public var packetID: UInt16
    public var bitmaskOfLostPackets: UInt16

    public init(packetID: UInt16, bitmaskOfLostPackets: UInt16) {
        self.packetID = packetID
        self.bitmaskOfLostPackets = bitmaskOfLostPackets
    }

    /// Number of packets this entry reports lost.
    public var lostPacketCount: Int { 1 + bitmaskOfLostPackets.nonzeroBitCount }
    /// Whether `sequenceNumber` is reported lost by this entry.
    public func contains(_ sequenceNumber: UInt16) -> Bool {
        let distance = sequenceNumber &- packetID
        return distance == 0 || (distance <= 16 && bitmaskOfLostPackets & (1 << (distance - 1)) != 0)
    }
}

/// The NACK entries of a generic NACK, decoded on access.
public struct RTCPNACKEntries: RandomAccessCollection {
    let bytes: UnsafeRawBufferPointer
    public var startIndex: Int { 0 }
    public var endIndex: Int { Swift.max(0, (bytes.count - 12) / 4) }
    public subscript(position: Int) -> RTCPNACKEntry {
        RTCPNACKEntry(
            packetID: bytes.u16(at: 12 + 4 * position) ?? 0,
            bitmaskOfLostPackets: bytes.u16(at: 14 + 4 * position) ?? 0)
    }
}

/// The fixed fields of a transport-wide CC feedback message; packet status chunks and deltas follow them.
public struct RTCPTransportWideCC {
    let bytes: UnsafeRawBufferPointer
    public var baseSequenceNumber: UInt16 { bytes.u16(at: 12) ?? 0 }
    public var packetStatusCount: UInt16 { bytes.u16(at: 14) ?? 0 }
    /// Reference time in multiples of 64 ms: a 24-bit signed value.
    public var referenceTime: Int32 { Int32(bitPattern: (bytes.u24(at: 16) ?? 0) << 8) >> 8 }
    public var feedbackPacketCount: UInt8 { bytes.u8(at: 19) ?? 0 }
    /// Packet status chunks and receive deltas, borrowed and not decoded.
    public var statusAndDeltas: UnsafeRawBufferPointer { bytes.slice(20..<max(20, bytes.count)) ?? UnsafeRawBufferPointer(start: nil, count: 0) }
}

/// A payload-specific feedback message, PSFB (RFC 4585 section 6.3).
public struct RTCPPayloadFeedback {
    let bytes: UnsafeRawBufferPointer

    /// Feedback message type: 1 PLI, 2 SLI, 3 RPSI, 4 FIR (RFC 5104), 15 application layer (REMB).
    public var format: UInt8 { (bytes.u8(at: 0) ?? 0) & 0x1F }
    public var senderSSRC: UInt32 { bytes.u32(at: 4) ?? 0 }
    /// The media source; RFC 5104 section 4.3.1.2 and the REMB draft leave it 0 and list SSRCs in the FCI.
    public var mediaSSRC: UInt32 { bytes.u32(at: 8) ?? 0 }

    /// What this message carries.
    public enum Kind {
        /// Picture loss indication (RFC 4585 section 6.3.1): no FCI.
        case pictureLossIndication
        /// Full intra request (RFC 5104 section 4.3.1).
        case fullIntraRequest(RTCPFIREntries)
        /// Receiver estimated maximum bitrate (draft-alvestrand-rmcat-remb-03 section 2.2).
        case receiverEstimatedMaximumBitrate(RTCPREMB)
        /// Application layer feedback other than REMB (RFC 4585 section 6.4).
        case applicationLayer
        /// Any other FMT.
        case other(format: UInt8)
    }

    public var kind: Kind {
        switch format {
        case 1: .pictureLossIndication
        case 4: .fullIntraRequest(RTCPFIREntries(bytes: bytes))
        case 15 where RTCPREMB.isREMB(bytes): .receiverEstimatedMaximumBitrate(RTCPREMB(bytes: bytes))
        case 15: .applicationLayer
        default: .other(format: format)
        }
    }
}

/// One FIR entry: the source asked for a decoder refresh point and the command sequence number.
public struct RTCPFIREntry: Hashable, Sendable {
    public var ssrc: UInt32
    public var sequenceNumber: UInt8

    public init(ssrc: UInt32, sequenceNumber: UInt8) {
        self.ssrc = ssrc
        self.sequenceNumber = sequenceNumber
    }
}

/// The FIR entries of a full intra request, decoded on access.
public struct RTCPFIREntries: RandomAccessCollection {
    let bytes: UnsafeRawBufferPointer
    public var startIndex: Int { 0 }
    public var endIndex: Int { Swift.max(0, (bytes.count - 12) / 8) }
    public subscript(position: Int) -> RTCPFIREntry {
        RTCPFIREntry(ssrc: bytes.u32(at: 12 + 8 * position) ?? 0, sequenceNumber: bytes.u8(at: 16 + 8 * position) ?? 0)
    }
    var ssrcs: SSRCList { SSRCList(bytes: bytes, start: 12, stride: 8, count: count) }
}

/// A REMB message: the receiver's estimate of the total bitrate it can take for the listed sources.
public struct RTCPREMB {
    let bytes: UnsafeRawBufferPointer

    /// The FCI starts with the ASCII identifier "REMB".
    static func isREMB(_ bytes: UnsafeRawBufferPointer) -> Bool { bytes.u32(at: 12) == 0x5245_4D42 }

    public var ssrcCount: Int { Int(bytes.u8(at: 16) ?? 0) }
    /// 6-bit exponent.
    public var exponent: UInt8 { (bytes.u8(at: 17) ?? 0) >> 2 }
    /// 18-bit mantissa.
    public var mantissa: UInt32 { (bytes.u24(at: 17) ?? 0) & 0x3FFFF }
    /// mantissa × 2^exponent bits per second, saturating at `UInt64.max` (exponents up to 63 overflow 64 bits).
    public var bitrate: UInt64 {
        let m = UInt64(mantissa)
        guard m != 0 else { return 0 }
        let e = UInt64(exponent)
        return m.leadingZeroBitCount < e ? .max : m << e
    }
    /// The sources the estimate applies to.
    public var ssrcs: SSRCList { SSRCList(bytes: bytes, start: 20, stride: 4, count: ssrcCount) }
}
