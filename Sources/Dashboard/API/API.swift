import Capture
import Control
import FoundationEssentials
import POSIX
import Storage
import Synchronization
import Web
import Wire

/// The JSON API under /api/v1 (docs/openapi.yaml). Every error is `APIError`'s one shape.
struct API: Sendable {
    let environment: DashboardEnvironment
    let metrics: Metrics
    let recordings: RecordingsService
    let listCache = ResponseCache(capacity: 64)

    func handle(_ request: HTTPRequest, method: String, segments: [String], principal: DashboardPrincipal) -> HTTPResponse {
        do {
            return try dispatch(request, method: method, segments: segments, principal: principal)
        } catch let error as APIError {
            return error.response
        } catch let error as CleanupError {
            if case .busy = error { return APIError(409, "busy", "another cleanup is running; try again in a moment").response }
            return APIError(500, "cleanup-failed", "\(error)").response
        } catch {
            return APIError(500, "internal", "\(error)").response
        }
    }

    private func dispatch(_ request: HTTPRequest, method: String, segments: [String], principal: DashboardPrincipal) throws -> HTTPResponse {
        switch (method, segments.count, segments.first ?? "") {
        case ("GET", 1, "cameras"): return try json { try camerasJSON(&$0) }
        case (_, 1, "cameras"): throw APIError.methodNotAllowed("GET")
        case ("GET", 2, "cameras"):
            guard let camera = environment.cameras?.snapshot().first(where: { $0.id.rawValue == segments[1] }) else {
                throw APIError.notFound("no camera \(segments[1]) has reported to the broker")
            }
            return json { cameraJSON(&$0, camera) }
        case ("POST", 3, "cameras") where segments[2] == "commands":
            try require(principal, .commands, "sending camera commands")
            let body = try decode(CommandBody.self, request)
            let camera = segments[1], actor = principal.actor
            // The camera's answer can take seconds (time-out 5 s): wait for it without holding
            // one of the server's threads, or two slow cameras would stall the whole dashboard.
            return .later {
                do {
                    let result = try await sendCommand(camera: camera, body: body, actor: actor)
                    return json(status: result.status) { $0.raw(result.json) }
                } catch let error as APIError {
                    return error.response
                } catch {
                    return APIError(500, "internal", "\(error)").response
                }
            }
        case ("GET", 1, "recordings"): return try recordingsList(request)
        case ("POST", 2, "recordings") where segments[1] == "delete":
            try require(principal, .admin, "deleting recordings")
            let body = try decode(DeleteBody.self, request)
            guard !body.ids.isEmpty, body.ids.count <= 10_000 else { throw APIError.badRequest("ids: give 1 to 10000 recording ids") }
            let (report, skipped) = try recordings.delete(ids: body.ids, actor: principal.actor)
            return jsonObject { w in
                w.field("deleted", report.recordingsDeleted)
                w.field("bytes_freed", report.bytesFreed)
                w.key("skipped"); w.array { w in for id in skipped { w.value(id) } }
                w.key("report"); w.raw(report.json())
            }
        case ("POST", 2, "recordings") where segments[1] == "cleanup":
            let body = try decode(CleanupBody.self, request)
            let dryRun = body.dryRun ?? true
            if !dryRun { try require(principal, .admin, "deleting recordings") }
            guard (0...36_500).contains(body.olderThanDays) else { throw APIError.badRequest("older_than_days: give a number of days from 0 to 36500") }
            let report = try recordings.cleanup(olderThanDays: body.olderThanDays, camera: body.camera, dryRun: dryRun, actor: principal.actor)
            return HTTPResponse(status: 200, contentType: "application/json", body: Array(report.json(includeItems: dryRun).utf8))
        case ("GET", 3, "recordings") where segments[1] == "cleanup" && segments[2] == "runs":
            let runs = try recordings.cleanupRuns(limit: limit(request, default: 20, maximum: 500))
            return jsonObject { w in
                w.key("runs")
                w.array { w in
                    for run in runs {
                        w.object { w in
                            w.field("id", run.id); w.field("started_at", run.startedAt); w.field("finished_at", run.finishedAt)
                            w.field("actor", run.actor); w.key("report"); w.raw(run.report)
                        }
                    }
                }
            }
        case ("GET", 2, "recordings"):
            let row = try recordingRow(segments[1])
            return json { recordingJSON(&$0, row) }
        case ("DELETE", 2, "recordings"):
            try require(principal, .admin, "deleting recordings")
            let row = try recordingRow(segments[1])
            let (report, skipped) = try recordings.delete(ids: [row.id], actor: principal.actor)
            if !skipped.isEmpty { throw APIError(409, "protected", "recording \(row.id) is protected; unprotect it first (camhost recordings protect --off \(row.id))") }
            return jsonObject { w in w.field("deleted", report.recordingsDeleted); w.field("bytes_freed", report.bytesFreed) }
        case ("GET", 3, "recordings") where segments[2] == "media":
            let row = try recordingRow(segments[1])
            guard let path = recordings.absolutePath(row.path) else { throw APIError.forbidden("the stored path leaves the recordings root") }
            return FileResponse.make(path: path, request: request, contentType: row.contentType,
                                     downloadName: request.query["download"] != nil ? row.fileName : nil, cacheControl: MediaFile.cacheControl)
        case ("GET", 3, "recordings") where segments[2] == "thumbnail":
            let row = try recordingRow(segments[1])
            guard let thumbnail = row.thumbnail, let path = recordings.absolutePath(thumbnail) else {
                var response = HTTPResponse(status: 200, contentType: "image/svg+xml", body: Assets.files["placeholder.svg"]!.bytes)
                response.setHeader("Cache-Control", "private, max-age=300")
                return response
            }
            let type = MediaFile.imageType(path)
            var response = FileResponse.make(path: path, request: request, contentType: type, cacheControl: MediaFile.cacheControl)
            if type == "image/svg+xml" { response.setHeader("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox") }
            return response
        case ("POST", 1, "diagnostics"):
            try require(principal, .commands, "running a capture")
            let body = try decode(DiagnosisBody.self, request)
            let actor = principal.actor
            // A capture lasts its N seconds: on its own thread, answered later (see above).
            return .later {
                switch await runDiagnosisOffThread(body, actor: actor) {
                case .success(let diagnosis): HTTPResponse(status: 200, contentType: "application/json", body: Array(diagnosis.json.utf8))
                case .failure(let error as APIError): error.response
                case .failure(let error): APIError(500, "internal", "\(error)").response
                }
            }
        case ("GET", 1, "health"):
            return HTTPResponse(status: 200, contentType: "application/json", body: environment.health())
        case ("GET", 1, "alarms"): return json { alarmsJSON(&$0) }
        case ("GET", 1, "overview"): return try json { try overviewJSON(&$0) }
        case ("GET", 1, "audit"):
            guard principal.permission == .admin else { throw APIError.forbidden("the audit log is for admins") }
            let entries = try AuditLog(store: environment.store).recent(limit: limit(request, default: 100, maximum: 1000))
            return jsonObject { w in
                w.key("entries")
                w.array { w in
                    for entry in entries {
                        w.object { w in
                            w.field("id", entry.id); w.field("at", entry.at); w.field("actor", entry.actor); w.field("action", entry.action)
                            w.field("target", entry.target); w.field("detail", entry.detail); w.field("outcome", entry.outcome.rawValue)
                        }
                    }
                }
            }
        case ("GET", 1, "whoami"):
            return jsonObject { w in
                w.field("name", principal.name)
                w.field("permission", ["read", "commands", "admin"][principal.permission.rawValue])
                w.field("session", principal.isSession)
            }
        default:
            throw APIError.notFound("no API endpoint \(method) /api/v1/\(segments.joined(separator: "/")); see docs/openapi.yaml")
        }
    }

