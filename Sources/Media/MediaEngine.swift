import Control
import Wire

/// What receives a camera's RTP for the stream manager: camhost's own receiver (`BuiltinEngine`)
/// or a media server (the Kurento engine). The manager owns ports, cameras, back-off and
/// recording; an engine only turns one stream's configuration into a running session.
public protocol MediaEngine: Sendable {
    /// `builtin`, `kurento`: the `engine` of `/api/v1/streams`.
    var name: String { get }
    /// Opens the stream's receiving end (binds its sockets, or asks the media server for an
    /// endpoint) without receiving yet. `sinks` take the depacketized pictures (the recorder,
    /// the live fan-out); an engine that cannot hand pictures on ignores them.
    /// Throws a `StreamError` (`.portInUse` makes the manager try the next pair of the range)
    /// or the engine's own error, with a message for people.
    func open(_ request: MediaStreamRequest, sinks: [any AccessUnitSink]) throws -> any MediaSession
}

/// What the manager asks an engine to open.
public struct MediaStreamRequest: Sendable {
    /// Camera, its address, the local port chosen from `media.port_range` (or configured),
    /// codec, clock rate, feedback, REMB ceiling, parameter sets, the camera's RTCP port.
    public var configuration: StreamConfiguration
    /// Where it comes from and what it carries (payload type; `profileStream` is the firmware
    /// profile's `[stream]` section, nil for a `[[media.streams]]` entry).
    public var spec: StreamSpec

    public init(configuration: StreamConfiguration, spec: StreamSpec) {
        self.configuration = configuration
        self.spec = spec
    }
}

/// One running stream inside an engine.
public protocol MediaSession: AnyObject, Sendable {
    /// Where the camera must send its RTP: nil host means this host (the manager names the
    /// address that routes to the camera); the port is the RTP port (RTCP on the next one
    /// unless rtcp-mux).
    var destinationHost: IPAddress? { get }
    var destinationPort: UInt16 { get }
    /// SDP offer and answer, when the engine negotiates (Kurento); nil for the builtin engine.
    var offer: String? { get }
    var answer: String? { get }
    func start()
    /// The counters as of now.
    var report: StreamReport { get }
    /// PLI/FIR toward the camera (a new viewer or segment), when its firmware honours them.
    func requestKeyframe()
    /// Stops receiving and releases the session's sockets or endpoint; returns the last report.
    @discardableResult func stop() -> StreamReport
}

/// camhost's own RTP receiver (`StreamReceiver`) as a `MediaEngine`.
public struct BuiltinEngine: MediaEngine {
    public init() {}
    public var name: String { "builtin" }

    public func open(_ request: MediaStreamRequest, sinks: [any AccessUnitSink]) throws -> any MediaSession {
        BuiltinSession(receiver: try StreamReceiver(request.configuration, sinks: sinks))
    }
}

/// A `StreamReceiver` seen as a `MediaSession`.
final class BuiltinSession: MediaSession {
    let receiver: StreamReceiver
    init(receiver: StreamReceiver) { self.receiver = receiver }
    var destinationHost: IPAddress? { nil }
    var destinationPort: UInt16 { receiver.rtpPort }
    var offer: String? { nil }
    var answer: String? { nil }
    func start() { receiver.start() }
    var report: StreamReport { receiver.snapshot }
    func requestKeyframe() { receiver.requestKeyframe() }
    @discardableResult func stop() -> StreamReport { receiver.stop() }
}
