import Testing
@testable import Wire

@Suite("RTCP")
struct RTCPTests {
    let camera: UInt32 = 0xCAFE_0001
    let kurento: UInt32 = 0x0000_1234

    /// Validates `bytes` and hands the compound packet to `check` while the bytes are alive.
    func withCompound<R>(_ bytes: [UInt8], _ check: (RTCPCompoundPacket) throws -> R) throws -> R {
        try bytes.withBytes { raw in
            let compound = try RTCPCompoundPacket(validating: raw)
            return try check(compound)
        }
    }

    func validationError(_ bytes: [UInt8]) -> RTCPError? {
        bytes.withBytes { raw in
            do throws(RTCPError) {
                _ = try RTCPCompoundPacket(validating: raw)
                return nil
            } catch {
                return error
            }
        }
    }

    @Test func isLikelyRTCP() {
        let sr = RTCPLayouts.senderReport(ssrc: camera, blocks: [])
        #expect(sr.withBytes(RTCPCompoundPacket.isLikelyRTCP))
        // RTP with payload type 96 and no marker: second byte 0x60.
        #expect(![0x80, 0x60, 0, 1, 0, 0, 0, 0].withBytes(RTCPCompoundPacket.isLikelyRTCP))
        // Version 1.
        #expect(![0x40, 0xC8, 0, 1, 0, 0, 0, 0].withBytes(RTCPCompoundPacket.isLikelyRTCP))
        #expect(![0x80, 0xC8].withBytes(RTCPCompoundPacket.isLikelyRTCP))
    }

    @Test func senderReportWithSDES() throws {
        let bytes = RTCPLayouts.senderReport(ssrc: camera, blocks: [kurento]) + RTCPLayouts.sdes(ssrc: camera, cname: "cam-1@site", name: "Gate")
        try withCompound(bytes) { compound in
            #expect(compound.packetCount == 2)
            #expect(!compound.isReducedSize)
            let packets = Array(compound)
            #expect(packets.count == 2)
            guard case .senderReport(let sr) = packets[0].message else { Issue.record("not SR"); return }
            #expect(sr.senderSSRC == camera)
            #expect(sr.ntpTimestamp == 0xE000_0000_8000_0000)
            #expect(sr.rtpTimestamp == 90_000 && sr.packetCount == 10 && sr.octetCount == 1000)
            #expect(sr.reportBlocks.count == 1)
            let block = sr.reportBlocks[0]
            #expect(block == RTCPReportBlock(
                ssrc: kurento, fractionLost: 25, cumulativePacketsLost: -3, extendedHighestSequenceNumber: 0x0001_0203,
                interarrivalJitter: 77, lastSenderReport: 0xAABB_CCDD, delaySinceLastSenderReport: 65536))
            #expect(packets[0].senderSSRC == camera)
            #expect(Array(packets[0].referencedSSRCs) == [kurento])

