import Control
import Media
import Storage
import Web

/// Cameras: status, mode, and commands with the camera's ack shown.
extension Pages {
    func cameras(_ principal: Principal, message: (text: String, ok: Bool)?) -> HTTPResponse {
        let cameras = environment.cameras?.snapshot() ?? []
        return page("Cameras", principal: principal, current: "/cameras") { body in
            if let message { body.element("div", [("class", "alert " + (message.ok ? "ok" : "bad")), ("role", "status")], text: message.text) }
            body.element("p", [("class", "muted")], text: "MQTT: \(environment.cameras?.connectionState ?? "not configured"). \(cameras.count) camera(s) have reported.")
            cameraTable(&body, cameras, principal: principal, withCommands: principal.may(.command))
            streamTable(&body, principal: principal)
        }
    }

    /// The stream manager's streams: state, bitrate, loss, jitter, last keyframe, RTCP sent and
    /// where, and start/stop for those who may command cameras.
    func streamTable(_ body: inout HTML, principal: Principal) {
        body.element("h2", text: "Streams")
        let streams = environment.streams?.statuses() ?? []
        guard !streams.isEmpty else {
            body.element("div", [("class", "panel muted")], text: environment.streams == nil
                ? "The stream manager is not running." : "No streams: none in [[media.streams]], and no online camera with a streaming profile and a known address.")
            return
        }
        let withButtons = principal.may(.command)
        body.element("div", [("class", "scroll")]) { s in
            s.element("table", [("id", "streams")]) { t in
                t.raw("<thead><tr><th>Camera</th><th>State</th><th>Port</th><th>Bitrate</th><th>Loss</th><th>Jitter</th><th>Last keyframe</th><th>RTCP sent</th><th class=\"hide-narrow\">Segments</th>")
                if withButtons { t.raw("<th>Stream</th>") }
                t.raw("</tr></thead><tbody>")
                for stream in streams {
                    let report = stream.report
                    t.element("tr", [("data-camera", stream.camera), ("data-state", stream.state)]) { r in
                        r.element("td") { $0.element("strong", text: stream.camera) }
                        r.element("td") { c in
                            let tone = stream.state == "receiving" ? "ok" : stream.state == "stopped" ? "muted" : "bad"
                            Pages.badge(&c, stream.state, tone)
                            if let detail = stream.detail { c.element("div", [("class", "muted small")], text: detail) }
                        }
                        r.element("td", text: stream.port.map { "\($0)" } ?? "–")
                        r.element("td", text: report.map { "\($0.bitrate / 1000) kbit/s" } ?? "–")
                        r.element("td", text: report.map { r in
                            let expected = r.packets + r.lost
                            let percent = expected > 0 ? Double(r.lost) * 100 / Double(expected) : 0
                            return "\(r.lost) (\(Int(percent.rounded())) %)"
                        } ?? "–")
                        r.element("td", text: report.map { "\(Int($0.jitterMilliseconds.rounded())) ms" } ?? "–")
                        r.element("td", text: stream.lastKeyframe.map { Pages.time(isoMilliseconds($0)) } ?? "–")
                        r.element("td", text: report.map { "\($0.rtcpSent) to \($0.rtcpTo ?? "nobody yet")" } ?? "–")
                        r.element("td", [("class", "hide-narrow")], text: "\(stream.segmentsWritten)")
                        if withButtons {
                            r.element("td") { c in
                                let start = stream.state == "stopped"
                                c.element("form", [("method", "post"), ("action", "/streams/\(FormData.encode(stream.camera))/\(start ? "start" : "stop")"), ("class", "inline")]) { f in
                                    csrfField(&f, principal)
                                    f.element("button", [("type", "submit"), ("class", start ? "secondary" : "danger")], text: start ? "Start" : "Stop")
                                }
                            }
                        }
                    }
                }
                t.raw("</tbody>")
            }
        }
        streamSDP(&body, streams: streams)   // kurento: offer, sdp check, answer
    }

    func streamAction(_ camera: String, start: Bool, principal: Principal) -> HTTPResponse {
        guard let streams = environment.streams else { return cameras(principal, message: ("The stream manager is not running.", false)) }
        let audit = AuditLog(store: environment.store)
        let action = start ? "stream.start" : "stream.stop"
        do {
            if start { try streams.start(camera: camera) } else { try streams.stop(camera: camera) }
            _ = try? audit.append(actor: principal.actor, action: action, target: camera, outcome: .success)
            return cameras(principal, message: ("Stream \(camera): \(start ? "starting" : "stopped").", true))
        } catch {
            _ = try? audit.append(actor: principal.actor, action: action, target: camera, detail: "\(error)", outcome: .failure)
            return cameras(principal, message: ("Stream \(camera): \(error)", false))
        }
    }

