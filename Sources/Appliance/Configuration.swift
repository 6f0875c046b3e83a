import POSIX
import Storage
import TOMLKit

/// Where an effective configuration value came from.
public enum ConfigSource: Sendable, Equatable, CustomStringConvertible {
    case defaultValue
    case file(path: String, line: Int?)
    case environment(String)
    case flag(String)

    public var description: String {
        switch self {
        case .defaultValue: return "default"
        case .file(let path, let line): return line.map { "\(path):\($0)" } ?? path
        case .environment(let name): return "environment \(name)"
        case .flag(let name): return "flag \(name)"
        }
    }
}

/// One thing wrong with a configuration: where, which key, what, and how to fix it.
public struct ConfigProblem: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning }
    public var severity: Severity
    public var file: String?
    public var line: Int?
    public var key: String
    public var message: String

    public var description: String {
        var place = ""
        if let file { place = line.map { "\(file):\($0): " } ?? "\(file): " }
        return "\(place)\(severity.rawValue): \(key): \(message)"
    }
}

/// The configuration camhost runs with: every key's effective value and where it came from.
public struct Configuration: Sendable {
    public private(set) var values: [String: ConfigValue]
    public private(set) var sources: [String: ConfigSource]
    /// The `[[media.streams]]` entries (tables, not keys), in file order.
    public internal(set) var mediaStreams: [MediaStreamEntry] = []
    /// The file they came from, for messages.
    public internal(set) var mediaStreamsFile: String?

    /// Embedded defaults only.
    public init() {
        values = [:]
        sources = [:]
        for key in ConfigSchema.keys {
            values[key.path] = key.defaultValue
            sources[key.path] = .defaultValue
        }
    }

    mutating func set(_ path: String, _ value: ConfigValue, from source: ConfigSource) {
        values[path] = value
        sources[path] = source
    }

    /// The effective value of `setting` (its default if nothing set it).
    public subscript<Value>(_ setting: Setting<Value>) -> Value {
        values[setting.key.path].flatMap(Value.init) ?? setting.defaultValue
    }

    @available(*, deprecated, message: "read configuration[Settings.someKey]: typed, and a typo does not compile")
    public func string(_ path: String) -> String {
        if case .string(let s)? = values[path] { return s }
        preconditionFailure("\(path) is not a string key")
    }

    @available(*, deprecated, message: "read configuration[Settings.someKey]: typed, and a typo does not compile")
    public func integer(_ path: String) -> Int {
        if case .integer(let i)? = values[path] { return i }
        preconditionFailure("\(path) is not an integer key")
    }

    @available(*, deprecated, message: "read configuration[Settings.someKey]: typed, and a typo does not compile")
    public func strings(_ path: String) -> [String] {
        if case .strings(let s)? = values[path] { return s }
        preconditionFailure("\(path) is not a list key")
    }

    // Typed views of the keys the service uses.

    public var dataDirectory: String { self[Settings.storageDataDir] }
    public var listen: ListenAddress { ListenAddress(parsing: self[Settings.serverListen])! }
    public var databasePath: String { orDataPath(self[Settings.storageDatabase], "camhost.db") }
    public var recordingsPath: String { orDataPath(self[Settings.storageRecordings], "recordings") }
    public var tlsKeyPath: String { orDataPath(self[Settings.tlsKey], "tls/key.pem") }
    public var tlsCertificatePath: String { orDataPath(self[Settings.tlsCertificate], "tls/cert.pem") }
    public var logDirectory: String { orDataPath(self[Settings.logDir], "logs") }
    public var pidFile: String? { self[Settings.serverPidFile].isEmpty ? nil : self[Settings.serverPidFile] }
    public var keyGroup: String? { self[Settings.tlsKeyGroup].isEmpty ? nil : self[Settings.tlsKeyGroup] }
    /// Nil when camhost should run its own broker.
    public var brokerURL: String? { self[Settings.mqttBroker].isEmpty ? nil : self[Settings.mqttBroker] }

    private func orDataPath(_ configured: String, _ relative: String) -> String {
        configured.isEmpty ? joinPath(dataDirectory, relative) : configured
    }
}

/// `HOST:PORT` or `[IPv6]:PORT`.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: UInt16

    public init?(parsing text: String) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let port = UInt16(portText), NumericAddress.isValid(String(host)) else { return nil }
        self.host = String(host)
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    /// A URL a person can open: a wildcard address becomes 127.0.0.1.
    public var url: String {
        let shown = host == "0.0.0.0" ? "127.0.0.1" : host == "::" ? "::1" : host
        return shown.contains(":") ? "https://[\(shown)]:\(port)" : "https://\(shown):\(port)"
    }
}

func joinPath(_ base: String, _ relative: String) -> String {
    if relative.hasPrefix("/") { return relative }
    return base.hasSuffix("/") ? base + relative : base + "/" + relative
}

extension Configuration {
    /// The configured database (`storage.database`), migrated, with `storage.busy_timeout_ms`:
    /// how `serve`, the audit log of CLI commands and the account and recordings commands open it.
    public func openStore() throws -> Store {
        var options = Database.Options()
        options.busyTimeout = .milliseconds(self[Settings.storageBusyTimeoutMs])
        return try Store.open(databasePath, options: options)
    }
}
