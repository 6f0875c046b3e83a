import Capture
import JSONText
import POSIX
import Storage
import Web
import Wire

/// Diagnostics: an RTCP capture against a camera (seconds long, on its own thread) and the
/// RTCP watch's alarms.
extension API {
    func diagnose(_ call: RouteCall) throws -> HTTPResponse {
        let body = try decode(DiagnosisBody.self, call.request)
        let actor = call.user.actor
        // A capture lasts its N seconds: on its own thread, answered later (see `command`).
        return .later {
            switch await runDiagnosisOffThread(body, actor: actor) {
            case .success(let diagnosis): HTTPResponse(status: 200, contentType: "application/json", body: Array(diagnosis.json.utf8))
            case .failure(let error as APIError): error.response
            case .failure(let error): APIError(500, "internal", "\(error)").response
            }
        }
    }

    func alarms() -> HTTPResponse { json { alarmsJSON(&$0) } }

    /// `runDiagnosis` on an OS thread of its own: the capture blocks for its whole duration.
    func runDiagnosisOffThread(_ body: DiagnosisBody, actor: String) async -> Result<RTCPDiagnosis, any Error> {
        await runOnOwnThread { Result { try runDiagnosis(body, actor: actor) } }
    }

    func runDiagnosis(_ body: DiagnosisBody, actor: String) throws -> RTCPDiagnosis {
        guard let address = IPAddress(body.camera) else { throw APIError.badRequest("camera: give the camera's IP address, e.g. 192.0.2.10") }
        var request = TrapDiagnosis.Request(camera: address)
        let seconds = body.seconds ?? 10
        guard (1...environment.maximumCaptureSeconds).contains(seconds) else {
            throw APIError.badRequest("seconds: from 1 to \(environment.maximumCaptureSeconds)")
        }
        request.duration = .seconds(seconds)
        if let interface = body.interface, !interface.isEmpty {
            guard interface.count <= 32, interface.allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) }) else {
                throw APIError.badRequest("interface: a name like eth0, lo or any")
            }
            request.interfaces = [interface]
        }
        let audit = AuditLog(store: environment.store)
        do {
            let diagnosis = try environment.diagnose(request)
            _ = try? audit.append(actor: actor, action: "diagnostics.capture", target: body.camera, detail: "verdict \(diagnosis.verdict.rawValue), \(seconds) s", outcome: .success)
            return diagnosis
        } catch {
            _ = try? audit.append(actor: actor, action: "diagnostics.capture", target: body.camera, detail: "\(error)", outcome: .failure)
            throw APIError(502, "capture-failed", "\(error)")
        }
    }

    func alarmsJSON(_ w: inout JSONWriter) {
        w.object { w in
            w.key("rtcp_watch")
            w.array { w in
                for entry in environment.rtcpWatch() {
                    w.object { w in
                        w.field("camera", entry.camera); w.field("state", entry.state); w.field("since", entry.since)
                        w.field("feedback_to_camera", entry.feedbackToCamera); w.field("misrouted_feedback", entry.misroutedFeedback)
                        w.field("misrouted_to", entry.misroutedTo)
                    }
                }
            }
        }
    }
}
