import Storage
import Web

/// Recordings: filter, thumbnails, play with seeking, download, delete selected, and the
/// "delete older than N days" cleanup with a dry-run preview first, then its report and history.
extension Pages {
    func recordingsPage(_ request: HTTPRequest, principal: Principal, message: (text: String, ok: Bool)?) throws -> HTTPResponse {
        var query = request.query
        let page = max(Int(query["page"] ?? "") ?? 1, 1)
        query["limit"] = "50"
        query["offset"] = String((page - 1) * 50)
        let filter = try api.filter(query)
        let (rows, total) = try recordings.list(filter)
        let cameras = try recordings.cameras()
        let runs = try recordings.cleanupRuns(limit: 5)
        let isAdmin = principal.may(.delete)
        return self.page("Recordings", principal: principal, current: "/recordings") { body in
            if let message { body.element("div", [("class", "alert " + (message.ok ? "ok" : "bad")), ("role", "status")], text: message.text) }
            body.element("form", [("method", "get"), ("action", "/recordings"), ("class", "panel row")]) { f in
                f.element("label") { l in
                    l.text("Camera")
                    l.element("select", [("name", "camera")]) { s in
                        s.element("option", [("value", "")], text: "all cameras")
                        for camera in cameras {
                            s.element("option", [("value", camera), ("selected", filter.camera == camera ? "" : nil)], text: camera)
                        }
                    }
                }
                f.element("label") { l in l.text("From"); l.void("input", [("type", "date"), ("name", "from"), ("value", filter.from)]) }
                f.element("label") { l in l.text("To"); l.void("input", [("type", "date"), ("name", "to"), ("value", filter.to)]) }
                f.element("button", [("type", "submit")], text: "Filter")
            }
            body.element("p", [("class", "muted")], text: "\(total) recording(s)" + (total > 50 ? ", page \(page) of \((total + 49) / 50)" : ""))
            body.element("form", [("method", "post"), ("action", "/recordings/delete"), ("id", "selection"),
                                  ("data-confirm", "Delete the selected recordings? This cannot be undone.")]) { f in
                csrfField(&f, principal)
                f.element("div", [("class", "scroll")]) { s in
                    s.element("table") { t in
                        t.raw("<thead><tr>")
                        if isAdmin { t.raw("<th><input type=\"checkbox\" data-select-all=\"id\" aria-label=\"select all\"></th>") }
                        t.raw("<th>Preview</th><th>Camera</th><th>Start</th><th class=\"num hide-narrow\">Length</th><th class=\"num\">Size</th><th></th></tr></thead><tbody>")
                        for row in rows {
                            t.element("tr") { r in
                                if isAdmin {
                                    r.element("td") { c in
                                        c.void("input", [("type", "checkbox"), ("name", "id"), ("value", String(row.id)), ("aria-label", "select recording \(row.id)"),
                                                         ("disabled", row.isProtected ? "" : nil)])
                                    }
                                }
                                r.element("td") { c in
                                    c.element("a", [("href", "/recordings/\(row.id)")]) { a in
                                        a.void("img", [("class", "thumb"), ("src", "/api/v1/recordings/\(row.id)/thumbnail"), ("alt", "thumbnail of recording \(row.id)"), ("loading", "lazy")])
                                    }
                                }
                                r.element("td", text: row.cameraID)
                                r.element("td") { c in
                                    c.text(Pages.time(row.startAt))
                                    if row.isProtected { c.raw(" "); Pages.badge(&c, "protected", "warn") }
                                }
                                r.element("td", [("class", "num hide-narrow")], text: Pages.duration(row.durationMilliseconds))
                                r.element("td", [("class", "num")], text: Pages.bytes(row.bytes))
                                r.element("td") { c in
                                    c.element("a", [("href", "/recordings/\(row.id)")], text: "Play")
                                    c.raw(" · ")
                                    c.element("a", [("href", "/api/v1/recordings/\(row.id)/media?download=1")], text: "Download")
                                }
                            }
                        }
                        t.raw("</tbody>")
                    }
                }
                if isAdmin && !rows.isEmpty {
                    f.element("p") { p in p.element("button", [("type", "submit"), ("class", "danger")], text: "Delete selected") }
                }
            }
            if total > 50 {
                body.element("p", [("class", "row")]) { p in
                    var base = "/recordings?camera=\(FormData.encode(filter.camera ?? ""))&from=\(filter.from ?? "")&to=\(filter.to ?? "")&page="
                    if page > 1 { p.element("a", [("href", base + String(page - 1))], text: "← Newer") }
                    if page * 50 < total { base += String(page + 1); p.element("a", [("href", base)], text: "Older →") }
                }
            }
            if isAdmin {
                body.element("h2", text: "Delete older recordings")
                body.element("form", [("method", "get"), ("action", "/recordings/cleanup"), ("class", "panel row")]) { f in
                    f.element("label") { l in
                        l.text("Older than (days)")
                        l.void("input", [("type", "number"), ("name", "days"), ("min", "0"), ("max", "36500"), ("value", String(environment.retentionPolicy.maxAgeDays)), ("required", "")])
                    }
                    f.element("label") { l in
                        l.text("Camera")
                        l.element("select", [("name", "camera")]) { s in
                            s.element("option", [("value", "")], text: "all cameras")
                            for camera in cameras { s.element("option", [("value", camera)], text: camera) }
                        }
                    }
                    f.element("button", [("type", "submit"), ("class", "secondary")], text: "Preview (dry run)")
                }
            }
            body.element("h2", text: "Cleanup history")
            cleanupHistory(&body, runs)
        }
    }

