import Testing
@testable import Wire

/// RTP packets as a camera sends them, for the tests.
enum RTPLayouts {
    static func packet(sequence: UInt16, timestamp: UInt32, ssrc: UInt32, marker: Bool = false, payloadType: UInt8 = 96,
                       csrcs: [UInt32] = [], extension ext: (UInt16, [UInt8])? = nil, padding: Int = 0, payload: [UInt8]) -> [UInt8] {
        var b = ByteBuilder()
        b.u8(0x80 | (padding > 0 ? 0x20 : 0) | (ext != nil ? 0x10 : 0) | UInt8(csrcs.count))
        b.u8((marker ? 0x80 : 0) | payloadType)
        b.u16(sequence); b.u32(timestamp); b.u32(ssrc)
        for csrc in csrcs { b.u32(csrc) }
        if let (profile, body) = ext {
            precondition(body.count % 4 == 0)
            b.u16(profile); b.u16(UInt16(body.count / 4)); b.append(body)
        }
        b.append(payload)
        if padding > 0 { b.append([UInt8](repeating: 0, count: padding - 1) + [UInt8(padding)]) }
        return b.bytes
    }
}

@Suite("RTP")
struct RTPTests {
    func parse<R>(_ bytes: [UInt8], _ check: (RTPPacket) throws -> R) throws -> R {
        try bytes.withBytes { raw in try check(try RTPPacket(parsing: raw)) }
    }

    func error(_ bytes: [UInt8]) -> RTPError? {
        bytes.withBytes { raw in
            do throws(RTPError) { _ = try RTPPacket(parsing: raw); return nil } catch { return error }
        }
    }

    @Test func fixedHeaderAndPayload() throws {
        let bytes = RTPLayouts.packet(sequence: 0xFFFF, timestamp: 0xDEAD_BEEF, ssrc: 0x1234_5678, marker: true, payload: [0x65, 1, 2])
        try parse(bytes) { p in
            #expect(p.sequenceNumber == 0xFFFF)
            #expect(p.timestamp == 0xDEAD_BEEF)
            #expect(p.ssrc == 0x1234_5678)
            #expect(p.marker)
            #expect(p.payloadType == 96)
            #expect(p.csrcs.isEmpty)
            #expect(p.extensionProfile == nil)
            #expect(Array(p.payload) == [0x65, 1, 2])
        }
    }

    @Test func csrcExtensionAndPadding() throws {
        let bytes = RTPLayouts.packet(sequence: 7, timestamp: 90_000, ssrc: 1, csrcs: [0xA, 0xB],
                                      extension: (0xBEDE, [0x10, 0xFF, 0, 0]), padding: 4, payload: [0x41, 9])
        try parse(bytes) { p in
            #expect(Array(p.csrcs) == [0xA, 0xB])
            #expect(p.extensionProfile == 0xBEDE)
            #expect(Array(p.extensionBytes) == [0x10, 0xFF, 0, 0])
            #expect(p.paddingCount == 4)
            #expect(Array(p.payload) == [0x41, 9])
        }
    }

    @Test func malformedPacketsAreTypedErrors() {
        #expect(error([]) == .truncatedHeader(needed: 12, available: 0))
        #expect(error([0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0]) == .truncatedHeader(needed: 12, available: 11))
        var v1 = RTPLayouts.packet(sequence: 1, timestamp: 1, ssrc: 1, payload: [1])
        v1[0] = 0x40
        #expect(error(v1) == .badVersion(1))
        // Two CSRCs announced, one present.
        var csrc = RTPLayouts.packet(sequence: 1, timestamp: 1, ssrc: 1, payload: [])
        csrc[0] |= 2
        csrc += [0, 0, 0, 1]
        #expect(error(csrc) == .truncatedHeader(needed: 20, available: 16))
        // Extension of 3 words with one present.
        var ext = RTPLayouts.packet(sequence: 1, timestamp: 1, ssrc: 1, extension: (0xBEDE, [1, 2, 3, 4]), payload: [])
        ext[15] = 3
        #expect(error(ext) == .extensionOverrun(declared: 16, available: 8))
        // Padding count larger than the payload, and zero.
        var pad = RTPLayouts.packet(sequence: 1, timestamp: 1, ssrc: 1, payload: [1, 2, 9])
        pad[0] |= 0x20
        #expect(error(pad) == .badPadding(count: 9, payload: 3))
        pad[pad.count - 1] = 0
        #expect(error(pad) == .badPadding(count: 0, payload: 3))
        // An RTCP receiver report on the RTP port (rtcp-mux) is not RTP.
        #expect(error([0x80, 201, 0, 1, 0, 0, 0, 1]) != nil)
        #expect(error([0x80, 201, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]) == .looksLikeRTCP(packetType: 201))
    }

    @Test func everyTruncationOfAValidPacketIsRejectedOrShorter() {
        let bytes = RTPLayouts.packet(sequence: 7, timestamp: 9, ssrc: 1, csrcs: [3], extension: (1, [0, 0, 0, 0]), padding: 2, payload: [0x41, 1, 2])
        for length in 0..<bytes.count {
            let prefix = Array(bytes[0..<length])
            // A cut packet never parses with a payload past its end.
            let parsed: Range<Int>? = prefix.withBytes { raw in (try? RTPPacket(parsing: raw))?.payloadRange }
            if let parsed { #expect(parsed.upperBound <= length) }
        }
    }
}
