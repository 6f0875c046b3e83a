import Wire

/// The loopback-trap diagnosis in one word; see docs/diagnostics.md.
public enum Verdict: String, Sendable, CaseIterable {
    /// Feedback (RTCP not sent by the camera) is addressed to the camera.
    case healthy
    /// No feedback reaches the camera, and feedback about its stream goes over loopback.
    case trap
    /// No feedback at all: no RTCP, or only the camera's own SR/SDES/BYE.
    case noRTCP = "no-rtcp"
    /// Nothing reached the camera, but the capture could not see where feedback would go
    /// (no loopback interface captured, or only loopback): look again with `--interface any`.
    case indeterminate

    /// `camhost diagnose rtcp` exit status: 0 healthy, 1 trap, 2 no-rtcp, 3 indeterminate.
    public var exitCode: Int32 {
        switch self {
        case .healthy: 0
        case .trap: 1
        case .noRTCP: 2
        case .indeterminate: 3
        }
    }
}

/// Which way an RTCP datagram went, relative to the camera. A datagram on loopback is `onLoopback` only.
public enum FeedbackRoute: String, Sendable, CaseIterable, Comparable {
    case toCamera = "to_camera"
    case fromCamera = "from_camera"
    case onLoopback = "on_loopback"
    case other

    public static func < (a: FeedbackRoute, b: FeedbackRoute) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// Sorts an observation for `camera`.
    public static func of(_ observation: RTCPObservation, camera: IPAddress) -> FeedbackRoute {
        if observation.onLoopback { return .onLoopback }
        if observation.source.address == camera { return .fromCamera }
        if observation.destination.address == camera { return .toCamera }
        return .other
    }
}
