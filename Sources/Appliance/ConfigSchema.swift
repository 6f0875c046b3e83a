import JSONText
/// A configuration value as it appears in the file, the environment or a flag.
public enum ConfigValue: Sendable, Equatable, CustomStringConvertible {
    case string(String)
    case integer(Int)
    case boolean(Bool)
    case strings([String])

    /// How the value is written in TOML.
    public var description: String {
        switch self {
        case .string(let s): return tomlQuoted(s)
        case .integer(let i): return String(i)
        case .boolean(let b): return b ? "true" : "false"
        case .strings(let list): return "[" + list.map(tomlQuoted).joined(separator: ", ") + "]"
        }
    }

    var kind: ConfigKey.Kind {
        switch self {
        case .string: return .string
        case .integer: return .integer
        case .boolean: return .boolean
        case .strings: return .strings
        }
    }
}

func tomlQuoted(_ s: String) -> String { jsonQuoted(s) }

/// One documented configuration key: where it lives, its type, its default and what it does.
public struct ConfigKey: Sendable {
    public enum Kind: String, Sendable { case string, integer, boolean, strings = "array of strings" }

    public let section: String
    public let name: String
    public let kind: Kind
    public let defaultValue: ConfigValue
    public let help: String
    public let secret: Bool
    /// Inclusive bounds for integers.
    public let range: ClosedRange<Int>?
    /// Allowed values for strings, when closed.
    public let choices: [String]?

    init(_ section: String, _ name: String, _ defaultValue: ConfigValue, _ help: String,
         secret: Bool = false, range: ClosedRange<Int>? = nil, choices: [String]? = nil) {
        self.section = section
        self.name = name
        self.kind = defaultValue.kind
        self.defaultValue = defaultValue
        self.help = help
        self.secret = secret
        self.range = range
        self.choices = choices
    }

    /// `section.name`, the key's full name.
    public var path: String { "\(section).\(name)" }
    /// The environment variable that overrides it: `CAMHOST_SECTION_NAME`.
    public var environmentName: String { "CAMHOST_\(section.uppercased())_\(name.uppercased())" }
}

