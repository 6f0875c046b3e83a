import Media
import Wire

// kurento: per stream of the Kurento engine, the SDP offer camhost sent, `sdp check`'s findings
// on it, and the answer Kurento gave (issue 14).
extension Pages {
    func streamSDP(_ body: inout HTML, streams: [StreamStatus]) {
        let negotiated = streams.filter { $0.offer != nil || $0.answer != nil }
        guard !negotiated.isEmpty else { return }
        let hostAddresses = (try? HostAddresses.current()) ?? []
        body.element("h3", text: "SDP with Kurento")
        for stream in negotiated {
            body.element("details", [("class", "panel"), ("data-sdp", stream.camera)]) { d in
                d.element("summary") { s in
                    s.element("strong", text: stream.camera)
                    s.text(" — offer sent, answer received ")
                    if let offer = stream.offer {
                        switch Result(catching: { () throws(SDPError) in
                            try SDPCheck(text: offer, camera: stream.address.flatMap(IPAddress.init), hostAddresses: hostAddresses)
                        }) {
                        case .success(let check):
                            Pages.badge(&s, "sdp check: \(check.verdict.rawValue)", check.verdict == .ok ? "ok" : "bad")
                        case .failure(let error):
                            Pages.badge(&s, "sdp check: malformed", "bad")
                            s.element("div", [("class", "muted small")], text: "\(error)")
                        }
                    }
                }
                if let offer = stream.offer {
                    d.element("h4", text: "Offer")
                    d.element("pre", [("class", "sdp")], text: offer)
                    if let check = try? SDPCheck(text: offer, camera: stream.address.flatMap(IPAddress.init), hostAddresses: hostAddresses),
                       !check.findings.isEmpty {
                        d.element("ul", [("class", "findings")]) { list in
                            for finding in check.findings {
                                list.element("li", [("data-severity", finding.severity.rawValue)],
                                             text: "line \(finding.line) (\(finding.severity.rawValue)): \(finding.message) Fix: \(finding.fix)")
                            }
                        }
                    }
                }
                if let answer = stream.answer {
                    d.element("h4", text: "Answer")
                    d.element("pre", [("class", "sdp")], text: answer)
                }
            }
        }
    }
}
