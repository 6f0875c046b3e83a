/// What a receiver knows about one source, for its reception report block (RFC 3550 section 6.4.1,
/// computed as appendix A.3 and A.8 describe).
struct ReceptionStatistics {
    let clockRate: Int
    private(set) var baseSequence: Int64? = nil
    private(set) var highestSequence: Int64 = 0
    private(set) var received: Int64 = 0
    private var expectedPrior: Int64 = 0
    private var receivedPrior: Int64 = 0
    /// Interarrival jitter in timestamp units, scaled by 16 as in appendix A.8.
    private var jitterScaled: Int64 = 0
    private var lastTransit: Int64? = nil
    private let start = ContinuousClock.now

    init(clockRate: Int) { self.clockRate = clockRate }

    var expected: Int64 { baseSequence.map { highestSequence - $0 + 1 } ?? 0 }
    /// Cumulative number lost: expected minus received (appendix A.3), never below 0 here
    /// because duplicates are dropped before they are counted.
    var lost: Int64 { max(0, expected - received) }
    var jitter: UInt32 { UInt32(clamping: jitterScaled >> 4) }

    /// A new packet: its extended sequence number, RTP timestamp and arrival.
    mutating func record(sequence: Int64, timestamp: UInt32, arrival: ContinuousClock.Instant) {
        if baseSequence == nil {
            baseSequence = sequence
            highestSequence = sequence
        }
        highestSequence = max(highestSequence, sequence)
        received += 1
        // Appendix A.8: arrival in timestamp units minus the RTP timestamp; only differences count.
        let (seconds, attoseconds) = start.duration(to: arrival).components
        let arrivalUnits = seconds * Int64(clockRate) + attoseconds / (1_000_000_000_000_000_000 / Int64(clockRate))
        let transit = arrivalUnits &- Int64(timestamp)
        if let lastTransit {
            var d = Int64(Int32(truncatingIfNeeded: transit &- lastTransit))
            if d < 0 { d = -d }
            jitterScaled += d - ((jitterScaled + 8) >> 4)
        }
        lastTransit = transit
    }

    /// The fraction lost since the previous call, as the 8-bit fixed-point number of a report block.
    mutating func takeFractionLost() -> UInt8 {
        let expectedInterval = expected - expectedPrior
        let receivedInterval = received - receivedPrior
        expectedPrior = expected
        receivedPrior = received
        let lostInterval = expectedInterval - receivedInterval
        guard expectedInterval > 0, lostInterval > 0 else { return 0 }
        return UInt8(clamping: (lostInterval << 8) / expectedInterval)
    }
}

/// The receiver's bitrate estimate for REMB, from loss alone (the loss-based half of Google
/// congestion control, draft-ietf-rmcat-gcc-02 section 6): up 8 % while under 2 % is lost, down
/// by half the loss above 10 %, unchanged between; never above the camera's maximum.
struct LossBasedEstimate {
    let maximum: UInt64
    let minimum: UInt64
    private(set) var bitrate: UInt64

    init(maximum: UInt64, minimum: UInt64 = 64_000) {
        self.maximum = maximum
        self.minimum = min(minimum, maximum)
        bitrate = maximum
    }

    /// Updates from one report interval's fraction lost (0...255 of 256).
    mutating func update(fractionLost: UInt8) {
        let loss = Double(fractionLost) / 256
        var next = Double(bitrate)
        if loss < 0.02 {
            next *= 1.08
        } else if loss > 0.10 {
            next *= 1 - 0.5 * loss
        }
        bitrate = UInt64(min(Double(maximum), max(Double(minimum), next)))
    }
}
