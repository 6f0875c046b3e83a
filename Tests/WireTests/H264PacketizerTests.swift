import Testing
import TestSupport
@testable import Wire

/// The simulator's packetizer (RFC 6184 single NAL unit and FU-A) against the receiver's
/// depacketizer: what goes in comes out, picture for picture and byte for byte.
@Suite struct H264PacketizerTests {
    /// Feeds every payload of `pictures` through a depacketizer, one RTP timestamp per picture.
    static func roundTrip(_ pictures: [[[UInt8]]], packetizer: H264Packetizer) throws -> (units: [AccessUnit], packets: [[UInt8]]) {
        var depacketizer = VideoDepacketizer(codec: .h264)
        var units: [AccessUnit] = []
        var packets: [[UInt8]] = []
        for (index, picture) in pictures.enumerated() {
            for (payload, marker) in packetizer.payloads(picture) {
                packets.append(payload)
                try payload.withUnsafeBytes { raw in
                    try depacketizer.push(payload: raw, timestamp: Int64(index) * 3600, marker: marker, lossBefore: false) { units.append($0) }
                }
            }
        }
        return (units, packets)
    }

    @Test func smallNALUnitsGoAsTheyAreAndTheMarkerEndsThePicture() throws {
        let sps: [UInt8] = [0x67, 0x42, 0xC0, 0x1E, 0xD9, 0x00, 0xA0, 0x2F, 0xF9, 0x70, 0x11, 0x00, 0x00, 0x03, 0x00, 0x01]
        let pps: [UInt8] = [0x68, 0xCB, 0x83, 0xCB, 0x20]
        let idr: [UInt8] = [0x65, 0x88] + [UInt8](repeating: 0x5A, count: 300)
        let payloads = H264Packetizer(maxPayloadBytes: 1200).payloads([sps, pps, idr])
        #expect(payloads.map(\.payload) == [sps, pps, idr])
        #expect(payloads.map(\.marker) == [false, false, true])
    }

    @Test func aLargeNALUnitIsSplitIntoFUAFragments() throws {
        // An IDR slice: the depacketizer hands on nothing before a keyframe.
        let slice: [UInt8] = [0x65, 0x88] + (0..<5000).map { UInt8(truncatingIfNeeded: $0) }
        let payloads = H264Packetizer(maxPayloadBytes: 1000).payloads([slice])
        #expect(payloads.count == 6)   // 5001 bytes after the NAL header, 998 per fragment
        #expect(payloads.allSatisfy { $0.payload.count <= 1000 })
        #expect(payloads.allSatisfy { $0.payload[0] == 0x60 | 28 })        // NRI 3, type 28 (FU-A)
        #expect(payloads.first!.payload[1] == 0x80 | 5)                    // S bit, type 5
        #expect(payloads.last!.payload[1] == 0x40 | 5)                     // E bit
        #expect(payloads.dropFirst().dropLast().allSatisfy { $0.payload[1] == 5 })
        #expect(payloads.map(\.marker) == [false, false, false, false, false, true])
        // With its parameter sets (the depacketizer hands on no picture without them).
        let sps: [UInt8] = [0x67, 0x42, 0xC0, 0x1E, 0xD9, 0x00, 0xA0, 0x2F, 0xF9, 0x70, 0x11, 0x00, 0x00, 0x03, 0x00, 0x01]
        let pps: [UInt8] = [0x68, 0xCB, 0x83, 0xCB, 0x20]
        let (units, _) = try Self.roundTrip([[sps, pps, slice]], packetizer: H264Packetizer(maxPayloadBytes: 1000))
        #expect(units.count == 1)
        let same = units.first?.nalUnits == [sps, pps, slice]
        #expect(same, "the reassembled NAL units differ")
    }

    @Test func annexBIsSplitIntoNALUnitsAndAccessUnits() {
        let stream: [UInt8] = [0, 0, 0, 1, 0x09, 0xF0, 0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 1, 0x65, 0x88, 4,
                               0, 0, 0, 1, 0x09, 0xF0, 0, 0, 1, 0x41, 0x9A, 5, 0, 0, 1, 0x41, 0x1A, 6]
        let nals = AnnexB.nalUnits(stream)
        #expect(nals == [[0x09, 0xF0], [0x67, 1, 2], [0x68, 3], [0x65, 0x88, 4], [0x09, 0xF0], [0x41, 0x9A, 5], [0x41, 0x1A, 6]])
        let units = AnnexB.accessUnits(nals)
        // The second slice of the last picture (first_mb_in_slice != 0: first bit 0) stays in it.
        #expect(units.count == 2)
        #expect(units[1] == [[0x09, 0xF0], [0x41, 0x9A, 5], [0x41, 0x1A, 6]])
        #expect(AnnexB.isKeyframe(units[0]) && !AnnexB.isKeyframe(units[1]))
    }

    /// A real libx264 stream (made by ffmpeg now) survives packetizing and depacketizing intact.
    @Test func realVideoRoundTripsPictureForPicture() throws {
        let directory = try TemporaryDirectory(prefix: "packetizer")
        let video = try TestVideo(seconds: 2, width: 640, height: 360, rate: 25, gop: 25, in: directory)
        let units = AnnexB.accessUnits(AnnexB.nalUnits(try readBytes(video.path)))
        #expect(units.count == video.pictures.count)
        #expect(units.map(AnnexB.isKeyframe) == video.pictures.map(\.isKeyframe))
        let (decoded, packets) = try Self.roundTrip(units, packetizer: H264Packetizer())
        #expect(packets.allSatisfy { $0.count <= 1200 })
        #expect(packets.contains { $0[0] & 0x1F == 28 })   // the IDRs needed FU-A
        #expect(decoded.count == units.count)
        #expect(decoded.map(\.nalUnits) == units)
        #expect(decoded.filter(\.isKeyframe).count == units.filter(AnnexB.isKeyframe).count)
    }

    @Test func rtpPacketHeaderParsesBack() throws {
        let packet = H264Packetizer.rtpPacket(payload: [0x65, 1, 2], marker: true, payloadType: 96, sequenceNumber: 65535, timestamp: 0xDEADBEEF, ssrc: 0x01020304)
        try packet.withUnsafeBytes { raw in
            let parsed = try RTPPacket(parsing: raw)
            #expect(parsed.marker && parsed.payloadType == 96 && parsed.sequenceNumber == 65535)
            #expect(parsed.timestamp == 0xDEADBEEF && parsed.ssrc == 0x01020304)
            #expect(Array(parsed.payload) == [0x65, 1, 2])
        }
    }
}
