import Control
import Media
import Web

/// The overview: cameras, streams, alarms, disk usage with a chart of the last two weeks.
extension Pages {
    func overview(_ principal: Principal) throws -> HTTPResponse {
        let cameras = environment.cameras?.snapshot() ?? []
        let alarms = environment.rtcpWatch()
        let usage = try recordings.usage()
        let days = try recordings.bytesPerDay(days: 14)
        let volume = recordings.volume()
        return page("Overview", principal: principal, current: "/") { body in
            for alarm in alarms where alarm.state == "trap" {
                body.element("div", [("class", "alert bad"), ("role", "alert")]) { a in
                    a.element("strong", text: "RTCP loopback trap on camera \(alarm.camera). ")
                    if let evidence = alarm.evidence, alarm.misroutedTo == nil {
                        a.text("Confirmation after start-stream: " + evidence + "; it will drop the stream. ")   // kurento
                    } else {
                        a.text("Feedback goes to \(alarm.misroutedTo ?? "a local address") over loopback and none reaches the camera; it will drop the stream. ")
                    }
                    a.text("Fix the SDP offer's c= line (never 0.0.0.0), then check with ")
                    a.element("a", [("href", "/diagnostics?camera=\(FormData.encode(alarm.camera))")], text: "a diagnostic capture")
                    a.text(".")
                }
            }
            if environment.cameras == nil {
                body.element("div", [("class", "alert warn")], text: "Camera control is not running: no MQTT broker is configured.")
            } else if environment.cameras?.connectionState != "connected" {
                body.element("div", [("class", "alert warn")], text: "Camera control is \(environment.cameras?.connectionState ?? "off"): not connected to the MQTT broker.")
            }
            let online = cameras.filter(\.online).count
            body.element("div", [("class", "cards")]) { cards in
                card(&cards, "Cameras online", "\(online)", kind: nil)
                card(&cards, "Cameras offline", "\(cameras.count - online)", kind: cameras.count > online ? "bad" : nil)
                card(&cards, "Streams", "\(cameras.filter { Pages.isStreaming($0.stream) }.count)", kind: nil)
                card(&cards, "Alarms", "\(alarms.filter { $0.state == "trap" }.count)", kind: alarms.contains { $0.state == "trap" } ? "bad" : nil)
                card(&cards, "Recordings", "\(usage.reduce(0) { $0 + $1.count })", kind: nil)
                card(&cards, "Stored", Pages.bytes(usage.reduce(0) { $0 + $1.bytes }), kind: nil)
                if let volume {
                    let usedPercent = volume.total > 0 ? Int((Double(volume.total - volume.available) / Double(volume.total) * 100).rounded()) : 0
                    card(&cards, "Disk free", Pages.bytes(volume.available) + " (\(100 - usedPercent) %)", kind: usedPercent >= 90 ? "bad" : nil)
                }
            }
            // live: the streaming cameras, one click from their live view.
            if let streaming = environment.live?.streamingCameras, !streaming.isEmpty {
                body.element("p", [("class", "row")]) { p in
                    p.element("a", [("href", "/live")], text: "Live view (\(streaming.count) streaming)")
                    for camera in streaming { p.element("a", [("href", "/cameras/\(FormData.encode(camera))/live"), ("class", "live-link")], text: camera) }
                }
            }
            body.element("h2", text: "Recorded per day (last 14 days)")
            body.element("div", [("class", "panel")]) { panel in
                panel.raw(Pages.barChart(days.map { (String($0.day.dropFirst(5)), $0.bytes) }))
            }
            body.element("h2", text: "Cameras")
            cameraTable(&body, cameras, principal: principal, withCommands: false)
            if !alarms.isEmpty {
                body.element("h2", text: "RTCP watch")
                body.element("div", [("class", "scroll")]) { s in
                    s.element("table") { t in
                        t.raw("<thead><tr><th>Camera</th><th>State</th><th class=\"num\">Feedback to camera</th><th class=\"num\">On loopback</th></tr></thead><tbody>")
                        for alarm in alarms {
                            t.element("tr") { r in
                                r.element("td", text: alarm.camera)
                                r.element("td") { Pages.badge(&$0, alarm.state, alarm.state == "trap" ? "bad" : alarm.state == "healthy" ? "ok" : "warn") }
                                r.element("td", [("class", "num")], text: "\(alarm.feedbackToCamera)")
                                r.element("td", [("class", "num")], text: "\(alarm.misroutedFeedback)")
                            }
                        }
                        t.raw("</tbody>")
                    }
                }
            }
        }
    }

    func card(_ html: inout HTML, _ label: String, _ value: String, kind: String?) {
        html.element("div", [("class", "card")]) { c in
            c.element("div", [("class", "label")], text: label)
            c.element("div", [("class", "value" + (kind.map { " " + $0 } ?? ""))], text: value)
        }
    }

    /// A bar chart as inline SVG (no script, no external library).
    static func barChart(_ values: [(label: String, bytes: Int64)]) -> String {
        let width = 640.0, height = 180.0, left = 56.0, bottom = 22.0, top = 10.0
        let maximum = max(values.map(\.bytes).max() ?? 0, 1)
        let step = (width - left - 8) / Double(max(values.count, 1))
        var svg = "<svg class=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"bytes recorded per day\" xmlns=\"http://www.w3.org/2000/svg\">"
        for fraction in [0.0, 0.5, 1.0] {
            let y = top + (height - top - bottom) * (1 - fraction)
            svg += "<line x1=\"\(Int(left))\" x2=\"\(Int(width - 4))\" y1=\"\(y)\" y2=\"\(y)\" stroke=\"#e5e7eb\"/>"
            svg += "<text x=\"\(Int(left - 6))\" y=\"\(y + 3)\" text-anchor=\"end\">\(HTML.escape(bytes(Int64(Double(maximum) * fraction))))</text>"
        }
        for (index, value) in values.enumerated() {
            let barHeight = (height - top - bottom) * Double(value.bytes) / Double(maximum)
            let x = left + Double(index) * step + step * 0.15
            svg += "<rect x=\"\(x)\" y=\"\(height - bottom - barHeight)\" width=\"\(step * 0.7)\" height=\"\(barHeight)\" rx=\"2\" fill=\"#2563eb\"><title>\(HTML.escape(value.label)): \(HTML.escape(bytes(value.bytes)))</title></rect>"
            if index % 2 == 0 || values.count <= 8 {
                svg += "<text x=\"\(x + step * 0.35)\" y=\"\(height - 6)\" text-anchor=\"middle\">\(HTML.escape(value.label))</text>"
            }
        }
        return svg + "</svg>"
    }
}
