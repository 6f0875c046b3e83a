import Storage
import Web

/// Health (the /healthz document, readable) and the audit log (who did what, when).
extension Pages {
    func health(_ principal: DashboardPrincipal) -> HTTPResponse {
        let document = String(decoding: environment.health(), as: UTF8.self)
        let checks = HealthDocument.checks(document)
        return page("Health", principal: principal, current: "/health") { body in
            let overall = HealthDocument.status(document)
            body.element("div", [("class", "alert " + (overall == "ok" ? "ok" : "warn")), ("role", "status")], text: "Overall: \(overall)")
            body.element("div", [("class", "scroll")]) { s in
                s.element("table") { t in
                    t.raw("<thead><tr><th>Check</th><th>State</th><th>Detail</th></tr></thead><tbody>")
                    for check in checks {
                        t.element("tr") { r in
                            r.element("td", text: check.name)
                            r.element("td") { Pages.badge(&$0, check.ok ? "ok" : "failing", check.ok ? "ok" : "bad") }
                            r.element("td", text: check.detail)
                        }
                    }
                    t.raw("</tbody>")
                }
            }
            body.element("details") { d in
                d.element("summary", text: "/healthz as JSON")
                d.element("pre", text: document)
            }
        }
    }

    func audit(_ request: HTTPRequest, principal: DashboardPrincipal) throws -> HTTPResponse {
        guard principal.permission == .admin else { return problem(403, "The audit log is for admins.", principal: principal) }
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

/// Reads the few fields of the /healthz document the page shows, without a JSON library:
/// `{"status": "...", "checks": {"name": {"ok": true, "detail": "..."}, ...}}`.
enum HealthDocument {
    struct Check { var name: String; var ok: Bool; var detail: String }

    static func status(_ json: String) -> String {
        guard let range = json.firstRange(of: "\"status\":\"") else { return "unknown" }
        return String(json[range.upperBound...].prefix { $0 != "\"" })
    }

    static func checks(_ json: String) -> [Check] {
        var checks: [Check] = []
        var rest = Substring(json)
        // Each check object carries "ok": and usually "detail":; its name is the key before it.
        while let okRange = rest.firstRange(of: "\"ok\":") {
            let before = rest[..<okRange.lowerBound]
            guard let brace = before.lastIndex(of: "{") else { break }
            let keyEnd = before[..<brace].lastIndex(of: "\"")
            let keyStart = keyEnd.flatMap { before[..<$0].lastIndex(of: "\"") }
            let name = (keyStart != nil && keyEnd != nil) ? String(before[before.index(after: keyStart!)..<keyEnd!]) : "?"
            let after = rest[okRange.upperBound...]
            let ok = after.hasPrefix("true")
            var detail = ""
            let objectEnd = after.firstIndex(of: "}") ?? after.endIndex
            if let d = after[..<objectEnd].firstRange(of: "\"detail\":\"") {
                detail = String(after[d.upperBound...].prefix { $0 != "\"" })
            }
            checks.append(Check(name: name, ok: ok, detail: detail))
            rest = after[objectEnd...]
        }
        return checks
    }
}
