import Testing
@testable import Wire

/// A fixed-seed xorshift generator, so every run feeds the same bytes.
struct XorShift: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}

@Suite("Robustness")
struct RobustnessTests {
    static let linkTypes: [LinkType] = [.null, .ethernet, .rawLinux, .rawBSD, .raw, .loop, .linuxSLL, .ipv4, .ipv6, .linuxSLL2]

    /// Runs every decoder over `raw` and touches every view, as an analyser would.
    static func exercise(_ raw: UnsafeRawBufferPointer) -> Int {
        var touched = 0
        for linkType in linkTypes {
            if let packet = try? CapturedPacket(decoding: raw, linkType: linkType), let range = packet.udpPayloadRange {
                touched &+= exerciseRTCP(UnsafeRawBufferPointer(rebasing: raw[range]))
            }
        }
        if let ip = try? IPPacket(decoding: raw) { touched &+= ip.payloadRange.count }
        if let udp = try? UDPDatagram(decoding: raw) { touched &+= udp.payloadRange.count }
        if let icmp = try? ICMPMessage(decoding: raw, isICMPv6: true) { touched &+= icmp.bodyRange.count }
        touched &+= exerciseRTCP(raw)
        return touched
    }

    static func exerciseRTCP(_ raw: UnsafeRawBufferPointer) -> Int {
        var touched = RTCPCompoundPacket.isLikelyRTCP(raw) ? 1 : 0
        guard let compound = try? RTCPCompoundPacket(validating: raw) else { return touched }
        for packet in compound {
            touched &+= Int(packet.senderSSRC ?? 0 & 1) &+ packet.kind.description.utf8.count
            for ssrc in packet.referencedSSRCs { touched &+= Int(ssrc & 1) }
            switch packet.message {
            case .senderReport(let sr):
                touched &+= Int(sr.ntpTimestamp & 1)
                for block in sr.reportBlocks { touched &+= Int(block.cumulativePacketsLost & 1) }
            case .receiverReport(let rr):
                for block in rr.reportBlocks { touched &+= Int(block.interarrivalJitter & 1) }
            case .sourceDescription(let sdes):
                for chunk in sdes { for item in chunk.items { touched &+= item.value.count } }
            case .goodbye(let bye):
                touched &+= bye.ssrcs.count + (bye.reasonBytes?.count ?? 0)
            case .application(let app):
                touched &+= app.data.count + Int(app.nameValue & 1)
            case .transportFeedback(let fb):
                switch fb.kind {
                case .nack(let entries): for entry in entries { touched &+= entry.lostPacketCount }
                case .transportWideCC(let twcc): touched &+= Int(twcc.referenceTime & 1) + twcc.statusAndDeltas.count
                case .other: break
                }
            case .payloadFeedback(let fb):
                switch fb.kind {
                case .fullIntraRequest(let entries): for entry in entries { touched &+= Int(entry.sequenceNumber) }
                case .receiverEstimatedMaximumBitrate(let remb): touched &+= Int(remb.bitrate & 1) + remb.ssrcs.count
                default: break
                }
            case .unknown: break
            }
        }
        return touched
    }

    @Test func randomBuffersNeverTrap() {
        var rng = XorShift(state: 0x9E37_79B9_7F4A_7C15)
        var buffer = [UInt8](repeating: 0, count: 256)
        var total = 0
        for round in 0..<20_000 {
            let count = Int.random(in: 0...buffer.count, using: &rng)
            for i in 0..<count { buffer[i] = UInt8.random(in: 0...255, using: &rng) }
            // Bias some rounds towards plausible headers so deeper code runs.
            if count >= 2 && round % 3 == 0 { buffer[0] = 0x80 | (buffer[0] & 0x3F); buffer[1] = 200 + UInt8(round % 8) }
            if count >= 1 && round % 3 == 1 { buffer[0] = 0x45 }
            total &+= buffer.withUnsafeBytes { Self.exercise(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
        #expect(total != 0)
    }

    @Test func mutatedValidFramesNeverTrap() {
        let rtcp = RTCPLayouts.senderReport(ssrc: 1, blocks: [2]) + RTCPLayouts.sdes(ssrc: 1, cname: "c")
            + RTCPLayouts.remb(sender: 1, exponent: 2, mantissa: 3, ssrcs: [4])
        let frame = Layouts.ethernet(etherType: 0x0800, payload: Layouts.ipv4(
            source: IPAddress(10, 0, 0, 1), destination: IPAddress(10, 0, 0, 2),
            payload: Layouts.udp(sourcePort: 1, destinationPort: 2, payload: rtcp)))
        var rng = XorShift(state: 42)
        for _ in 0..<5_000 {
            var mutated = frame
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                mutated[Int.random(in: 0..<mutated.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            mutated.removeLast(Int.random(in: 0...8, using: &rng))
            _ = mutated.withUnsafeBytes { Self.exercise($0) }
        }
    }

    @Test func hotPathIsCheap() throws {
        // The decode path a capture loop runs per frame: link, IP, UDP, RTCP validation and the SSRC scan.
        let rtcp = RTCPLayouts.receiverReport(ssrc: 1, blocks: [2])
            + RTCPLayouts.remb(sender: 1, exponent: 2, mantissa: 3, ssrcs: [4])
        var sll2 = ByteBuilder()
        sll2.u16(0x0800); sll2.u16(0); sll2.u32(1); sll2.u16(772); sll2.u8(0); sll2.u8(6); sll2.append(Array(repeating: 0, count: 8))
        let frame = sll2.bytes + Layouts.ipv4(
            source: .ipv4Loopback, destination: .ipv4Loopback,
            payload: Layouts.udp(sourcePort: 1, destinationPort: 2, payload: rtcp))
        let iterations = 100_000
        var sum: UInt64 = 0
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            try frame.withUnsafeBytes { raw in
                for _ in 0..<iterations {
                    let packet = try CapturedPacket(decoding: raw, linkType: .linuxSLL2)
                    guard let range = packet.udpPayloadRange else { continue }
                    let compound = try RTCPCompoundPacket(validating: UnsafeRawBufferPointer(rebasing: raw[range]))
                    for p in compound { for ssrc in p.referencedSSRCs { sum &+= UInt64(ssrc) } }
                }
            }
        }
        #expect(sum == UInt64(iterations) * 6)
        let perFrame = elapsed / iterations
        print("Wire hot path: \(perFrame) per frame over \(iterations) frames")
        // A regression guard, generous for an unoptimised test build on a shared 2-core machine.
        // Measured here: ~27 us per frame in this debug test, ~0.16 us in a release build, and
        // heaptrack shows the same allocation count for 1 000 and 100 000 frames (none per frame).
        #expect(perFrame < .microseconds(250))
    }
}
