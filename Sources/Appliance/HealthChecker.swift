import JSONText
import POSIX
import Storage

/// What `/healthz` answers: overall status and one entry per dependency.
struct HealthReport: Sendable {
    struct Check: Sendable {
        var ok: Bool
        var detail: String
    }
    var status: String
    var version: String
    var uptime_seconds: Int
    var checks: [String: Check]

    /// The `/healthz` body: keys sorted, slashes not escaped (JSONText, not Foundation's
    /// JSONEncoder, whose generic code would be paged in every few seconds for this alone).
    var json: String {
        var out = "{\"checks\":{"
        for (index, name) in checks.keys.sorted().enumerated() {
            let check = checks[name]!
            if index > 0 { out += "," }
            jsonQuote(name, into: &out)
            out += ":{\"detail\":"
            jsonQuote(check.detail, into: &out)
            out += ",\"ok\":\(check.ok)}"
        }
        out += "},\"status\":"
        jsonQuote(status, into: &out)
        out += ",\"uptime_seconds\":\(uptime_seconds),\"version\":"
        jsonQuote(version, into: &out)
        out += "}"
        return out
    }
}

/// Checks the database, the managed broker and the certificate; run every few seconds so
/// `/healthz` answers from memory.
struct HealthChecker: Sendable {
    let store: Store
    let broker: ManagedBroker?
    let certificateExpiry: Int
    /// Camera control's MQTT connection (ControlService.health).
    var mqtt: (@Sendable () -> (ok: Bool, detail: String))? = nil

    func check(uptimeSeconds: Int) -> HealthReport {
        var checks: [String: HealthReport.Check] = [:]
        do {
            let one = try store.read { db in try db.scalar("SELECT 1", as: Int.self) }
            checks["database"] = .init(ok: one != nil, detail: "sqlite \(Storage.libraryVersion)")
        } catch {
            checks["database"] = .init(ok: false, detail: "\(error)")
        }
        if let broker {
            let status = broker.status
            checks["broker"] = .init(
                ok: status.running,
                detail: status.running ? "managed mosquitto pid \(status.pid ?? 0) on \(broker.url), \(status.restarts) restarts"
                                       : "managed mosquitto is down (\(status.lastExit ?? "not started")); restarting")
        }
        if let mqtt {
            let (ok, detail) = mqtt()
            checks["mqtt"] = .init(ok: ok, detail: detail)
        }
        let remaining = certificateExpiry - Int(Clock.unixSeconds)
        checks["tls"] = .init(ok: remaining > 7 * 86400, detail: "certificate expires in \(remaining / 86400) days")
        let ok = checks.values.allSatisfy(\.ok)
        return HealthReport(status: ok ? "ok" : "degraded", version: VersionInfo.camhost, uptime_seconds: uptimeSeconds, checks: checks)
    }
}