    func cameraTable(_ body: inout HTML, _ cameras: [CameraStatus], principal: Principal, withCommands: Bool) {
        guard !cameras.isEmpty else {
            body.element("div", [("class", "panel muted")], text: "No camera has reported to the broker yet.")
            return
        }
        body.element("div", [("class", "scroll")]) { s in
            s.element("table") { t in
                t.raw("<thead><tr><th>Camera</th><th>Status</th><th>Mode</th><th>Stream</th><th class=\"hide-narrow\">Firmware</th><th class=\"hide-narrow\">Last seen</th>")
                if withCommands { t.raw("<th>Commands</th>") }
                t.raw("</tr></thead><tbody>")
                for camera in cameras {
                    let id = camera.id.rawValue
                    t.element("tr") { r in
                        r.element("td") { $0.element("strong", text: id) }
                        r.element("td") { Pages.badge(&$0, camera.online ? "online" : "offline", camera.online ? "ok" : "bad") }
                        r.element("td", text: camera.mode.isEmpty ? "–" : camera.mode)
                        r.element("td") { c in
                            c.text(camera.stream.isEmpty ? "–" : camera.stream)
                            liveLink(&c, id)   // live: a link when its live view is available
                        }
                        r.element("td", [("class", "hide-narrow")], text: camera.firmware.isEmpty ? "–" : camera.firmware)
                        r.element("td", [("class", "hide-narrow")], text: Pages.time(camera.listEntry.lastSeen))
                        if withCommands {
                            r.element("td") { c in
                                commandForms(&c, id: id, principal: principal)
                            }
                        }
                    }
                }
                t.raw("</tbody>")
            }
        }
    }

    private func commandForms(_ html: inout HTML, id: String, principal: Principal) {
        let result = "result-" + id
        html.element("div", [("class", "row")]) { row in
            for (command, label) in [("get-status", "Status"), ("reboot", "Reboot")] {
                row.element("form", [("method", "post"), ("action", "/cameras/\(FormData.encode(id))/command"), ("class", "inline"),
                                     ("data-command", command), ("data-api", "/api/v1/cameras/\(FormData.encode(id))/commands"), ("data-result", result),
                                     ("data-confirm", command == "reboot" ? "Reboot camera \(id)?" : nil)]) { f in
                    csrfField(&f, principal)
                    f.void("input", [("type", "hidden"), ("name", "command"), ("value", command)])
                    f.element("button", [("type", "submit"), ("class", command == "reboot" ? "danger" : "secondary")], text: label)
                }
            }
            row.element("form", [("method", "post"), ("action", "/cameras/\(FormData.encode(id))/command"), ("class", "inline row"),
                                 ("data-command", "set-mode"), ("data-api", "/api/v1/cameras/\(FormData.encode(id))/commands"), ("data-result", result)]) { f in
                csrfField(&f, principal)
                f.void("input", [("type", "hidden"), ("name", "command"), ("value", "set-mode")])
                f.element("select", [("name", "mode"), ("aria-label", "mode")]) { s in
                    for mode in CameraID(id).map({ environment.cameras?.modes(of: $0) ?? [] }) ?? [] { s.element("option", [("value", mode)], text: mode) }
                }
                f.element("button", [("type", "submit"), ("class", "secondary")], text: "Set mode")
            }
        }
        html.element("div", [("id", result), ("class", "result"), ("aria-live", "polite")])
    }

    func command(_ id: String, form: [String: String], principal: Principal) -> HTTPResponse {
        let body = API.CommandBody(command: form["command"] ?? "", mode: form["mode"])
        // Waits for the camera's answer without holding a server thread (see API.dispatch).
        return .later {
            do {
                let answer = try await api.sendCommand(camera: id, body: body, actor: principal.actor)
                return cameras(principal, message: ("Camera \(id): " + answer.text, answer.success))
            } catch let error as APIError {
                return cameras(principal, message: ("Camera \(id): " + error.message, false))
            } catch {
                return cameras(principal, message: ("Camera \(id): \(error)", false))
            }
        }
    }
}
