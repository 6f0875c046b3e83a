import Wire

/// What takes a stream's depacketized pictures (the segment recorder, the live fan-out). The
/// stream calls it on its own thread, in decoding order; a sink must not block it.
public protocol AccessUnitSink: AnyObject, Sendable {
    /// A picture, with the parameter sets in force for it (from the stream or the profile).
    func receive(_ unit: AccessUnit, parameterSets: ParameterSets)
}
