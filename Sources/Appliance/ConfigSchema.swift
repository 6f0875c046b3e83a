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

/// A TOML basic string (TOML 1.0, section "String"): `"`, `\` and control characters escaped,
/// nothing else. TOML is read by people, so `<redacted>` stays as written; JSON has its own,
/// HTML-safe rule (JSONText's `JSONEscape`).
func tomlQuoted(_ s: String) -> String {
    guard s.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0x7F }) else { return "\"" + s + "\"" }
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20 || scalar.value == 0x7F:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

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
    /// For address-valued keys: what each value (each element of a list) must be.
    public let addresses: AddressRule?

    /// What an address-valued key accepts.
    public enum AddressRule: Sendable {
        /// A numeric IPv4 or IPv6 address.
        case address
        /// A numeric address or an IPv4 network (10.0.0.0/8).
        case addressOrIPv4Network
    }

    init(_ section: String, _ name: String, _ defaultValue: ConfigValue, _ help: String,
         secret: Bool = false, range: ClosedRange<Int>? = nil, choices: [String]? = nil, addresses: AddressRule? = nil) {
        self.section = section
        self.name = name
        self.kind = defaultValue.kind
        self.defaultValue = defaultValue
        self.help = help
        self.secret = secret
        self.range = range
        self.choices = choices
        self.addresses = addresses
    }

    /// `section.name`, the key's full name.
    public var path: String { "\(section).\(name)" }
    /// The environment variable that overrides it: `CAMHOST_SECTION_NAME`.
    public var environmentName: String { "CAMHOST_\(section.uppercased())_\(name.uppercased())" }
}

/// Every key camhost understands. `config show --defaults` prints this as a documented file,
/// and docs/configuration.md is generated from it, so the three cannot drift apart.
public enum ConfigSchema {
    /// In the documented order. A new key is a constant in `Settings` (its type, default and
    /// help) listed here; code reads it as `configuration[Settings.name]`.
    public static let keys: [ConfigKey] = [
        Settings.serverListen.key,
        Settings.serverThreads.key,
        Settings.serverConnectionTimeoutSeconds.key,
        Settings.serverMaxBodyBytes.key,
        Settings.serverPidFile.key,
        Settings.tlsKey.key,
        Settings.tlsCertificate.key,
        Settings.tlsKeyGroup.key,
        Settings.tlsCertificateDays.key,
        Settings.tlsHostNames.key,
        Settings.storageDataDir.key,
        Settings.storageDatabase.key,
        Settings.storageRecordings.key,
        Settings.storageBusyTimeoutMs.key,
        Settings.mqttBroker.key,
        Settings.mqttManagedBrokerPort.key,
        Settings.mqttMosquitto.key,
        Settings.mqttUsername.key,
        Settings.mqttPassword.key,
        Settings.mqttClientIdPrefix.key,
        Settings.mqttKeepaliveSeconds.key,
        Settings.mqttCaFile.key,
        Settings.mqttClientCertificate.key,
        Settings.mqttClientKey.key,
        Settings.logLevel.key,
        Settings.logDir.key,
        Settings.retentionMaxAgeDays.key,
        Settings.retentionMinAgeDays.key,
        Settings.retentionCameraQuotaBytes.key,
        Settings.retentionFreeSpaceFloorPercent.key,
        Settings.retentionSafetyMaxSharePercent.key,
        Settings.retentionScheduleIntervalHours.key,
        Settings.retentionOrphanGraceMinutes.key,
        Settings.retentionSettleSeconds.key,
        Settings.mediaFfprobe.key,
        Settings.mediaFfmpeg.key,
        Settings.mediaThumbnailConcurrency.key,
        Settings.mediaTimeoutSeconds.key,
        Settings.mediaSegmentSeconds.key,
    ] + Settings.streamKeys + Settings.liveKeys + [
        Settings.diagnosticsWatchCameras.key,
        Settings.diagnosticsWatchInterface.key,
        Settings.controlProfilesDir.key,
        Settings.controlDefaultProfile.key,
        Settings.controlCommandTimeoutSeconds.key,
        Settings.authSessionIdleMinutes.key,
        Settings.authSessionAbsoluteHours.key,
        Settings.authLockoutThreshold.key,
        Settings.authLockoutBaseSeconds.key,
        Settings.authAllowList.key,
        Settings.rateLimitLoginPerMinute.key,
        Settings.rateLimitApiRps.key,
        Settings.rateLimitPageRps.key,
        Settings.rateLimitBurst.key,
        Settings.metricsAllow.key,
        Settings.metricsToken.key,
    ] + Settings.serviceKeys + Settings.mediaEngineKeys

