/// The dashboard's static files, embedded in the binary (no external assets; the CSP allows
/// only 'self'). Each is served with a long cache lifetime under a versioned path.
enum Assets {
    /// Bumped whenever a file below changes, so browsers fetch the new one.
    static let version = "3"

    struct File: Sendable {
        var contentType: String
        var bytes: [UInt8]
        var etag: String
    }

    static let files: [String: File] = [
        "app.css": File(contentType: "text/css; charset=utf-8", bytes: Array(css.utf8), etag: "\"css-\(version)-\(css.utf8.count)\""),
        "app.js": File(contentType: "text/javascript; charset=utf-8", bytes: Array(javaScript.utf8), etag: "\"js-\(version)-\(javaScript.utf8.count)\""),
        "icon.svg": File(contentType: "image/svg+xml", bytes: Array(icon.utf8), etag: "\"icon-\(version)\""),
        "placeholder.svg": File(contentType: "image/svg+xml", bytes: Array(placeholder.utf8), etag: "\"ph-\(version)\""),
        // live: the live-view player (LivePlayer.swift).
        "live.js": File(contentType: "text/javascript; charset=utf-8", bytes: Array(LivePlayerScript.source.utf8),
                        etag: "\"live-\(LivePlayerScript.version)-\(LivePlayerScript.source.utf8.count)\""),
    ]

    static let icon = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1d4ed8"/>\
        <rect x="6" y="10" width="15" height="12" rx="2" fill="#fff"/><path d="M22 14l5-3v10l-5-3z" fill="#fff"/></svg>
        """

    static let placeholder = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 160 90"><rect width="160" height="90" fill="#e5e7eb"/>\
        <path d="M62 33h26a4 4 0 0 1 4 4v16a4 4 0 0 1-4 4H62a4 4 0 0 1-4-4V37a4 4 0 0 1 4-4zm32 8l10-6v20l-10-6z" fill="#9ca3af"/>\
        <text x="80" y="78" font-family="sans-serif" font-size="10" text-anchor="middle" fill="#6b7280">no thumbnail</text></svg>
        """

    static let css = """
        :root{--fg:#111827;--muted:#6b7280;--line:#e5e7eb;--bg:#f9fafb;--card:#fff;--blue:#1d4ed8;--red:#b91c1c;--green:#15803d;--amber:#b45309}
        *{box-sizing:border-box}
        body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
        a{color:var(--blue)}
        header{background:#0f172a;color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;align-items:center;gap:.25rem 1rem}
        header .brand{font-weight:700;color:#fff;text-decoration:none;display:flex;align-items:center;gap:.4rem}
        header .brand img{width:22px;height:22px}
        header nav{display:flex;flex-wrap:wrap;gap:.1rem .25rem;flex:1}
        header nav a{color:#cbd5e1;text-decoration:none;padding:.35rem .55rem;border-radius:6px}
        header nav a[aria-current]{background:#1e293b;color:#fff}
        header .who{display:flex;align-items:center;gap:.5rem;color:#cbd5e1;font-size:.9rem}
        header .who button{background:none;border:1px solid #475569;color:#e2e8f0;padding:.25rem .6rem}
        main{max-width:1100px;margin:0 auto;padding:1rem}
        h1{font-size:1.4rem;margin:.3rem 0 1rem}
        h2{font-size:1.1rem;margin:1.4rem 0 .6rem}
        .cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:.75rem}
        .card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:.8rem 1rem}
        .card .label{color:var(--muted);font-size:.85rem}
        .card .value{font-size:1.6rem;font-weight:650}
        .card .value.bad{background:none;color:var(--red)}
        .panel{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:1rem;margin:.75rem 0}
        .scroll{overflow-x:auto}
        table{border-collapse:collapse;width:100%;background:var(--card)}
        th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid var(--line);vertical-align:middle}
        th{font-size:.8rem;text-transform:uppercase;letter-spacing:.03em;color:var(--muted)}
        td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
        .badge{display:inline-block;padding:.05rem .5rem;border-radius:999px;font-size:.8rem;font-weight:600;background:#e5e7eb}
        .ok{background:#dcfce7;color:var(--green)} .bad{background:#fee2e2;color:var(--red)} .warn{background:#fef3c7;color:var(--amber)}
        .alert{border-radius:10px;padding:.75rem 1rem;margin:.75rem 0;border:1px solid}
        .alert.bad{border-color:#fecaca} .alert.ok{border-color:#bbf7d0} .alert.warn{border-color:#fde68a}
        .muted{color:var(--muted)}
        form.inline{display:inline}
        .row{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end}
        label{display:flex;flex-direction:column;font-size:.85rem;color:var(--muted);gap:.2rem}
        input,select,button{font:inherit;padding:.4rem .6rem;border:1px solid #d1d5db;border-radius:6px;background:#fff;color:var(--fg)}
        button{cursor:pointer;background:var(--blue);color:#fff;border-color:var(--blue)}
        button.secondary{background:#fff;color:var(--fg);border-color:#d1d5db}
        button.danger{background:var(--red);border-color:var(--red)}
        button:disabled{opacity:.5;cursor:default}
        .thumb{width:120px;height:68px;object-fit:cover;border-radius:4px;background:#e5e7eb;display:block}
        video{width:100%;max-height:70vh;background:#000;border-radius:8px}
        .login{max-width:360px;margin:8vh auto;background:var(--card);border:1px solid var(--line);border-radius:12px;padding:1.5rem}
        .login form{display:flex;flex-direction:column;gap:.75rem}
        .login h1{display:flex;align-items:center;gap:.5rem}
        .login h1 img{width:28px;height:28px}
        svg.chart{width:100%;height:auto;max-height:200px}
        svg.chart text{font:10px system-ui,sans-serif;fill:#6b7280}
        pre{white-space:pre-wrap;background:#f3f4f6;padding:.75rem;border-radius:8px;font-size:.85rem}
        dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:0}
        dl.kv dt{color:var(--muted)} dl.kv dd{margin:0}
        .result{min-height:1.2em;font-size:.85rem}
        .live-one video{max-height:80vh}
        .live-grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:.75rem}
        .live-tile{margin:0;background:var(--card);border:1px solid var(--line);border-radius:10px;padding:.5rem}
        .live-tile figcaption{display:flex;justify-content:space-between;gap:.5rem;padding-top:.35rem;font-size:.9rem}
        .live-link{font-size:.85rem;white-space:nowrap}
        @media (max-width:640px){header nav{order:3;flex-basis:100%}header .who{margin-left:auto}main{padding:.6rem}.hide-narrow{display:none}th,td{padding:.4rem .35rem}.thumb{width:88px;height:50px}}
        """

