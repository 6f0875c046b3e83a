import Testing
@testable import Wire

@Suite("RTCP writers")
struct RTCPWriterTests {
    let host: UInt32 = 0x0C0F_FEE0
    let camera: UInt32 = 0xCAFE_0001

    func packets(_ bytes: [UInt8]) throws -> [RTCPKind] {
        try bytes.withBytes { raw in try RTCPCompoundPacket(validating: raw).map(\.kind) }
    }

    @Test func receiverReportSDESAndREMBRoundTrip() throws {
        var writer = RTCPWriter()
        let block = RTCPReportBlock(ssrc: camera, fractionLost: 25, cumulativePacketsLost: -3, extendedHighestSequenceNumber: 0x1_0005,
                                    interarrivalJitter: 120, lastSenderReport: 0xAABB_CCDD, delaySinceLastSenderReport: 65536)
        try writer.receiverReport(ssrc: host, blocks: [block])
        try writer.sourceDescription(ssrc: host, cname: "camhost@gate")
        writer.receiverEstimatedMaximumBitrate(senderSSRC: host, bitrate: 2_500_000, ssrc: camera)
        let bytes = writer.bytes
        #expect(try packets(bytes) == [.receiverReport, .sourceDescription, .receiverEstimatedMaximumBitrate(bitrate: 2_500_000)])
        try bytes.withBytes { raw in
            let compound = try RTCPCompoundPacket(validating: raw)
            #expect(!compound.isReducedSize)
            for packet in compound {
                switch packet.message {
                case .receiverReport(let rr):
                    #expect(rr.senderSSRC == host)
                    #expect(Array(rr.reportBlocks) == [block])
                case .sourceDescription(let sdes):
                    #expect(sdes.canonicalName == "camhost@gate")
                    #expect(packet.senderSSRC == host)
                case .payloadFeedback(let fb):
                    guard case .receiverEstimatedMaximumBitrate(let remb) = fb.kind else { Issue.record("not REMB"); return }
                    #expect(Array(remb.ssrcs) == [camera])
                    #expect(fb.senderSSRC == host)
                default:
                    Issue.record("unexpected \(packet.kind)")
                }
            }
        }
    }

    @Test func sdesPaddingForEveryNameLength() throws {
        for length in 0...9 {
            var writer = RTCPWriter()
            writer.receiverReport(ssrc: host, block: nil)
            let name = String(repeating: "c", count: length)
            try writer.sourceDescription(ssrc: host, cname: name)
            #expect(writer.bytes.count % 4 == 0)
            let decoded = try writer.bytes.withBytes { raw in
                try RTCPCompoundPacket(validating: raw).compactMap { packet -> String? in
                    if case .sourceDescription(let sdes) = packet.message { return sdes.canonicalName } else { return nil }
                }
            }
            #expect(decoded == [name])
        }
        var writer = RTCPWriter()
        #expect(throws: RTCPWriteError.itemTooLong(256)) { try writer.sourceDescription(ssrc: 1, cname: String(repeating: "x", count: 256)) }
    }

    @Test func senderReportRoundTrip() throws {
        var writer = RTCPWriter()
        try writer.senderReport(ssrc: camera, ntpTimestamp: 0xE000_0001_8000_0000, rtpTimestamp: 90_000, packetCount: 10,
                                octetCount: 12_000, blocks: [RTCPReportBlock]())
        try writer.bytes.withBytes { raw in
            let packet = try #require(try RTCPCompoundPacket(validating: raw).first { _ in true })
            guard case .senderReport(let sr) = packet.message else { Issue.record("not SR"); return }
            #expect(sr.senderSSRC == camera)
            #expect(sr.ntpTimestamp == 0xE000_0001_8000_0000)
            #expect(sr.rtpTimestamp == 90_000)
            #expect(sr.packetCount == 10)
            #expect(sr.octetCount == 12_000)
            #expect(sr.reportBlocks.isEmpty)
        }
    }

    @Test func nackPLIAndFIRRoundTrip() throws {
        var entries: [RTCPNACKEntry] = []
        // Wraps: 65534, 65535, 0, 3 share one entry; 100 starts another.
        RTCPNACKEntry.entries(lost: [65534, 65535, 0, 3, 100], into: &entries)
        #expect(entries == [RTCPNACKEntry(packetID: 65534, bitmaskOfLostPackets: 0b10011), RTCPNACKEntry(packetID: 100, bitmaskOfLostPackets: 0)])
        var writer = RTCPWriter()
        writer.receiverReport(ssrc: host, block: nil)
        try writer.nack(senderSSRC: host, mediaSSRC: camera, entries: entries)
        writer.pictureLossIndication(senderSSRC: host, mediaSSRC: camera)
        writer.fullIntraRequest(senderSSRC: host, mediaSSRC: camera, sequenceNumber: 7)
        #expect(try packets(writer.bytes) == [.receiverReport, .genericNACK, .pictureLossIndication, .fullIntraRequest])
        try writer.bytes.withBytes { raw in
            for packet in try RTCPCompoundPacket(validating: raw) {
                switch packet.message {
                case .transportFeedback(let fb):
                    guard case .nack(let decoded) = fb.kind else { Issue.record("not NACK"); return }
                    #expect(Array(decoded) == entries)
                    #expect(decoded[0].contains(0) && decoded[0].contains(3) && !decoded[0].contains(1))
                    #expect(decoded.reduce(0) { $0 + $1.lostPacketCount } == 5)
                    #expect(fb.mediaSSRC == camera)
                case .payloadFeedback(let fb):
                    if case .fullIntraRequest(let fir) = fb.kind {
                        #expect(Array(fir) == [RTCPFIREntry(ssrc: camera, sequenceNumber: 7)])
                    } else {
                        #expect(fb.mediaSSRC == camera)
                    }
                default: break
                }
            }
        }
        #expect(throws: RTCPWriteError.empty) { try writer.nack(senderSSRC: 1, mediaSSRC: 2, entries: [RTCPNACKEntry]()) }
    }

    @Test func rembMantissaAndExponent() throws {
        for bitrate: UInt64 in [0, 1, 0x3FFFF, 0x40000, 8_000_000, 1_000_000_000, 123_456_789_012] {
            var writer = RTCPWriter()
            writer.receiverReport(ssrc: host, block: nil)
            try writer.receiverEstimatedMaximumBitrate(senderSSRC: host, bitrate: bitrate, ssrcs: [camera, 5])
            let kinds = try packets(writer.bytes)
            guard case .receiverEstimatedMaximumBitrate(let decoded) = kinds.last else { Issue.record("no REMB"); continue }
            // Rounded down to 18 significant bits.
            #expect(decoded <= bitrate && bitrate - decoded < max(1, bitrate >> 17))
        }
    }

    @Test func reportBlockCountsAreClamped() throws {
        var writer = RTCPWriter()
        let block = RTCPReportBlock(ssrc: 1, fractionLost: 0, cumulativePacketsLost: 50_000_000, extendedHighestSequenceNumber: 0,
                                    interarrivalJitter: 0, lastSenderReport: 0, delaySinceLastSenderReport: 0)
        writer.receiverReport(ssrc: host, block: block)
        try writer.bytes.withBytes { raw in
            guard case .receiverReport(let rr) = try RTCPCompoundPacket(validating: raw).first(where: { _ in true })?.message else {
                Issue.record("not RR"); return
            }
            #expect(rr.reportBlocks[0].cumulativePacketsLost == 0x7F_FFFF)
        }
        #expect(throws: RTCPWriteError.tooManyEntries(32)) { try writer.receiverReport(ssrc: host, blocks: Array(repeating: block, count: 32)) }
    }
}
