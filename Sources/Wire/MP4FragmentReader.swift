/// Reads back what `FragmentedMP4` writes, to find how much of a file cut short (a recorder
/// killed mid-write, a disk that filled) is whole: the init segment, then `moof` + `mdat` pairs
/// whose sample table agrees with their data. The bytes come through `read`, so the caller
/// decides how (a file, an array in tests); Wire does no I/O.
public enum MP4FragmentReader {
    /// The whole part of a file: keep `wholeLength` bytes, drop the rest.
    public struct Whole: Sendable, Hashable {
        public var codec: VideoCodec
        public var timescale: UInt32
        /// Bytes from the start that form a valid file (init segment plus whole fragments).
        public var wholeLength: Int
        /// Byte length of the init segment (`ftyp` + `moov`).
        public var initLength: Int
        public var fragments: Int
        public var samples: Int
        public var keyframes: Int
        /// Sum of sample durations, in `timescale` units.
        public var duration: UInt64
        /// Why reading stopped before the end of the file (nil: the file is whole).
        public var stoppedBecause: MP4Error?
    }

    /// The largest `moov` or `moof` read into memory (ours are a few hundred bytes; a 60 s
    /// fragment at 120 fps has 7,200 × 12 bytes of sample table).
    static let largestMetadataBox = 1 << 20

    /// Walks the top-level boxes of a file of `size` bytes. Throws when even the init segment
    /// is not whole (nothing in the file can be played); otherwise says how much is.
    public static func whole(size: Int, read: (_ offset: Int, _ count: Int) throws -> [UInt8]) throws -> Whole {
        var offset = 0
        let ftyp = try header(at: offset, size: size, read: read)
        guard ftyp.type == "ftyp" else { throw MP4Error.malformedBox(type: ftyp.type, offset: 0, reason: "an MP4 file starts with 'ftyp'") }
        offset += ftyp.size
        let moovHeader = try header(at: offset, size: size, read: read)
        guard moovHeader.type == "moov" else { throw MP4Error.malformedBox(type: moovHeader.type, offset: offset, reason: "'moov' expected after 'ftyp'") }
        guard moovHeader.size <= largestMetadataBox else {
            throw MP4Error.malformedBox(type: "moov", offset: offset, reason: "\(moovHeader.size) bytes, too large for an init segment")
        }
        let (codec, timescale) = try movie(try read(offset, moovHeader.size), offset: offset)
        offset += moovHeader.size
        var whole = Whole(codec: codec, timescale: timescale, wholeLength: offset, initLength: offset, fragments: 0, samples: 0,
                          keyframes: 0, duration: 0, stoppedBecause: nil)
        while offset < size {
            do {
                let moofHeader = try header(at: offset, size: size, read: read)
                if ["free", "skip", "styp", "sidx", "prft"].contains(moofHeader.type) {
                    offset += moofHeader.size
                    whole.wholeLength = offset
                    continue
                }
                guard moofHeader.type == "moof" else {
                    throw MP4Error.malformedBox(type: moofHeader.type, offset: offset, reason: "'moof' expected")
                }
                guard moofHeader.size <= largestMetadataBox else {
                    throw MP4Error.malformedBox(type: "moof", offset: offset, reason: "\(moofHeader.size) bytes, too large for a fragment header")
                }
                let fragment = try movieFragment(try read(offset, moofHeader.size), offset: offset)
                let mdatOffset = offset + moofHeader.size
                let mdat = try header(at: mdatOffset, size: size, read: read)
                guard mdat.type == "mdat" else {
                    throw MP4Error.malformedBox(type: mdat.type, offset: mdatOffset, reason: "'mdat' expected after 'moof'")
                }
                let payload = fragment.sizes.reduce(0, +)
                guard fragment.dataOffset == moofHeader.size + mdat.headerSize, payload <= mdat.size - mdat.headerSize else {
                    throw MP4Error.malformedBox(type: "moof", offset: offset,
                                                reason: "its samples (\(payload) bytes at \(fragment.dataOffset)) do not fit the 'mdat' that follows")
                }
                offset = mdatOffset + mdat.size
                whole.wholeLength = offset
                whole.fragments += 1
                whole.samples += fragment.sizes.count
                whole.keyframes += fragment.syncCount
                whole.duration += fragment.duration
            } catch let error as MP4Error {
                whole.stoppedBecause = error
                break
            }
        }
        return whole
    }

