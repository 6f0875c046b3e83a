@testable import Dashboard
import Foundation
import Testing
import TestSupport

/// Real responses checked against docs/openapi.yaml, and /metrics against promtool.
@Suite("Dashboard API contract", .serialized)
struct OpenAPITests {
    static var repository: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    @Test func responsesMatchTheOpenAPIDocument() throws {
        let f = try DashboardFixture()
        var cases: [[String: Any]] = []
        func record(_ template: String, _ path: String, method: String = "GET", token: String = "admin-token", json: String? = nil) throws {
            let r = try f.request(path, method: method, token: token, json: json)
            cases.append(["method": method, "path": template, "status": r.code, "body": r.body])
        }
        try record("/api/v1/cameras", "/api/v1/cameras")
        try record("/api/v1/cameras", "/api/v1/cameras", token: "forged")
        try record("/api/v1/cameras/{camera}", "/api/v1/cameras/nope")
        try record("/api/v1/cameras/{camera}/commands", "/api/v1/cameras/cam-1/commands", method: "POST", json: #"{"command":"reboot"}"#)
        try record("/api/v1/cameras/{camera}/commands", "/api/v1/cameras/cam-1/commands", method: "POST", json: #"{"command":"dance"}"#)
        try record("/api/v1/cameras/{camera}/commands", "/api/v1/cameras/cam-1/commands", method: "POST", token: "read-token", json: #"{"command":"reboot"}"#)
        // live: refusals before the upgrade are the API's JSON errors.
        try record("/api/v1/cameras/{camera}/live", "/api/v1/cameras/nope/live")
        try record("/api/v1/cameras/{camera}/live", "/api/v1/cameras/nope/live", token: "forged")
        try record("/api/v1/recordings", "/api/v1/recordings")
        try record("/api/v1/recordings", "/api/v1/recordings?camera=cam-1&from=2000-01-01&to=2100-12-31&limit=2&offset=1")
        try record("/api/v1/recordings", "/api/v1/recordings?from=yesterday")
        try record("/api/v1/recordings/{id}", "/api/v1/recordings/1")
        try record("/api/v1/recordings/{id}", "/api/v1/recordings/999")
        try record("/api/v1/recordings/{id}/media", "/api/v1/recordings/999/media")
        try record("/api/v1/recordings/cleanup", "/api/v1/recordings/cleanup", method: "POST", json: #"{"older_than_days":25}"#)
        try record("/api/v1/recordings/cleanup", "/api/v1/recordings/cleanup", method: "POST", json: #"{"older_than_days":-1}"#)
        try record("/api/v1/recordings/cleanup", "/api/v1/recordings/cleanup", method: "POST", json: #"{"older_than_days":45,"dry_run":false}"#)
        try record("/api/v1/recordings/cleanup/runs", "/api/v1/recordings/cleanup/runs")
        try record("/api/v1/recordings/delete", "/api/v1/recordings/delete", method: "POST", json: #"{"ids":[1,2,77]}"#)
        try record("/api/v1/recordings/delete", "/api/v1/recordings/delete", method: "POST", token: "read-token", json: #"{"ids":[3]}"#)
        try record("/api/v1/recordings/{id}", "/api/v1/recordings/3", method: "DELETE")
        try record("/api/v1/diagnostics", "/api/v1/diagnostics", method: "POST", json: #"{"camera":"192.0.2.10","seconds":1}"#)
        try record("/api/v1/diagnostics", "/api/v1/diagnostics", method: "POST", json: #"{"camera":"not an address"}"#)
        try record("/api/v1/health", "/api/v1/health")
        try record("/api/v1/alarms", "/api/v1/alarms")
        try record("/api/v1/overview", "/api/v1/overview")
        try record("/api/v1/audit", "/api/v1/audit")
        try record("/api/v1/audit", "/api/v1/audit", token: "read-token")
        try record("/api/v1/whoami", "/api/v1/whoami")
        let casesPath = f.directory.file("cases.json")
        try JSONSerialization.data(withJSONObject: cases).write(to: URL(fileURLWithPath: casesPath))
        let result = try TestProcess.run("python3", [Self.repository + "/Tests/DashboardTests/Fixtures/validate_openapi.py",
                                                     Self.repository + "/docs/openapi.yaml", casesPath])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(!result.stdout.contains("FAIL"), "\(result.stdout)")
    }

    /// The route table and the document list the same API: each `/api/v1` route is documented,
    /// each documented operation is a route.
    @Test func theRouteTableIsTheDocumentedAPI() throws {
        let routes = Set(Routes.table.routes.filter { $0.isAPI && $0.method != .any }.map { "\($0.method.name) \($0.template)" })
        let script = """
            import sys, yaml
            spec = yaml.safe_load(open(sys.argv[1]))
            for path, item in spec["paths"].items():
                for method in item:
                    if method in ("get", "put", "post", "delete", "patch", "head", "options"):
                        print(method.upper(), path)
            """
        let result = try TestProcess.run("python3", ["-c", script, Self.repository + "/docs/openapi.yaml"])
        #expect(result.status == 0, "\(result.stderr)")
        let documented = Set(result.stdout.split(separator: "\n").map(String.init))
        #expect(routes.count >= 17 && documented.count >= 17)
        #expect(routes.subtracting(documented).isEmpty, "routes missing from docs/openapi.yaml: \(routes.subtracting(documented).sorted())")
        #expect(documented.subtracting(routes).isEmpty, "documented but no route: \(documented.subtracting(routes).sorted())")
    }

    @Test func metricsPassPromtoolAndAreProtected() throws {
        let f = try DashboardFixture()
        _ = try f.request("/api/v1/recordings", token: "read-token")
        _ = try f.request("/", session: "admin-session")
        _ = try f.request("/login", method: "POST", form: "name=x&password=y")
        let metrics = try f.request("/metrics")
        #expect(metrics.code == 200)
        for family in ["camhost_http_requests_total{route=\"/api/v1/recordings\",method=\"GET\",status=\"200\"} 1",
                       "camhost_http_request_duration_seconds_bucket{route=\"/api/v1/recordings\",le=\"+Inf\"} 1",
                       "camhost_login_failures_total 1", "camhost_recordings{camera=\"cam-1\"} 3", "camhost_recordings_bytes{camera=\"cam-2\"}",
                       "camhost_rtcp_watch_state{camera=\"192.0.2.10\",state=\"trap\"} 1", "camhost_tls_certificate_expiry_timestamp_seconds 1900000000",
                       "camhost_mqtt_connected 1", "camhost_cleanup_runs_total", "camhost_cleanup_freed_bytes_total", "process_resident_memory_bytes",
                       "process_cpu_seconds_total", "process_open_fds", "camhost_camera_command_ack_seconds_bucket"] {
            #expect(metrics.body.contains(family), "\(family)")
        }
        let file = f.directory.file("metrics.txt")
        try writeFile(file, metrics.body)
        let check = try TestProcess.run("/bin/sh", ["-c", "promtool check metrics < \(file)"])
        #expect(check.status == 0, "promtool: \(check.stdout)\(check.stderr)")
        // The token opens it; a wrong token does not (the fixture allows 127.0.0.1, so ask as another address is not possible here:
        // check the token path by comparing a wrong one, which falls back to the address rule).
        #expect(try f.request("/metrics", token: "metrics-secret").code == 200)
        #expect(try f.request("/metrics", token: "wrong").code == 403)
    }
}