    func cleanupHistory(_ body: inout HTML, _ runs: [RecordingsService.CleanupRun]) {
        guard !runs.isEmpty else {
            body.element("div", [("class", "panel muted")], text: "No cleanup has run yet.")
            return
        }
        body.element("div", [("class", "scroll")]) { s in
            s.element("table") { t in
                t.raw("<thead><tr><th>Finished</th><th>By</th><th class=\"num\">Deleted</th><th class=\"num\">Freed</th><th class=\"num hide-narrow\">Errors</th></tr></thead><tbody>")
                for run in runs {
                    t.element("tr") { r in
                        r.element("td", text: Pages.time(run.finishedAt))
                        r.element("td", text: run.actor)
                        r.element("td", [("class", "num")], text: String(run.report.recordingsDeleted))
                        r.element("td", [("class", "num")], text: Pages.bytes(run.report.bytesFreed))
                        r.element("td", [("class", "num hide-narrow")], text: String(run.report.errors.count))
                    }
                }
                t.raw("</tbody>")
            }
        }
    }

    func cleanupPreview(_ request: HTTPRequest, principal: Principal) throws -> HTTPResponse {
        guard let days = Int(request.query["days"] ?? ""), (0...36_500).contains(days) else { throw APIError.badRequest("Give the number of days as a whole number.") }
        let camera = request.query["camera"].flatMap { $0.isEmpty ? nil : $0 }
        let report = try recordings.cleanup(olderThanDays: days, camera: camera, dryRun: true, actor: principal.actor)
        return page("Delete recordings older than \(days) days", principal: principal, current: "/recordings") { body in
            body.element("div", [("class", "panel")]) { p in
                p.element("p") { line in
                    line.text("Dry run: this would delete ")
                    line.element("strong", text: "\(report.recordingsDeleted) recording(s)")
                    line.text(" and free ")
                    line.element("strong", text: Pages.bytes(report.bytesFreed))
                    line.text(camera.map { " for camera \($0)." } ?? " across all cameras.")
                }
                if report.orphanFiles + report.danglingRows > 0 {
                    p.element("p", [("class", "muted")], text: "It also tidies \(report.orphanFiles) orphan file(s) and \(report.danglingRows) row(s) whose file is gone.")
                }
                if let refusal = report.refusal { p.element("div", [("class", "alert warn")], text: refusal) }
                if !report.errors.isEmpty { p.element("div", [("class", "alert bad")], text: "\(report.errors.count) error(s): " + report.errors.prefix(3).map { "\($0.path): \($0.error)" }.joined(separator: "; ")) }
                p.element("div", [("class", "row")]) { row in
                    row.element("form", [("method", "post"), ("action", "/recordings/cleanup"),
                                         ("data-confirm", "Delete \(report.recordingsDeleted) recording(s) for good?")]) { f in
                        csrfField(&f, principal)
                        f.void("input", [("type", "hidden"), ("name", "days"), ("value", String(days))])
                        f.void("input", [("type", "hidden"), ("name", "camera"), ("value", camera ?? "")])
                        f.element("button", [("type", "submit"), ("class", "danger"), ("disabled", report.recordingsDeleted + report.orphanFiles + report.danglingRows == 0 ? "" : nil)],
                                  text: "Delete \(report.recordingsDeleted) recording(s)")
                    }
                    row.element("a", [("href", "/recordings")], text: "Cancel")
                }
            }
            let items = report.items.filter { $0.reason != .dangling }.prefix(200)
            if !items.isEmpty {
                body.element("h2", text: "What would go")
                body.element("div", [("class", "scroll")]) { s in
                    s.element("table") { t in
                        t.raw("<thead><tr><th>File</th><th>Reason</th><th class=\"num\">Size</th></tr></thead><tbody>")
                        for item in items {
                            t.element("tr") { r in
                                r.element("td", text: RecordingPath.display(item.path))
                                r.element("td", text: item.reason.rawValue)
                                r.element("td", [("class", "num")], text: Pages.bytes(item.bytes))
                            }
                        }
                        t.raw("</tbody>")
                    }
                }
            }
        }
    }

