import Control
import Dashboard
import Web
import Wire

/// Camera control as the dashboard sees it.
struct ControlCameras: DashboardCameras {
    let service: ControlService

    func snapshot() -> [CameraStatus] { service.snapshot() }

    func send(_ command: CameraCommand, to camera: CameraID, actor: String) async throws -> CommandResult {
        try await service.send(command, to: camera, actor: actor)
    }

    func modes(of camera: CameraID) -> [String] { service.control.profile(of: camera).modes }

    var connectionState: String { service.control.connectionState.rawValue }
}

extension RTCPWatch {
    /// The watch's per-camera state for the overview, alarms and /metrics.
    func dashboardEntries() -> [RTCPWatchEntry] {
        snapshot().map {
            RTCPWatchEntry(camera: $0.camera.description, state: $0.state.rawValue, since: $0.since,
                           feedbackToCamera: $0.feedbackToCamera, misroutedFeedback: $0.misroutedFeedback, misroutedTo: $0.misroutedTo,
                           evidence: $0.evidence)
        }
    }
}

