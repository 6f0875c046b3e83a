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
                    for entry in report.sortedChecks {
                        let check = entry.check
                        t.element("tr") { r in
                            r.element("td", text: entry.name)
                            r.element("td") { Pages.badge(&$0, check.ok ? "ok" : "failing", check.ok ? "ok" : "bad") }
                            r.element("td", text: check.detail)
                        }
                    }
                    t.raw("</tbody>")
                }
            }
            let events = ((try? HealthHistory(store: environment.store).recent(limit: 500)) ?? [])
                .filter { !$0.ok || $0.check.hasSuffix(".restart") }.prefix(30)
            body.element("h2", text: "Recent probe failures and restarts")
            if events.isEmpty {
                body.element("p", text: "None kept: every probe of the health supervisor has passed.")
            } else {
                body.element("div", [("class", "scroll")]) { s in
                    s.element("table") { t in
                        t.raw("<thead><tr><th>When</th><th>Probe or restart</th><th>State</th><th>Detail</th></tr></thead><tbody>")
                        for event in events {
                            t.element("tr") { r in
                                r.element("td", text: Pages.time(event.at))
                                r.element("td", text: event.check)
                                r.element("td") { Pages.badge(&$0, event.ok ? "ok" : "failed", event.ok ? "ok" : "bad") }
                                r.element("td", text: event.detail)
                            }
                        }
                        t.raw("</tbody>")
                    }
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
