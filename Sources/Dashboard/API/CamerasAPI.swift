import Control
import JSONText
import Web

/// The cameras Control knows, and commands sent to them (answered when the camera acks).
extension API {
    func cameras() throws -> HTTPResponse { try json { try camerasJSON(&$0) } }

    func camera(_ id: String) throws -> HTTPResponse {
        guard let camera = environment.cameras?.snapshot().first(where: { $0.id.rawValue == id }) else {
            throw APIError.notFound("no camera \(id) has reported to the broker")
        }
        return json { cameraJSON(&$0, camera) }
    }

    func command(_ call: RouteCall) throws -> HTTPResponse {
        let body = try decode(CommandBody.self, call.request)
        let camera = call.parameter, actor = call.user.actor
        // The camera's answer can take seconds (time-out 5 s): wait for it without holding
        // one of the server's threads, or two slow cameras would stall the whole dashboard.
        return .later {
            do {
                let result = try await sendCommand(camera: camera, body: body, actor: actor)
                return json(status: result.status) { $0.raw(result.json) }
            } catch let error as APIError {
                return error.response
            } catch {
                return APIError(500, "internal", "\(error)").response
            }
        }
    }

    struct CommandAnswer { var status: Int; var json: String; var success: Bool; var text: String }

    func sendCommand(camera id: String, body: CommandBody, actor: String) async throws -> CommandAnswer {
        guard let cameras = environment.cameras else { throw APIError(503, "unavailable", "camera control is not running") }
        guard let camera = CameraID(id) else { throw APIError.badRequest("camera id \"\(id)\" is not valid") }
        let command: CameraCommand
        switch body.command {
        case "reboot": command = .reboot
        case "get-status": command = .getStatus
        case "stop-stream": command = .stopStream
        case "set-mode":
            guard let mode = body.mode, !mode.isEmpty, mode.count <= 64 else { throw APIError.badRequest("set-mode needs \"mode\"") }
            command = .setMode(mode)
        default:
            throw APIError.badRequest("command must be one of reboot, set-mode, get-status, stop-stream (streams start from the stream manager)")
        }
        do {
            let result = try await cameras.send(command, to: camera, actor: actor)
            let seconds = result.latencyMilliseconds / 1000
            metrics.commandFinished(command: command.kind.rawValue, outcome: result.outcome.name, seconds: result.outcome == .timedOut ? nil : seconds)
            var w = JSONWriter()
            var reason: String?
            if case .failed(let why) = result.outcome { reason = why }
            w.object { w in
                w.field("camera", result.camera.rawValue)
                w.field("command", command.kind.rawValue)
                w.field("correlation_id", result.correlationID)
                w.field("outcome", result.outcome.name)
                w.field("success", result.outcome.isSuccess)
                w.field("reason", reason)
                w.field("latency_ms", result.latencyMilliseconds)
            }
            let text = "\(command.kind.rawValue): \(result.outcome.name) in \(Int(result.latencyMilliseconds)) ms" + (reason.map { " (\($0))" } ?? "")
            return CommandAnswer(status: 200, json: w.text, success: result.outcome.isSuccess, text: text)
        } catch {
            metrics.commandFinished(command: command.kind.rawValue, outcome: "error", seconds: nil)
            throw APIError(502, "command-failed", "\(error)")
        }
    }

    func camerasJSON(_ w: inout JSONWriter) throws {
        let cameras = environment.cameras?.snapshot() ?? []
        w.object { w in
            w.field("mqtt", environment.cameras?.connectionState ?? "disabled")
            w.key("cameras")
            w.array { w in for camera in cameras { cameraJSON(&w, camera) } }
        }
    }

    func cameraJSON(_ w: inout JSONWriter, _ camera: CameraStatus) {
        w.object { w in
            w.field("id", camera.id.rawValue)
            w.field("online", camera.online)
            w.field("mode", camera.mode)
            w.field("stream", camera.stream)
            w.field("firmware", camera.firmware)
            w.field("profile", camera.profile)
            w.field("last_seen", camera.listEntry.lastSeen)
        }
    }
}
