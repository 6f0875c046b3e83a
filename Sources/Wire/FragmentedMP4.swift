/// The one video track of a recording or live view: codec, picture size and the sample entry's
/// decoder configuration, from the stream's parameter sets. Times are in the RTP clock (90 kHz),
/// so RTP timestamps become decode times without rounding.
public struct VideoTrack: Sendable, Hashable {
    public static let timescale: UInt32 = 90_000
    public static let trackID: UInt32 = 1

    public let codec: VideoCodec
    public let parameterSets: ParameterSets
    /// Displayed size in pixels (the `avc1`/`hvc1` box and `tkhd`).
    public let width: Int
    public let height: Int
    /// RFC 6381 `codecs` parameter (`avc1.64001f`), for Media Source Extensions.
    public let codecString: String
    /// The `avcC`/`hvcC` box, ready to write.
    let configurationBox: [UInt8]

    /// Reads the picture size and profile from the parameter sets; throws when they are missing or lie.
    public init(codec: VideoCodec, parameterSets: ParameterSets) throws(MP4Error) {
        self.codec = codec
        self.parameterSets = parameterSets
        switch codec {
        case .h264:
            let sps = try H264SPS(parameterSets.sps)
            guard !parameterSets.pps.isEmpty, parameterSets.pps[0] & 0x1F == 8 else {
                throw .badParameterSet(.pps, parameterSets.pps.isEmpty ? "missing" : "NAL unit type \(parameterSets.pps[0] & 0x1F), not 8 (PPS)")
            }
            guard parameterSets.sps.count <= 0xFFFF, parameterSets.pps.count <= 0xFFFF else {
                throw .badParameterSet(.sps, "parameter set longer than the 65535 bytes avcC can hold")
            }
            width = sps.width
            height = sps.height
            codecString = sps.codecString
            configurationBox = Self.avcC(sps, parameterSets)
        case .h265:
            let sps = try H265SPS(parameterSets.sps)
            guard let vps = parameterSets.vps, !vps.isEmpty, vps[0] >> 1 & 0x3F == 32 else {
                throw .badParameterSet(.vps, "H.265 needs a VPS (NAL unit type 32)")
            }
            guard !parameterSets.pps.isEmpty, parameterSets.pps[0] >> 1 & 0x3F == 34 else {
                throw .badParameterSet(.pps, "missing or not NAL unit type 34 (PPS)")
            }
            guard vps.count <= 0xFFFF, parameterSets.sps.count <= 0xFFFF, parameterSets.pps.count <= 0xFFFF else {
                throw .badParameterSet(.sps, "parameter set longer than the 65535 bytes hvcC can hold")
            }
            width = sps.width
            height = sps.height
            codecString = sps.codecString
            configurationBox = Self.hvcC(sps, vps: vps, parameterSets)
        }
    }

    /// AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1), NAL lengths of 4 bytes.
    static func avcC(_ sps: H264SPS, _ sets: ParameterSets) -> [UInt8] {
        var b = MP4BoxWriter()
        b.box("avcC") { b in
            b.u8(1)
            b.u8(sps.profileIndication); b.u8(sps.profileCompatibility); b.u8(sps.levelIndication)
            b.u8(0xFC | 3)   // lengthSizeMinusOne
            b.u8(0xE0 | 1); b.u16(UInt16(sets.sps.count)); b.append(sets.sps)
            b.u8(1); b.u16(UInt16(sets.pps.count)); b.append(sets.pps)
            if [100, 110, 122, 144].contains(sps.profileIndication) {
                b.u8(0xFC | sps.chromaFormat)
                b.u8(0xF8 | (sps.bitDepthLuma - 8)); b.u8(0xF8 | (sps.bitDepthChroma - 8))
                b.u8(0)   // numOfSequenceParameterSetExt
            }
        }
        return b.bytes
    }

    /// HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 §8.3.3.1), one array per parameter set.
    static func hvcC(_ sps: H265SPS, vps: [UInt8], _ sets: ParameterSets) -> [UInt8] {
        var b = MP4BoxWriter()
        b.box("hvcC") { b in
            b.u8(1)
            b.append(sps.profileTierLevel)   // 12 bytes: profile space … general_level_idc
            b.u16(0xF000)                     // min_spatial_segmentation_idc 0
            b.u8(0xFC)                        // parallelismType 0
            b.u8(0xFC | sps.chromaFormat)
            b.u8(0xF8 | (sps.bitDepthLuma - 8)); b.u8(0xF8 | (sps.bitDepthChroma - 8))
            b.u16(0)                          // avgFrameRate unknown
            // constantFrameRate 0, numTemporalLayers, temporalIdNested, lengthSizeMinusOne 3
            b.u8(UInt8(sps.maxSubLayers & 7) << 3 | (sps.temporalIDNesting ? 0x04 : 0) | 3)
            b.u8(3)
            for (type, nal) in [(UInt8(32), vps), (33, sets.sps), (34, sets.pps)] {
                b.u8(0x80 | type)             // array_completeness 1
                b.u16(1); b.u16(UInt16(nal.count)); b.append(nal)
            }
        }
        return b.bytes
    }
}

