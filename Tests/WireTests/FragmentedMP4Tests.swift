import Testing
import TestSupport
@testable import Wire

/// The fMP4 writer on bytes (box layout, the SPS reader, the fragment reader) and on real
/// H.264 from libx264, checked by ffprobe and decoded by ffmpeg.
@Suite struct FragmentedMP4Tests {
    /// A real 640×360 SPS from libx264 (High profile, level 3.0, 368 coded lines cropped to 360).
    static let directory = try! TemporaryDirectory(prefix: "fmp4")
    static let video = try! TestVideo(seconds: 4, in: directory)

    static func track() throws -> VideoTrack {
        try VideoTrack(codec: .h264, parameterSets: ParameterSets(sps: video.sps, pps: video.pps))
    }

    static func units(_ video: TestVideo, startingAt start: Int64 = 900_000) -> [AccessUnit] {
        let step = Int64(90_000 / video.rate)
        return video.pictures.enumerated().map { index, picture in
            AccessUnit(codec: .h264, nalUnits: picture.nalUnits, timestamp: start + Int64(index) * step, isKeyframe: picture.isKeyframe)
        }
    }

    /// Init segment + all fragments, as the recorder writes them.
    static func file(_ video: TestVideo, fragmentDuration: Int64 = 90_000) throws -> (bytes: [UInt8], fragments: [MP4Fragment]) {
        let track = try VideoTrack(codec: .h264, parameterSets: ParameterSets(sps: video.sps, pps: video.pps))
        var fragmenter = MP4Fragmenter(track: track, fragmentDuration: fragmentDuration)
        var bytes = FragmentedMP4.initSegment(track)
        var fragments: [MP4Fragment] = []
        for unit in units(video) {
            if let fragment = try fragmenter.append(unit) { fragments.append(fragment) }
        }
        if let last = fragmenter.finish() { fragments.append(last) }
        for fragment in fragments { bytes += fragment.bytes }
        return (bytes, fragments)
    }

    static func reader(_ bytes: [UInt8]) -> (Int, Int) throws -> [UInt8] {
        { offset, count in Array(bytes[offset..<min(bytes.count, offset + count)]) }
    }

    // MARK: SPS

    @Test func spsOfRealVideoGivesTheDisplayedSize() throws {
        let sps = try H264SPS(Self.video.sps)
        #expect(sps.width == 640 && sps.height == 360)
        #expect(sps.profileIndication == 100)   // libx264's default, High
        #expect(sps.codecString.hasPrefix("avc1.64"))
        #expect(sps.chromaFormat == 1 && sps.bitDepthLuma == 8)
    }

