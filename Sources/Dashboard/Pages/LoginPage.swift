import Web

/// Log-in and first-run set-up: the only pages that answer without a session.
extension Pages {
    func open(_ request: HTTPRequest, method: String) -> HTTPResponse {
        let form = Form.parse(request)
        if request.path == "/setup" {
            guard environment.auth.needsSetup else { return Pages.redirect("/login") }
            if method == "POST" {
                let name = form["name"] ?? "", password = form["password"] ?? ""
                if password != (form["confirm"] ?? "") { return setupPage(error: "The two passwords differ.", name: name) }
                switch environment.auth.setup(token: form["token"] ?? "", name: name, password: password, request: request) {
                case .failure(let refusal): return setupPage(error: refusal.message, name: name)
                case .success(let cookies):
                    var response = Pages.redirect("/")
                    for cookie in cookies { response.headers.append(("Set-Cookie", cookie)) }
                    return response
                }
            }
            return setupPage(error: nil, name: "", token: request.query["token"] ?? "")
        }
        if environment.auth.needsSetup { return Pages.redirect("/setup") }
        let next = Pages.safeNext(form["next"] ?? request.query["next"])
        if method == "POST" {
            let name = form["name"] ?? ""
            switch environment.auth.login(name: name, password: form["password"] ?? "", request: request) {
            case .success(let cookies):
                var response = Pages.redirect(next)
                for cookie in cookies { response.headers.append(("Set-Cookie", cookie)) }
                return response
            case .invalid:
                metrics.loginFailed()
                return loginPage(error: "Wrong name or password.", name: name, next: next, status: 401)
            case .lockedOut(let seconds):
                metrics.loginFailed()
                var response = loginPage(error: "Too many failed attempts. Try again in \(seconds) s.", name: name, next: next, status: 429)
                response.setHeader("Retry-After", String(seconds))
                return response
            }
        }
        return loginPage(error: nil, name: "", next: next, notice: request.query["created"] != nil ? "Account created. Log in." : nil)
    }

    /// Only local paths, so a crafted link cannot send people elsewhere after log-in.
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\"), !next.hasPrefix("/login") else { return "/" }
        return next
    }

    private func shell(_ title: String, status: Int, _ body: (inout HTML) -> Void) -> HTTPResponse {
        var html = HTML(raw: "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        html.element("title", text: title + " · camhost")
        html.void("link", [("rel", "icon"), ("href", "/assets/icon.svg"), ("type", "image/svg+xml")])
        html.void("link", [("rel", "stylesheet"), ("href", "/assets/app.css?v=\(Assets.version)")])
        html.raw("</head><body>")
        html.element("div", [("class", "login")]) { box in
            box.element("h1") { h in
                h.void("img", [("src", "/assets/icon.svg"), ("alt", "")])
                h.text(title)
            }
            body(&box)
        }
        html.raw("</body></html>")
        var response = HTTPResponse(status: status, contentType: "text/html; charset=utf-8", body: Array(html.text.utf8))
        response.setHeader("Cache-Control", "no-store")
        return response
    }

    func loginPage(error: String?, name: String, next: String, status: Int = 200, notice: String? = nil) -> HTTPResponse {
        shell("camhost", status: status) { box in
            if let notice { box.element("div", [("class", "alert ok")], text: notice) }
            if let error { box.element("div", [("class", "alert bad"), ("role", "alert")], text: error) }
            box.element("form", [("method", "post"), ("action", "/login")]) { f in
                f.void("input", [("type", "hidden"), ("name", "next"), ("value", next)])
                f.element("label") { l in
                    l.text("Name")
                    l.void("input", [("name", "name"), ("autocomplete", "username"), ("required", ""), ("autofocus", ""), ("value", name)])
                }
                f.element("label") { l in
                    l.text("Password")
                    l.void("input", [("name", "password"), ("type", "password"), ("autocomplete", "current-password"), ("required", "")])
                }
                f.element("button", [("type", "submit")], text: "Log in")
            }
        }
    }

    func setupPage(error: String?, name: String, token: String = "") -> HTTPResponse {
        shell("Set up camhost", status: error == nil ? 200 : 400) { box in
            box.element("p", [("class", "muted")], text: "Create the first administrator. The one-time set-up token is in camhost's log (journalctl -u camhost, or the terminal that runs camhost serve).")
            if let error { box.element("div", [("class", "alert bad"), ("role", "alert")], text: error) }
            box.element("form", [("method", "post"), ("action", "/setup")]) { f in
                for (label, field, type, value, complete) in [("Set-up token", "token", "text", token, "off"), ("Name", "name", "text", name, "username"),
                                                              ("Password (at least 12 characters)", "password", "password", "", "new-password"),
                                                              ("Password again", "confirm", "password", "", "new-password")] {
                    f.element("label") { l in
                        l.text(label)
                        l.void("input", [("name", field), ("type", type), ("required", ""), ("value", value.isEmpty ? nil : value), ("autocomplete", complete)])
                    }
                }
                f.element("button", [("type", "submit")], text: "Create administrator")
            }
        }
    }
}
