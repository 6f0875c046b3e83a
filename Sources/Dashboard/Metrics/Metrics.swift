import Synchronization

/// The dashboard's own counters and histograms (HTTP, log-ins, commands), kept in memory and
/// written in Prometheus text format with the gauges read at scrape time.
public final class Metrics: Sendable {
    /// Upper bounds of the latency buckets, seconds.
    static let httpBuckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    static let ackBuckets: [Double] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    struct Histogram: Sendable {
        var buckets: [UInt64]
        var sum = 0.0
        var count: UInt64 = 0
        init(bounds: Int) { buckets = Array(repeating: 0, count: bounds) }
        mutating func observe(_ value: Double, bounds: [Double]) {
            for index in bounds.indices where value <= bounds[index] { buckets[index] += 1 }
            sum += value
            count += 1
        }
    }

    struct RequestKey: Hashable, Sendable { var route: String; var method: String; var status: Int }
    struct CommandKey: Hashable, Sendable { var command: String; var outcome: String }

    private struct State: Sendable {
        var requests: [RequestKey: UInt64] = [:]
        var latency: [String: Histogram] = [:]
        var loginFailures: UInt64 = 0
        var commands: [CommandKey: UInt64] = [:]
        var ack = Histogram(bounds: Metrics.ackBuckets.count)
    }

    private let state = Mutex(State())

    public init() {}

    /// One finished HTTP request (`HTTPSServer`'s completion callback); `route` is a template.
    public func observeRequest(route: String, method: String, status: Int, seconds: Double) {
        let known: String
        switch method {
        case "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS": known = method
        default: known = "other"
        }
        state.withLock { state in
            state.requests[RequestKey(route: route, method: known, status: status), default: 0] += 1
            state.latency[route, default: Histogram(bounds: Metrics.httpBuckets.count)].observe(seconds, bounds: Metrics.httpBuckets)
        }
    }

    public func loginFailed() { state.withLock { $0.loginFailures += 1 } }

    public func commandFinished(command: String, outcome: String, seconds: Double?) {
        state.withLock { state in
            state.commands[CommandKey(command: command, outcome: outcome), default: 0] += 1
            if let seconds { state.ack.observe(seconds, bounds: Metrics.ackBuckets) }
        }
    }

    /// Appends the in-memory families to `out`.
    func write(into out: inout PrometheusText) {
        let snapshot = state.withLock { $0 }
        out.family("camhost_http_requests_total", "counter", "HTTP requests answered, by route template, method and status.")
        for (key, value) in snapshot.requests.sorted(by: { ($0.key.route, $0.key.method, $0.key.status) < ($1.key.route, $1.key.method, $1.key.status) }) {
            out.sample("camhost_http_requests_total", [("route", key.route), ("method", key.method), ("status", String(key.status))], Double(value))
        }
        out.family("camhost_http_request_duration_seconds", "histogram", "Time from request headers to response completion, by route template.")
        for (route, histogram) in snapshot.latency.sorted(by: { $0.key < $1.key }) {
            out.histogram("camhost_http_request_duration_seconds", [("route", route)], histogram, bounds: Metrics.httpBuckets)
        }
        out.family("camhost_login_failures_total", "counter", "Failed dashboard log-ins (wrong password, unknown user or locked out).")
        out.sample("camhost_login_failures_total", [], Double(snapshot.loginFailures))
        out.family("camhost_camera_commands_total", "counter", "Camera commands sent, by command and outcome (done, accepted, failed, timed-out, error).")
        for (key, value) in snapshot.commands.sorted(by: { ($0.key.command, $0.key.outcome) < ($1.key.command, $1.key.outcome) }) {
            out.sample("camhost_camera_commands_total", [("command", key.command), ("outcome", key.outcome)], Double(value))
        }
        out.family("camhost_camera_command_ack_seconds", "histogram", "Time from publishing a camera command to its ack.")
        out.histogram("camhost_camera_command_ack_seconds", [], snapshot.ack, bounds: Metrics.ackBuckets)
    }
}

/// Prometheus text exposition format 0.0.4.
struct PrometheusText {
    private(set) var text = ""

    mutating func family(_ name: String, _ type: String, _ help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(PrometheusText.escape($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " " + PrometheusText.number(value) + "\n"
    }

    mutating func histogram(_ name: String, _ labels: [(String, String)], _ histogram: Metrics.Histogram, bounds: [Double]) {
        for index in bounds.indices {
            sample(name + "_bucket", labels + [("le", PrometheusText.number(bounds[index]))], Double(histogram.buckets[index]))
        }
        sample(name + "_bucket", labels + [("le", "+Inf")], Double(histogram.count))
        sample(name + "_sum", labels, histogram.sum)
        sample(name + "_count", labels, Double(histogram.count))
    }

    static func escape(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