    @Test func otherSizesAndProfiles() throws {
        let directory = try TemporaryDirectory(prefix: "sps")
        for (width, height, profile) in [(1920, 1080, "high"), (352, 288, "baseline"), (1280, 720, "main")] {
            let run = try TestProcess.run("ffmpeg", ["-y", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=\(width)x\(height):rate=5",
                                                     "-frames:v", "1", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-profile:v", profile, "-f", "h264", directory.file("a.h264")])
            try #require(run.status == 0, "\(run.stderr)")
            let nal = try #require(TestVideo.splitAnnexB(try readBytes(directory.file("a.h264"))).first { $0[0] & 0x1F == 7 })
            let sps = try H264SPS(nal)
            #expect(sps.width == width && sps.height == height, "\(profile) \(width)x\(height): read \(sps.width)x\(sps.height)")
        }
    }

    @Test func spsThatLiesIsRefusedWithAReason() throws {
        // Baseline SPS claiming 4096 macroblocks wide (65,536 pixels).
        var bits: [Bool] = []
        func ue(_ value: Int) {
            let code = value + 1
            let length = Int.bitWidth - code.leadingZeroBitCount
            bits += Array(repeating: false, count: length - 1)
            for shift in stride(from: length - 1, through: 0, by: -1) { bits.append(code >> shift & 1 == 1) }
        }
        func pack() -> [UInt8] {
            var bytes: [UInt8] = [0x67, 66, 0xC0, 30]
            var padded = bits + [true]
            while padded.count % 8 != 0 { padded.append(false) }
            for index in stride(from: 0, to: padded.count, by: 8) {
                bytes.append(padded[index..<(index + 8)].reduce(0) { $0 << 1 | ($1 ? 1 : 0) })
            }
            return bytes
        }
        ue(0); ue(0); ue(0); ue(0); ue(1); bits.append(false)
        ue(4095); ue(10); bits += [true, true, false]
        #expect(throws: MP4Error.self) { try H264SPS(pack()) }
        do { _ = try H264SPS(pack()) } catch { #expect("\(error)".contains("65536×176"), "\(error)") }

        // Cropping more than the picture.
        bits = []
        ue(0); ue(0); ue(0); ue(0); ue(1); bits.append(false)
        ue(9); ue(9); bits += [true, true, true]; ue(200); ue(0); ue(0); ue(0)
        do { _ = try H264SPS(pack()); Issue.record("accepted a crop wider than the picture") } catch {
            #expect("\(error)".contains("removes the whole"), "\(error)")
        }

        // Cut short before the size, and not an SPS at all.
        do { _ = try H264SPS(Array(Self.video.sps.prefix(6))); Issue.record("accepted a truncated SPS") } catch {
            #expect("\(error)".contains("bad SPS"), "\(error)")
        }
        #expect(throws: MP4Error.badParameterSet(.sps, "NAL unit type 8, not 7 (SPS)")) { try H264SPS(Self.video.pps) }
        #expect(throws: MP4Error.badParameterSet(.sps, "empty NAL unit")) { try H264SPS([]) }
        // A track needs a PPS too.
        #expect(throws: MP4Error.self) { try VideoTrack(codec: .h264, parameterSets: ParameterSets(sps: Self.video.sps, pps: [])) }
    }

    // MARK: Boxes

    @Test func initSegmentLayout() throws {
        let track = try Self.track()
        let bytes = FragmentedMP4.initSegment(track)
        #expect(MP4FragmentReader.fourCC(bytes, 4) == "ftyp")
        let ftypSize = Int(MP4FragmentReader.u32(bytes, 0))
        #expect(MP4FragmentReader.fourCC(bytes, ftypSize + 4) == "moov")
        #expect(Int(MP4FragmentReader.u32(bytes, ftypSize)) == bytes.count - ftypSize, "moov runs to the end")
        let moov = Array(bytes[ftypSize...])
        let (codec, timescale) = try MP4FragmentReader.movie(moov, offset: ftypSize)
        #expect(codec == .h264 && timescale == 90_000)
        for path in [["mvhd"], ["trak", "tkhd"], ["trak", "mdia", "hdlr"], ["trak", "mdia", "minf", "vmhd"], ["trak", "mdia", "minf", "dinf", "dref"],
                     ["trak", "mdia", "minf", "stbl", "stts"], ["trak", "mdia", "minf", "stbl", "stsc"], ["trak", "mdia", "minf", "stbl", "stsz"],
                     ["trak", "mdia", "minf", "stbl", "stco"], ["mvex", "trex"]] {
            #expect(MP4FragmentReader.child(moov, path: path, from: 8) != nil, "moov/\(path.joined(separator: "/"))")
        }
        // avc1 carries the size, avcC the SPS and PPS verbatim.
        let stsd = try #require(MP4FragmentReader.child(moov, path: ["trak", "mdia", "minf", "stbl", "stsd"], from: 8))
        let avc1 = stsd.body + 8
        #expect(MP4FragmentReader.fourCC(moov, avc1 + 4) == "avc1")
        #expect(MP4FragmentReader.u32(moov, avc1 + 32) == 640 << 16 | 360)
        let avcC = try #require(MP4FragmentReader.child(moov, path: ["avcC"], from: avc1 + 8 + 78, end: avc1 + Int(MP4FragmentReader.u32(moov, avc1))))
        let sps = Self.video.sps, pps = Self.video.pps
        #expect(Array(moov[avcC.body..<(avcC.body + 6)]) == [1, sps[1], sps[2], sps[3], 0xFF, 0xE1])
        #expect(Array(moov[(avcC.body + 8)..<(avcC.body + 8 + sps.count)]) == sps)
        let ppsAt = avcC.body + 8 + sps.count
        #expect(moov[ppsAt] == 1 && Int(moov[ppsAt + 1]) << 8 | Int(moov[ppsAt + 2]) == pps.count)
        #expect(Array(moov[(ppsAt + 3)..<(ppsAt + 3 + pps.count)]) == pps)
        // tkhd width/height, 16.16 fixed point.
        let tkhd = try #require(MP4FragmentReader.child(moov, path: ["trak", "tkhd"], from: 8))
        #expect(MP4FragmentReader.u32(moov, tkhd.end - 8) == 640 << 16 && MP4FragmentReader.u32(moov, tkhd.end - 4) == 360 << 16)
    }

    @Test func fragmentLayoutPointsAtItsSamples() throws {
        let samples = [MP4Sample(duration: 3600, isSync: true, data: MP4Sample.lengthPrefixed([[0x65, 1, 2], [0x06, 9]])),
                       MP4Sample(duration: 3000, isSync: false, data: MP4Sample.lengthPrefixed([[0x41, 7]]))]
        let bytes = FragmentedMP4.fragment(sequenceNumber: 7, baseDecodeTime: 1 << 33, samples: samples)
        #expect(samples[0].data == [0, 0, 0, 3, 0x65, 1, 2, 0, 0, 0, 2, 0x06, 9])
        let moofSize = Int(MP4FragmentReader.u32(bytes, 0))
        #expect(MP4FragmentReader.fourCC(bytes, 4) == "moof" && MP4FragmentReader.fourCC(bytes, moofSize + 4) == "mdat")
        let mfhd = try #require(MP4FragmentReader.child(bytes, path: ["mfhd"], from: 8))
        #expect(MP4FragmentReader.u32(bytes, mfhd.body + 4) == 7)
        let tfdt = try #require(MP4FragmentReader.child(bytes, path: ["traf", "tfdt"], from: 8))
        #expect(bytes[tfdt.body] == 1 && MP4FragmentReader.u64(bytes, tfdt.body + 4) == 1 << 33)
        let table = try MP4FragmentReader.movieFragment(Array(bytes[..<moofSize]), offset: 0)
        #expect(table.dataOffset == moofSize + 8)
        #expect(table.sizes == [13, 6] && table.duration == 6600 && table.syncCount == 1)
        #expect(Array(bytes[table.dataOffset...]) == samples[0].data + samples[1].data)
        #expect(bytes.count == moofSize + 8 + 19)
    }

    @Test func fragmenterCutsAtKeyframesAndAfterItsDuration() throws {
        var fragmenter = MP4Fragmenter(track: try Self.track(), fragmentDuration: 45_000)
        var finished: [MP4Fragment] = []
        // 2 s at 25 fps, keyframe every 25: fragments of 0.5 s, a new one at each keyframe.
        for unit in Self.units(Self.video).prefix(50) {
            if let fragment = try fragmenter.append(unit) { finished.append(fragment) }
        }
        #expect(fragmenter.pendingCount > 0, "the last pictures wait for their successor")
        if let last = fragmenter.finish(nextTimestamp: 900_000 + 50 * 3600) { finished.append(last) }
        #expect(finished.map(\.sampleCount) == [13, 12, 13, 12])
        #expect(finished.map(\.keyframes) == [1, 0, 1, 0])
        #expect(finished.map(\.sequenceNumber) == [1, 2, 3, 4])
        #expect(finished.map(\.startTime) == [0, 46_800, 90_000, 136_800])
        #expect(finished.reduce(0) { $0 + $1.duration } == 180_000)
        // A picture of another codec, or without data, is refused.
        #expect(throws: MP4Error.codecMismatch(track: .h264, unit: .h265)) {
            try fragmenter.append(AccessUnit(codec: .h265, nalUnits: [[0x26, 1]], timestamp: 0, isKeyframe: true))
        }
        #expect(throws: MP4Error.emptyAccessUnit(timestamp: 5)) {
            try fragmenter.append(AccessUnit(codec: .h264, nalUnits: [], timestamp: 5, isKeyframe: false))
        }
    }

    @Test func timestampJumpsKeepThePreviousDuration() throws {
        var fragmenter = MP4Fragmenter(track: try Self.track())
        let picture = Self.video.pictures[0]
        var duration: UInt64 = 0
        for timestamp: Int64 in [0, 3000, 6000, 2_000_000, 1_000] {   // a 22 s jump, then backwards
            duration += try fragmenter.append(AccessUnit(codec: .h264, nalUnits: picture.nalUnits, timestamp: timestamp, isKeyframe: false))?.duration ?? 0
        }
        duration += fragmenter.finish()?.duration ?? 0
        #expect(duration == 5 * 3000)
    }

    // MARK: Real video through ffprobe and ffmpeg

    @Test func writtenFilePlaysInFFprobeAndFFmpeg() throws {
        let (bytes, fragments) = try Self.file(Self.video)
        let path = Self.directory.file("whole.mp4")
        try writeFile(path, bytes)
        let probe = try ProbeResult(path)
        #expect(probe.codec == "h264")
        #expect(probe.width == 640 && probe.height == 360)
        #expect(probe.frames == Self.video.pictures.count && probe.frames == 100)
        #expect(abs(probe.durationSeconds - 4.0) <= 0.04, "duration \(probe.durationSeconds)")
        #expect(try ProbeResult.decodeErrors(path) == "")
        #expect(fragments.count == 4 && fragments.allSatisfy { $0.keyframes == 1 })

        // The init segment alone, then the fragments: the same file (what a browser is sent).
        let initSegment = FragmentedMP4.initSegment(try Self.track())
        #expect(Array(bytes.prefix(initSegment.count)) == initSegment)
        #expect(initSegment.count + fragments.reduce(0) { $0 + $1.bytes.count } == bytes.count)
    }

    @Test func h265TrackPlaysToo() throws {
        let directory = try TemporaryDirectory(prefix: "hevc")
        let run = try TestProcess.run("ffmpeg", ["-y", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=10", "-t", "2",
                                                 "-pix_fmt", "yuv420p", "-c:v", "libx265", "-x265-params", "bframes=0:keyint=10:log-level=error",
                                                 "-f", "hevc", directory.file("a.hevc")])
        try #require(run.status == 0, "\(run.stderr)")
        let nals = TestVideo.splitAnnexB(try readBytes(directory.file("a.hevc")))
        func type(_ nal: [UInt8]) -> UInt8 { nal[0] >> 1 & 0x3F }
        let sets = ParameterSets(vps: nals.first { type($0) == 32 }, sps: try #require(nals.first { type($0) == 33 }),
                                 pps: try #require(nals.first { type($0) == 34 }))
        let track = try VideoTrack(codec: .h265, parameterSets: sets)
        #expect(track.width == 320 && track.height == 240)
        #expect(track.codecString.hasPrefix("hvc1.1."), "\(track.codecString)")
        var fragmenter = MP4Fragmenter(track: track)
        var bytes = FragmentedMP4.initSegment(track)
        var picture: [[UInt8]] = [], index: Int64 = 0
        func emit() throws {
            guard !picture.isEmpty else { return }
            let key = picture.contains { (16...23).contains(type($0)) }
            if let fragment = try fragmenter.append(AccessUnit(codec: .h265, nalUnits: picture, timestamp: index * 9000, isKeyframe: key)) { bytes += fragment.bytes }
            index += 1
            picture = []
        }
        for nal in nals {
            // first_slice_segment_in_pic_flag starts a picture; so do parameter sets after a slice.
            let isSlice = type(nal) < 32
            if picture.contains(where: { type($0) < 32 }) && (!isSlice || nal[2] & 0x80 != 0) { try emit() }
            picture.append(nal)
        }
        try emit()
        if let last = fragmenter.finish() { bytes += last.bytes }
        try writeFile(directory.file("a.mp4"), bytes)
        let probe = try ProbeResult(directory.file("a.mp4"))
        #expect(probe.codec == "hevc" && probe.width == 320 && probe.height == 240 && probe.frames == 20)
        #expect(abs(probe.durationSeconds - 2.0) <= 0.1, "duration \(probe.durationSeconds)")
        #expect(try ProbeResult.decodeErrors(directory.file("a.mp4")) == "")
    }

    // MARK: Reading back what is whole

    @Test func readerFindsTheLastWholeFragmentAtEveryCut() throws {
        let (bytes, fragments) = try Self.file(Self.video)
        let initLength = FragmentedMP4.initSegment(try Self.track()).count
        let whole = try MP4FragmentReader.whole(size: bytes.count, read: Self.reader(bytes))
        #expect(whole.wholeLength == bytes.count && whole.stoppedBecause == nil)
        #expect(whole.fragments == 4 && whole.samples == 100 && whole.keyframes == 4)
        #expect(whole.duration == 360_000 && whole.timescale == 90_000 && whole.codec == .h264 && whole.initLength == initLength)

        var ends = [initLength]
        for fragment in fragments { ends.append(ends.last! + fragment.bytes.count) }
        // Cut inside every fragment (header, table, data) and at the boundaries.
        for cut in [initLength, initLength + 3, initLength + 100, ends[1] - 1, ends[1], ends[1] + 9, ends[2] + 5000, ends[3] - 4, bytes.count - 1] {
            let prefix = Array(bytes[..<cut])
            let found = try MP4FragmentReader.whole(size: cut, read: Self.reader(prefix))
            let expected = ends.last { $0 <= cut }!
            #expect(found.wholeLength == expected, "cut at \(cut)")
            #expect(found.fragments == ends.firstIndex(of: expected)!)
            #expect((found.stoppedBecause == nil) == (cut == expected))
        }
    }

    @Test func garbageAfterTheLastFragmentIsReportedAndLeftOut() throws {
        let (bytes, _) = try Self.file(Self.video)
        let cases: [(String, [UInt8])] = [
            ("zeros", [UInt8](repeating: 0, count: 300)),   // size 0: never finished
            ("text", Array("this is not a box at all, just junk".utf8)),
            ("box smaller than its header", [0, 0, 0, 4, 0x6D, 0x6F, 0x6F, 0x66]),
            ("moof without mdat", Array(bytes[FragmentedMP4.initSegment(try Self.track()).count...].prefix(200))),
        ]
        for (name, tail) in cases {
            let damaged = bytes + tail
            let found = try MP4FragmentReader.whole(size: damaged.count, read: Self.reader(damaged))
            #expect(found.wholeLength == bytes.count, "\(name)")
            #expect(found.samples == 100, "\(name)")
            #expect(found.stoppedBecause != nil, "\(name)")
        }
        // No init segment: nothing to keep, and the error says why.
        #expect(throws: MP4Error.self) { try MP4FragmentReader.whole(size: 4, read: Self.reader([0, 0, 0, 8])) }
        let notMP4 = Array("RIFF....WEBPVP8 ".utf8)
        #expect(throws: MP4Error.self) { try MP4FragmentReader.whole(size: notMP4.count, read: Self.reader(notMP4)) }
    }

    @Test func trimmedFilePlays() throws {
        let (bytes, fragments) = try Self.file(Self.video)
        let cut = bytes.count - fragments.last!.bytes.count / 2
        let found = try MP4FragmentReader.whole(size: cut, read: Self.reader(Array(bytes[..<cut])))
        let path = Self.directory.file("trimmed.mp4")
        try writeFile(path, Array(bytes[..<found.wholeLength]))
        let probe = try ProbeResult(path)
        #expect(probe.frames == 75 && found.samples == 75)
        #expect(abs(probe.durationSeconds - 3.0) <= 0.04)
        #expect(try ProbeResult.decodeErrors(path) == "")
    }
}
