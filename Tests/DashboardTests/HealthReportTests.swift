import Foundation
import Testing
@testable import Dashboard

@Suite("/healthz body")
struct HealthReportTests {
    @Test func isJSONWithSortedKeysAndEscapedDetails() throws {
        let report = HealthReport(status: "degraded", version: "0.1.0", uptimeSeconds: 42, checks: [
            "tls": .init(ok: true, detail: "certificate expires in 824 days"),
            "broker": .init(ok: false, detail: "managed mosquitto exited: \"port 1883\" in use\nsee /var/log"),
            "database": .init(ok: true, detail: "sqlite 3.40.1"),
        ])
        let json = report.json
        // Keys sorted at every level, slashes as they are (what the JSONEncoder with
        // .sortedKeys and .withoutEscapingSlashes produced before).
        #expect(json == #"{"checks":{"broker":{"detail":"managed mosquitto exited: \"port 1883\" in use\nsee /var/log","ok":false},"database":{"detail":"sqlite 3.40.1","ok":true},"tls":{"detail":"certificate expires in 824 days","ok":true}},"status":"degraded","uptime_seconds":42,"version":"0.1.0"}"#)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let broker = try #require((parsed["checks"] as? [String: Any])?["broker"] as? [String: Any])
        #expect(broker["detail"] as? String == "managed mosquitto exited: \"port 1883\" in use\nsee /var/log")
        #expect(broker["ok"] as? Bool == false)
        #expect(parsed["uptime_seconds"] as? Int == 42)
    }

    @Test func noChecksIsAnEmptyObject() {
        let report = HealthReport(status: "ok", version: "1", uptimeSeconds: 0, checks: [:])
        #expect(report.json == #"{"checks":{},"status":"ok","uptime_seconds":0,"version":"1"}"#)
    }
}
