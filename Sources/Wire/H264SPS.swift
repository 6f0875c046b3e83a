/// What an H.264 sequence parameter set (ITU-T H.264 §7.3.2.1.1) says about the pictures: the
/// profile and level an `avcC` box repeats, and the displayed size the `avc1` sample entry and a
/// browser's `codecs` string need. Reads up to the frame cropping; the VUI is not needed.
public struct H264SPS: Sendable, Hashable {
    public var profileIndication: UInt8
    /// The constraint_set flags byte (`profile_compatibility` in `avcC`).
    public var profileCompatibility: UInt8
    public var levelIndication: UInt8
    /// 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4 (1 when the profile does not say).
    public var chromaFormat: UInt8
    public var bitDepthLuma: UInt8
    public var bitDepthChroma: UInt8
    /// Displayed size in pixels, after frame cropping.
    public var width: Int
    public var height: Int

    /// The largest size camhost accepts: the `avc1` box stores 16 bits, and no level of H.264
    /// goes past 8192 × 4320 (Table A-1); anything larger is an SPS that lies.
    public static let maximumDimension = 16_384

    /// Parses an SPS NAL unit (with its one-byte header, without start code).
    public init(_ nal: [UInt8]) throws(MP4Error) {
        guard let header = nal.first else { throw .badParameterSet(.sps, "empty NAL unit") }
        guard header & 0x1F == 7 else { throw .badParameterSet(.sps, "NAL unit type \(header & 0x1F), not 7 (SPS)") }
        var bits = RBSPBitReader(Self.unescape(nal.dropFirst()))
        do {
            profileIndication = try bits.byte()
            profileCompatibility = try bits.byte()
            levelIndication = try bits.byte()
            _ = try bits.unsignedExpGolomb(max: 31)   // seq_parameter_set_id
            chromaFormat = 1
            bitDepthLuma = 8
            bitDepthChroma = 8
            var separateColourPlanes = false
            if [100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].contains(profileIndication) {
                chromaFormat = UInt8(try bits.unsignedExpGolomb(max: 3))
                if chromaFormat == 3 { separateColourPlanes = try bits.flag() }
                bitDepthLuma = UInt8(8 + (try bits.unsignedExpGolomb(max: 6)))
                bitDepthChroma = UInt8(8 + (try bits.unsignedExpGolomb(max: 6)))
                _ = try bits.flag()   // qpprime_y_zero_transform_bypass_flag
                if try bits.flag() {   // seq_scaling_matrix_present_flag
                    for list in 0..<(chromaFormat == 3 ? 12 : 8) where try bits.flag() {
                        try bits.skipScalingList(size: list < 6 ? 16 : 64)
                    }
                }
            }
            _ = try bits.unsignedExpGolomb(max: 12)   // log2_max_frame_num_minus4
            switch try bits.unsignedExpGolomb(max: 2) {   // pic_order_cnt_type
            case 0:
                _ = try bits.unsignedExpGolomb(max: 12)
            case 1:
                _ = try bits.flag()
                _ = try bits.signedExpGolomb()
                _ = try bits.signedExpGolomb()
                for _ in 0..<(try bits.unsignedExpGolomb(max: 255)) { _ = try bits.signedExpGolomb() }
            default:
                break
            }
            _ = try bits.unsignedExpGolomb(max: 32)   // max_num_ref_frames
            _ = try bits.flag()
            let widthInMacroblocks = try bits.unsignedExpGolomb(max: 4095) + 1
            let heightInMapUnits = try bits.unsignedExpGolomb(max: 4095) + 1
            let frameMacroblocksOnly = try bits.flag()
            if !frameMacroblocksOnly { _ = try bits.flag() }
            _ = try bits.flag()   // direct_8x8_inference_flag
            let fieldFactor = frameMacroblocksOnly ? 1 : 2
            let codedWidth = widthInMacroblocks * 16
            let codedHeight = heightInMapUnits * 16 * fieldFactor
            var crop = (left: 0, right: 0, top: 0, bottom: 0)
            if try bits.flag() {
                crop = (try bits.unsignedExpGolomb(max: 8192), try bits.unsignedExpGolomb(max: 8192),
                        try bits.unsignedExpGolomb(max: 8192), try bits.unsignedExpGolomb(max: 8192))
            }
            // §7.4.2.1.1, frame_crop_*: crop units follow the chroma subsampling (ChromaArrayType).
            let arrayType = separateColourPlanes ? 0 : chromaFormat
            let unitX = arrayType == 0 ? 1 : (arrayType == 3 ? 1 : 2)
            let unitY = (arrayType == 0 ? 1 : (arrayType == 1 ? 2 : 1)) * fieldFactor
            width = codedWidth - unitX * (crop.left + crop.right)
            height = codedHeight - unitY * (crop.top + crop.bottom)
            guard width > 0, height > 0 else {
                throw MP4Error.badParameterSet(.sps, "frame cropping (\(crop.left), \(crop.right), \(crop.top), \(crop.bottom)) removes the whole \(codedWidth)×\(codedHeight) picture")
            }
            guard codedWidth <= Self.maximumDimension, codedHeight <= Self.maximumDimension else {
                throw MP4Error.badParameterSet(.sps, "claims a \(codedWidth)×\(codedHeight) picture, larger than any H.264 level allows")
            }
        } catch let error as MP4Error {
            throw error
        } catch {
            throw .badParameterSet(.sps, "\(error)")
        }
    }