    static let javaScript = """
        // camhost dashboard: progressive enhancement only; every page works without it.
        "use strict";
        (function () {
          function csrf() { var m = document.querySelector('meta[name="csrf-token"]'); return m ? m.content : ""; }
          // "Select all" checkboxes.
          document.querySelectorAll("input[data-select-all]").forEach(function (all) {
            all.addEventListener("change", function () {
              document.querySelectorAll("input[name='" + all.dataset.selectAll + "']").forEach(function (box) { box.checked = all.checked; });
            });
          });
          // Buttons and forms that ask before doing something irreversible.
          document.querySelectorAll("form[data-confirm]").forEach(function (form) {
            form.addEventListener("submit", function (event) {
              if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
            });
          });
          // Camera commands through the API, showing the ack in place.
          document.querySelectorAll("form[data-command]").forEach(function (form) {
            form.addEventListener("submit", function (event) {
              event.preventDefault();
              var out = document.getElementById(form.dataset.result);
              var body = { command: form.dataset.command };
              var mode = form.querySelector("select[name=mode]");
              if (mode) { body.mode = mode.value; }
              var buttons = form.querySelectorAll("button");
              buttons.forEach(function (b) { b.disabled = true; });
              if (out) { out.textContent = "sending " + body.command + "…"; out.className = "result muted"; }
              fetch(form.dataset.api, {
                method: "POST", credentials: "same-origin",
                headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
                body: JSON.stringify(body)
              }).then(function (r) { return r.json().then(function (j) { return { ok: r.ok, j: j }; }); })
                .then(function (r) {
                  if (!out) { return; }
                  if (r.j.error) { out.textContent = r.j.error.message; out.className = "result badge bad"; return; }
                  out.textContent = r.j.command + ": " + r.j.outcome + " in " + Math.round(r.j.latency_ms) + " ms" + (r.j.reason ? " (" + r.j.reason + ")" : "");
                  out.className = "result badge " + (r.j.success ? "ok" : "bad");
                })
                .catch(function (e) { if (out) { out.textContent = "failed: " + e; out.className = "result badge bad"; } })
                .finally(function () { buttons.forEach(function (b) { b.disabled = false; }); });
            });
          });
        })();
        """
}
