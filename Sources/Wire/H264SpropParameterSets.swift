/// Why a `sprop-parameter-sets` value (RFC 6184 section 8.1) was refused. (The SPS itself is read
/// by `H264SPS`, whose errors are `MP4Error.badParameterSet`.)
public enum H264ParameterSetError: Error, Hashable, Sendable {
    /// `sprop-parameter-sets` is not comma-separated base64 holding an SPS and a PPS (RFC 6184 section 8.1).
    case badSpropParameterSets(String)
}

extension ParameterSets {
    /// The SPS and PPS of an SDP `sprop-parameter-sets` value (RFC 6184 section 8.1): base64 NAL
    /// units separated by commas; the first SPS and the first PPS are used.
    public init(h264SpropParameterSets text: String) throws(H264ParameterSetError) {
        var sps: [UInt8]? = nil
        var pps: [UInt8]? = nil
        for part in text.split(separator: ",") {
            guard let nal = Base64.decode(part.utf8), let header = nal.first else {
                throw .badSpropParameterSets("\(part) is not base64")
            }
            switch header & 0x1F {
            case 7 where sps == nil: sps = nal
            case 8 where pps == nil: pps = nal
            default: break
            }
        }
        guard let sps, let pps else { throw .badSpropParameterSets("\(text) needs an SPS (type 7) and a PPS (type 8)") }
        self.init(sps: sps, pps: pps)
    }
}

/// Base64 (RFC 4648 section 4), padding optional, for SDP parameters.
enum Base64 {
    static func decode(_ text: some Collection<UInt8>) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        var padding = 0
        for c in text {
            let value: UInt32
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(c - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(c - UInt8(ascii: "a") + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(c - UInt8(ascii: "0") + 52)
            case UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "/"): value = 63
            case UInt8(ascii: "="): padding += 1; continue
            default: return nil
            }
            guard padding == 0 else { return nil }
            accumulator = accumulator << 6 | value
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        guard !out.isEmpty, padding <= 2, bits < 6 else { return nil }
        return out
    }
}
