import JSONText

/// What /healthz answers: the overall status and one check per dependency. The appliance
/// fills it every few seconds (its `HealthChecker`); the dashboard shows it on the health page
/// and encodes it at the edge.
public struct HealthReport: Sendable, Equatable {
    public struct Check: Sendable, Equatable {
        public var ok: Bool
        public var detail: String

        public init(ok: Bool, detail: String) {
            self.ok = ok
            self.detail = detail
        }
    }

    /// `ok`, `degraded`, or `starting` before the first check.
    public var status: String
    public var version: String
    public var uptimeSeconds: Int
    /// The checks sorted by name, as the page lists them and /healthz writes them. An array,
    /// not a dictionary: comparing a report with its copy (the dashboard's cache of the encoded
    /// body, on every /healthz) is then a buffer identity check instead of a hash per check.
    public let sortedChecks: [Named]

    public struct Named: Sendable, Equatable {
        public var name: String
        public var check: Check
    }

    public init(status: String, version: String, uptimeSeconds: Int, checks: [String: Check]) {
        self.status = status
        self.version = version
        self.uptimeSeconds = uptimeSeconds
        sortedChecks = checks.keys.sorted().map { Named(name: $0, check: checks[$0]!) }
    }

    /// The checks by name.
    public var checks: [String: Check] { Dictionary(uniqueKeysWithValues: sortedChecks.map { ($0.name, $0.check) }) }

    /// Before the first check has run.
    public static func starting(version: String) -> HealthReport {
        HealthReport(status: "starting", version: version, uptimeSeconds: 0, checks: [:])
    }

    /// The `/healthz` body: keys sorted at every level, slashes not escaped.
    public var json: String { String(decoding: jsonBytes, as: UTF8.self) }

    var jsonBytes: [UInt8] {
        var w = JSONWriter(capacity: 512)
        w.object { w in
            w.key("checks")
            w.object { w in
                for entry in sortedChecks {
                    w.key(entry.name)
                    w.object { w in w.field("detail", entry.check.detail); w.field("ok", entry.check.ok) }
                }
            }
            w.field("status", status)
            w.field("uptime_seconds", uptimeSeconds)
            w.field("version", version)
        }
        return w.bytes
    }
}
