import Testing
@testable import Wire

@Suite("H.264")
struct H264Tests {
    // x264's parameter sets for 640x360 High and 1920x1080 Main (ffmpeg -c:v libx264).
    static let sps360: [UInt8] = hex("6764001eacd940a02ff97011000003000100000300320f162d96")
    static let pps360: [UInt8] = hex("68ebe3cb22c0")
    static let sps1080: [UInt8] = hex("674d4028eca03c0113f2e022000003000200000300641e30632c")

    static func hex(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = text.startIndex
        while i < text.endIndex {
            let j = text.index(i, offsetBy: 2)
            out.append(UInt8(text[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    static let idr: [UInt8] = [0x65, 0x88, 0x84, 0x00, 0x33]
    static let slice: [UInt8] = [0x41, 0x9A, 0x02, 0x04]

    struct Collector {
        var depacketizer = VideoDepacketizer()
        var units: [AccessUnit] = []
        var errors: [VideoPayloadError] = []

        mutating func push(_ payload: [UInt8], _ timestamp: Int64, marker: Bool = false, loss: Bool = false) {
            var emitted: [AccessUnit] = []
            do {
                try payload.withBytes { raw in
                    try depacketizer.push(payload: raw, timestamp: timestamp, marker: marker, lossBefore: loss) { emitted.append($0) }
                }
            } catch let error as VideoPayloadError {
                errors.append(error)
            } catch {
                Issue.record("untyped \(error)")
            }
            units += emitted
        }
    }

    static func stapA(_ units: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = [0x78]
        for unit in units { out += [UInt8(unit.count >> 8), UInt8(unit.count & 0xFF)] + unit }
        return out
    }

    static func fuA(_ unit: [UInt8], pieces: Int) -> [[UInt8]] {
        let body = Array(unit.dropFirst())
        let size = (body.count + pieces - 1) / pieces
        return stride(from: 0, to: body.count, by: size).map { start in
            let end = min(body.count, start + size)
            let s: UInt8 = start == 0 ? 0x80 : 0
            let e: UInt8 = end == body.count ? 0x40 : 0
            return [unit[0] & 0xE0 | 28, s | e | unit[0] & 0x1F] + body[start..<end]
        }
    }

    @Test func stapAThenFUAThenSingleNAL() {
        var c = Collector()
        c.push(Self.stapA([Self.sps360, Self.pps360]), 0)
        let bigIDR: [UInt8] = [0x65] + (0..<3000).map { UInt8($0 % 251) }
        let pieces = Self.fuA(bigIDR, pieces: 3)
        for (i, piece) in pieces.enumerated() { c.push(piece, 0, marker: i == pieces.count - 1) }
        c.push(Self.slice, 3000, marker: true)
        #expect(c.errors.isEmpty)
        #expect(c.units.count == 2)
        #expect(c.units[0].nalUnits == [Self.sps360, Self.pps360, bigIDR])
        #expect(c.units[0].isKeyframe && c.units[0].timestamp == 0)
        #expect(c.units[1].nalUnits == [Self.slice] && !c.units[1].isKeyframe && c.units[1].timestamp == 3000)
        #expect(c.depacketizer.parameterSets == ParameterSets(sps: Self.sps360, pps: Self.pps360))
        #expect(c.depacketizer.frames == 2 && c.depacketizer.keyframes == 1)
    }

    @Test func aTimestampChangeEndsAPictureWithoutMarker() {
        var c = Collector()
        c.push(Self.stapA([Self.sps360, Self.pps360, Self.idr]), 0)
        c.push(Self.slice, 3000)
        c.push(Self.slice, 6000, marker: true)
        #expect(c.units.map(\.timestamp) == [0, 3000, 6000])
    }

    @Test func picturesBeforeTheFirstKeyframeOrWithoutParameterSetsAreDropped() {
        var c = Collector()
        c.push(Self.slice, 0, marker: true)
        c.push(Self.idr, 3000, marker: true)  // no SPS/PPS yet
        #expect(c.units.isEmpty)
        #expect(c.depacketizer.droppedFrames == 2)
        var profiled = Collector(depacketizer: VideoDepacketizer(parameterSets: ParameterSets(sps: Self.sps360, pps: Self.pps360)))
        profiled.push(Self.idr, 0, marker: true)
        #expect(profiled.units.count == 1)
    }

    @Test func lossDropsThePictureAndWaitsForAKeyframe() {
        var c = Collector()
        c.push(Self.stapA([Self.sps360, Self.pps360, Self.idr]), 0, marker: true)
        let pieces = Self.fuA([0x41] + [UInt8](repeating: 7, count: 100), pieces: 3)
        c.push(pieces[0], 3000)
        c.push(pieces[2], 3000, marker: true, loss: true)  // the middle piece was lost
        c.push(Self.slice, 6000, marker: true)          // cannot be decoded without the lost picture
        c.push(Self.idr, 9000, marker: true)
        #expect(c.units.map(\.timestamp) == [0, 9000])
        #expect(c.depacketizer.droppedFrames == 2)
        #expect(c.errors == [.fragmentWithoutStart])
    }

    @Test func fragmentStormIsBoundedAndTheStreamGoesOn() {
        var c = Collector()
        c.depacketizer.maxNALUnitBytes = 64 * 1024
        c.push(Self.stapA([Self.sps360, Self.pps360, Self.idr]), 0, marker: true)
        // A fragmented unit that starts and never ends, 1 KB at a time, for 200 KB.
        let chunk = [UInt8](repeating: 0xAB, count: 1024)
        c.push([0x7C, 0x85] + chunk, 3000)
        for _ in 0..<200 { c.push([0x7C, 0x05] + chunk, 3000) }
        c.push(Self.idr, 6000, marker: true)
        #expect(c.errors.contains(.tooLarge(bytes: 64 * 1024 + 1)))
        #expect(c.units.map(\.timestamp) == [0, 6000])
    }

    @Test func malformedPayloadsAreTypedErrors() {
        var c = Collector()
        c.push([], 0)
        c.push([0x80 | 0x41], 0)
        c.push([0x79, 0, 1, 0x41], 0)           // STAP-B
        c.push([0x78, 0, 9, 0x41], 0)           // STAP-A unit past the end
        c.push([0x78, 0, 0, 0x41], 0)           // STAP-A unit of size 0
        c.push([0x7C], 0)                       // FU-A without its header
        c.push([0x7C, 0x45, 1], 0)              // FU-A end without start
        #expect(c.errors == [.truncated(available: 0), .forbiddenBit, .unsupportedType(25), .aggregationOverrun(offset: 1),
                             .aggregationOverrun(offset: 1), .truncated(available: 1), .fragmentWithoutStart])
        #expect(c.units.isEmpty)
    }

    @Test func sequenceParameterSets() throws {
        let high = try H264SPS(Self.sps360)
        #expect(high.width == 640 && high.height == 360)
        #expect(high.codecString == "avc1.64001e")
        let main = try H264SPS(Self.sps1080)
        #expect(main.width == 1920 && main.height == 1080)
        #expect(main.codecString == "avc1.4d4028")
    }

    @Test func spsThatLiesIsRefused() {
        func error(_ bytes: [UInt8]) -> String? {
            do { _ = try H264SPS(bytes); return nil } catch { return "\(error)" }
        }
        #expect(error(Self.pps360)?.contains("NAL unit type 8") == true)
        #expect(error([0x67, 0x64, 0x00]) != nil)
        // Every prefix that cuts a field camhost reads is refused, never crashes (the VUI after
        // the cropping fields, from byte 11 on here, is not read).
        for length in 0..<11 { #expect(error(Array(Self.sps360[0..<length])) != nil, "\(length)") }
        // Baseline, seq_parameter_set_id 40 (ue(40) is 00000 101001): above 31.
        #expect(error([0x67, 0x42, 0x00, 0x1E, 0b0000_0101, 0b0010_0000]) != nil)
        // Only zero bits: an Exp-Golomb code longer than any field.
        #expect(error([0x67, 0x42, 0, 0x1E] + [UInt8](repeating: 0, count: 8)) != nil)
    }

    @Test func spropParameterSets() throws {
        let sets = try ParameterSets(h264SpropParameterSets: "Z2QAHqzZQKAv+XARAAADAAEAAAMAMg8WLZY=,aOvjyyLA")
        #expect(sets.sps == Self.sps360 && sets.pps == Self.pps360)
        #expect(throws: H264ParameterSetError.self) { try ParameterSets(h264SpropParameterSets: "Z2QAHqzZ") }
        #expect(throws: H264ParameterSetError.self) { try ParameterSets(h264SpropParameterSets: "not base64!,aOvjyyLA") }
    }
}
