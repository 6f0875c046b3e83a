/// What an H.265 sequence parameter set (ITU-T H.265 §7.3.2.2) says about the pictures: the
/// profile, tier and level an `hvcC` box repeats, and the displayed size.
public struct H265SPS: Sendable, Hashable {
    /// general_profile_space … general_level_idc as coded (§7.3.3): the 12 bytes `hvcC` copies.
    public var profileTierLevel: [UInt8]
    public var maxSubLayers: Int
    public var temporalIDNesting: Bool
    public var chromaFormat: UInt8
    public var bitDepthLuma: UInt8
    public var bitDepthChroma: UInt8
    /// Displayed size in pixels, after the conformance window.
    public var width: Int
    public var height: Int

    /// Parses an SPS NAL unit (with its two-byte header, without start code).
    public init(_ nal: [UInt8]) throws(MP4Error) {
        guard nal.count >= 2 else { throw .badParameterSet(.sps, "shorter than its NAL unit header") }
        guard nal[0] >> 1 & 0x3F == 33 else { throw .badParameterSet(.sps, "NAL unit type \(nal[0] >> 1 & 0x3F), not 33 (SPS)") }
        var bits = RBSPBitReader(H264SPS.unescape(nal.dropFirst(2)))
        do {
            _ = try bits.bits(4)   // sps_video_parameter_set_id
            maxSubLayers = Int(try bits.bits(3)) + 1
            temporalIDNesting = try bits.flag()
            var ptl: [UInt8] = []
            for _ in 0..<12 { ptl.append(try bits.byte()) }
            profileTierLevel = ptl
            var profilePresent: [Bool] = [], levelPresent: [Bool] = []
            for _ in 0..<(maxSubLayers - 1) {
                profilePresent.append(try bits.flag())
                levelPresent.append(try bits.flag())
            }
            if maxSubLayers > 1 { for _ in (maxSubLayers - 1)..<8 { _ = try bits.bits(2) } }
            for layer in 0..<(maxSubLayers - 1) {
                if profilePresent[layer] { for _ in 0..<11 { _ = try bits.byte() } }
                if levelPresent[layer] { _ = try bits.byte() }
            }
            _ = try bits.unsignedExpGolomb(max: 15)   // sps_seq_parameter_set_id
            chromaFormat = UInt8(try bits.unsignedExpGolomb(max: 3))
            let separateColourPlanes = chromaFormat == 3 ? try bits.flag() : false
            let codedWidth = try bits.unsignedExpGolomb(max: 65_535)
            let codedHeight = try bits.unsignedExpGolomb(max: 65_535)
            var window = (left: 0, right: 0, top: 0, bottom: 0)
            if try bits.flag() {
                window = (try bits.unsignedExpGolomb(max: 65_535), try bits.unsignedExpGolomb(max: 65_535),
                          try bits.unsignedExpGolomb(max: 65_535), try bits.unsignedExpGolomb(max: 65_535))
            }
            bitDepthLuma = UInt8(8 + (try bits.unsignedExpGolomb(max: 8)))
            bitDepthChroma = UInt8(8 + (try bits.unsignedExpGolomb(max: 8)))
            let arrayType = separateColourPlanes ? 0 : chromaFormat
            let unitX = arrayType == 1 || arrayType == 2 ? 2 : 1
            let unitY = arrayType == 1 ? 2 : 1
            width = codedWidth - unitX * (window.left + window.right)
            height = codedHeight - unitY * (window.top + window.bottom)
            guard codedWidth > 0, codedHeight > 0, width > 0, height > 0 else {
                throw MP4Error.badParameterSet(.sps, "a \(codedWidth)×\(codedHeight) picture with conformance window \(window) has no pixels")
            }
            guard codedWidth <= H264SPS.maximumDimension, codedHeight <= H264SPS.maximumDimension else {
                throw MP4Error.badParameterSet(.sps, "claims a \(codedWidth)×\(codedHeight) picture, larger than any H.265 level allows")
            }
        } catch let error as MP4Error {
            throw error
        } catch {
            throw .badParameterSet(.sps, "\(error)")
        }
    }

    /// The RFC 6381 / ISO/IEC 14496-15 Annex E `codecs` parameter, e.g. `hvc1.1.6.L93.B0`.
    public var codecString: String {
        let space = ["", "A", "B", "C"][Int(profileTierLevel[0] >> 6)]
        let profile = profileTierLevel[0] & 0x1F
        var compatibility: UInt32 = 0
        for index in 1...4 { compatibility = compatibility << 8 | UInt32(profileTierLevel[index]) }
        let tier = profileTierLevel[0] & 0x20 != 0 ? "H" : "L"
        var constraints = Array(profileTierLevel[5..<11])
        while constraints.last == 0 { constraints.removeLast() }
        var text = "hvc1.\(space)\(profile).\(String(compatibility.bitReversed, radix: 16)).\(tier)\(profileTierLevel[11])"
        for byte in constraints { text += "." + String(byte, radix: 16, uppercase: true) }
        return text
    }
}

extension UInt32 {
    var bitReversed: UInt32 {
        var value = self, result: UInt32 = 0
        for _ in 0..<32 { result = result << 1 | value & 1; value >>= 1 }
        return result
    }
}