    // MARK: Bodies

    struct CommandBody: Decodable, Sendable { var command: String; var mode: String? }
    struct DeleteBody: Decodable { var ids: [Int64] }
    struct CleanupBody: Decodable {
        var olderThanDays: Int
        var dryRun: Bool?
        var camera: String?
        enum CodingKeys: String, CodingKey { case olderThanDays = "older_than_days", dryRun = "dry_run", camera }
    }
    struct DiagnosisBody: Decodable { var camera: String; var seconds: Int?; var interface: String? }

    func decode<T: Decodable>(_ type: T.Type, _ request: HTTPRequest) throws -> T {
        let contentType = request.header("content-type") ?? ""
        if contentType.hasPrefix("application/x-www-form-urlencoded") {
            // Forms post the same fields; turn them into JSON-ish values.
            var object: [String: Any] = [:]
            for (key, value) in Form.parse(request) where key != "csrf" {
                if key == "ids" || key == "id" { object["ids"] = value.split(separator: ",").compactMap { Int64($0) } }
                else if let number = Int(value) { object[key] = number }
                else if value == "true" || value == "false" { object[key] = value == "true" }
                else { object[key] = value }
            }
            return try decodeJSON(type, Array(FormJSON.encode(object).utf8))
        }
        guard contentType.hasPrefix("application/json") else {
            throw APIError(415, "unsupported-media-type", "send Content-Type: application/json")
        }
        return try decodeJSON(type, request.body)
    }