/// One picture of a fragment: its duration in the track's timescale, whether a decoder can
/// start there, and its NAL units length-prefixed (4 bytes, big-endian: the `avcC`'s
/// lengthSizeMinusOne = 3).
public struct MP4Sample: Sendable, Hashable {
    public var duration: UInt32
    public var isSync: Bool
    public var data: [UInt8]

    public init(duration: UInt32, isSync: Bool, data: [UInt8]) {
        self.duration = duration
        self.isSync = isSync
        self.data = data
    }

    /// A picture's NAL units, each behind its 4-byte length (no start codes).
    public static func lengthPrefixed(_ nalUnits: [[UInt8]]) -> [UInt8] {
        var data: [UInt8] = []
        data.reserveCapacity(nalUnits.reduce(0) { $0 + 4 + $1.count })
        for nal in nalUnits {
            let n = UInt32(nal.count)
            data.append(UInt8(n >> 24)); data.append(UInt8(n >> 16 & 0xFF)); data.append(UInt8(n >> 8 & 0xFF)); data.append(UInt8(n & 0xFF))
            data.append(contentsOf: nal)
        }
        return data
    }
}

/// Fragmented MP4 (ISO/IEC 14496-12 §8.8): an init segment (`ftyp` + `moov`, no samples) that a
/// player or browser reads once, then self-contained fragments (`moof` + `mdat`), each playable
/// as soon as it is written. A file cut after any whole fragment is a valid file: what the
/// recorder's crash recovery relies on.
public enum FragmentedMP4 {
    /// `trun` sample_flags (§8.8.3.1): a sync sample depends on nothing; others on earlier pictures.
    static let syncSampleFlags: UInt32 = 0x0200_0000
    static let otherSampleFlags: UInt32 = 0x0101_0000

    /// `ftyp` + `moov` for one video track: empty sample tables and `mvex`, so every sample
    /// lives in the fragments that follow.
    public static func initSegment(_ track: VideoTrack) -> [UInt8] {
        var b = MP4BoxWriter(capacity: 800 + track.configurationBox.count)
        b.box("ftyp") { b in
            b.fourCC("isom"); b.u32(0x200)
            b.fourCC("isom"); b.fourCC("iso6"); b.fourCC("mp41")
            switch track.codec {
            case .h264: b.fourCC("avc1")
            case .h265: b.fourCC("hvc1")
            }
        }
        b.box("moov") { b in
            b.fullBox("mvhd") { b in
                b.u32(0); b.u32(0)              // creation, modification time
                b.u32(1000); b.u32(0)           // timescale; duration: unknown, fragments follow
                b.u32(0x0001_0000); b.u16(0x0100); b.zeros(10)
                b.unityMatrix()
                b.zeros(24)
                b.u32(VideoTrack.trackID + 1)   // next_track_ID
            }
            b.box("trak") { b in
                b.fullBox("tkhd", flags: 0x3) { b in   // enabled, in movie
                    b.u32(0); b.u32(0); b.u32(VideoTrack.trackID); b.u32(0); b.u32(0)
                    b.zeros(8); b.u16(0); b.u16(0); b.u16(0); b.u16(0)
                    b.unityMatrix()
                    b.u32(UInt32(track.width) << 16); b.u32(UInt32(track.height) << 16)
                }
                b.box("mdia") { b in
                    b.fullBox("mdhd") { b in
                        b.u32(0); b.u32(0); b.u32(VideoTrack.timescale); b.u32(0)
                        b.u16(0x55C4)   // language "und", ISO-639-2/T packed in 5-bit letters
                        b.u16(0)
                    }
                    b.fullBox("hdlr") { b in
                        b.u32(0); b.fourCC("vide"); b.zeros(12)
                        b.append(Array("VideoHandler".utf8)); b.u8(0)
                    }
                    b.box("minf") { b in
                        b.fullBox("vmhd", flags: 1) { b in b.zeros(8) }
                        b.box("dinf") { b in
                            b.fullBox("dref") { b in
                                b.u32(1)
                                b.fullBox("url ", flags: 1) { _ in }   // media in this file
                            }
                        }
                        b.box("stbl") { b in
                            b.fullBox("stsd") { b in
                                b.u32(1)
                                sampleEntry(track, into: &b)
                            }
                            b.fullBox("stts") { b in b.u32(0) }
                            b.fullBox("stsc") { b in b.u32(0) }
                            b.fullBox("stsz") { b in b.u32(0); b.u32(0) }
                            b.fullBox("stco") { b in b.u32(0) }
                        }
                    }
                }
            }
            b.box("mvex") { b in
                b.fullBox("trex") { b in
                    b.u32(VideoTrack.trackID); b.u32(1); b.u32(0); b.u32(0); b.u32(0)
                }
            }
        }
        return b.bytes
    }

