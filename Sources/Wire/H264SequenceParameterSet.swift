/// Why an H.264 SPS or `sprop-parameter-sets` value was refused.
public enum H264ParameterSetError: Error, Hashable, Sendable {
    /// Not a NAL unit of the expected type (7 for SPS, 8 for PPS).
    case wrongNALType(UInt8)
    /// The RBSP ended before the field named.
    case truncated(field: String)
    /// A field outside what ITU-T H.264 section 7.4.2.1.1 allows (the SPS lies).
    case outOfRange(field: String, value: Int)
    /// `sprop-parameter-sets` is not comma-separated base64 holding an SPS and a PPS (RFC 6184 section 8.1).
    case badSpropParameterSets(String)
}

/// What camhost needs from an H.264 sequence parameter set (ITU-T H.264 section 7.3.2.1.1): the
/// profile and level for the `avc1` codec string, and the picture size after cropping.
public struct H264SequenceParameterSet: Hashable, Sendable {
    public var profileIDC: UInt8
    /// constraint_set0..5 flags and the two reserved bits, as one byte.
    public var constraintFlags: UInt8
    public var levelIDC: UInt8
    public var chromaFormatIDC: Int
    public var width: Int
    public var height: Int

    /// The RFC 6381 codec string, e.g. `avc1.64001f` (profile, constraints, level in hex).
    public var codecString: String {
        "avc1." + Self.hex(profileIDC) + Self.hex(constraintFlags) + Self.hex(levelIDC)
    }

    /// Parses an SPS NAL unit (with its 1-byte NAL header, emulation prevention bytes included).
    public init(parsing nal: UnsafeRawBufferPointer) throws(H264ParameterSetError) {
        guard let header = nal.u8(at: 0) else { throw .truncated(field: "nal_unit_header") }
        guard header & 0x1F == 7 else { throw .wrongNALType(header & 0x1F) }
        var r = RBSPReader(bytes: nal, offset: 1)
        profileIDC = UInt8(try r.bits(8, "profile_idc"))
        constraintFlags = UInt8(try r.bits(8, "constraint_flags"))
        levelIDC = UInt8(try r.bits(8, "level_idc"))
        let id = try r.ue("seq_parameter_set_id")
        guard id <= 31 else { throw .outOfRange(field: "seq_parameter_set_id", value: id) }
        var chroma = 1
        var separateColourPlane = false
        if [100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].contains(profileIDC) {
            chroma = try r.ue("chroma_format_idc")
            guard chroma <= 3 else { throw .outOfRange(field: "chroma_format_idc", value: chroma) }
            if chroma == 3 { separateColourPlane = try r.flag("separate_colour_plane_flag") }
            let lumaDepth = try r.ue("bit_depth_luma_minus8")
            guard lumaDepth <= 6 else { throw .outOfRange(field: "bit_depth_luma_minus8", value: lumaDepth) }
            let chromaDepth = try r.ue("bit_depth_chroma_minus8")
            guard chromaDepth <= 6 else { throw .outOfRange(field: "bit_depth_chroma_minus8", value: chromaDepth) }
            _ = try r.flag("qpprime_y_zero_transform_bypass_flag")
            if try r.flag("seq_scaling_matrix_present_flag") {
                for list in 0..<(chroma == 3 ? 12 : 8) {
                    guard try r.flag("seq_scaling_list_present_flag") else { continue }
                    // Section 7.3.2.1.1.1: delta-coded until next_scale is 0.
                    var last = 8, next = 8
                    for _ in 0..<(list < 6 ? 16 : 64) where next != 0 {
                        let delta = try r.se("delta_scale")
                        guard (-128...127).contains(delta) else { throw .outOfRange(field: "delta_scale", value: delta) }
                        next = (last + delta + 256) % 256
                        if next != 0 { last = next }
                    }
                }
            }
        }
        chromaFormatIDC = chroma
        let log2MaxFrameNum = try r.ue("log2_max_frame_num_minus4")
        guard log2MaxFrameNum <= 12 else { throw .outOfRange(field: "log2_max_frame_num_minus4", value: log2MaxFrameNum) }
        let pocType = try r.ue("pic_order_cnt_type")
        switch pocType {
        case 0:
            let log2MaxPOC = try r.ue("log2_max_pic_order_cnt_lsb_minus4")
            guard log2MaxPOC <= 12 else { throw .outOfRange(field: "log2_max_pic_order_cnt_lsb_minus4", value: log2MaxPOC) }
        case 1:
            _ = try r.flag("delta_pic_order_always_zero_flag")
            _ = try r.se("offset_for_non_ref_pic")
            _ = try r.se("offset_for_top_to_bottom_field")
            let cycle = try r.ue("num_ref_frames_in_pic_order_cnt_cycle")
            guard cycle <= 255 else { throw .outOfRange(field: "num_ref_frames_in_pic_order_cnt_cycle", value: cycle) }
            for _ in 0..<cycle { _ = try r.se("offset_for_ref_frame") }
        case 2:
            break
        default:
            throw .outOfRange(field: "pic_order_cnt_type", value: pocType)
        }
        let refFrames = try r.ue("max_num_ref_frames")
        guard refFrames <= 16 else { throw .outOfRange(field: "max_num_ref_frames", value: refFrames) }
        _ = try r.flag("gaps_in_frame_num_value_allowed_flag")
        let widthInMBs = try r.ue("pic_width_in_mbs_minus1") + 1
        let heightInMapUnits = try r.ue("pic_height_in_map_units_minus1") + 1
        // Level 6.2 allows 139,264 macroblocks per frame: 1024 a side is more than any level.
        guard widthInMBs <= 1024 else { throw .outOfRange(field: "pic_width_in_mbs_minus1", value: widthInMBs - 1) }
        guard heightInMapUnits <= 1024 else { throw .outOfRange(field: "pic_height_in_map_units_minus1", value: heightInMapUnits - 1) }
        let frameMBsOnly = try r.flag("frame_mbs_only_flag")
        if !frameMBsOnly { _ = try r.flag("mb_adaptive_frame_field_flag") }
        _ = try r.flag("direct_8x8_inference_flag")
        var width = widthInMBs * 16
        var height = heightInMapUnits * 16 * (frameMBsOnly ? 1 : 2)
        if try r.flag("frame_cropping_flag") {
            let left = try r.ue("frame_crop_left_offset"), right = try r.ue("frame_crop_right_offset")
            let top = try r.ue("frame_crop_top_offset"), bottom = try r.ue("frame_crop_bottom_offset")
            // Table 6-1 and equations 7-19..7-22: crop units depend on chroma subsampling.
            let arrayType = separateColourPlane ? 0 : chroma
            let cropX = arrayType == 0 ? 1 : (arrayType == 3 ? 1 : 2)
            let cropY = (arrayType == 0 || arrayType == 3 ? 1 : (arrayType == 1 ? 2 : 1)) * (frameMBsOnly ? 1 : 2)
            let cropWidth = (left + right) * cropX, cropHeight = (top + bottom) * cropY
            guard cropWidth < width else { throw .outOfRange(field: "frame_crop_left_offset+frame_crop_right_offset", value: left + right) }
            guard cropHeight < height else { throw .outOfRange(field: "frame_crop_top_offset+frame_crop_bottom_offset", value: top + bottom) }
            width -= cropWidth
            height -= cropHeight
        }
        self.width = width
        self.height = height
    }

