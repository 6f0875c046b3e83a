import POSIX
import TOMLKit

/// Reads the configuration file, the `CAMHOST_*` environment and command-line flags, in that
/// order of precedence (flags win), and reports every problem at once with its line and key.
public enum ConfigLoader {
    public struct Result: Sendable {
        public var configuration: Configuration
        public var problems: [ConfigProblem]
        public var errors: [ConfigProblem] { problems.filter { $0.severity == .error } }
    }

    /// `CAMHOST_*` variables that are not configuration keys (read by the CLI commands themselves).
    static let notSettings: Set<String> = ["CAMHOST_TOKEN"]

    public static func load(file: String?, environment: [String: String] = [:], flags: [String: String] = [:]) -> Result {
        var configuration = Configuration()
        var problems: [ConfigProblem] = []

        if let file {
            do {
                apply(text: try FileSystem.readText(file), file: file, to: &configuration, problems: &problems)
            } catch {
                problems.append(ConfigProblem(severity: .error, file: file, line: nil, key: "file",
                                              message: "cannot read the configuration file: \(error)"))
            }
        }

        for (name, raw) in environment.sorted(by: { $0.key < $1.key }) where name.hasPrefix("CAMHOST_") && !notSettings.contains(name) {
            guard let key = ConfigSchema.keys.first(where: { $0.environmentName == name }) else {
                problems.append(ConfigProblem(severity: .warning, file: nil, line: nil, key: name,
                                              message: "unknown environment variable, ignored\(suggestion(for: name, among: ConfigSchema.keys.map(\.environmentName)))"))
                continue
            }
            switch parse(raw, as: key) {
            case .success(let value): configuration.set(key.path, value, from: .environment(name))
            case .failure(let message):
                problems.append(ConfigProblem(severity: .error, file: nil, line: nil, key: name, message: message.description))
            }
        }

        for (path, raw) in flags.sorted(by: { $0.key < $1.key }) {
            guard let key = ConfigSchema.key(path) else { continue }
            switch parse(raw, as: key) {
            case .success(let value): configuration.set(path, value, from: .flag(path))
            case .failure(let message):
                problems.append(ConfigProblem(severity: .error, file: nil, line: nil, key: path, message: message.description))
            }
        }

        problems += validate(configuration, fileText: nil)
        return Result(configuration: configuration, problems: problems)
    }