    struct BoxHeader { var type: String; var size: Int; var headerSize: Int }

    /// A box header at `offset`: 32-bit size or 64-bit `largesize`; the box must end inside the file.
    static func header(at offset: Int, size: Int, read: (Int, Int) throws -> [UInt8]) throws -> BoxHeader {
        let available = size - offset
        guard available >= 8 else { throw MP4Error.truncatedBox(type: "?", offset: offset, declared: 8, available: available) }
        let bytes = try read(offset, min(16, available))
        guard bytes.count >= 8 else { throw MP4Error.truncatedBox(type: "?", offset: offset, declared: 8, available: bytes.count) }
        let type = fourCC(bytes, 4)
        var boxSize = Int(u32(bytes, 0)), headerSize = 8
        if boxSize == 1 {
            guard bytes.count >= 16 else { throw MP4Error.truncatedBox(type: type, offset: offset, declared: 16, available: bytes.count) }
            let large = u64(bytes, 8)
            guard large <= UInt64(Int.max) else { throw MP4Error.malformedBox(type: type, offset: offset, reason: "size \(large)") }
            boxSize = Int(large)
            headerSize = 16
        } else if boxSize == 0 {
            // "to the end of the file": a writer that never came back to set the size.
            throw MP4Error.malformedBox(type: type, offset: offset, reason: "size 0 (never finished)")
        }
        guard boxSize >= headerSize else {
            throw MP4Error.malformedBox(type: type, offset: offset, reason: "size \(boxSize) is smaller than its header")
        }
        guard boxSize <= available else { throw MP4Error.truncatedBox(type: type, offset: offset, declared: boxSize, available: available) }
        return BoxHeader(type: type, size: boxSize, headerSize: headerSize)
    }

    /// The codec (sample entry type) and timescale (`mdhd`) of a `moov`.
    static func movie(_ moov: [UInt8], offset: Int) throws(MP4Error) -> (VideoCodec, UInt32) {
        guard let mdia = child(moov, path: ["trak", "mdia"], from: 8),
              let mdhd = child(moov, path: ["mdhd"], from: mdia.body, end: mdia.end),
              let stsd = child(moov, path: ["minf", "stbl", "stsd"], from: mdia.body, end: mdia.end),
              stsd.body + 16 <= stsd.end, mdhd.body + 4 <= mdhd.end else {
            throw .malformedBox(type: "moov", offset: offset, reason: "no video track with a sample description")
        }
        let version = moov[mdhd.body]
        let timescaleAt = mdhd.body + (version == 1 ? 20 : 12)
        guard timescaleAt + 4 <= mdhd.end else { throw .malformedBox(type: "mdhd", offset: offset + mdhd.body, reason: "too short") }
        let timescale = u32(moov, timescaleAt)
        let entry = fourCC(moov, stsd.body + 12)
        let codec: VideoCodec
        switch entry {
        case "avc1", "avc3": codec = .h264
        case "hvc1", "hev1": codec = .h265
        default: throw .malformedBox(type: "stsd", offset: offset + stsd.body, reason: "sample entry '\(entry)' is not H.264 or H.265")
        }
        guard timescale > 0 else { throw .malformedBox(type: "mdhd", offset: offset + mdhd.body, reason: "timescale 0") }
        return (codec, timescale)
    }

    struct FragmentTable { var dataOffset: Int; var sizes: [Int]; var duration: UInt64; var syncCount: Int }