    public static func key(_ path: String) -> ConfigKey? { keys.first { $0.path == path } }

    public static var sections: [String] {
        var seen: [String] = []
        for key in keys where !seen.contains(key.section) { seen.append(key.section) }
        return seen
    }
}

/// A configuration key with the Swift type of its value: `configuration[Settings.serverListen]`
/// cannot name a key that does not exist or read it as the wrong type.
public struct Setting<Value: SettingValue>: Sendable {
    public let key: ConfigKey

    init(_ section: String, _ name: String, _ defaultValue: Value, _ help: String, secret: Bool = false,
         range: ClosedRange<Int>? = nil, choices: [String]? = nil, addresses: ConfigKey.AddressRule? = nil) {
        key = ConfigKey(section, name, defaultValue.configValue, help, secret: secret, range: range, choices: choices, addresses: addresses)
    }

    public var defaultValue: Value { Value(key.defaultValue)! }
}

/// The Swift types a setting can have.
public protocol SettingValue: Sendable {
    init?(_ value: ConfigValue)
    var configValue: ConfigValue { get }
}

extension String: SettingValue {
    public init?(_ value: ConfigValue) { guard case .string(let s) = value else { return nil }; self = s }
    public var configValue: ConfigValue { .string(self) }
}

extension Int: SettingValue {
    public init?(_ value: ConfigValue) { guard case .integer(let i) = value else { return nil }; self = i }
    public var configValue: ConfigValue { .integer(self) }
}

extension Bool: SettingValue {
    public init?(_ value: ConfigValue) { guard case .boolean(let b) = value else { return nil }; self = b }
    public var configValue: ConfigValue { .boolean(self) }
}

extension Array: SettingValue where Element == String {
    public init?(_ value: ConfigValue) { guard case .strings(let list) = value else { return nil }; self = list }
    public var configValue: ConfigValue { .strings(self) }
}

/// Every setting camhost understands, in the order of the documented file.
public enum Settings {
    public static let serverListen = Setting<String>("server", "listen", "127.0.0.1:5000",
        "Address and port of the HTTPS dashboard: HOST:PORT, [IPv6]:PORT. Use 0.0.0.0:5000 to serve the LAN.")
    public static let serverThreads = Setting<Int>("server", "threads", 1,
        "Threads of the HTTPS server (one epoll loop each). Keep 1 where live view is used: with 1, libmicrohttpd runs on camhost's own thread, where WebSockets are also closed; a pool has libmicrohttpd 0.9.75's race that can corrupt the heap when many WebSockets close at once (docs/websocket.md). One thread serves ~15,000 API requests a second here.", range: 1...64)
    public static let serverConnectionTimeoutSeconds = Setting<Int>("server", "connection_timeout_seconds", 30,
        "Idle keep-alive connections and clients too slow to send a request are closed after this.", range: 1...3600)
    public static let serverMaxBodyBytes = Setting<Int>("server", "max_body_bytes", 1_048_576,
        "Largest request body accepted; larger ones get 413.", range: 1024...(1 << 30))
    public static let serverPidFile = Setting<String>("server", "pid_file", "",
        "Write the process id here while serving (empty: no pid file).")

    public static let tlsKey = Setting<String>("tls", "key", "",
        "PEM private key. Empty: <data_dir>/tls/key.pem, made on first start (mode 0600).")
    public static let tlsCertificate = Setting<String>("tls", "certificate", "",
        "PEM certificate. Empty: <data_dir>/tls/cert.pem, self-signed on first start.")
    public static let tlsKeyGroup = Setting<String>("tls", "key_group", "",
        "Group allowed to read the key (mode 0640) and pass the folders from the data directory down to it (0750), e.g. ssl-cert for CoTURN. Empty: owner only (0600).")
    public static let tlsCertificateDays = Setting<Int>("tls", "certificate_days", 825,
        "Validity of a self-signed certificate made on first start.", range: 1...3650)
    public static let tlsHostNames = Setting<[String]>("tls", "host_names", [],
        "Extra DNS names or IP addresses for the self-signed certificate (localhost, 127.0.0.1, ::1 and the host name are always in it).")

