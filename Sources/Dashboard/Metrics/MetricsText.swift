import Control
import Media
import Storage
import Web

/// The /metrics text: the request metrics, then the state of every part, read when scraped.
extension API {
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
        streamMetrics(&out)
        out.family("camhost_health_check_ok", "gauge", "1 while a /healthz check passes (probe_* are the health supervisor's probes).")
        for entry in environment.health().sortedChecks { out.sample("camhost_health_check_ok", [("check", entry.name)], entry.check.ok ? 1 : 0) }
        let restarts = (try? HealthHistory(store: environment.store).restartCounts()) ?? []
        out.family("camhost_neighbour_restarts_total", "counter", "Restarts of neighbours (broker, CoTURN, Kurento) made by the health supervisor, by outcome.")
        for entry in restarts {
            out.sample("camhost_neighbour_restarts_total", [("neighbour", entry.neighbour), ("outcome", entry.ok ? "ok" : "failed")], Double(entry.count))
        }
        out.family("camhost_tls_certificate_expiry_timestamp_seconds", "gauge", "When the served TLS certificate expires (notAfter), seconds since the epoch.")
        out.sample("camhost_tls_certificate_expiry_timestamp_seconds", [], Double(environment.certificateExpiry))
        writeLiveMetrics(into: &out)   // live: viewers, bytes, drops, first-frame time
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

extension API {
    /// Per stream, labelled by camera (issue 12). The receiver's counters start again at 0 when a
    /// stream is restarted (Prometheus' rate() treats that as a counter reset).
    func streamMetrics(_ out: inout PrometheusText) {
        let streams = environment.streams?.statuses() ?? []
        let families: [(String, String, (StreamStatus) -> Double)] = [
            ("camhost_stream_packets_total", "RTP packets received, per stream.", { Double($0.report?.packets ?? 0) }),
            ("camhost_stream_lost_packets_total", "RTP packets lost, per stream.", { Double($0.report?.lost ?? 0) }),
            ("camhost_stream_bytes_total", "RTP bytes received, per stream.", { Double($0.report?.bytes ?? 0) }),
            ("camhost_stream_rtcp_sent_total", "RTCP datagrams sent to the camera, per stream.", { Double($0.report?.rtcpSent ?? 0) }),
            ("camhost_stream_segments_written_total", "Recorded segments finished, per stream, since serve started.", { Double($0.segmentsWritten) }),
        ]
        for (name, help, value) in families {
            out.family(name, "counter", help)
            for stream in streams { out.sample(name, [("camera", stream.camera)], value(stream)) }
        }
        out.family("camhost_stream_receiving", "gauge", "1 while a stream receives RTP, per camera.")
        for stream in streams { out.sample("camhost_stream_receiving", [("camera", stream.camera)], stream.state == "receiving" ? 1 : 0) }
    }
}