    private func decodeJSON<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch let error as DecodingError {
            switch error {
            case .keyNotFound(let key, _): throw APIError.badRequest("the body lacks the field \"\(key.stringValue)\"")
            case .typeMismatch(_, let context), .valueNotFound(_, let context):
                throw APIError.badRequest("field \"\(context.codingPath.map(\.stringValue).joined(separator: "."))\" has the wrong type")
            default: throw APIError.badRequest("the body is not valid JSON")
            }
        }
    }

    // MARK: Cameras

    struct CommandAnswer { var status: Int; var json: String; var success: Bool; var text: String }

    func sendCommand(camera id: String, body: CommandBody, actor: String) async throws -> CommandAnswer {
        guard let cameras = environment.cameras else { throw APIError(503, "unavailable", "camera control is not running") }
        guard let camera = CameraID(id) else { throw APIError.badRequest("camera id \"\(id)\" is not valid") }
        let command: CameraCommand
        switch body.command {
        case "reboot": command = .reboot
        case "get-status": command = .getStatus
        case "stop-stream": command = .stopStream
        case "set-mode":
            guard let mode = body.mode, !mode.isEmpty, mode.count <= 64 else { throw APIError.badRequest("set-mode needs \"mode\"") }
            command = .setMode(mode)
        default:
            throw APIError.badRequest("command must be one of reboot, set-mode, get-status, stop-stream (streams start from the stream manager)")
        }
        do {
            let result = try await cameras.send(command, to: camera, actor: actor)
            let seconds = result.latencyMilliseconds / 1000
            metrics.commandFinished(command: command.kind.rawValue, outcome: result.outcome.name, seconds: result.outcome == .timedOut ? nil : seconds)
            var w = JSONWriter()
            var reason: String?
            if case .failed(let why) = result.outcome { reason = why }
            w.object { w in
                w.field("camera", result.camera.rawValue)
                w.field("command", command.kind.rawValue)
                w.field("correlation_id", result.correlationID)
                w.field("outcome", result.outcome.name)
                w.field("success", result.outcome.isSuccess)
                w.field("reason", reason)
                w.field("latency_ms", result.latencyMilliseconds)
            }
            let text = "\(command.kind.rawValue): \(result.outcome.name) in \(Int(result.latencyMilliseconds)) ms" + (reason.map { " (\($0))" } ?? "")
            return CommandAnswer(status: 200, json: w.text, success: result.outcome.isSuccess, text: text)
        } catch {
            metrics.commandFinished(command: command.kind.rawValue, outcome: "error", seconds: nil)
            throw APIError(502, "command-failed", "\(error)")
        }
    }

    func camerasJSON(_ w: inout JSONWriter) throws {
        let cameras = environment.cameras?.snapshot() ?? []
        w.object { w in
            w.field("mqtt", environment.cameras?.connectionState ?? "disabled")
            w.key("cameras")
            w.array { w in for camera in cameras { cameraJSON(&w, camera) } }
        }
    }

    func cameraJSON(_ w: inout JSONWriter, _ camera: CameraStatus) {
        w.object { w in
            w.field("id", camera.id.rawValue)
            w.field("online", camera.online)
            w.field("mode", camera.mode)
            w.field("stream", camera.stream)
            w.field("firmware", camera.firmware)
            w.field("profile", camera.profile)
            w.field("last_seen", camera.listEntry.lastSeen)
        }
    }

    // MARK: Recordings

    func recordingRow(_ text: String) throws -> RecordingRow {
        guard let id = Int64(text), id > 0 else { throw APIError.notFound("recording ids are positive numbers") }
        guard let row = try recordings.recording(id) else { throw APIError.notFound("no recording \(id)") }
        return row
    }

    func filter(_ query: [String: String]) throws -> RecordingsService.Filter {
        var filter = RecordingsService.Filter()
        if query.isEmpty { return filter }  // the plain list, what dashboards and scripts poll
        filter.camera = query["camera"].flatMap { $0.isEmpty ? nil : $0 }
        for (key, value) in [("from", query["from"]), ("to", query["to"])] {
            guard let value, !value.isEmpty else { continue }
            guard Self.isDate(value) else { throw APIError.badRequest("\(key): use a date like 2026-01-31") }
            if key == "from" { filter.from = value } else { filter.to = value }
        }
        filter.limit = try Self.integer(query["limit"], name: "limit", default: 100, range: 1...1000)
        filter.offset = try Self.integer(query["offset"], name: "offset", default: 0, range: 0...Int(Int32.max))
        return filter
    }

    func recordingsList(_ request: HTTPRequest) throws -> HTTPResponse {
        let filter = try filter(request.query)
        // Lists are read far more often than recordings change: the rendered page is kept until
        // the database changes (any write, here or by another process).
        let version = try recordings.databaseVersion()
        let body: SharedBytes
        if let cached = listCache.lookup(filter, version: version) {
            body = cached
        } else {
            body = SharedBytes(try renderRecordingsList(filter))
            listCache.store(filter, version: version, body: body)
        }
        return HTTPResponse(status: 200, headers: [("Content-Type", "application/json"), ("Cache-Control", "no-store")], body: .shared(body))
    }

    private func renderRecordingsList(_ filter: RecordingsService.Filter) throws -> [UInt8] {
        let (rows, total) = try recordings.list(filter)
        return jsonBytes { w in
            w.field("total", total)
            w.field("limit", filter.limit)
            w.field("offset", filter.offset)
            w.key("recordings")
            w.array { w in for row in rows { recordingJSON(&w, row) } }
        }
    }

    func recordingJSON(_ w: inout JSONWriter, _ row: RecordingRow) {
        w.object { w in
            w.field("id", row.id)
            w.field("camera", row.cameraID)
            w.field("path", row.displayPath)
            w.field("start_at", row.startAt)
            w.field("end_at", row.endAt)
            w.field("duration_ms", row.durationMilliseconds)
            w.field("bytes", row.bytes)
            w.field("codec", row.codec)
            w.field("protected", row.isProtected)
            w.field("has_thumbnail", row.thumbnail != nil)
            w.field("media_url", "/api/v1/recordings/\(row.id)/media")
            w.field("thumbnail_url", "/api/v1/recordings/\(row.id)/thumbnail")
        }
    }

    // MARK: Diagnostics, alarms, overview

    /// `runDiagnosis` on an OS thread of its own: the capture blocks for its whole duration.
    func runDiagnosisOffThread(_ body: DiagnosisBody, actor: String) async -> Result<RTCPDiagnosis, any Error> {
        await runOnOwnThread { Result { try runDiagnosis(body, actor: actor) } }
    }

    func runDiagnosis(_ body: DiagnosisBody, actor: String) throws -> RTCPDiagnosis {
        guard let address = IPAddress(body.camera) else { throw APIError.badRequest("camera: give the camera's IP address, e.g. 192.0.2.10") }
        var request = TrapDiagnosis.Request(camera: address)
        let seconds = body.seconds ?? 10
        guard (1...environment.maximumCaptureSeconds).contains(seconds) else {
            throw APIError.badRequest("seconds: from 1 to \(environment.maximumCaptureSeconds)")
        }
        request.duration = .seconds(seconds)
        if let interface = body.interface, !interface.isEmpty {
            guard interface.count <= 32, interface.allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) }) else {
                throw APIError.badRequest("interface: a name like eth0, lo or any")
            }
            request.interfaces = [interface]
        }
        let audit = AuditLog(store: environment.store)
        do {
            let diagnosis = try environment.diagnose(request)
            _ = try? audit.append(actor: actor, action: "diagnostics.capture", target: body.camera, detail: "verdict \(diagnosis.verdict.rawValue), \(seconds) s", outcome: .success)
            return diagnosis
        } catch {
            _ = try? audit.append(actor: actor, action: "diagnostics.capture", target: body.camera, detail: "\(error)", outcome: .failure)
            throw APIError(502, "capture-failed", "\(error)")
        }
    }

    func alarmsJSON(_ w: inout JSONWriter) {
        w.object { w in
            w.key("rtcp_watch")
            w.array { w in
                for entry in environment.rtcpWatch() {
                    w.object { w in
                        w.field("camera", entry.camera); w.field("state", entry.state); w.field("since", entry.since)
                        w.field("feedback_to_camera", entry.feedbackToCamera); w.field("misrouted_feedback", entry.misroutedFeedback)
                        w.field("misrouted_to", entry.misroutedTo)
                    }
                }
            }
        }
    }

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

    // MARK: Helpers

    func require(_ principal: DashboardPrincipal, _ permission: DashboardPrincipal.Permission, _ what: String) throws {
        guard principal.permission >= permission else {
            throw APIError.forbidden("\(what) needs the \(["read", "commands", "admin"][permission.rawValue]) permission; \(principal.name) has \(["read", "commands", "admin"][principal.permission.rawValue])")
        }
    }

    /// A response whose body is one object made of the fields `body` writes.
    func jsonObject(status: Int = 200, _ body: (inout JSONWriter) throws -> Void) rethrows -> HTTPResponse {
        try json(status: status) { w in try w.object { w in try body(&w) } }
    }

    /// One JSON object's bytes, for bodies kept in a cache.
    func jsonBytes(_ body: (inout JSONWriter) throws -> Void) rethrows -> [UInt8] {
        var writer = JSONWriter()
        try writer.object { w in try body(&w) }
        return writer.bytes
    }

    func json(status: Int = 200, _ body: (inout JSONWriter) throws -> Void) rethrows -> HTTPResponse {
        var writer = JSONWriter()
        try body(&writer)
        var response = HTTPResponse(status: status, contentType: "application/json", body: writer.bytes)
        response.setHeader("Cache-Control", "no-store")
        return response
    }

    func limit(_ request: HTTPRequest, default value: Int, maximum: Int) throws -> Int {
        try Self.integer(request.query["limit"], name: "limit", default: value, range: 1...maximum)
    }

    static func integer(_ text: String?, name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text, !text.isEmpty else { return value }
        guard let number = Int(text), range.contains(number) else { throw APIError.badRequest("\(name): a whole number from \(range.lowerBound) to \(range.upperBound)") }
        return number
    }

    static func isDate(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == 0x2D, bytes[7] == 0x2D else { return false }
        return bytes.enumerated().allSatisfy { $0.offset == 4 || $0.offset == 7 || (0x30...0x39).contains($0.element) }
    }

    // MARK: /metrics

    func metricsText() -> String {
        var out = PrometheusText()
        metrics.write(into: &out)
        out.family("camhost_rate_limit_rejections_total", "counter", "Requests refused with 429 by the rate limiter, by route class.")
        let rejections = environment.rateLimiter?.rejections ?? [:]
        for routeClass in RouteClass.allCases {
            out.sample("camhost_rate_limit_rejections_total", [("class", routeClass.rawValue)], Double(rejections[routeClass] ?? 0))
        }
        let cameras = environment.cameras?.snapshot() ?? []
        out.family("camhost_mqtt_connected", "gauge", "1 when camera control is connected to the MQTT broker.")
        out.sample("camhost_mqtt_connected", [], environment.cameras?.connectionState == "connected" ? 1 : 0)
        out.family("camhost_cameras", "gauge", "Cameras known from the broker, by state.")
        out.sample("camhost_cameras", [("state", "online")], Double(cameras.filter(\.online).count))
        out.sample("camhost_cameras", [("state", "offline")], Double(cameras.filter { !$0.online }.count))
        let usage = (try? recordings.usage()) ?? []
        out.family("camhost_recordings", "gauge", "Recordings in the index, by camera.")
        for entry in usage { out.sample("camhost_recordings", [("camera", entry.camera)], Double(entry.count)) }
        out.family("camhost_recordings_bytes", "gauge", "Bytes of recordings in the index, by camera.")
        for entry in usage { out.sample("camhost_recordings_bytes", [("camera", entry.camera)], Double(entry.bytes)) }
        let totals = (try? recordings.cleanupTotals()) ?? (runs: 0, bytesFreed: 0)
        out.family("camhost_cleanup_runs_total", "counter", "Retention cleanups carried out (not dry runs), since the database was made.")
        out.sample("camhost_cleanup_runs_total", [], Double(totals.runs))
        out.family("camhost_cleanup_freed_bytes_total", "counter", "Bytes freed by retention cleanups, since the database was made.")
        out.sample("camhost_cleanup_freed_bytes_total", [], Double(totals.bytesFreed))
        out.family("camhost_rtcp_watch_state", "gauge", "RTCP watch state per camera: 1 for the current state (waiting, healthy, trap).")
        for entry in environment.rtcpWatch() {
            for state in ["waiting", "healthy", "trap"] {
                out.sample("camhost_rtcp_watch_state", [("camera", entry.camera), ("state", state)], entry.state == state ? 1 : 0)
            }
        }
        out.family("camhost_tls_certificate_expiry_timestamp_seconds", "gauge", "When the served TLS certificate expires (notAfter), seconds since the epoch.")
        out.sample("camhost_tls_certificate_expiry_timestamp_seconds", [], Double(environment.certificateExpiry))
        let process = ProcessStatistics.current()
        out.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.")
        out.sample("process_resident_memory_bytes", [], process.residentBytes)
        out.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.")
        out.sample("process_virtual_memory_bytes", [], process.virtualBytes)
        out.family("process_cpu_seconds_total", "counter", "User and system CPU time spent, seconds.")
        out.sample("process_cpu_seconds_total", [], process.cpuSeconds)
        out.family("process_open_fds", "gauge", "Open file descriptors.")
        out.sample("process_open_fds", [], process.openFiles)
        out.family("process_max_fds", "gauge", "Most open file descriptors allowed.")
        out.sample("process_max_fds", [], process.maxFiles)
        out.family("process_start_time_seconds", "gauge", "Start time of the process, seconds since the epoch.")
        out.sample("process_start_time_seconds", [], process.startTimeSeconds)
        return out.text
    }
}