    public static let storageDataDir = Setting<String>("storage", "data_dir", "./var",
        "Where camhost keeps its database, TLS files, logs and recordings.")
    public static let storageDatabase = Setting<String>("storage", "database", "",
        "SQLite database file. Empty: <data_dir>/camhost.db.")
    public static let storageRecordings = Setting<String>("storage", "recordings", "",
        "Recordings root. Empty: <data_dir>/recordings.")
    public static let storageBusyTimeoutMs = Setting<Int>("storage", "busy_timeout_ms", 5000,
        "How long a database write waits for a lock before failing.", range: 0...600_000)

    public static let mqttBroker = Setting<String>("mqtt", "broker", "",
        "Broker URL (mqtt://HOST:PORT or mqtts://HOST:PORT). Empty: camhost starts and watches its own Mosquitto on 127.0.0.1.")
    public static let mqttManagedBrokerPort = Setting<Int>("mqtt", "managed_broker_port", 18830,
        "Port of the broker camhost manages when `broker` is empty (loopback only). Taken by another program (a second serve): serve exits 69 and says by whom.", range: 1...65535)
    public static let mqttMosquitto = Setting<String>("mqtt", "mosquitto", "/usr/sbin/mosquitto",
        "The Mosquitto binary for the managed broker.")
    public static let mqttUsername = Setting<String>("mqtt", "username", "",
        "Broker user name (empty: anonymous).")
    public static let mqttPassword = Setting<String>("mqtt", "password", "",
        "Broker password.", secret: true)
    public static let mqttClientIdPrefix = Setting<String>("mqtt", "client_id_prefix", "camhost",
        "Client ids are PREFIX-HOST-PID-RANDOM, unique to each process.")
    public static let mqttKeepaliveSeconds = Setting<Int>("mqtt", "keepalive_seconds", 30,
        "MQTT keep-alive interval.", range: 5...3600)
    public static let mqttCaFile = Setting<String>("mqtt", "ca_file", "",
        "CA certificate (PEM) that signed the broker's certificate, for mqtts://.")
    public static let mqttClientCertificate = Setting<String>("mqtt", "client_certificate", "",
        "Client certificate (PEM) for brokers that require one.")
    public static let mqttClientKey = Setting<String>("mqtt", "client_key", "",
        "Client key (PEM) for the client certificate.")

    public static let logLevel = Setting<String>("log", "level", "info",
        "Least severe messages logged.", choices: ["trace", "debug", "info", "notice", "warning", "error", "critical"])
    public static let logDir = Setting<String>("log", "dir", "",
        "Log files (camhost.log, mosquitto.log). Empty: <data_dir>/logs.")

    public static let retentionMaxAgeDays = Setting<Int>("retention", "max_age_days", 30,
        "Recordings that ended longer ago than this are deleted (0: no age limit). Per camera: `camhost recordings policy set`.", range: 0...36500)
    public static let retentionMinAgeDays = Setting<Int>("retention", "min_age_days", 1,
        "A free-space purge never deletes recordings younger than this, unless forced.", range: 0...3650)
    public static let retentionCameraQuotaBytes = Setting<Int>("retention", "camera_quota_bytes", 0,
        "Most bytes of recordings one camera may keep; the oldest go first (0: no quota).", range: 0...Int.max)
    public static let retentionFreeSpaceFloorPercent = Setting<Int>("retention", "free_space_floor_percent", 10,
        "Keep at least this share of the recordings volume free, deleting the oldest recordings (0: off).", range: 0...90)
    public static let retentionSafetyMaxSharePercent = Setting<Int>("retention", "safety_max_share_percent", 50,
        "Refuse a cleanup that would delete more than this share of all recordings (a wrong clock or an unmounted volume); `--force` overrides.", range: 1...100)
    public static let retentionScheduleIntervalHours = Setting<Int>("retention", "schedule_interval_hours", 24,
        "How often `serve` runs a cleanup (also at start, and when free space drops below the floor); 0: never.", range: 0...8760)
    public static let retentionOrphanGraceMinutes = Setting<Int>("retention", "orphan_grace_minutes", 60,
        "Files under the recordings root without a row are deleted only when older than this.", range: 0...525_600)
    public static let retentionSettleSeconds = Setting<Int>("retention", "settle_seconds", 60,
        "Recording files modified more recently than this (or held open) are still being written: left alone.", range: 0...86400)

