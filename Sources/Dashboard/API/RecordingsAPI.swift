import JSONText
import Storage
import Synchronization
import Web

/// Recordings: the filtered list (cached), one recording, its media and thumbnail, deletions
/// and the retention cleanup with its history.
extension API {
    func recording(_ id: String) throws -> HTTPResponse {
        let row = try recordingRow(id)
        return json { recordingJSON(&$0, row) }
    }

    func deleteRecordings(_ call: RouteCall) throws -> HTTPResponse {
        let body = try decode(DeleteBody.self, call.request)
        guard !body.ids.isEmpty, body.ids.count <= 10_000 else { throw APIError.badRequest("ids: give 1 to 10000 recording ids") }
        let (report, skipped) = try recordings.delete(ids: body.ids, actor: call.user.actor)
        return jsonObject { w in
            w.field("deleted", report.recordingsDeleted)
            w.field("bytes_freed", report.bytesFreed)
            w.key("skipped"); w.array { w in for id in skipped { w.value(id) } }
            w.key("report"); report.write(into: &w)
        }
    }

    func deleteRecording(_ call: RouteCall) throws -> HTTPResponse {
        let row = try recordingRow(call.parameter)
        let (report, skipped) = try recordings.delete(ids: [row.id], actor: call.user.actor)
        if !skipped.isEmpty { throw APIError(409, "protected", "recording \(row.id) is protected; unprotect it first (camhost recordings protect --off \(row.id))") }
        return jsonObject { w in w.field("deleted", report.recordingsDeleted); w.field("bytes_freed", report.bytesFreed) }
    }

    func cleanup(_ call: RouteCall) throws -> HTTPResponse {
        let body = try decode(CleanupBody.self, call.request)
        let dryRun = body.dryRun ?? true
        if !dryRun { try require(call.user, .delete, "deleting recordings") }
        guard (0...36_500).contains(body.olderThanDays) else { throw APIError.badRequest("older_than_days: give a number of days from 0 to 36500") }
        let report = try recordings.cleanup(olderThanDays: body.olderThanDays, camera: body.camera, dryRun: dryRun, actor: call.user.actor)
        return HTTPResponse(status: 200, contentType: "application/json", body: Array(report.json(includeItems: dryRun).utf8))
    }

    func cleanupRuns(_ request: HTTPRequest) throws -> HTTPResponse {
        let runs = try recordings.cleanupRuns(limit: limit(request, default: 20, maximum: 500))
        return jsonObject { w in
            w.key("runs")
            w.array { w in
                for run in runs {
                    w.object { w in
                        w.field("id", run.id); w.field("started_at", run.startedAt); w.field("finished_at", run.finishedAt)
                        w.field("actor", run.actor); w.key("report"); run.report.write(into: &w)
                    }
                }
            }
        }
    }

    func media(_ call: RouteCall) throws -> HTTPResponse {
        let request = call.request
        let row = try recordingRow(call.parameter)
        guard let path = recordings.absolutePath(row.path) else { throw APIError.forbidden("the stored path leaves the recordings root") }
        return FileResponse.make(path: path, request: request, contentType: row.contentType,
                                 downloadName: request.query["download"] != nil ? row.fileName : nil, cacheControl: MediaFile.cacheControl)
    }

    func thumbnail(_ call: RouteCall) throws -> HTTPResponse {
        let row = try recordingRow(call.parameter)
        guard let thumbnail = row.thumbnail, let path = recordings.absolutePath(thumbnail) else {
            var response = HTTPResponse(status: 200, contentType: "image/svg+xml", body: Assets.files["placeholder.svg"]!.bytes)
            response.setHeader("Cache-Control", "private, max-age=300")
            return response
        }
        let type = MediaFile.imageType(path)
        var response = FileResponse.make(path: path, request: call.request, contentType: type, cacheControl: MediaFile.cacheControl)
        if type == "image/svg+xml" { response.setHeader("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox") }
        return response
    }

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
