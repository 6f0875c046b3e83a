import Dashboard
import POSIX
import Storage

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
            checks["database"] = .init(ok: try store.ping(), detail: "sqlite \(Storage.libraryVersion)")
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
        return HealthReport(status: ok ? "ok" : "degraded", version: VersionInfo.camhost, uptimeSeconds: uptimeSeconds, checks: checks)
    }
}
