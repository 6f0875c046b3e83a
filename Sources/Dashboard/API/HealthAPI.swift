import Control
import JSONText
import Synchronization
import Web

/// Health (the /healthz document) and the overview's numbers.
extension API {
    /// `/healthz` and `/api/v1/health`: the appliance's latest `HealthReport`, encoded here.
    func health() -> HTTPResponse {
        HTTPResponse(status: 200, headers: [("Content-Type", "application/json")], body: .shared(healthBody.body(for: environment.health())))
    }

    func overview() throws -> HTTPResponse { try json { try overviewJSON(&$0) } }

    func overviewJSON(_ w: inout JSONWriter) throws {
        let cameras = environment.cameras?.snapshot() ?? []
        let usage = try recordings.usage()
        let days = try recordings.bytesPerDay(days: 14)
        let volume = recordings.volume()
        w.object { w in
            w.field("cameras_online", cameras.filter(\.online).count)
            w.field("cameras_offline", cameras.filter { !$0.online }.count)
            w.field("streams_active", cameras.filter { Pages.isStreaming($0.stream) }.count)
            w.field("alarms", environment.rtcpWatch().filter { $0.state == "trap" }.count)
            w.field("recordings", usage.reduce(0) { $0 + $1.count })
            w.field("recordings_bytes", usage.reduce(0) { $0 + $1.bytes })
            w.field("disk_available_bytes", volume?.available)
            w.field("disk_total_bytes", volume?.total)
            w.key("bytes_per_day")
            w.array { w in for day in days { w.object { w in w.field("day", day.day); w.field("bytes", day.bytes) } } }
        }
    }
}

/// The last health report's JSON, kept while the report holds: the appliance checks every
/// two seconds, monitors may ask many times a second.
final class EncodedHealth: Sendable {
    private let last = Mutex<(report: HealthReport, body: SharedBytes)?>(nil)

    func body(for report: HealthReport) -> SharedBytes {
        if let body = last.withLock({ $0?.report == report ? $0?.body : nil }) { return body }
        let body = SharedBytes(report.jsonBytes)
        last.withLock { $0 = (report, body) }
        return body
    }
}
