/// Why the fMP4 writer refused its input or the fragment reader refused a file's bytes;
/// offsets are from the start of the bytes read.
public enum MP4Error: Error, Hashable, Sendable, CustomStringConvertible {
    /// Which parameter set a `badParameterSet` is about.
    public enum ParameterSet: String, Sendable, Hashable { case vps = "VPS", sps = "SPS", pps = "PPS" }

    /// A parameter set that is missing, truncated, of the wrong NAL type or says impossible things.
    case badParameterSet(ParameterSet, String)
    /// A picture of another codec than the track's.
    case codecMismatch(track: VideoCodec, unit: VideoCodec)
    /// A picture with no NAL units, or an empty NAL unit, which no decoder can use.
    case emptyAccessUnit(timestamp: Int64)
    /// A box whose declared size runs past the bytes there are (a file cut short).
    case truncatedBox(type: String, offset: Int, declared: Int, available: Int)
    /// A box header that cannot be right (size below its header), or a box where another was due.
    case malformedBox(type: String, offset: Int, reason: String)

    public var description: String {
        switch self {
        case .badParameterSet(let kind, let reason): "bad \(kind.rawValue): \(reason)"
        case .codecMismatch(let track, let unit): "a \(unit.rawValue) picture on a \(track.rawValue) track"
        case .emptyAccessUnit(let timestamp): "an access unit without data at RTP time \(timestamp)"
        case .truncatedBox(let type, let offset, let declared, let available):
            "box '\(type)' at byte \(offset) declares \(declared) bytes but only \(available) follow"
        case .malformedBox(let type, let offset, let reason): "box '\(type)' at byte \(offset): \(reason)"
        }
    }
}