            guard case .sourceDescription(let sdes) = packets[1].message else { Issue.record("not SDES"); return }
            #expect(sdes.canonicalName == "cam-1@site")
            let chunks = Array(sdes)
            #expect(chunks.count == 1 && chunks[0].ssrc == camera)
            #expect(chunks[0].items.map(\.type) == [RTCPSDESItem.cname, RTCPSDESItem.name])
            #expect(chunks[0].items.map(\.text) == ["cam-1@site", "Gate"])
            #expect(packets[1].senderSSRC == camera)
            #expect(packets[1].referencedSSRCs.isEmpty)
        }
    }

    @Test func receiverReportWithoutBlocks() throws {
        let bytes = RTCPLayouts.receiverReport(ssrc: kurento, blocks: [])
        #expect(bytes.count == 8)
        try withCompound(bytes) { compound in
            let packet = try #require(compound.first(where: { _ in true }))
            guard case .receiverReport(let rr) = packet.message else { Issue.record("not RR"); return }
            #expect(rr.senderSSRC == kurento)
            #expect(rr.reportBlocks.isEmpty)
            #expect(packet.referencedSSRCs.isEmpty)
        }
    }

    @Test func reportBlockForSSRCZero() throws {
        try withCompound(RTCPLayouts.receiverReport(ssrc: kurento, blocks: [0, camera])) { compound in
            let packet = try #require(Array(compound).first)
            guard case .receiverReport(let rr) = packet.message else { Issue.record("not RR"); return }
            #expect(rr.reportBlocks.map(\.ssrc) == [0, camera])
            #expect(rr.reportBlocks[1].fractionLost == 64 && rr.reportBlocks[1].cumulativePacketsLost == 5)
            #expect(Array(packet.referencedSSRCs) == [0, camera])
        }
    }

    @Test func paddingInLastPacketIsValid() throws {
        var last = RTCPLayouts.bye(ssrcs: [camera], reason: nil)
        last[0] |= 0x20
        last += [0, 0, 0, 4]
        last[3] += 1  // one more word
        let bytes = RTCPLayouts.receiverReport(ssrc: kurento, blocks: []) + last
        try withCompound(bytes) { compound in
            let packets = Array(compound)
            #expect(packets.count == 2)
            #expect(packets[1].header.padding && packets[1].header.byteCount == 12)
            #expect(packets[1].bytes.count == 8)
            guard case .goodbye(let bye) = packets[1].message else { Issue.record("not BYE"); return }
            #expect(Array(bye.ssrcs) == [camera])
            #expect(bye.reason == nil)
        }
    }

    @Test func paddingInNonLastPacketIsInvalid() {
        var first = RTCPLayouts.receiverReport(ssrc: kurento, blocks: [])
        first[0] |= 0x20
        let bytes = first + RTCPLayouts.sdes(ssrc: kurento, cname: "k")
        #expect(validationError(bytes) == .paddingNotInLastPacket(offset: 0))
    }

    @Test func badPaddingCount() {
        var bytes = RTCPLayouts.receiverReport(ssrc: kurento, blocks: [])
        bytes[0] |= 0x20
        bytes[7] = 0
        #expect(validationError(bytes) == .badPadding(offset: 0, count: 0))
        bytes[7] = 9
        #expect(validationError(bytes) == .badPadding(offset: 0, count: 9))
    }

    @Test func lengthMismatch() {
        var bytes = RTCPLayouts.receiverReport(ssrc: kurento, blocks: [camera])
        bytes[3] += 1
        #expect(validationError(bytes) == .lengthMismatch(offset: 0, declared: 36, available: 32))
        // Trailing bytes that cannot hold a header.
        #expect(validationError(RTCPLayouts.receiverReport(ssrc: kurento, blocks: []) + [0x80, 0xCA]) == .truncatedHeader(offset: 8, available: 2))
        #expect(validationError([]) == .empty)
    }

    @Test func versionAndFirstPacketChecks() {
        var bytes = RTCPLayouts.receiverReport(ssrc: kurento, blocks: []) + RTCPLayouts.sdes(ssrc: kurento, cname: "k")
        bytes[8] = 0x41
        #expect(validationError(bytes) == .badVersion(offset: 8, version: 1))
        #expect(validationError(RTCPLayouts.sdes(ssrc: kurento, cname: "k")) == .badFirstPacketType(202))
        // Report count larger than the packet.
        var rr = RTCPLayouts.receiverReport(ssrc: kurento, blocks: [])
        rr[0] |= 1
        #expect(validationError(rr) == .malformedPacket(offset: 0, packetType: 201, reason: .tooShortForCount))
    }

    @Test func sdesItemOverrunIsRejected() {
        var bytes = RTCPLayouts.receiverReport(ssrc: kurento, blocks: []) + RTCPLayouts.sdes(ssrc: kurento, cname: "abc")
        bytes[8 + 9] = 40  // CNAME length beyond the packet
        #expect(validationError(bytes) == .malformedPacket(offset: 8, packetType: 202, reason: .sdesItemOverrun))
    }

    @Test func truncationAtEveryOffsetReportsAnError() {
        let parts = [
            RTCPLayouts.senderReport(ssrc: camera, blocks: [kurento, 7]),
            RTCPLayouts.sdes(ssrc: camera, cname: "cam-1@site"),
            RTCPLayouts.remb(sender: kurento, exponent: 3, mantissa: 1000, ssrcs: [camera]),
            RTCPLayouts.bye(ssrcs: [camera], reason: "done"),
        ]
        let bytes = parts.flatMap { $0 }
        #expect(validationError(bytes) == nil)
        // Cutting exactly between packets leaves a shorter valid compound; anywhere else is an error.
        var boundaries: Set<Int> = []
        var end = 0
        for part in parts { end += part.count; boundaries.insert(end) }
        for length in 0..<bytes.count {
            let error = validationError(Array(bytes.prefix(length)))
            if boundaries.contains(length) {
                #expect(error == nil, "prefix of \(length) bytes was rejected")
            } else {
                #expect(error != nil, "prefix of \(length) bytes was accepted")
            }
        }
    }

    @Test func rembDecoding() throws {
        // 1000 × 2^3 = 8000 bit/s; the largest mantissa with exponent 10 is 268 434 432 bit/s.
        let cases: [(UInt8, UInt32, UInt64)] = [(3, 1000, 8000), (10, 0x3FFFF, 268_434_432), (0, 0, 0), (46, 0x3FFFF, 0x3FFFF << 46), (63, 1, 1 << 63), (63, 2, .max)]
        for (exponent, mantissa, expected) in cases {
            let bytes = RTCPLayouts.receiverReport(ssrc: kurento, blocks: [])
                + RTCPLayouts.remb(sender: kurento, exponent: exponent, mantissa: mantissa, ssrcs: [camera, 0xBEEF])
            try withCompound(bytes) { compound in
                let packet = try #require(Array(compound).last)
                guard case .payloadFeedback(let feedback) = packet.message,
                      case .receiverEstimatedMaximumBitrate(let remb) = feedback.kind
                else { Issue.record("not REMB"); return }
                #expect(feedback.format == 15 && feedback.mediaSSRC == 0 && feedback.senderSSRC == kurento)
                #expect(remb.exponent == exponent && remb.mantissa == mantissa)
                #expect(remb.bitrate == expected)
                #expect(remb.ssrcCount == 2 && Array(remb.ssrcs) == [camera, 0xBEEF])
                #expect(Array(packet.referencedSSRCs) == [camera, 0xBEEF])
                #expect(packet.kind == .receiverEstimatedMaximumBitrate(bitrate: expected))
                #expect(packet.kind.isReceptionFeedback)
            }
        }
    }

    @Test func rembKnownBytes() throws {
        // A REMB as libwebrtc sends it: 0x8F 0xCE, "REMB", 1 SSRC, exp 4 mantissa 0x1D4C0 -> 120000 << 4.
        let bytes: [UInt8] = [
            0x8F, 0xCE, 0x00, 0x05, 0x00, 0x00, 0x12, 0x34, 0x00, 0x00, 0x00, 0x00,
            0x52, 0x45, 0x4D, 0x42, 0x01, 0x11, 0xD4, 0xC0, 0xCA, 0xFE, 0x00, 0x01,
        ]
        try withCompound(bytes) { compound in
            #expect(compound.isReducedSize)
            guard case .payloadFeedback(let feedback) = try #require(Array(compound).first).message,
                  case .receiverEstimatedMaximumBitrate(let remb) = feedback.kind
            else { Issue.record("not REMB"); return }
            #expect(remb.exponent == 4 && remb.mantissa == 0x1D4C0)
            #expect(remb.bitrate == 1_920_000)
            #expect(Array(remb.ssrcs) == [camera])
        }
    }

    @Test func rembListLongerThanPacketIsRejected() {
        var remb = RTCPLayouts.remb(sender: kurento, exponent: 1, mantissa: 1, ssrcs: [camera])
        remb[16] = 3
        #expect(validationError(remb) == .malformedPacket(offset: 0, packetType: 206, reason: .tooShortForCount))
    }

    @Test func firWithTwoEntries() throws {
        var fci = ByteBuilder()
        fci.u32(camera); fci.u8(7); fci.u24(0)
        fci.u32(0xBEEF); fci.u8(8); fci.u24(0)
        let bytes = RTCPLayouts.receiverReport(ssrc: kurento, blocks: [])
            + RTCPLayouts.feedback(type: 206, format: 4, sender: kurento, media: 0, fci: fci.bytes)
        try withCompound(bytes) { compound in
            let packet = try #require(Array(compound).last)
            guard case .payloadFeedback(let feedback) = packet.message,
                  case .fullIntraRequest(let entries) = feedback.kind
            else { Issue.record("not FIR"); return }
            #expect(Array(entries) == [RTCPFIREntry(ssrc: camera, sequenceNumber: 7), RTCPFIREntry(ssrc: 0xBEEF, sequenceNumber: 8)])
            #expect(Array(packet.referencedSSRCs) == [camera, 0xBEEF])
            #expect(packet.kind == .fullIntraRequest)
        }
    }

    @Test func pictureLossIndication() throws {
        let bytes = RTCPLayouts.receiverReport(ssrc: kurento, blocks: [])
            + RTCPLayouts.feedback(type: 206, format: 1, sender: kurento, media: camera, fci: [])
        try withCompound(bytes) { compound in
            let packet = try #require(Array(compound).last)
            guard case .payloadFeedback(let feedback) = packet.message, case .pictureLossIndication = feedback.kind
            else { Issue.record("not PLI"); return }
            #expect(packet.senderSSRC == kurento)
            #expect(Array(packet.referencedSSRCs) == [camera])
        }
    }

    @Test func genericNACK() throws {
        var fci = ByteBuilder()
        fci.u16(1000); fci.u16(0b1000_0000_0000_0101)
        fci.u16(2000); fci.u16(0)
        let bytes = RTCPLayouts.feedback(type: 205, format: 1, sender: kurento, media: camera, fci: fci.bytes)
        try withCompound(bytes) { compound in
            #expect(compound.isReducedSize)
            let packet = try #require(Array(compound).first)
            guard case .transportFeedback(let feedback) = packet.message, case .nack(let entries) = feedback.kind
            else { Issue.record("not NACK"); return }
            #expect(entries.count == 2)
            #expect(entries[0] == RTCPNACKEntry(packetID: 1000, bitmaskOfLostPackets: 0x8005))
            #expect(entries[0].lostPacketCount == 4)
            #expect(entries[0].contains(1000) && entries[0].contains(1001) && entries[0].contains(1003) && entries[0].contains(1016))
            #expect(!entries[0].contains(1002) && !entries[0].contains(999) && !entries[0].contains(1017))
            #expect(entries[1].lostPacketCount == 1)
            #expect(packet.kind == .genericNACK)
            #expect(Array(packet.referencedSSRCs) == [camera])
        }
        // A NACK without any entry is malformed (RFC 4585 section 6.2.1 requires at least one).
        let empty = RTCPLayouts.feedback(type: 205, format: 1, sender: kurento, media: camera, fci: [])
        #expect(validationError(empty) == .malformedPacket(offset: 0, packetType: 205, reason: .feedbackTooShort))
    }

    @Test func transportWideCCHeader() throws {
        var fci = ByteBuilder()
        fci.u16(513); fci.u16(3); fci.u24(0xFF_FFFE); fci.u8(9)
        fci.u16(0x2003); fci.u8(4); fci.u8(8); fci.u8(12); fci.append([0, 0, 0])  // status chunk, deltas, padding to a word
        let bytes = RTCPLayouts.receiverReport(ssrc: kurento, blocks: [])
            + RTCPLayouts.feedback(type: 205, format: 15, sender: kurento, media: camera, fci: fci.bytes)
        try withCompound(bytes) { compound in
            let packet = try #require(Array(compound).last)
            guard case .transportFeedback(let feedback) = packet.message, case .transportWideCC(let twcc) = feedback.kind
            else { Issue.record("not TWCC"); return }
            #expect(twcc.baseSequenceNumber == 513 && twcc.packetStatusCount == 3)
            #expect(twcc.referenceTime == -2)
            #expect(twcc.feedbackPacketCount == 9)
            #expect(packet.kind == .transportWideCC && packet.kind.description == "TWCC")
            #expect(twcc.statusAndDeltas.count == 8)
        }
    }

    @Test func applicationDefined() throws {
        var app = ByteBuilder()
        RTCPLayouts.header(&app, count: 5, type: 204, words: 4)
        app.u32(camera); app.ascii("CAMH"); app.u32(0xDEAD_BEEF)
        try withCompound(RTCPLayouts.receiverReport(ssrc: kurento, blocks: []) + app.bytes) { compound in
            let packet = try #require(Array(compound).last)
            guard case .application(let a) = packet.message else { Issue.record("not APP"); return }
            #expect(packet.kind == .application && !packet.kind.isReceptionFeedback)
            #expect(a.subtype == 5 && a.ssrc == camera && a.name == "CAMH" && a.nameValue == 0x4341_4D48)
            #expect(Array(a.data) == [0xDE, 0xAD, 0xBE, 0xEF])
            #expect(packet.senderSSRC == camera)
        }
    }

    @Test func goodbyeWithReason() throws {
        let bytes = RTCPLayouts.receiverReport(ssrc: kurento, blocks: []) + RTCPLayouts.bye(ssrcs: [camera, 0xBEEF], reason: "camera rebooting")
        try withCompound(bytes) { compound in
            let packet = try #require(Array(compound).last)
            guard case .goodbye(let bye) = packet.message else { Issue.record("not BYE"); return }
            #expect(Array(bye.ssrcs) == [camera, 0xBEEF])
            #expect(bye.reason == "camera rebooting")
            #expect(packet.senderSSRC == camera)
        }
        var overrun = RTCPLayouts.bye(ssrcs: [camera], reason: "x")
        overrun[8] = 200
        #expect(validationError(RTCPLayouts.receiverReport(ssrc: kurento, blocks: []) + overrun)
            == .malformedPacket(offset: 8, packetType: 203, reason: .byeReasonOverrun))
    }

    @Test func unknownPacketTypeIsSkippedByLength() throws {
        var unknown = ByteBuilder()
        RTCPLayouts.header(&unknown, count: 0, type: 210, words: 3)
        unknown.u32(1); unknown.u32(2)
        let bytes = RTCPLayouts.receiverReport(ssrc: kurento, blocks: [camera]) + unknown.bytes + RTCPLayouts.sdes(ssrc: kurento, cname: "kms")
        try withCompound(bytes) { compound in
            let packets = Array(compound)
            #expect(packets.map(\.header.packetType.rawValue) == [201, 210, 202])
            #expect(packets.map(\.kind) == [.receiverReport, .unknown(packetType: 210), .sourceDescription])
            #expect(packets.map(\.kind.description) == ["RR", "PT210", "SDES"])
            guard case .unknown(let type) = packets[1].message else { Issue.record("not unknown"); return }
            #expect(type.rawValue == 210)
            #expect(packets[1].senderSSRC == nil && packets[1].referencedSSRCs.isEmpty)
            guard case .sourceDescription(let sdes) = packets[2].message else { Issue.record("not SDES"); return }
            #expect(sdes.canonicalName == "kms")
        }
    }

    @Test func rtcpInsideACapturedFrame() throws {
        // Kurento's RR for the camera's stream, caught on lo: the trap's signature.
        let rtcp = RTCPLayouts.receiverReport(ssrc: kurento, blocks: [camera])
        var sll2 = ByteBuilder()
        sll2.u16(0x0800); sll2.u16(0); sll2.u32(1); sll2.u16(772); sll2.u8(0); sll2.u8(6); sll2.append(Array(repeating: 0, count: 8))
        let frame = sll2.bytes + Layouts.ipv4(
            source: .ipv4Loopback, destination: .ipv4Loopback,
            payload: Layouts.udp(sourcePort: 40_001, destinationPort: 5005, payload: rtcp))
        try frame.withBytes { raw in
            let packet = try CapturedPacket(decoding: raw, linkType: .linuxSLL2)
            let range = try #require(packet.udpPayloadRange)
            let payload = UnsafeRawBufferPointer(rebasing: raw[range])
            #expect(RTCPCompoundPacket.isLikelyRTCP(payload))
            let compound = try RTCPCompoundPacket(validating: payload)
            #expect(packet.link.isLoopbackInterface == true)
            #expect(compound.flatMap { Array($0.referencedSSRCs) } == [camera])
        }
    }
}
