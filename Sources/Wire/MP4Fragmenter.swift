/// Turns a stream's pictures, in decoding order, into fMP4 fragments for one track. A picture's
/// duration is the distance to the next picture's RTP timestamp, so a fragment is finished when
/// the picture after it arrives: at each keyframe (every fragment a viewer or a trimmed file
/// can start from begins with one, as long as the first picture was one) and otherwise after
/// `fragmentDuration`.
public struct MP4Fragmenter: Sendable {
    public let track: VideoTrack
    /// The longest a fragment runs without a keyframe, in 90 kHz ticks.
    public let fragmentDuration: Int64
    /// A gap between pictures longer than this (10 s) or going backwards is a jump in the
    /// timestamps (a camera restart), not a duration: the picture keeps the previous duration.
    public static let longestDuration: Int64 = 900_000
    /// The duration of a picture when no earlier one tells (25 frames/s).
    public static let defaultDuration: UInt32 = 3_600

    private var pending: [(data: [UInt8], isSync: Bool, timestamp: Int64)] = []
    private var nextSequenceNumber: UInt32 = 1
    private var lastDuration: UInt32 = defaultDuration
    /// Decode time of the next fragment, from 0 at the first picture.
    public private(set) var decodeTime: UInt64 = 0

    public init(track: VideoTrack, fragmentDuration: Int64 = 90_000) {
        self.track = track
        self.fragmentDuration = fragmentDuration
    }

    /// Pictures waiting for the next one (their fragment is not written yet).
    public var pendingCount: Int { pending.count }

    /// Adds a picture; returns the fragment it finished, if it finished one.
    public mutating func append(_ unit: AccessUnit) throws(MP4Error) -> MP4Fragment? {
        guard unit.codec == track.codec else { throw .codecMismatch(track: track.codec, unit: unit.codec) }
        guard !unit.nalUnits.isEmpty, !unit.nalUnits.contains(where: \.isEmpty) else { throw .emptyAccessUnit(timestamp: unit.timestamp) }
        var finished: MP4Fragment?
        if let first = pending.first,
           unit.isKeyframe || unit.timestamp - first.timestamp >= fragmentDuration || pending.count >= 1_000 {
            finished = flush(until: unit.timestamp)
        }
        pending.append((MP4Sample.lengthPrefixed(unit.nalUnits), unit.isKeyframe, unit.timestamp))
        return finished
    }

    /// Writes what is pending as a last fragment. `nextTimestamp`: the picture that follows
    /// (the next segment's first) when known; else the last picture keeps the previous duration.
    public mutating func finish(nextTimestamp: Int64? = nil) -> MP4Fragment? {
        guard !pending.isEmpty else { return nil }
        return flush(until: nextTimestamp)
    }

    private mutating func flush(until end: Int64?) -> MP4Fragment {
        var samples: [MP4Sample] = []
        samples.reserveCapacity(pending.count)
        var keyframes = 0, duration: UInt64 = 0
        for (index, picture) in pending.enumerated() {
            let next = index + 1 < pending.count ? pending[index + 1].timestamp : end
            if let next, next - picture.timestamp > 0, next - picture.timestamp <= Self.longestDuration {
                lastDuration = UInt32(next - picture.timestamp)
            }
            samples.append(MP4Sample(duration: lastDuration, isSync: picture.isSync, data: picture.data))
            duration += UInt64(lastDuration)
            if picture.isSync { keyframes += 1 }
        }
        let header = FragmentedMP4.fragmentHeader(sequenceNumber: nextSequenceNumber, baseDecodeTime: decodeTime, samples: samples)
        let fragment = MP4Fragment(header: header, payloads: samples.map(\.data), sequenceNumber: nextSequenceNumber, startTime: decodeTime,
                                   duration: duration, sampleCount: samples.count, keyframes: keyframes)
        nextSequenceNumber &+= 1
        decodeTime += duration
        pending.removeAll(keepingCapacity: true)
        return fragment
    }
}

/// One written fragment (`moof` + `mdat`) and what it holds; times in 90 kHz ticks. Kept as
/// the header and the pictures' own buffers, so writing it copies no picture (a second of
/// 8 Mbit/s video would otherwise be one more megabyte allocated, filled and freed).
public struct MP4Fragment: Sendable, Hashable {
    /// `moof` and the `mdat` header.
    public var header: [UInt8]
    /// The `mdat` payload: each picture's length-prefixed NAL units, in order.
    public var payloads: [[UInt8]]
    /// The whole fragment in one buffer (tests and readers; writers use `header` + `payloads`).
    public var bytes: [UInt8] {
        var bytes = header
        bytes.reserveCapacity(byteCount)
        for payload in payloads { bytes.append(contentsOf: payload) }
        return bytes
    }
    public var byteCount: Int { payloads.reduce(header.count) { $0 + $1.count } }
    public var sequenceNumber: UInt32
    /// Decode time of its first picture, from the start of the file.
    public var startTime: UInt64
    public var duration: UInt64
    public var sampleCount: Int
    public var keyframes: Int
}
