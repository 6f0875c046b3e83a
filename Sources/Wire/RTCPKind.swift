/// What one RTCP packet is, as a plain value an observation can keep after the captured bytes are gone.
public enum RTCPKind: Hashable, Sendable, CustomStringConvertible {
    case senderReport
    case receiverReport
    case sourceDescription
    case goodbye
    case application
    case genericNACK
    case transportWideCC
    /// Another RTPFB message type (FMT).
    case transportFeedback(format: UInt8)
    case pictureLossIndication
    case fullIntraRequest
    /// REMB, with its bitrate in bit/s.
    case receiverEstimatedMaximumBitrate(bitrate: UInt64)
    /// Another PSFB message type (FMT), including non-REMB application-layer feedback (15).
    case payloadFeedback(format: UInt8)
    case extendedReport
    case unknown(packetType: UInt8)

    /// Short names as Wireshark and RFCs print them.
    public var description: String {
        switch self {
        case .senderReport: "SR"
        case .receiverReport: "RR"
        case .sourceDescription: "SDES"
        case .goodbye: "BYE"
        case .application: "APP"
        case .genericNACK: "NACK"
        case .transportWideCC: "TWCC"
        case .transportFeedback(let format): "RTPFB(\(format))"
        case .pictureLossIndication: "PLI"
        case .fullIntraRequest: "FIR"
        case .receiverEstimatedMaximumBitrate: "REMB"
        case .payloadFeedback(let format): "PSFB(\(format))"
        case .extendedReport: "XR"
        case .unknown(let type): "PT\(type)"
        }
    }

    /// Feedback about received media: reports, NACK, TWCC, PLI, FIR, REMB and other RTPFB/PSFB.
    /// These are the packets a camera must receive; SDES, BYE and APP are not feedback.
    public var isReceptionFeedback: Bool {
        switch self {
        case .sourceDescription, .goodbye, .application, .extendedReport, .unknown: false
        default: true
        }
    }
}

extension RTCPPacket {
    /// The packet's kind as a Sendable value.
    public var kind: RTCPKind {
        switch message {
        case .senderReport: return .senderReport
        case .receiverReport: return .receiverReport
        case .sourceDescription: return .sourceDescription
        case .goodbye: return .goodbye
        case .application: return .application
        case .transportFeedback(let feedback):
            switch feedback.kind {
            case .nack: return .genericNACK
            case .transportWideCC: return .transportWideCC
            case .other(let format): return .transportFeedback(format: format)
            }
        case .payloadFeedback(let feedback):
            switch feedback.kind {
            case .pictureLossIndication: return .pictureLossIndication
            case .fullIntraRequest: return .fullIntraRequest
            case .receiverEstimatedMaximumBitrate(let remb): return .receiverEstimatedMaximumBitrate(bitrate: remb.bitrate)
            case .applicationLayer: return .payloadFeedback(format: 15)
            case .other(let format): return .payloadFeedback(format: format)
            }
        case .unknown(let type):
            return type == .extendedReport ? .extendedReport : .unknown(packetType: type.rawValue)
        }
    }
}