    /// VisualSampleEntry (§12.1.3) `avc1`/`hvc1` with its decoder configuration box.
    static func sampleEntry(_ track: VideoTrack, into b: inout MP4BoxWriter) {
        let body: (inout MP4BoxWriter) -> Void = { b in
            b.zeros(6); b.u16(1)                      // reserved, data_reference_index
            b.zeros(16)                               // pre_defined, reserved
            b.u16(UInt16(track.width)); b.u16(UInt16(track.height))
            b.u32(0x0048_0000); b.u32(0x0048_0000)    // 72 dpi
            b.u32(0); b.u16(1)                        // reserved, frame_count
            b.zeros(32)                               // compressorname
            b.u16(0x0018); b.u16(0xFFFF)              // depth, pre_defined = -1
            b.append(track.configurationBox)
        }
        switch track.codec {
        case .h264: b.box("avc1", body)
        case .h265: b.box("hvc1", body)
        }
    }

    /// One fragment: `moof` (`mfhd` with `sequenceNumber`, `traf` with `tfhd`, `tfdt` =
    /// `baseDecodeTime`, `trun` with each sample's duration, size and flags) and the `mdat`
    /// holding the samples in order. `sequenceNumber` starts at 1 and increases by one.
    public static func fragment(sequenceNumber: UInt32, baseDecodeTime: UInt64, samples: [MP4Sample]) -> [UInt8] {
        var bytes = fragmentHeader(sequenceNumber: sequenceNumber, baseDecodeTime: baseDecodeTime, samples: samples,
                                   reserving: samples.reduce(0) { $0 + $1.data.count })
        for sample in samples { bytes.append(contentsOf: sample.data) }
        return bytes
    }

    /// The fragment without its pictures: `moof` and the `mdat` header, which the samples' data
    /// follow in order. A writer that has the pictures in hand writes them after it (writev)
    /// instead of copying a second of video into one buffer.
    public static func fragmentHeader(sequenceNumber: UInt32, baseDecodeTime: UInt64, samples: [MP4Sample], reserving extra: Int = 0) -> [UInt8] {
        let payload = samples.reduce(0) { $0 + $1.data.count }
        var b = MP4BoxWriter(capacity: 120 + samples.count * 12 + extra)
        b.box("moof") { b in
            b.fullBox("mfhd") { b in b.u32(sequenceNumber) }
            b.box("traf") { b in
                b.fullBox("tfhd", flags: 0x02_0000) { b in b.u32(VideoTrack.trackID) }   // default-base-is-moof
                b.fullBox("tfdt", version: 1) { b in b.u64(baseDecodeTime) }
                // data-offset, sample-duration, sample-size, sample-flags present
                b.fullBox("trun", flags: 0x000001 | 0x000100 | 0x000200 | 0x000400) { b in
                    b.u32(UInt32(samples.count))
                    b.u32(0)   // data_offset, patched below: moof size + mdat header
                    for sample in samples {
                        b.u32(sample.duration)
                        b.u32(UInt32(sample.data.count))
                        b.u32(sample.isSync ? syncSampleFlags : otherSampleFlags)
                    }
                }
            }
        }
        let moofSize = b.bytes.count
        // trun's data_offset follows moof's header (8), mfhd (16), traf's header (8), tfhd (16), tfdt (20)
        // and trun's header, version/flags and sample_count (16).
        let dataOffsetAt = 8 + 16 + 8 + 16 + 20 + 16
        let dataOffset = UInt32(moofSize + 8)
        b.bytes[dataOffsetAt] = UInt8(dataOffset >> 24); b.bytes[dataOffsetAt + 1] = UInt8(dataOffset >> 16 & 0xFF)
        b.bytes[dataOffsetAt + 2] = UInt8(dataOffset >> 8 & 0xFF); b.bytes[dataOffsetAt + 3] = UInt8(dataOffset & 0xFF)
        b.u32(UInt32(8 + payload)); b.fourCC("mdat")
        return b.bytes
    }
}
