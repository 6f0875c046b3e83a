import Web

/// The server-rendered pages. Each page is a function from the request to HTML (`Routes.table`
/// says which answers which path); forms post back with the session's CSRF token; JavaScript
/// (assets/app.js) only enhances.
struct Pages: Sendable {
    let environment: DashboardEnvironment
    let metrics: Metrics
    let recordings: RecordingsService
    let api: API

    static let navigation: [(path: String, title: String)] = [
        ("/", "Overview"), ("/cameras", "Cameras"), ("/live", "Live"), ("/recordings", "Recordings"), ("/diagnostics", "Diagnostics"),
        ("/health", "Health"), ("/audit", "Audit log"),
    ]

    /// A handler's failure as a page that says what went wrong.
    func response(for error: any Error, principal: Principal) -> HTTPResponse {
        if let error = error as? APIError { return problem(error.status, error.message, principal: principal) }
        return problem(500, "Something failed: \(error)", principal: principal)
    }

    func logout(_ request: HTTPRequest) -> HTTPResponse {
        var response = Pages.redirect("/login")
        for cookie in environment.auth.logout(request) { response.headers.append(("Set-Cookie", cookie)) }
        return response
    }

    // MARK: Layout

    func page(_ title: String, principal: Principal?, current: String?, status: Int = 200, _ body: (inout HTML) -> Void) -> HTTPResponse {
        var html = HTML(raw: "<!doctype html>")
        html.raw("<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        html.element("title", text: title + " · camhost")
        if let token = principal?.csrfToken { html.void("meta", [("name", "csrf-token"), ("content", token)]) }
        html.void("link", [("rel", "icon"), ("href", "/assets/icon.svg"), ("type", "image/svg+xml")])
        html.void("link", [("rel", "stylesheet"), ("href", "/assets/app.css?v=\(Assets.version)")])
        html.raw("<script src=\"/assets/app.js?v=\(Assets.version)\" defer></script></head><body>")
        if let principal {
            html.element("header") { h in
                h.element("a", [("class", "brand"), ("href", "/")]) { a in
                    a.void("img", [("src", "/assets/icon.svg"), ("alt", "")])
                    a.text("camhost")
                }
                h.element("nav") { nav in
                    for item in Pages.navigation where item.path != "/audit" || principal.may(.admin) {
                        nav.element("a", [("href", item.path), ("aria-current", item.path == current ? "page" : nil)], text: item.title)
                    }
                }
                h.element("div", [("class", "who")]) { who in
                    who.element("span", text: principal.name + (principal.access == .admin ? " (admin)" : principal.access == .read ? " (viewer)" : ""))
                    if principal.isSession {
                        who.element("form", [("method", "post"), ("action", "/logout"), ("class", "inline")]) { f in
                            csrfField(&f, principal)
                            f.element("button", [("type", "submit")], text: "Log out")
                        }
                    }
                }
            }
        }
        html.element("main") { main in
            main.element("h1", text: title)
            body(&main)
        }
        html.raw("</body></html>")
        var response = HTTPResponse(status: status, contentType: "text/html; charset=utf-8", body: Array(html.text.utf8))
        response.setHeader("Cache-Control", "no-store")
        return response
    }

    func problem(_ status: Int, _ message: String, principal: Principal?) -> HTTPResponse {
        let title = status == 404 ? "Not found" : status == 403 ? "Not allowed" : status >= 500 ? "Something went wrong" : "Cannot do that"
        return page(title, principal: principal, current: nil, status: status) { body in
            body.element("div", [("class", "alert bad")], text: message)
            body.element("p") { p in p.element("a", [("href", "/")], text: "Back to the overview") }
        }
    }

    static func redirect(_ location: String) -> HTTPResponse {
        var response = HTTPResponse(status: 303)
        response.setHeader("Location", location)
        response.setHeader("Cache-Control", "no-store")
        return response
    }

    func csrfField(_ html: inout HTML, _ principal: Principal) {
        if let token = principal.csrfToken { html.void("input", [("type", "hidden"), ("name", "csrf"), ("value", token)]) }
    }

    static func isStreaming(_ stream: String) -> Bool {
        ["active", "streaming", "on", "running", "started", "live"].contains(stream.lowercased())
    }

    // MARK: Formatting

    static func bytes(_ value: Int64) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var amount = Double(value)
        var unit = 0
        while amount >= 1000, unit < units.count - 1 { amount /= 1000; unit += 1 }
        if unit == 0 { return "\(value) B" }
        let rounded = (amount * 10).rounded() / 10
        return (rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)) + " " + units[unit]
    }

    static func duration(_ milliseconds: Int64?) -> String {
        guard let milliseconds else { return "–" }
        let seconds = milliseconds / 1000
        return seconds >= 3600 ? "\(seconds / 3600) h \(seconds % 3600 / 60) min" : seconds >= 60 ? "\(seconds / 60) min \(seconds % 60) s" : "\(seconds) s"
    }

    /// `2026-01-31T12:00:00.000Z` → `2026-01-31 12:00:00 UTC`.
    static func time(_ iso: String) -> String {
        guard iso.count >= 19 else { return iso }
        return iso.prefix(10) + " " + iso.dropFirst(11).prefix(8) + " UTC"
    }

    static func badge(_ html: inout HTML, _ text: String, _ kind: String) {
        html.element("span", [("class", "badge " + kind)], text: text)
    }
}