    /// The RFC 6381 `codecs` parameter, e.g. `avc1.64001f`, as Media Source Extensions want it.
    public var codecString: String {
        "avc1." + [profileIndication, profileCompatibility, levelIndication].map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// The RBSP of a NAL unit: emulation prevention bytes (0x000003, §7.4.1) removed.
    static func unescape(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var zeros = 0
        for byte in bytes {
            if zeros >= 2 && byte == 3 { zeros = 0; continue }
            zeros = byte == 0 ? zeros + 1 : 0
            out.append(byte)
        }
        return out
    }
}

/// Why an RBSP bit read failed (internal: surfaces as `MP4Error.badParameterSet`).
enum RBSPError: Error, CustomStringConvertible {
    case truncated(bit: Int)
    case outOfRange(value: UInt64, max: Int, bit: Int)

    var description: String {
        switch self {
        case .truncated(let bit): "ends at bit \(bit), before the fields the picture size needs"
        case .outOfRange(let value, let max, let bit): "a field at bit \(bit) says \(value), more than the \(max) the standard allows"
        }
    }
}

/// Reads the fixed and Exp-Golomb coded fields of an RBSP (H.264 §7.2, §9.1).
struct RBSPBitReader {
    private let bytes: [UInt8]
    private(set) var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func bit() throws(RBSPError) -> UInt32 {
        guard position < bytes.count * 8 else { throw .truncated(bit: position) }
        let value = UInt32(bytes[position >> 3] >> (7 - UInt8(position & 7)) & 1)
        position += 1
        return value
    }

    mutating func flag() throws(RBSPError) -> Bool { try bit() == 1 }

    mutating func bits(_ count: Int) throws(RBSPError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<count { value = value << 1 | (try bit()) }
        return value
    }

    mutating func byte() throws(RBSPError) -> UInt8 { UInt8(try bits(8)) }

    /// ue(v), refused above `max` (a lying SPS must not make us compute with 2^32).
    mutating func unsignedExpGolomb(max: Int) throws(RBSPError) -> Int {
        let start = position
        var leadingZeros = 0
        while try bit() == 0 {
            leadingZeros += 1
            guard leadingZeros <= 31 else { throw .outOfRange(value: UInt64.max, max: max, bit: start) }
        }
        let value = (UInt64(1) << leadingZeros) - 1 + UInt64(try bits(leadingZeros))
        guard value <= UInt64(max) else { throw .outOfRange(value: value, max: max, bit: start) }
        return Int(value)
    }

    /// se(v).
    mutating func signedExpGolomb() throws(RBSPError) -> Int {
        let code = try unsignedExpGolomb(max: Int(Int32.max))
        return code & 1 == 1 ? (code + 1) / 2 : -(code / 2)
    }

    /// scaling_list() of §7.3.2.1.1.1: read to stay in step, values unused.
    mutating func skipScalingList(size: Int) throws(RBSPError) {
        var last = 8, next = 8
        for _ in 0..<size where next != 0 {
            let delta = try signedExpGolomb()
            next = (last + delta + 256) % 256
            if next != 0 { last = next }
        }
    }
}
