import Testing
@testable import Wire

@Suite("H.265")
struct H265Tests {
    // NAL unit headers: type << 1, then layer 0 and TID 1.
    static let vps: [UInt8] = [0x40, 0x01, 0x0C, 0x01, 0xFF]
    static let sps: [UInt8] = [0x42, 0x01, 0x01, 0x01, 0x60]
    static let pps: [UInt8] = [0x44, 0x01, 0xC1, 0x72]
    static let idr: [UInt8] = [0x26, 0x01] + (0..<2500).map { UInt8($0 % 253) }  // IDR_W_RADL (19)
    static let trail: [UInt8] = [0x02, 0x01, 0xD0, 0x09]                        // TRAIL_R (1)

    func run(_ packets: [([UInt8], Int64, Bool)]) -> (units: [AccessUnit], errors: [VideoPayloadError], depacketizer: VideoDepacketizer) {
        var depacketizer = VideoDepacketizer(codec: .h265)
        var units: [AccessUnit] = []
        var errors: [VideoPayloadError] = []
        for (payload, timestamp, marker) in packets {
            do {
                try payload.withBytes { raw in
                    try depacketizer.push(payload: raw, timestamp: timestamp, marker: marker, lossBefore: false) { units.append($0) }
                }
            } catch let error as VideoPayloadError {
                errors.append(error)
            } catch {
                Issue.record("untyped \(error)")
            }
        }
        return (units, errors, depacketizer)
    }

    static func aggregation(_ units: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = [48 << 1, 0x01]
        for unit in units { out += [UInt8(unit.count >> 8), UInt8(unit.count & 0xFF)] + unit }
        return out
    }

    static func fragments(_ unit: [UInt8], size: Int) -> [[UInt8]] {
        let type = unit[0] >> 1 & 0x3F
        let body = Array(unit.dropFirst(2))
        return stride(from: 0, to: body.count, by: size).map { start in
            let end = min(body.count, start + size)
            let fu: UInt8 = (start == 0 ? 0x80 : 0) | (end == body.count ? 0x40 : 0) | type
            return [unit[0] & 0x81 | 49 << 1, unit[1], fu] + body[start..<end]
        }
    }

    @Test func aggregationFragmentsAndSingleUnits() {
        let pieces = Self.fragments(Self.idr, size: 1000)
        let packets: [([UInt8], Int64, Bool)] = [(Self.aggregation([Self.vps, Self.sps, Self.pps]), 0, false)]
            + pieces.enumerated().map { ($1, 0, $0 == pieces.count - 1) }
            + [(Self.trail, 3000, true)]
        let result = run(packets)
        #expect(result.errors.isEmpty)
        #expect(result.units.count == 2)
        #expect(result.units[0].nalUnits == [Self.vps, Self.sps, Self.pps, Self.idr])
        #expect(result.units[0].isKeyframe && result.units[0].codec == .h265)
        #expect(result.units[1].nalUnits == [Self.trail] && !result.units[1].isKeyframe)
        #expect(result.depacketizer.parameterSets == ParameterSets(vps: Self.vps, sps: Self.sps, pps: Self.pps))
    }

    @Test func withoutAVPSNothingIsHandedOn() {
        let result = run([(Self.aggregation([Self.sps, Self.pps, Self.idr]), 0, true)])
        #expect(result.units.isEmpty)
        #expect(result.depacketizer.droppedFrames == 1)
    }

    @Test func malformedPayloadsAreTypedErrors() {
        let result = run([
            ([0x02], 0, false),                          // one byte: no payload header
            ([0x82, 0x01, 0], 0, false),                 // F bit
            ([50 << 1, 0x01, 0, 0], 0, false),           // PACI
            ([48 << 1, 0x01, 0, 9, 0x02, 0x01], 0, false),  // AP unit past the end
            ([49 << 1, 0x01], 0, false),                 // FU without its header
            ([49 << 1, 0x01, 0x41, 7], 0, false),        // FU end without start
        ])
        #expect(result.errors == [.truncated(available: 1), .forbiddenBit, .unsupportedType(50), .aggregationOverrun(offset: 2),
                                  .truncated(available: 2), .fragmentWithoutStart])
    }
}
