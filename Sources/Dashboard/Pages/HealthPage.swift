import Storage
import Web

/// Health (the /healthz document, readable) and the audit log (who did what, when).
extension Pages {
    func health(_ principal: Principal) -> HTTPResponse {
        let report = environment.health()
        return page("Health", principal: principal, current: "/health") { body in
            body.element("div", [("class", "alert " + (report.status == "ok" ? "ok" : "warn")), ("role", "status")], text: "Overall: \(report.status)")
            body.element("div", [("class", "scroll")]) { s in
                s.element("table") { t in
                    t.raw("<thead><tr><th>Check</th><th>State</th><th>Detail</th></tr></thead><tbody>")
                    for (name, check) in report.sortedChecks {
                        t.element("tr") { r in
                            r.element("td", text: name)
                            r.element("td") { Pages.badge(&$0, check.ok ? "ok" : "failing", check.ok ? "ok" : "bad") }
                            r.element("td", text: check.detail)
                        }
                    }
                    t.raw("</tbody>")
                }
            }
            body.element("details") { d in
                d.element("summary", text: "/healthz as JSON")
                d.element("pre", text: report.json)
            }
        }
    }

    func audit(_ request: HTTPRequest, principal: Principal) throws -> HTTPResponse {
        let entries = try AuditLog(store: environment.store).recent(limit: 200)
        return page("Audit log", principal: principal, current: "/audit") { body in
            body.element("div", [("class", "scroll")]) { s in
                s.element("table") { t in
                    t.raw("<thead><tr><th>When</th><th>Who</th><th>What</th><th>Target</th><th>Outcome</th><th class=\"hide-narrow\">Detail</th></tr></thead><tbody>")
                    for entry in entries {
                        t.element("tr") { r in
                            r.element("td", text: Pages.time(entry.at))
                            r.element("td", text: entry.actor)
                            r.element("td", text: entry.action)
                            r.element("td", text: entry.target ?? "–")
                            r.element("td") { Pages.badge(&$0, entry.outcome.rawValue, entry.outcome == .success ? "ok" : "bad") }
                            r.element("td", [("class", "hide-narrow")], text: entry.detail ?? "")
                        }
                    }
                    t.raw("</tbody>")
                }
            }
            if entries.isEmpty { body.element("div", [("class", "panel muted")], text: "Nothing recorded yet.") }
        }
    }
}