    static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }
}

/// Reads bits from an RBSP, skipping emulation prevention bytes (0x000003, ITU-T H.264 section 7.4.1).
struct RBSPReader {
    let bytes: UnsafeRawBufferPointer
    var offset: Int
    var bit = 0
    var zeros = 0
    var current: UInt8 = 0
    var loaded = false

    init(bytes: UnsafeRawBufferPointer, offset: Int) {
        self.bytes = bytes
        self.offset = offset
    }

    mutating func nextBit(_ field: String) throws(H264ParameterSetError) -> Int {
        if !loaded {
            guard var byte = bytes.u8(at: offset) else { throw .truncated(field: field) }
            if zeros >= 2 && byte == 3 {
                offset += 1
                zeros = 0
                guard let following = bytes.u8(at: offset) else { throw .truncated(field: field) }
                byte = following
            }
            zeros = byte == 0 ? zeros + 1 : 0
            current = byte
            loaded = true
            bit = 0
        }
        let value = Int(current >> (7 - bit) & 1)
        bit += 1
        if bit == 8 {
            loaded = false
            offset += 1
        }
        return value
    }

    mutating func bits(_ count: Int, _ field: String) throws(H264ParameterSetError) -> Int {
        var value = 0
        for _ in 0..<count { value = value << 1 | (try nextBit(field)) }
        return value
    }

    mutating func flag(_ field: String) throws(H264ParameterSetError) -> Bool { try nextBit(field) == 1 }

    /// Exp-Golomb ue(v) (section 9.1); more than 31 leading zeros cannot be a valid field.
    mutating func ue(_ field: String) throws(H264ParameterSetError) -> Int {
        var leadingZeros = 0
        while try nextBit(field) == 0 {
            leadingZeros += 1
            guard leadingZeros <= 31 else { throw .outOfRange(field: field, value: leadingZeros) }
        }
        return (1 << leadingZeros) - 1 + (try bits(leadingZeros, field))
    }

    /// se(v) (section 9.1.1).
    mutating func se(_ field: String) throws(H264ParameterSetError) -> Int {
        let k = try ue(field)
        return k & 1 == 1 ? (k + 1) / 2 : -(k / 2)
    }
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
