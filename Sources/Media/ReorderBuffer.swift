/// Puts one source's RTP packets back in sequence order (RFC 3550 section 5.1: sequence numbers
/// wrap at 2^16) and waits a bounded time for a missing one before declaring it lost.
///
/// Packets that arrive in order while nothing is held never enter it (the common case costs a
/// comparison); the others are copied into one of `capacity` reused slots. Memory is bounded:
/// the slots keep their capacity, and a packet too far ahead flushes what is held.
struct ReorderBuffer {
    struct Slot {
        var bytes: [UInt8] = []
        var occupied = false
        var sequence: Int64 = 0
        var arrival: ContinuousClock.Instant = .now
    }

    /// What `insert` decided about one packet.
    enum Placement: Equatable {
        /// Next in order and nothing held: the caller hands it on at once.
        case deliverNow
        /// Held in a slot; `missing` packets before it were not (yet) seen.
        case held(missing: Range<Int64>)
        /// Already delivered, or declared lost before it came: dropped.
        case late
        /// Already held: dropped.
        case duplicate
    }

    let capacity: Int
    let maxWait: Duration
    private var slots: [Slot]
    /// Extended sequence number of the next packet to hand on.
    private(set) var nextExpected: Int64? = nil
    /// Highest extended sequence number seen.
    private(set) var highest: Int64 = 0
    private(set) var heldCount = 0
    private var oldestArrival: ContinuousClock.Instant? = nil

    init(capacity: Int = 256, maxWait: Duration = .milliseconds(100)) {
        precondition(capacity > 0 && capacity & (capacity - 1) == 0, "capacity is a power of two")
        self.capacity = capacity
        self.maxWait = maxWait
        slots = Array(repeating: Slot(), count: capacity)
    }

    /// The extended sequence number of a 16-bit one: the value nearest the highest seen.
    func extend(_ sequence: UInt16) -> Int64 {
        guard nextExpected != nil else { return Int64(sequence) + 65536 }
        let delta = Int16(bitPattern: sequence &- UInt16(truncatingIfNeeded: highest))
        return highest + Int64(delta)
    }

    /// Forgets everything (a new source); held packets are dropped, so flush first.
    mutating func reset() {
        for i in slots.indices where slots[i].occupied { slots[i].occupied = false }
        nextExpected = nil
        heldCount = 0
        oldestArrival = nil
    }

    /// Places a packet with extended sequence number `sequence`.
    mutating func insert(_ bytes: UnsafeRawBufferPointer, sequence: Int64, arrival: ContinuousClock.Instant) -> Placement {
        guard let expected = nextExpected else {
            nextExpected = sequence + 1
            highest = sequence
            return .deliverNow
        }
        if sequence < expected { return .late }
        if sequence == expected && heldCount == 0 {
            nextExpected = sequence + 1
            highest = max(highest, sequence)
            return .deliverNow
        }
        let index = Int(sequence & Int64(capacity - 1))
        if slots[index].occupied {
            if slots[index].sequence == sequence { return .duplicate }
            return .late  // cannot happen while the window is kept under capacity
        }
        let missingFrom = max(highest + 1, expected)
        let missing = sequence > missingFrom ? missingFrom..<sequence : sequence..<sequence
        slots[index].bytes.removeAll(keepingCapacity: true)
        slots[index].bytes.append(contentsOf: bytes)
        slots[index].occupied = true
        slots[index].sequence = sequence
        slots[index].arrival = arrival
        heldCount += 1
        highest = max(highest, sequence)
        if oldestArrival == nil { oldestArrival = arrival }
        return .held(missing: missing)
    }

    /// Whether `sequence` is so far ahead that the window cannot hold it: the caller flushes,
    /// then resets to it (a sender that jumped, or a long outage).
    func isBeyondWindow(_ sequence: Int64) -> Bool {
        guard let expected = nextExpected else { return false }
        return sequence - expected >= Int64(capacity)
    }

    /// When the oldest held packet stops waiting for the ones missing before it.
    var deadline: ContinuousClock.Instant? { oldestArrival.map { $0.advanced(by: maxWait) } }

    /// Hands on, in order, every held packet that may go now: those in sequence, and, once the
    /// oldest has waited `maxWait` (or `flushing`), those after a gap. `body` gets the bytes and
    /// the number of packets declared lost just before it.
    mutating func release(now: ContinuousClock.Instant, flushing: Bool = false, _ body: (UnsafeRawBufferPointer, Int) -> Void) {
        guard var expected = nextExpected else { return }
        while heldCount > 0 {
            let index = Int(expected & Int64(capacity - 1))
            if slots[index].occupied && slots[index].sequence == expected {
                deliver(index, lost: 0, body)
                expected += 1
                continue
            }
            // A gap: give up on it when the oldest held packet has waited long enough.
            guard flushing || (oldestArrival.map { now >= $0.advanced(by: maxWait) } ?? false) || heldCount >= capacity - 1 else { break }
            var next = expected + 1
            while next <= highest {
                let i = Int(next & Int64(capacity - 1))
                if slots[i].occupied && slots[i].sequence == next { break }
                next += 1
            }
            guard next <= highest else { break }
            deliver(Int(next & Int64(capacity - 1)), lost: Int(next - expected), body)
            expected = next + 1
        }
        nextExpected = expected
        if heldCount == 0 {
            oldestArrival = nil
            // Losses at the end stay undeclared until a later packet shows them.
        } else {
            oldestArrival = slots.lazy.filter(\.occupied).map(\.arrival).min()
        }
    }

    private mutating func deliver(_ index: Int, lost: Int, _ body: (UnsafeRawBufferPointer, Int) -> Void) {
        slots[index].occupied = false
        heldCount -= 1
        slots[index].bytes.withUnsafeBytes { body($0, lost) }
    }
}