    /// The sample table of a `moof` with one `traf` and one `trun` (what `FragmentedMP4` writes;
    /// defaults from `tfhd` are honoured, those from `trex` are not needed by our files).
    static func movieFragment(_ moof: [UInt8], offset: Int) throws(MP4Error) -> FragmentTable {
        guard let traf = child(moof, path: ["traf"], from: 8),
              let tfhd = child(moof, path: ["tfhd"], from: traf.body, end: traf.end),
              let trun = child(moof, path: ["trun"], from: traf.body, end: traf.end),
              tfhd.body + 8 <= tfhd.end, trun.body + 8 <= trun.end else {
            throw .malformedBox(type: "moof", offset: offset, reason: "no 'traf' with 'tfhd' and 'trun'")
        }
        let tfhdFlags = u32(moof, tfhd.body) & 0xFF_FFFF
        var at = tfhd.body + 8
        if tfhdFlags & 0x01 != 0 { at += 8 }   // base-data-offset: not ours
        if tfhdFlags & 0x02 != 0 { at += 4 }
        var defaultDuration: UInt32 = 0, defaultSize: UInt32 = 0, defaultFlags: UInt32 = 0
        if tfhdFlags & 0x08 != 0 { guard at + 4 <= tfhd.end else { throw short("tfhd") }; defaultDuration = u32(moof, at); at += 4 }
        if tfhdFlags & 0x10 != 0 { guard at + 4 <= tfhd.end else { throw short("tfhd") }; defaultSize = u32(moof, at); at += 4 }
        if tfhdFlags & 0x20 != 0 { guard at + 4 <= tfhd.end else { throw short("tfhd") }; defaultFlags = u32(moof, at); at += 4 }
        guard tfhdFlags & 0x01 == 0 else {
            throw .malformedBox(type: "tfhd", offset: offset + tfhd.body, reason: "an explicit base data offset (only default-base-is-moof is read)")
        }
        func short(_ type: String) -> MP4Error { .malformedBox(type: type, offset: offset, reason: "shorter than its flags say") }

        let flags = u32(moof, trun.body) & 0xFF_FFFF
        let count = Int(u32(moof, trun.body + 4))
        at = trun.body + 8
        guard flags & 0x01 != 0, at + 4 <= trun.end else {
            throw .malformedBox(type: "trun", offset: offset + trun.body, reason: "no data offset")
        }
        let dataOffset = Int(Int32(bitPattern: u32(moof, at)))
        at += 4
        var firstFlags: UInt32?
        if flags & 0x04 != 0 { guard at + 4 <= trun.end else { throw short("trun") }; firstFlags = u32(moof, at); at += 4 }
        let fields = [0x100, 0x200, 0x400, 0x800].filter { flags & UInt32($0) != 0 }.count
        guard count <= (trun.end - at) / max(1, fields * 4), at + count * fields * 4 <= trun.end else {
            throw .malformedBox(type: "trun", offset: offset + trun.body, reason: "\(count) samples do not fit its \(trun.end - trun.body) bytes")
        }
        var table = FragmentTable(dataOffset: dataOffset, sizes: [], duration: 0, syncCount: 0)
        table.sizes.reserveCapacity(count)
        for index in 0..<count {
            var duration = defaultDuration, size = defaultSize, sampleFlags = index == 0 ? firstFlags ?? defaultFlags : defaultFlags
            if flags & 0x100 != 0 { duration = u32(moof, at); at += 4 }
            if flags & 0x200 != 0 { size = u32(moof, at); at += 4 }
            if flags & 0x400 != 0 { sampleFlags = u32(moof, at); at += 4 }
            if flags & 0x800 != 0 { at += 4 }
            table.sizes.append(Int(size))
            table.duration += UInt64(duration)
            if sampleFlags & 0x0001_0000 == 0 { table.syncCount += 1 }
        }
        return table
    }

    /// The first box of type `path[0]` among the children in `from..<end`, then its child
    /// `path[1]`, and so on. Returns where the found box's body starts (after the header) and ends.
    static func child(_ bytes: [UInt8], path: [String], from start: Int, end: Int? = nil) -> (body: Int, end: Int)? {
        var range = (body: start, end: end ?? bytes.count)
        for type in path {
            var at = range.body
            var found: (Int, Int)?
            while at + 8 <= range.end {
                let size = Int(u32(bytes, at))
                guard size >= 8, at + size <= range.end else { return nil }
                if fourCC(bytes, at + 4) == type { found = (at + 8, at + size); break }
                at += size
            }
            guard let found else { return nil }
            range = found
        }
        return range
    }

    static func u32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
    }

    static func u64(_ b: [UInt8], _ at: Int) -> UInt64 { UInt64(u32(b, at)) << 32 | UInt64(u32(b, at + 4)) }

    static func fourCC(_ b: [UInt8], _ at: Int) -> String {
        String(decoding: b[at..<(at + 4)].map { $0 >= 0x20 && $0 < 0x7F ? $0 : 0x3F }, as: UTF8.self)
    }
}
