import Web

/// Every endpoint of the dashboard, in the order they are tried (literal paths before the
/// templates with a parameter that would also match them). docs/openapi.yaml documents the
/// `/api/v1` entries; a test keeps the two equal.
enum Routes {
    static let table = RouteTable([
        // Open to everyone: log-in is limited strictest, /metrics by its own class and
        // allow-list, health checks and the binary's own assets never.
        Route(.get, "/healthz", .everyone, rate: nil, .open { dashboard, _ in dashboard.healthz() }),
        Route(.get, "/login", .everyone, rate: .page, .open { dashboard, call in dashboard.pages.open(call.request, method: "GET") }),
        Route(.post, "/login", .everyone, rate: .login, .open { dashboard, call in dashboard.pages.open(call.request, method: "POST") }),
        Route(.get, "/setup", .everyone, rate: .page, .open { dashboard, call in dashboard.pages.open(call.request, method: "GET") }),
        Route(.post, "/setup", .everyone, rate: .login, .open { dashboard, call in dashboard.pages.open(call.request, method: "POST") }),
        Route(.get, "/metrics", .everyone, rate: .metrics, .open { dashboard, call in dashboard.metricsEndpoint(call.request) }),
        Route(.get, "/assets/{file}", .everyone, rate: nil, .open { dashboard, call in dashboard.asset(call.parameter, request: call.request) }),
        Route(.any, "/favicon.ico", .everyone, rate: nil, .open { dashboard, call in dashboard.asset("icon.svg", request: call.request) }),

        // Pages.
        Route(.get, "/", .signedIn(.read), rate: .page, .page { pages, call in try pages.overview(call.user) }),
        Route(.get, "/cameras", .signedIn(.read), rate: .page, .page { pages, call in pages.cameras(call.user, message: nil) }),
        Route(.post, "/cameras/{camera}/command", .signedIn(.command), rate: .page, refusal: .says("Viewers cannot send camera commands."),
              .page { pages, call in pages.command(call.parameter, form: call.form, principal: call.user) }),
        // live: one camera's live view and the grid of all streaming cameras.
        Route(.get, "/live", .signedIn(.read), rate: .page, .page { pages, call in pages.liveGrid(call.user) }),
        Route(.get, "/cameras/{camera}/live", .signedIn(.read), rate: .page, .page { pages, call in try pages.liveCamera(call.parameter, principal: call.user) }),
        Route(.get, "/recordings", .signedIn(.read), rate: .page, .page { pages, call in try pages.recordingsPage(call.request, principal: call.user, message: nil) }),
        Route(.get, "/recordings/cleanup", .signedIn(.delete), rate: .page, refusal: .says("Only admins can delete recordings."),
              .page { pages, call in try pages.cleanupPreview(call.request, principal: call.user) }),
        Route(.post, "/recordings/cleanup", .signedIn(.delete), rate: .page, refusal: .says("Only admins can delete recordings."),
              .page { pages, call in try pages.cleanupConfirm(call.form, principal: call.user) }),
        Route(.post, "/recordings/delete", .signedIn(.delete), rate: .page, refusal: .says("Only admins can delete recordings."),
              .page { pages, call in try pages.deleteSelected(call.request, form: call.form, principal: call.user) }),
        Route(.get, "/recordings/{id}", .signedIn(.read), rate: .page, .page { pages, call in try pages.player(call.parameter, principal: call.user) }),
        Route(.get, "/diagnostics", .signedIn(.read), rate: .page, .page { pages, call in pages.diagnostics(call.user, form: [:], result: nil) }),
        Route(.post, "/diagnostics", .signedIn(.command), rate: .page, refusal: .says("Viewers cannot start a capture."),
              .page { pages, call in pages.runDiagnostics(call.form, principal: call.user) }),
        Route(.get, "/health", .signedIn(.read), rate: .page, .page { pages, call in pages.health(call.user) }),
        Route(.get, "/audit", .signedIn(.admin), rate: .page, refusal: .says("The audit log is for admins."),
              .page { pages, call in try pages.audit(call.request, principal: call.user) }),
        Route(.post, "/logout", .signedIn(.read), rate: .page, .page { pages, call in pages.logout(call.request) }),

        // The JSON API (docs/openapi.yaml).
        Route(.get, "/api/v1/cameras", .signedIn(.read), rate: .api, .api { api, _ in try api.cameras() }),
        Route(.any, "/api/v1/cameras", .signedIn(.read), rate: .api, .api { _, _ in throw APIError.methodNotAllowed("GET") }),
        Route(.get, "/api/v1/cameras/{camera}", .signedIn(.read), rate: .api, .api { api, call in try api.camera(call.parameter) }),
        Route(.post, "/api/v1/cameras/{camera}/commands", .signedIn(.command), rate: .api, refusal: .doing("sending camera commands"),
              .api { api, call in try api.command(call) }),
        // live: the live view's WebSocket (docs/live.md) and its pages.
        Route(.get, "/api/v1/cameras/{camera}/live", .signedIn(.read), rate: .api, .api { api, call in try api.live(call) }),
        Route(.get, "/api/v1/recordings", .signedIn(.read), rate: .api, .api { api, call in try api.recordingsList(call.request) }),
        Route(.post, "/api/v1/recordings/delete", .signedIn(.delete), rate: .api, refusal: .doing("deleting recordings"),
              .api { api, call in try api.deleteRecordings(call) }),
        Route(.post, "/api/v1/recordings/cleanup", .signedIn(.read), rate: .api, .api { api, call in try api.cleanup(call) }),
        Route(.get, "/api/v1/recordings/cleanup/runs", .signedIn(.read), rate: .api, .api { api, call in try api.cleanupRuns(call.request) }),
        Route(.get, "/api/v1/recordings/{id}", .signedIn(.read), rate: .api, .api { api, call in try api.recording(call.parameter) }),
        Route(.delete, "/api/v1/recordings/{id}", .signedIn(.delete), rate: .api, refusal: .doing("deleting recordings"),
              .api { api, call in try api.deleteRecording(call) }),
        Route(.get, "/api/v1/recordings/{id}/media", .signedIn(.read), rate: .api, .api { api, call in try api.media(call) }),
        Route(.get, "/api/v1/recordings/{id}/thumbnail", .signedIn(.read), rate: .api, .api { api, call in try api.thumbnail(call) }),
        Route(.post, "/api/v1/diagnostics", .signedIn(.command), rate: .api, refusal: .doing("running a capture"),
              .api { api, call in try api.diagnose(call) }),
        Route(.get, "/api/v1/health", .signedIn(.read), rate: .api, .api { api, _ in api.health() }),
        Route(.get, "/api/v1/alarms", .signedIn(.read), rate: .api, .api { api, _ in api.alarms() }),
        Route(.get, "/api/v1/overview", .signedIn(.read), rate: .api, .api { api, _ in try api.overview() }),
        Route(.get, "/api/v1/audit", .signedIn(.admin), rate: .api, refusal: .says("the audit log is for admins"),
              .api { api, call in try api.audit(call.request) }),
        Route(.get, "/api/v1/whoami", .signedIn(.read), rate: .api, .api { api, call in api.whoami(call.user) }),
        // streams: the stream manager (issue 12).
        Route(.get, "/api/v1/streams", .signedIn(.read), rate: .api, .api { api, _ in api.streams() }),
        Route(.post, "/api/v1/streams/{camera}/start", .signedIn(.command), rate: .api, refusal: .doing("starting streams"),
              .api { api, call in try api.streamAction(call, start: true) }),
        Route(.post, "/api/v1/streams/{camera}/stop", .signedIn(.command), rate: .api, refusal: .doing("stopping streams"),
              .api { api, call in try api.streamAction(call, start: false) }),
        Route(.post, "/streams/{camera}/start", .signedIn(.command), rate: .page, refusal: .says("Viewers cannot start or stop streams."),
              .page { pages, call in pages.streamAction(call.parameter, start: true, principal: call.user) }),
        Route(.post, "/streams/{camera}/stop", .signedIn(.command), rate: .page, refusal: .says("Viewers cannot start or stop streams."),
              .page { pages, call in pages.streamAction(call.parameter, start: false, principal: call.user) }),
    ])
}
