import Capture
import JSONText
import Web

/// Diagnostics: a capture against one camera, its verdict, and a timeline of RTCP per interface.
extension Pages {
    func diagnostics(_ principal: Principal, form: [String: String], result: Result<RTCPDiagnosis, APIError>?) -> HTTPResponse {
        page("Diagnostics", principal: principal, current: "/diagnostics") { body in
            body.element("p", [("class", "muted")], text: "Captures RTCP for a few seconds and tells whether the feedback for a camera reaches it or is trapped on loopback (an SDP offer with c=0.0.0.0).")
            if principal.may(.command) {
                body.element("form", [("method", "post"), ("action", "/diagnostics"), ("class", "panel row")]) { f in
                    csrfField(&f, principal)
                    f.element("label") { l in
                        l.text("Camera address")
                        l.void("input", [("name", "camera"), ("required", ""), ("placeholder", "192.0.2.10"), ("value", form["camera"]), ("inputmode", "decimal")])
                    }
                    f.element("label") { l in
                        l.text("Seconds")
                        l.void("input", [("name", "seconds"), ("type", "number"), ("min", "1"), ("max", String(environment.maximumCaptureSeconds)), ("value", form["seconds"] ?? "10")])
                    }
                    f.element("label") { l in
                        l.text("Interface")
                        l.void("input", [("name", "interface"), ("placeholder", "any"), ("value", form["interface"])])
                    }
                    f.element("button", [("type", "submit")], text: "Run capture")
                }
            } else {
                body.element("div", [("class", "panel muted")], text: "Viewers can read diagnostics but not start a capture.")
            }
            switch result {
            case .success(let diagnosis): diagnosisReport(&body, diagnosis)
            case .failure(let error): body.element("div", [("class", "alert bad"), ("role", "alert")], text: error.message)
            case nil: break
            }
        }
    }

    func runDiagnostics(_ form: [String: String], principal: Principal) -> HTTPResponse {
        let body = API.DiagnosisBody(camera: form["camera"] ?? "", seconds: Int(form["seconds"] ?? ""), interface: form["interface"])
        // The capture lasts its N seconds: on its own thread, without holding a server thread.
        return .later {
            switch await api.runDiagnosisOffThread(body, actor: principal.actor) {
            case .success(let diagnosis): diagnostics(principal, form: form, result: .success(diagnosis))
            case .failure(let error as APIError): diagnostics(principal, form: form, result: .failure(error))
            case .failure(let error): diagnostics(principal, form: form, result: .failure(APIError(500, "internal", "\(error)")))
            }
        }
    }

    private func diagnosisReport(_ body: inout HTML, _ diagnosis: RTCPDiagnosis) {
        let kind = diagnosis.verdict == .healthy ? "ok" : diagnosis.verdict == .trap ? "bad" : "warn"
        body.element("div", [("class", "alert " + kind), ("role", "status")]) { a in
            a.element("strong", text: "Verdict: \(diagnosis.verdict.rawValue). ")
            a.text(diagnosis.explanation)
        }
        if let fix = diagnosis.fix { body.element("div", [("class", "panel")]) { $0.element("strong", text: "Fix: "); $0.text(fix) } }
        body.element("h2", text: "RTCP timeline per interface")
        body.element("div", [("class", "panel")]) { $0.raw(Pages.timeline(diagnosis)) }
        body.element("h2", text: "Evidence")
        body.element("div", [("class", "scroll")]) { s in
            s.element("table") { t in
                t.raw("<thead><tr><th>Route</th><th>Interface</th><th>From</th><th>To</th><th class=\"num\">Datagrams</th></tr></thead><tbody>")
                for item in diagnosis.evidence {
                    t.element("tr") { r in
                        r.element("td", text: item.route.rawValue)
                        r.element("td", text: item.interface ?? "?")
                        r.element("td", text: item.source.description)
                        r.element("td", text: item.destination.description)
                        r.element("td", [("class", "num")], text: String(item.counts.datagrams))
                    }
                }
                t.raw("</tbody>")
            }
        }
        body.element("details") { d in
            d.element("summary", text: "Full report (text)")
            d.element("pre", text: diagnosis.text)
        }
    }

    /// One lane per interface; each flow of RTCP is a bar from its first to its last packet,
    /// coloured by route (to the camera green, on loopback red, from the camera grey).
    static func timeline(_ diagnosis: RTCPDiagnosis) -> String {
        let interfaces = Array(Set(diagnosis.evidence.map { $0.interface ?? "?" })).sorted()
        let span = max(diagnosis.spanSeconds, diagnosis.evidence.map(\.lastSeconds).max() ?? 0, 1)
        let width = 640.0, left = 70.0, lane = 34.0, top = 8.0
        let height = top + lane * Double(max(interfaces.count, 1)) + 24
        var svg = "<svg class=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"RTCP timeline per interface\" xmlns=\"http://www.w3.org/2000/svg\">"
        if interfaces.isEmpty {
            svg += "<text x=\"\(Int(width / 2))\" y=\"30\" text-anchor=\"middle\">no RTCP seen</text>"
        }
        for (index, interface) in interfaces.enumerated() {
            let y = top + lane * Double(index)
            svg += "<text x=\"\(Int(left - 8))\" y=\"\(y + lane / 2 + 3)\" text-anchor=\"end\">\(HTML.escape(interface))</text>"
            svg += "<line x1=\"\(Int(left))\" x2=\"\(Int(width - 4))\" y1=\"\(y + lane / 2)\" y2=\"\(y + lane / 2)\" stroke=\"#e5e7eb\"/>"
            let flows = diagnosis.evidence.filter { ($0.interface ?? "?") == interface }
            for (flowIndex, flow) in flows.enumerated() {
                let colour = flow.route == .toCamera ? "#15803d" : flow.route == .onLoopback ? "#b91c1c" : "#6b7280"
                let x1 = left + (width - left - 8) * flow.firstSeconds / span
                let x2 = max(left + (width - left - 8) * flow.lastSeconds / span, x1 + 3)
                let barY = y + 6 + Double(flowIndex % 3) * 7
                svg += "<rect x=\"\(x1)\" y=\"\(barY)\" width=\"\(x2 - x1)\" height=\"6\" rx=\"2\" fill=\"\(colour)\"><title>\(HTML.escape(flow.route.rawValue)): \(HTML.escape(flow.source.description)) → \(HTML.escape(flow.destination.description)), \(flow.counts.datagrams) datagrams</title></rect>"
            }
        }
        let axisY = top + lane * Double(max(interfaces.count, 1)) + 14
        for fraction in [0.0, 0.25, 0.5, 0.75, 1.0] {
            let x = left + (width - left - 8) * fraction
            svg += "<text x=\"\(x)\" y=\"\(axisY)\" text-anchor=\"middle\">\(JSONWriter.number(span * fraction)) s</text>"
        }
        svg += "<text x=\"\(Int(width - 4))\" y=\"\(Int(height - 1))\" text-anchor=\"end\"><tspan fill=\"#15803d\">■ to camera</tspan> <tspan fill=\"#b91c1c\">■ on loopback</tspan> <tspan fill=\"#6b7280\">■ from camera / other</tspan></text>"
        return svg + "</svg>"
    }
}
