import JSONText
import Media
import POSIX
import Storage
import Web

/// The stream manager's streams (issue 12): their state and counters, and start/stop.
extension API {
    func streams() -> HTTPResponse {
        json { w in streamsJSON(&w) }
    }

    func streamsJSON(_ w: inout JSONWriter) {
        let statuses = environment.streams?.statuses() ?? []
        w.object { w in
            w.key("streams")
            w.array { w in for status in statuses { Self.streamJSON(&w, status) } }
        }
    }

    /// One stream; field names as `stream receive --json` where they mean the same.
    static func streamJSON(_ w: inout JSONWriter, _ status: StreamStatus) {
        let report = status.report
        w.object { w in
            w.field("camera", status.camera)
            w.field("state", status.state)
            w.field("engine", status.engine)
            w.field("origin", status.origin)
            w.field("port", status.port.map(Int.init))
            w.field("address", status.address)
            w.field("source", report?.source)
            w.field("packets", report?.packets ?? 0)
            w.field("bytes", report?.bytes ?? 0)
            w.field("lost", report?.lost ?? 0)
            w.field("reordered", report?.reordered ?? 0)
            w.field("foreign_packets", report?.foreignPackets ?? 0)
            w.field("frames", report?.frames ?? 0)
            w.field("keyframes", report?.keyframes ?? 0)
            w.field("bitrate_bps", report.map { Int($0.bitrate) } ?? 0)
            w.field("jitter_ms", report?.jitterMilliseconds ?? 0)
            w.field("last_keyframe", status.lastKeyframe.map(isoMilliseconds))
            w.field("rtcp_sent", report?.rtcpSent ?? 0)
            w.field("rtcp_to", report?.rtcpTo)
            w.field("remb_bps", report.map { Int($0.rembBitrate) } ?? 0)
            w.field("segments_written", status.segmentsWritten)
            w.field("restarts", status.restarts)
            w.field("detail", status.detail)
            if let offer = status.offer { w.field("offer", offer) }
            if let answer = status.answer { w.field("answer", answer) }
        }
    }

    /// POST /api/v1/streams/{camera}/start or /stop; audit-logged either way.
    func streamAction(_ call: RouteCall, start: Bool) throws -> HTTPResponse {
        guard let streams = environment.streams else { throw APIError(503, "unavailable", "the stream manager is not running (serve starts it)") }
        let camera = call.parameter
        let action = start ? "stream.start" : "stream.stop"
        let audit = AuditLog(store: environment.store)
        do {
            if start { try streams.start(camera: camera) } else { try streams.stop(camera: camera) }
        } catch {
            _ = try? audit.append(actor: call.user.actor, action: action, target: camera, detail: "\(error)", outcome: .failure)
            throw APIError.notFound("\(error)")
        }
        _ = try? audit.append(actor: call.user.actor, action: action, target: camera, detail: nil, outcome: .success)
        guard let status = streams.status(camera: camera) else { throw APIError.notFound("no stream for camera \(camera)") }
        return json { w in Self.streamJSON(&w, status) }
    }
}

/// `2026-12-04T18:13:00.123Z`.
func isoMilliseconds(_ milliseconds: Int64) -> String {
    let date = Clock.utcDate(milliseconds / 1000)
    func pad(_ value: Int, _ width: Int) -> String { let text = String(value); return String(repeating: "0", count: max(0, width - text.count)) + text }
    return "\(pad(date.year, 4))-\(pad(date.month, 2))-\(pad(date.day, 2))T\(pad(date.hour, 2)):\(pad(date.minute, 2)):\(pad(date.second, 2)).\(pad(Int(milliseconds % 1000), 3))Z"
}