    func cleanupConfirm(_ form: [String: String], principal: Principal) throws -> HTTPResponse {
        guard let days = Int(form["days"] ?? ""), (0...36_500).contains(days) else { throw APIError.badRequest("Give the number of days as a whole number.") }
        let camera = form["camera"].flatMap { $0.isEmpty ? nil : $0 }
        let report = try recordings.cleanup(olderThanDays: days, camera: camera, dryRun: false, actor: principal.actor)
        return page("Cleanup report", principal: principal, current: "/recordings") { body in
            body.element("div", [("class", "alert " + (report.errors.isEmpty && report.refusal == nil ? "ok" : "warn")), ("role", "status")],
                         text: Cleanup.summary(report))
            body.element("div", [("class", "panel")]) { p in
                p.element("dl", [("class", "kv")]) { dl in
                    for (label, value) in [("Recordings deleted", String(report.recordingsDeleted)), ("Bytes freed", Pages.bytes(report.bytesFreed)),
                                           ("Thumbnails deleted", String(report.thumbnailsDeleted)), ("Orphan files", String(report.orphanFiles)),
                                           ("Rows without file", String(report.danglingRows)), ("Errors", String(report.errors.count)),
                                           ("Took", "\(report.durationMilliseconds) ms")] {
                        dl.element("dt", text: label)
                        dl.element("dd", text: value)
                    }
                }
                if let refusal = report.refusal { p.element("div", [("class", "alert warn")], text: refusal) }
            }
            body.element("p") { $0.element("a", [("href", "/recordings")], text: "Back to the recordings") }
        }
    }

    func deleteSelected(_ request: HTTPRequest, form: [String: String], principal: Principal) throws -> HTTPResponse {
        let ids = (form["id"] ?? "").split(separator: ",").compactMap { Int64($0) }
        guard !ids.isEmpty else {
            return try recordingsPage(request, principal: principal, message: ("Nothing selected.", false))
        }
        let (report, skipped) = try recordings.delete(ids: ids, actor: principal.actor)
        var text = "Deleted \(report.recordingsDeleted) recording(s), freed \(Pages.bytes(report.bytesFreed))."
        if !skipped.isEmpty { text += " Skipped \(skipped.count) protected or unknown." }
        if !report.errors.isEmpty { text += " \(report.errors.count) error(s): " + report.errors.prefix(2).map { "\($0.path): \($0.error)" }.joined(separator: "; ") }
        var listing = request
        listing.query = [:]
        return try recordingsPage(listing, principal: principal, message: (text, report.errors.isEmpty))
    }

    func player(_ idText: String, principal: Principal) throws -> HTTPResponse {
        let row = try api.recordingRow(idText)
        return page("Recording \(row.id)", principal: principal, current: "/recordings") { body in
            body.element("video", [("controls", ""), ("preload", "metadata"), ("src", "/api/v1/recordings/\(row.id)/media"),
                                   ("poster", "/api/v1/recordings/\(row.id)/thumbnail")]) { v in
                v.text("Your browser cannot play this recording; download it instead.")
            }
            body.element("div", [("class", "panel")]) { p in
                p.element("dl", [("class", "kv")]) { dl in
                    for (label, value) in [("Camera", row.cameraID), ("Start", Pages.time(row.startAt)), ("End", Pages.time(row.endAt)),
                                           ("Length", Pages.duration(row.durationMilliseconds)), ("Size", Pages.bytes(row.bytes)),
                                           ("Codec", row.codec ?? "–"), ("File", row.displayPath), ("Protected", row.isProtected ? "yes" : "no")] {
                        dl.element("dt", text: label)
                        dl.element("dd", text: value)
                    }
                }
            }
            body.element("p", [("class", "row")]) { p in
                p.element("a", [("href", "/api/v1/recordings/\(row.id)/media?download=1")], text: "Download")
                p.element("a", [("href", "/recordings")], text: "Back to the list")
            }
        }
    }
}