    public static let mediaFfprobe = Setting<String>("media", "ffprobe", "",
        "ffprobe for durations and codecs during `camhost recordings scan`. Empty: look it up on PATH; `off`: never probe.")
    public static let mediaFfmpeg = Setting<String>("media", "ffmpeg", "",
        "ffmpeg for thumbnails (.thumbnails/<path>.jpg, 320 px wide) during a scan. Empty: look it up on PATH; `off`: keep the placeholder.")
    public static let mediaThumbnailConcurrency = Setting<Int>("media", "thumbnail_concurrency", 2,
        "ffprobe/ffmpeg processes a scan runs at once.", range: 1...16)
    public static let mediaTimeoutSeconds = Setting<Int>("media", "timeout_seconds", 30,
        "A probe or thumbnail still running after this long is killed and reported; the scan goes on.", range: 1...3600)
    public static let mediaSegmentSeconds = Setting<Int>("media", "segment_seconds", 60,
        "Length of a recorded segment (fMP4 under <recordings>/<camera>/<day>/): each ends at the first keyframe after this many seconds.", range: 1...3600)

    public static let diagnosticsWatchCameras = Setting<[String]>("diagnostics", "watch_cameras", [],
        "Camera addresses whose RTCP feedback `serve` watches on the wire (loopback trap alarm), besides those in the cameras table. Needs CAP_NET_RAW and CAP_NET_ADMIN (see docs/diagnostics.md).", addresses: .address)
    public static let diagnosticsWatchInterface = Setting<String>("diagnostics", "watch_interface", "any",
        "Interface the RTCP watch captures on: `any` (loopback and the cameras' interface at once) or a name; empty: no watch.")

    public static let controlProfilesDir = Setting<String>("control", "profiles_dir", "firmware-profiles",
        "Firmware profiles (*.toml, one per camera firmware). A relative path is tried from the working directory, then /usr/share/camhost/firmware-profiles.")
    public static let controlDefaultProfile = Setting<String>("control", "default_profile", "acme-json",
        "Profile used for cameras whose firmware is not known from their status (and by `camera` commands without --profile).")
    public static let controlCommandTimeoutSeconds = Setting<Int>("control", "command_timeout_seconds", 5,
        "How long a camera command waits for the camera's ack or state echo.", range: 1...600)

    public static let authSessionIdleMinutes = Setting<Int>("auth", "session_idle_minutes", 30,
        "A dashboard session unused for this long ends; log in again.", range: 1...10_080)
    public static let authSessionAbsoluteHours = Setting<Int>("auth", "session_absolute_hours", 12,
        "A dashboard session ends this long after log-in, however busy.", range: 1...720)
    public static let authLockoutThreshold = Setting<Int>("auth", "lockout_threshold", 5,
        "Failed log-ins (per address and per user name) before a temporary lock-out.", range: 1...1000)
    public static let authLockoutBaseSeconds = Setting<Int>("auth", "lockout_base_seconds", 60,
        "Length of the first lock-out; each further failure doubles it, up to an hour. Lock-outs always end.", range: 1...3600)
    public static let authAllowList = Setting<[String]>("auth", "allow_list", [],
        "Addresses (192.168.1.10, ::1) and IPv4 networks (10.0.0.0/8) never locked out after failed log-ins (rate limits still apply).", addresses: .addressOrIPv4Network)

    public static let rateLimitLoginPerMinute = Setting<Int>("rate_limit", "login_per_minute", 10,
        "Log-in attempts per client address per minute (always on).", range: 1...10_000)
    public static let rateLimitApiRps = Setting<Int>("rate_limit", "api_rps", 50,
        "JSON API requests per second per client address (0: no limit; benchmarks set CAMHOST_RATE_LIMIT_API_RPS=0).", range: 0...1_000_000)
    public static let rateLimitPageRps = Setting<Int>("rate_limit", "page_rps", 20,
        "Page requests per second per client address (assets get four times this; 0: no limit).", range: 0...1_000_000)
    public static let rateLimitBurst = Setting<Int>("rate_limit", "burst", 40,
        "Requests a client may make at once before the per-second rates apply (bucket size).", range: 1...1_000_000)

    public static let metricsAllow = Setting<[String]>("metrics", "allow", ["127.0.0.1", "::1"],
        "Client addresses that may read /metrics without a token (Prometheus on this host).", addresses: .address)
    public static let metricsToken = Setting<String>("metrics", "token", "",
        "Bearer token that opens /metrics from any address (`Authorization: Bearer ...`); empty: only the allowed addresses.", secret: true)
}