    private static func apply(text: String, file: String, to configuration: inout Configuration, problems: inout [ConfigProblem]) {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            problems.append(ConfigProblem(severity: .error, file: file, line: error.source.begin.line, key: "syntax",
                                          message: "\(error.description) (column \(error.source.begin.column)); the file is not valid TOML"))
            return
        } catch {
            problems.append(ConfigProblem(severity: .error, file: file, line: nil, key: "syntax", message: "\(error)"))
            return
        }
        let locator = KeyLocator(text: text)
        for sectionName in table.keys {
            guard let sectionValue = table[sectionName] else { continue }
            guard ConfigSchema.sections.contains(sectionName) else {
                problems.append(ConfigProblem(severity: .error, file: file, line: locator.line(section: sectionName, key: nil), key: sectionName,
                                              message: "unknown section [\(sectionName)]\(suggestion(for: sectionName, among: ConfigSchema.sections)); known sections: \(ConfigSchema.sections.joined(separator: ", "))"))
                continue
            }
            guard let section = sectionValue.table else {
                problems.append(ConfigProblem(severity: .error, file: file, line: locator.line(section: nil, key: sectionName), key: sectionName,
                                              message: "expected a table [\(sectionName)], found a \(sectionValue.type)"))
                continue
            }
            let known = ConfigSchema.keys.filter { $0.section == sectionName }
            for name in section.keys {
                let path = "\(sectionName).\(name)"
                if path == "media.streams", let value = section[name] {
                    let (entries, found) = streamEntries(value, file: file, text: text)
                    configuration.mediaStreams = entries
                    configuration.mediaStreamsFile = file
                    problems += found
                    continue
                }
                let line = locator.line(section: sectionName, key: name)
                guard let key = known.first(where: { $0.name == name }), let value = section[name] else {
                    problems.append(ConfigProblem(severity: .error, file: file, line: line, key: path,
                                                  message: "unknown key\(suggestion(for: name, among: known.map(\.name))); keys of [\(sectionName)]: \(known.map(\.name).joined(separator: ", "))"))
                    continue
                }
                switch convert(value, as: key) {
                case .success(let converted): configuration.set(path, converted, from: .file(path: file, line: line))
                case .failure(let message):
                    problems.append(ConfigProblem(severity: .error, file: file, line: line, key: path, message: message.description))
                }
            }
        }
    }

    private static func convert(_ value: any TOMLValueConvertible, as key: ConfigKey) -> Swift.Result<ConfigValue, ConversionError> {
        switch key.kind {
        case .string:
            if let s = value.string { return .success(.string(s)) }
        case .integer:
            if let i = value.int { return .success(.integer(i)) }
        case .boolean:
            if let b = value.bool { return .success(.boolean(b)) }
        case .strings:
            if let array = value.array {
                var out: [String] = []
                for element in array {
                    guard let s = element.string else {
                        return .failure(ConversionError("expected an array of strings, found an element of type \(element.type)"))
                    }
                    out.append(s)
                }
                return .success(.strings(out))
            }
        }
        return .failure(ConversionError("expected \(article(key.kind.rawValue)) \(key.kind.rawValue), found \(article("\(value.type)")) \(value.type) (default: \(key.defaultValue))"))
    }

    static func parse(_ raw: String, as key: ConfigKey) -> Swift.Result<ConfigValue, ConversionError> {
        switch key.kind {
        case .string: return .success(.string(raw))
        case .integer:
            guard let i = Int(raw.replacingOccurrences(of: "_", with: "")) else {
                return .failure(ConversionError("expected an integer, found \(tomlQuoted(raw))"))
            }
            return .success(.integer(i))
        case .boolean:
            switch raw.lowercased() {
            case "true", "1", "yes", "on": return .success(.boolean(true))
            case "false", "0", "no", "off": return .success(.boolean(false))
            default: return .failure(ConversionError("expected true or false, found \(tomlQuoted(raw))"))
            }
        case .strings:
            // Written the TOML way (`["10.0.0.2", "10.0.0.3"]`) or as a comma-separated list.
            let trimmed = raw.trimmingSpaces()
            guard trimmed.hasPrefix("[") else {
                return .success(.strings(raw.split(separator: ",").map { $0.trimmingSpaces() }.filter { !$0.isEmpty }))
            }
            guard let table = try? TOMLTable(string: "value = " + trimmed), let value = table["value"] else {
                return .failure(ConversionError("\(tomlQuoted(raw)) starts with [ but is not a TOML array of strings; write [\"a\", \"b\"] or a,b"))
            }
            return convert(value, as: key)
        }
    }

    /// Checks that need more than the type: ranges, choices, addresses, URLs, groups.
    static func validate(_ configuration: Configuration, fileText: String?) -> [ConfigProblem] {
        var problems: [ConfigProblem] = []
        func problem(_ path: String, _ message: String) {
            var file: String?
            var line: Int?
            if case .file(let p, let l)? = configuration.sources[path] { file = p; line = l }
            let shownKey: String
            if case .environment(let name)? = configuration.sources[path] { shownKey = name } else { shownKey = path }
            problems.append(ConfigProblem(severity: .error, file: file, line: line, key: shownKey, message: message))
        }
        for key in ConfigSchema.keys {
            guard let value = configuration.values[key.path] else { continue }
            if let range = key.range, case .integer(let i) = value, !range.contains(i) {
                problem(key.path, "\(i) is out of range; allowed \(range.lowerBound)...\(range.upperBound)")
            }
            if let choices = key.choices, case .string(let s) = value, !choices.contains(s) {
                problem(key.path, "\(tomlQuoted(s)) is not one of: \(choices.joined(separator: ", "))")
            }
            if let rule = key.addresses {
                let texts: [String]
                switch value {
                case .strings(let list): texts = list
                case .string(let text): texts = text.isEmpty ? [] : [text]
                default: texts = []
                }
                for text in texts where !isValid(text, rule) {
                    switch rule {
                    case .address:
                        problem(key.path, "\(tomlQuoted(text)) is not a numeric IP address; write e.g. 192.168.1.20 or fd00::20")
                    case .addressOrIPv4Network:
                        problem(key.path, "\(tomlQuoted(text)) is not a numeric IP address or IPv4 network; write e.g. 192.168.1.20, ::1 or 10.0.0.0/8")
                    }
                }
            }
        }
        let listen = configuration[Settings.serverListen]
        if ListenAddress(parsing: listen) == nil {
            problem("server.listen", "\(tomlQuoted(listen)) is not HOST:PORT with a numeric address, e.g. 127.0.0.1:5000, 0.0.0.0:443 or [::1]:5000")
        }
        if configuration[Settings.storageDataDir].isEmpty {
            problem("storage.data_dir", "must not be empty; the default is ./var")
        }
        let broker = configuration[Settings.mqttBroker]
        if !broker.isEmpty, BrokerURL(parsing: broker) == nil {
            problem("mqtt.broker", "\(tomlQuoted(broker)) is not mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")
        }
        if let group = configuration.keyGroup, Users.groupID(named: group) == nil {
            problem("tls.key_group", "no group named \(tomlQuoted(group)) on this machine (see `getent group`)")
        }
        let coturn = configuration[Settings.healthCoturn]
        if !coturn.isEmpty, HostPort(coturn) == nil {
            problem("health.coturn", "\(tomlQuoted(coturn)) is not a numeric HOST:PORT, e.g. 127.0.0.1:3478")
        }
        let time = configuration[Settings.logMaintenanceTime]
        if DailyTime(time) == nil {
            problem("log.maintenance_time", "\(tomlQuoted(time)) is not a time of day HH:MM, e.g. 03:00")
        }
        for entry in configuration[Settings.scheduleRestarts] where ScheduledRestart(entry) == nil {
            problem("schedule.restarts", "\(tomlQuoted(entry)) is not UNIT@HH:MM[,HH:MM...], e.g. kurento-media-server.service@00:00,08:00,16:00")
        }
        problems += validateStreams(configuration)
        return problems
    }

    /// Whether `text` is what an address-valued key accepts.
    static func isValid(_ text: String, _ rule: ConfigKey.AddressRule) -> Bool {
        if NumericAddress.isValid(text) { return true }
        guard rule == .addressOrIPv4Network else { return false }
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let bits = Int(parts[1]), (0...32).contains(bits) else { return false }
        return NumericAddress.isIPv4(String(parts[0]))
    }

    struct ConversionError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    private static func article(_ word: String) -> String {
        guard let first = word.first else { return "a" }
        return "aeiou".contains(first) ? "an" : "a"
    }

    /// ` (did you mean "x"?)` when a known name is close to the unknown one.
    static func suggestion(for name: String, among candidates: [String]) -> String {
        let best = candidates.map { ($0, editDistance($0, name)) }.min { $0.1 < $1.1 }
        guard let best, best.1 <= max(2, name.count / 3) else { return "" }
        return " (did you mean \(tomlQuoted(best.0))?)"
    }
}

/// Finds the line of a key in a TOML text for messages. TOMLKit reports positions for syntax
/// errors only, so after it has parsed the file this looks up `[section]` headers and `key =`
/// lines; it never interprets values.
struct KeyLocator {
    private let lines: [Substring]

    init(text: String) { lines = text.split(separator: "\n", omittingEmptySubsequences: false) }

    func line(section: String?, key: String?) -> Int? {
        var current: String? = nil
        for (index, raw) in lines.enumerated() {
            let line = raw.trimmingSpaces()
            if line.hasPrefix("[") {
                current = String(line.dropFirst().prefix { $0 != "]" }).trimmingSpaces()
                if key == nil, current == section { return index + 1 }
                continue
            }
            guard let key, current == section || (section == nil && current == nil) else { continue }
            for candidate in [key, "\"\(key)\""] where line.hasPrefix(candidate) {
                let rest = line.dropFirst(candidate.count).trimmingSpaces()
                if rest.hasPrefix("=") || rest.hasPrefix(".") { return index + 1 }
            }
        }
        return nil
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }

    func replacingOccurrences(of target: Character, with replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
