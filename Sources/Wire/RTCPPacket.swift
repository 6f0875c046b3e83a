/// One packet of a validated compound RTCP datagram: its header and a typed view of its body.
/// It borrows the datagram's bytes: use it only while they are alive.
public struct RTCPPacket {
    public let header: RTCPHeader
    /// The packet's bytes from its header, padding excluded, borrowed.
    public let bytes: UnsafeRawBufferPointer

    init(header: RTCPHeader, bytes: UnsafeRawBufferPointer) {
        self.header = header
        self.bytes = bytes
    }

    /// The packet's content, by type.
    public enum Message {
        case senderReport(RTCPSenderReport)
        case receiverReport(RTCPReceiverReport)
        case sourceDescription(RTCPSourceDescription)
        case goodbye(RTCPGoodbye)
        case application(RTCPApplication)
        case transportFeedback(RTCPTransportFeedback)
        case payloadFeedback(RTCPPayloadFeedback)
        /// A type Wire does not decode (XR, or an unassigned type in 192...223); skipped by its length.
        case unknown(RTCPPacketType)
    }

    public var message: Message {
        switch header.packetType {
        case .senderReport: .senderReport(RTCPSenderReport(bytes: bytes, reportCount: header.count))
        case .receiverReport: .receiverReport(RTCPReceiverReport(bytes: bytes, reportCount: header.count))
        case .sourceDescription: .sourceDescription(RTCPSourceDescription(bytes: bytes, sourceCount: header.count))
        case .goodbye: .goodbye(RTCPGoodbye(bytes: bytes, sourceCount: header.count))
        case .application: .application(RTCPApplication(bytes: bytes))
        case .transportFeedback: .transportFeedback(RTCPTransportFeedback(bytes: bytes))
        case .payloadFeedback: .payloadFeedback(RTCPPayloadFeedback(bytes: bytes))
        default: .unknown(header.packetType)
        }
    }

    /// The SSRC of the packet's originator: SR/RR/APP/XR/feedback sender, the first BYE source,
    /// the first SDES chunk's source; nil when there is none or the type is unknown.
    public var senderSSRC: UInt32? {
        switch header.packetType {
        case .senderReport, .receiverReport, .application, .transportFeedback, .payloadFeedback, .extendedReport:
            return bytes.u32(at: 4)
        case .goodbye, .sourceDescription:
            return header.count > 0 ? bytes.u32(at: 4) : nil
        default:
            return nil
        }
    }

    /// The media SSRCs this packet reports on or asks something of: report block SSRCs (SR, RR),
    /// the media SSRC of feedback, or the SSRC lists of FIR and REMB (whose media SSRC field is unused).
    public var referencedSSRCs: SSRCList {
        switch message {
        case .senderReport(let sr):
            SSRCList(bytes: bytes, start: 28, stride: 24, count: sr.reportBlocks.count)
        case .receiverReport(let rr):
            SSRCList(bytes: bytes, start: 8, stride: 24, count: rr.reportBlocks.count)
        case .transportFeedback:
            SSRCList(bytes: bytes, start: 8, stride: 4, count: 1)
        case .payloadFeedback(let feedback):
            switch feedback.kind {
            case .fullIntraRequest(let entries): entries.ssrcs
            case .receiverEstimatedMaximumBitrate(let remb): remb.ssrcs
            default: SSRCList(bytes: bytes, start: 8, stride: 4, count: 1)
            }
        case .sourceDescription, .goodbye, .application, .unknown:
            .empty
        }
    }

    /// Checks that the body holds what its header announces, so every view reads real fields.
    static func validateBody(_ bytes: UnsafeRawBufferPointer, header: RTCPHeader) throws(RTCPError) {
        func require(_ condition: Bool, _ reason: RTCPMalformation) throws(RTCPError) {
            if !condition {
                throw .malformedPacket(offset: header.offset, packetType: header.packetType.rawValue, reason: reason)
            }
        }
        let count = Int(header.count)
        switch header.packetType {
        case .senderReport:
            try require(bytes.count >= 28 + 24 * count, .tooShortForCount)
        case .receiverReport:
            try require(bytes.count >= 8 + 24 * count, .tooShortForCount)
        case .sourceDescription:
            var offset = 4
            for _ in 0..<count {
                guard let (_, next) = RTCPSourceDescription.Iterator.chunk(in: bytes, at: offset) else {
                    try require(false, .sdesItemOverrun)
                    return
                }
                offset = next
            }
        case .goodbye:
            try require(bytes.count >= 4 + 4 * count, .tooShortForCount)
            let reasonAt = 4 + 4 * count
            if let length = bytes.u8(at: reasonAt) {
                try require(reasonAt + 1 + Int(length) <= bytes.count, .byeReasonOverrun)
            }
        case .application:
            try require(bytes.count >= 12, .tooShortForCount)
        case .transportFeedback:
            try require(bytes.count >= 12, .feedbackTooShort)
            switch header.count {
            case 1: try require(bytes.count >= 16, .feedbackTooShort)  // at least one NACK entry
            case 15: try require(bytes.count >= 20, .feedbackTooShort)
            default: break
            }
        case .payloadFeedback:
            try require(bytes.count >= 12, .feedbackTooShort)
            switch header.count {
            case 4: try require(bytes.count >= 20, .feedbackTooShort)  // at least one FIR entry
            case 15 where RTCPREMB.isREMB(bytes):
                try require(bytes.count >= 20 + 4 * Int(bytes.u8(at: 16) ?? 0), .tooShortForCount)
            default: break
            }
        default:
            break
        }
    }
}