/// Every key camhost understands. `config show --defaults` prints this as a documented file,
/// and docs/configuration.md is generated from it, so the three cannot drift apart.
public enum ConfigSchema {
    public static let keys: [ConfigKey] = [
        ConfigKey("server", "listen", .string("127.0.0.1:5000"),
                  "Address and port of the HTTPS dashboard: HOST:PORT, [IPv6]:PORT. Use 0.0.0.0:5000 to serve the LAN."),
        ConfigKey("server", "threads", .integer(2), "Worker threads of the HTTPS server (one epoll loop each).", range: 1...64),
        ConfigKey("server", "connection_timeout_seconds", .integer(30),
                  "Idle keep-alive connections and clients too slow to send a request are closed after this.", range: 1...3600),
        ConfigKey("server", "max_body_bytes", .integer(1_048_576), "Largest request body accepted; larger ones get 413.", range: 1024...(1 << 30)),
        ConfigKey("server", "pid_file", .string(""), "Write the process id here while serving (empty: no pid file)."),

        ConfigKey("tls", "key", .string(""), "PEM private key. Empty: <data_dir>/tls/key.pem, made on first start (mode 0600)."),
        ConfigKey("tls", "certificate", .string(""), "PEM certificate. Empty: <data_dir>/tls/cert.pem, self-signed on first start."),
        ConfigKey("tls", "key_group", .string(""), "Group allowed to read the key (mode 0640), e.g. for a backup agent. Empty: owner only (0600)."),
        ConfigKey("tls", "certificate_days", .integer(825), "Validity of a self-signed certificate made on first start.", range: 1...3650),
        ConfigKey("tls", "host_names", .strings([]), "Extra DNS names or IP addresses for the self-signed certificate (localhost, 127.0.0.1, ::1 and the host name are always in it)."),

        ConfigKey("storage", "data_dir", .string("./var"), "Where camhost keeps its database, TLS files, logs and recordings."),
        ConfigKey("storage", "database", .string(""), "SQLite database file. Empty: <data_dir>/camhost.db."),
        ConfigKey("storage", "recordings", .string(""), "Recordings root. Empty: <data_dir>/recordings."),
        ConfigKey("storage", "busy_timeout_ms", .integer(5000), "How long a database write waits for a lock before failing.", range: 0...600_000),

        ConfigKey("mqtt", "broker", .string(""),
                  "Broker URL (mqtt://HOST:PORT or mqtts://HOST:PORT). Empty: camhost starts and watches its own Mosquitto on 127.0.0.1."),
        ConfigKey("mqtt", "managed_broker_port", .integer(18830), "Port of the broker camhost manages when `broker` is empty (loopback only).", range: 1...65535),
        ConfigKey("mqtt", "mosquitto", .string("/usr/sbin/mosquitto"), "The Mosquitto binary for the managed broker."),
        ConfigKey("mqtt", "username", .string(""), "Broker user name (empty: anonymous)."),
        ConfigKey("mqtt", "password", .string(""), "Broker password.", secret: true),
        ConfigKey("mqtt", "client_id_prefix", .string("camhost"), "Client ids are PREFIX-HOST-PID-RANDOM, unique to each process."),
        ConfigKey("mqtt", "keepalive_seconds", .integer(30), "MQTT keep-alive interval.", range: 5...3600),
        ConfigKey("mqtt", "ca_file", .string(""), "CA certificate (PEM) that signed the broker's certificate, for mqtts://."),
        ConfigKey("mqtt", "client_certificate", .string(""), "Client certificate (PEM) for brokers that require one."),
        ConfigKey("mqtt", "client_key", .string(""), "Client key (PEM) for the client certificate."),

        ConfigKey("log", "level", .string("info"), "Least severe messages logged.",
                  choices: ["trace", "debug", "info", "notice", "warning", "error", "critical"]),
        ConfigKey("log", "dir", .string(""), "Log files (camhost.log, mosquitto.log). Empty: <data_dir>/logs."),

        ConfigKey("retention", "max_age_days", .integer(30), "Recordings that ended longer ago than this are deleted (0: no age limit). Per camera: `camhost recordings policy set`.", range: 0...36500),
        ConfigKey("retention", "min_age_days", .integer(1), "A free-space purge never deletes recordings younger than this, unless forced.", range: 0...3650),
        ConfigKey("retention", "camera_quota_bytes", .integer(0), "Most bytes of recordings one camera may keep; the oldest go first (0: no quota).", range: 0...Int.max),
        ConfigKey("retention", "free_space_floor_percent", .integer(10), "Keep at least this share of the recordings volume free, deleting the oldest recordings (0: off).", range: 0...90),
        ConfigKey("retention", "safety_max_share_percent", .integer(50), "Refuse a cleanup that would delete more than this share of all recordings (a wrong clock or an unmounted volume); `--force` overrides.", range: 1...100),
        ConfigKey("retention", "schedule_interval_hours", .integer(24), "How often `serve` runs a cleanup (also at start, and when free space drops below the floor); 0: never.", range: 0...8760),
        ConfigKey("retention", "orphan_grace_minutes", .integer(60), "Files under the recordings root without a row are deleted only when older than this.", range: 0...525_600),
        ConfigKey("retention", "settle_seconds", .integer(60), "Recording files modified more recently than this (or held open) are still being written: left alone.", range: 0...86400),

        ConfigKey("media", "ffprobe", .string(""), "ffprobe for durations and codecs during `camhost recordings scan`. Empty: look it up on PATH; `off`: never probe."),
        ConfigKey("media", "ffmpeg", .string(""), "ffmpeg for thumbnails (.thumbnails/<path>.jpg, 320 px wide) during a scan. Empty: look it up on PATH; `off`: keep the placeholder."),
        ConfigKey("media", "thumbnail_concurrency", .integer(2), "ffprobe/ffmpeg processes a scan runs at once.", range: 1...16),
        ConfigKey("media", "timeout_seconds", .integer(30), "A probe or thumbnail still running after this long is killed and reported; the scan goes on.", range: 1...3600),
        ConfigKey("media", "segment_seconds", .integer(60), "Length of a recorded segment (fMP4 under <recordings>/<camera>/<day>/): each ends at the first keyframe after this many seconds.", range: 1...3600),

        ConfigKey("diagnostics", "watch_cameras", .strings([]), "Camera addresses whose RTCP feedback `serve` watches on the wire (loopback trap alarm), besides those in the cameras table. Needs CAP_NET_RAW and CAP_NET_ADMIN (see docs/diagnostics.md)."),
        ConfigKey("diagnostics", "watch_interface", .string("any"), "Interface the RTCP watch captures on: `any` (loopback and the cameras' interface at once) or a name; empty: no watch."),

        ConfigKey("control", "profiles_dir", .string("firmware-profiles"),
                  "Firmware profiles (*.toml, one per camera firmware). A relative path is tried from the working directory, then /usr/share/camhost/firmware-profiles."),
        ConfigKey("control", "default_profile", .string("acme-json"),
                  "Profile used for cameras whose firmware is not known from their status (and by `camera` commands without --profile)."),
        ConfigKey("control", "command_timeout_seconds", .integer(5), "How long a camera command waits for the camera's ack or state echo.", range: 1...600),

        ConfigKey("auth", "session_idle_minutes", .integer(30), "A dashboard session unused for this long ends; log in again.", range: 1...10_080),
        ConfigKey("auth", "session_absolute_hours", .integer(12), "A dashboard session ends this long after log-in, however busy.", range: 1...720),
        ConfigKey("auth", "lockout_threshold", .integer(5), "Failed log-ins (per address and per user name) before a temporary lock-out.", range: 1...1000),
        ConfigKey("auth", "lockout_base_seconds", .integer(60), "Length of the first lock-out; each further failure doubles it, up to an hour. Lock-outs always end.", range: 1...3600),
        ConfigKey("auth", "allow_list", .strings([]), "Addresses (192.168.1.10, ::1) and IPv4 networks (10.0.0.0/8) never locked out after failed log-ins (rate limits still apply)."),

        ConfigKey("rate_limit", "login_per_minute", .integer(10), "Log-in attempts per client address per minute (always on).", range: 1...10_000),
        ConfigKey("rate_limit", "api_rps", .integer(50), "JSON API requests per second per client address (0: no limit; benchmarks set CAMHOST_RATE_LIMIT_API_RPS=0).", range: 0...1_000_000),
        ConfigKey("rate_limit", "page_rps", .integer(20), "Page requests per second per client address (assets get four times this; 0: no limit).", range: 0...1_000_000),
        ConfigKey("rate_limit", "burst", .integer(40), "Requests a client may make at once before the per-second rates apply (bucket size).", range: 1...1_000_000),

        ConfigKey("metrics", "allow", .strings(["127.0.0.1", "::1"]), "Client addresses that may read /metrics without a token (Prometheus on this host)."),
        ConfigKey("metrics", "token", .string(""), "Bearer token that opens /metrics from any address (`Authorization: Bearer ...`); empty: only the allowed addresses.", secret: true),
    ]

    public static func key(_ path: String) -> ConfigKey? { keys.first { $0.path == path } }

    public static var sections: [String] {
        var seen: [String] = []
        for key in keys where !seen.contains(key.section) { seen.append(key.section) }
        return seen
    }
}
