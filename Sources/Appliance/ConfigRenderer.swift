import FoundationEssentials

/// Writes configurations as TOML, JSON, or a documented default file.
public enum ConfigRenderer {
    public static let redacted = "<redacted>"

    private static func shown(_ key: ConfigKey, _ value: ConfigValue) -> ConfigValue {
        if key.secret, case .string(let s) = value, !s.isEmpty { return .string(redacted) }
        return value
    }

    /// The effective configuration, each key annotated with its source.
    public static func toml(_ configuration: Configuration) -> String {
        var out = "# effective configuration; secrets redacted\n"
        for section in ConfigSchema.sections {
            out += "\n[\(section)]\n"
            for key in ConfigSchema.keys where key.section == section {
                let value = shown(key, configuration.values[key.path] ?? key.defaultValue)
                out += "\(key.name) = \(value)  # \(configuration.sources[key.path] ?? .defaultValue)\n"
            }
        }
        return out
    }

    public static func json(_ configuration: Configuration) -> String {
        struct Entry: Encodable {
            var value: JSONValue
            var source: String
        }
        var entries: [String: Entry] = [:]
        for key in ConfigSchema.keys {
            let value = shown(key, configuration.values[key.path] ?? key.defaultValue)
            entries[key.path] = Entry(value: JSONValue(value), source: "\(configuration.sources[key.path] ?? .defaultValue)")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return (try? encoder.encode(entries)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// Every key with its default and its documentation, as a commented TOML file.
    public static func documentedDefaults() -> String {
        var out = """
            # camhost configuration. Every key is optional; the values shown are the defaults.
            # Each key can also be set with an environment variable CAMHOST_<SECTION>_<KEY>
            # (e.g. CAMHOST_SERVER_LISTEN), which wins over this file; --listen and --data-dir win over both.

            """
        for section in ConfigSchema.sections {
            out += "\n[\(section)]\n"
            for key in ConfigSchema.keys where key.section == section {
                out += "# \(key.help)\n"
                if let range = key.range { out += "# Allowed: \(range.lowerBound)...\(range.upperBound).\n" }
                if let choices = key.choices { out += "# One of: \(choices.joined(separator: ", ")).\n" }
                out += "# Environment: \(key.environmentName)\n"
                out += "\(key.name) = \(key.defaultValue)\n\n"
            }
        }
        return out
    }

    /// A Markdown table of every key, for docs/configuration.md.
    public static func markdownReference() -> String {
        var out = "| key | type | default | environment | meaning |\n|---|---|---|---|---|\n"
        for key in ConfigSchema.keys {
            let help = key.help.replacingOccurrences(of: "|", with: "\\|")
            out += "| `\(key.path)` | \(key.kind.rawValue) | `\(key.defaultValue)` | `\(key.environmentName)` | \(help) |\n"
        }
        return out
    }
}

/// A configuration value as JSON.
struct JSONValue: Encodable {
    let value: ConfigValue
    init(_ value: ConfigValue) { self.value = value }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch value {
        case .string(let s): try container.encode(s)
        case .integer(let i): try container.encode(i)
        case .boolean(let b): try container.encode(b)
        case .strings(let list): try container.encode(list)
        }
    }
}