/// Rendered recordings lists keyed by their filter, valid while the database version they were
/// made from holds.
final class ResponseCache: Sendable {
    typealias Key = RecordingsService.Filter
    private struct Entry: Sendable { var version: Int64; var body: SharedBytes }
    private let entries = Mutex<[Key: Entry]>([:])
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func lookup(_ key: Key, version: Int64) -> SharedBytes? {
        entries.withLock { $0[key].flatMap { $0.version == version ? $0.body : nil } }
    }

    func store(_ key: Key, version: Int64, body: SharedBytes) {
        entries.withLock { entries in
            if entries.count >= capacity, entries[key] == nil { entries.removeAll(keepingCapacity: true) }
            entries[key] = Entry(version: version, body: body)
        }
    }
}

/// Form fields as a JSON object for the same decoders (numbers, booleans, strings, id lists).
enum FormJSON {
    static func encode(_ object: [String: Any]) -> String {
        var w = JSONWriter()
        w.object { w in
            for (key, value) in object.sorted(by: { $0.key < $1.key }) {
                w.key(key)
                switch value {
                case let number as Int: w.value(number)
                case let flag as Bool: w.value(flag)
                case let ids as [Int64]: w.array { w in for id in ids { w.value(id) } }
                case let text as String: w.value(text)
                default: w.value(nil as String?)
                }
            }
        }
        return w.text
    }
}
