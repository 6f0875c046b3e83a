import Testing
import Wire
@testable import Media

@Suite("Stream receiver parts")
struct ReceiverPartsTests {
    /// Feeds sequence numbers through a buffer; returns the delivered ones with the loss before each.
    func run(_ buffer: inout ReorderBuffer, _ sequences: [UInt16], at start: ContinuousClock.Instant) -> [(UInt16, Int)] {
        var delivered: [(UInt16, Int)] = []
        for (i, sequence) in sequences.enumerated() {
            let bytes: [UInt8] = [UInt8(sequence >> 8), UInt8(sequence & 0xFF)]
            let extended = buffer.extend(sequence)
            let now = start.advanced(by: .milliseconds(i))
            let placement = bytes.withUnsafeBytes { buffer.insert($0, sequence: extended, arrival: now) }
            if placement == .deliverNow { delivered.append((sequence, 0)) }
            buffer.release(now: now) { raw, lost in delivered.append((UInt16(raw[0]) << 8 | UInt16(raw[1]), lost)) }
        }
        return delivered
    }

    @Test func reorderAcrossTheWrap() {
        var buffer = ReorderBuffer(capacity: 16, maxWait: .seconds(10))
        let start = ContinuousClock.now
        let delivered = run(&buffer, [65533, 65535, 65534, 1, 0, 2], at: start)
        #expect(delivered.map(\.0) == [65533, 65534, 65535, 0, 1, 2])
        #expect(delivered.allSatisfy { $0.1 == 0 })
        #expect(buffer.nextExpected.map { $0 - 2 * 65536 } == 3)
    }

    @Test func aGapIsDeclaredLostAfterTheWait() {
        var buffer = ReorderBuffer(capacity: 16, maxWait: .milliseconds(50))
        let start = ContinuousClock.now
        var delivered = run(&buffer, [10, 11, 14, 15], at: start)
        #expect(delivered.map(\.0) == [10, 11])
        #expect(buffer.deadline != nil)
        buffer.release(now: start.advanced(by: .milliseconds(60))) { raw, lost in delivered.append((UInt16(raw[1]), lost)) }
        #expect(delivered.map(\.0) == [10, 11, 14, 15])
        #expect(delivered[2].1 == 2 && delivered[3].1 == 0)
        // 12 arrives after being declared lost: late; 11 again: late.
        let late = [UInt8](repeating: 0, count: 2).withUnsafeBytes { buffer.insert($0, sequence: buffer.extend(12), arrival: .now) }
        #expect(late == .late)
    }

    @Test func duplicatesAndJumps() {
        var buffer = ReorderBuffer(capacity: 16, maxWait: .seconds(10))
        let start = ContinuousClock.now
        _ = run(&buffer, [1, 3], at: start)
        let again = [UInt8](repeating: 0, count: 2).withUnsafeBytes { buffer.insert($0, sequence: buffer.extend(3), arrival: start) }
        #expect(again == .duplicate)
        #expect(buffer.isBeyondWindow(buffer.extend(40)))
        #expect(!buffer.isBeyondWindow(buffer.extend(10)))
    }

    @Test func lossBasedEstimate() {
        var estimate = LossBasedEstimate(maximum: 4_000_000)
        estimate.update(fractionLost: 0)
        #expect(estimate.bitrate == 4_000_000)  // capped
        estimate.update(fractionLost: 64)  // 25 %: down by 12.5 %
        #expect(estimate.bitrate == 3_500_000)
        estimate.update(fractionLost: 13)  // ~5 %: unchanged
        #expect(estimate.bitrate == 3_500_000)
        estimate.update(fractionLost: 2)  // < 2 %: up 8 %
        #expect(estimate.bitrate == 3_780_000)
        for _ in 0..<100 { estimate.update(fractionLost: 255) }
        #expect(estimate.bitrate == 64_000)
    }

    @Test func fractionLostAndJitter() {
        var statistics = ReceptionStatistics(clockRate: 90_000)
        let start = ContinuousClock.now
        for (i, sequence) in [100, 101, 103, 104].enumerated() {
            // 40 ms apart on the wire and in the timestamps: no jitter.
            statistics.record(sequence: Int64(sequence), timestamp: UInt32(3600 * sequence), arrival: start.advanced(by: .milliseconds(40 * (sequence - 100))))
            _ = i
        }
        #expect(statistics.lost == 1)
        #expect(statistics.takeFractionLost() == 51)  // 1 of 5 = 0.2 * 256
        #expect(statistics.takeFractionLost() == 0)
        #expect(statistics.jitter == 0)
        statistics.record(sequence: 105, timestamp: 3600 * 105, arrival: start.advanced(by: .milliseconds(40 * 5 + 160)))
        #expect((899...901).contains(statistics.jitter))  // 14400 / 16, give or take clock rounding
    }

    @Test func feedbackNeverGoesToThisHost() {
        for text in ["127.0.0.1", "127.8.9.10", "0.0.0.0", "::1", "::", "::ffff:127.0.0.1"] {
            #expect(throws: StreamError.self, "\(text)") { try StreamError.checkDestination(IPAddress(text)!) }
        }
        do {
            try StreamError.checkDestination(IPAddress("127.0.0.1")!)
        } catch {
            #expect(error.description.contains("loopback"))
        }
        #expect((try? StreamError.checkDestination(IPAddress("192.0.2.77")!)) != nil)
    }

    @Test func feedbackLists() throws {
        #expect(try FeedbackKinds.parse("nack,pli,fir").get() == [.nack, .pli, .fir])
        #expect(try FeedbackKinds.parse("pli").get() == [.pli])
        guard case .failure(let error) = FeedbackKinds.parse("nack,remb") else { Issue.record("remb accepted"); return }
        #expect(error.word == "remb")
    }
}
