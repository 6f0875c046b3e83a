import ArgumentParser
import Dashboard
import Wire

// Typed command-line values: each parses once, here, and a bad value is a usage error of the
// subcommand it was given to (ArgumentParser prints that subcommand's usage, exit 64).

/// A span of time: `250ms`, `45s`, `90m`, `12h`, `30d`, `2w`, `1.5s`. A bare number is seconds,
/// in every command (`diagnose rtcp --duration 30`, `camera --timeout 5`).
struct TimeSpan: ExpressibleByArgument, Sendable, Equatable, CustomStringConvertible {
    let milliseconds: Int64
    let text: String
    /// Whether the text named its unit (`30d`), not a bare number.
    let hasUnit: Bool

    static let units: [(suffix: String, milliseconds: Double)] = [
        ("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400), ("w", 604_800),
    ].map { ($0.0, $0.1 * 1000) }

    init?(argument: String) {
        var number = Substring(argument)
        var scale = 1000.0
        var hasUnit = false
        for (suffix, factor) in Self.units where argument.hasSuffix(suffix) {
            number = argument.dropLast(suffix.count)
            scale = factor
            hasUnit = true
            break
        }
        guard let value = Double(number), value >= 0, value.isFinite, value * scale < 9.2e18 else { return nil }
        milliseconds = Int64((value * scale).rounded())
        text = argument
        self.hasUnit = hasUnit
    }

    var duration: Duration { .milliseconds(milliseconds) }
    var seconds: Int64 { milliseconds / 1000 }
    var description: String { text }
    static var defaultCompletionKind: CompletionKind { .default }
}

/// An age for retention and lifetimes (`30d`, `2w`, `12h`, `90m`, `45s`). The unit is required:
/// a bare number is seconds everywhere in camhost, but these options took it as days before,
/// and reading `--older-than 30` as 30 seconds would delete nearly everything.
struct Age: ExpressibleByArgument, Sendable, CustomStringConvertible {
    let span: TimeSpan

    init?(argument: String) {
        guard let span = TimeSpan(argument: argument), span.hasUnit, !argument.hasSuffix("ms") else { return nil }
        self.span = span
    }

    var seconds: Int64 { span.seconds }
    var description: String { span.text }
    static var defaultCompletionKind: CompletionKind { .default }
}

/// A token's lifetime: an age, or `never`.
enum Lifetime: ExpressibleByArgument, Sendable {
    case never
    case age(Age)

    init?(argument: String) {
        if argument == "never" { self = .never; return }
        guard let age = Age(argument: argument), age.seconds > 0 else { return nil }
        self = .age(age)
    }

    var defaultValueDescription: String {
        switch self {
        case .never: "never"
        case .age(let age): age.description
        }
    }
}

/// `--since`: a UTC date or date-time (2025-11-01, 2025-11-01T08:00), or an age back from now.
enum Since: ExpressibleByArgument, Sendable {
    case date(String)
    case age(Age)

    init?(argument: String) {
        if let age = Age(argument: argument) { self = .age(age); return }
        // 2025-11-01 or 2025-11-01T08:00: compared as text with the stored UTC times.
        guard argument.count >= 4, argument.first?.isNumber == true else { return nil }
        self = .date(argument)
    }
}

/// A number of bytes: `4096`, `500K`, `500M`, `200G`, `1T` (powers of 1024).
struct ByteSize: ExpressibleByArgument, Sendable {
    let bytes: Int64

    init?(argument: String) {
        let units: [Character: Int64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        guard let last = argument.uppercased().last else { return nil }
        if let unit = units[last] {
            guard let value = Int64(argument.dropLast()), value >= 0, value <= Int64.max / unit else { return nil }
            bytes = value * unit
        } else {
            guard let value = Int64(argument), value >= 0 else { return nil }
            bytes = value
        }
    }
}

/// UDP ports and ranges: `5004,5005`, `5000-5010` (a range spans fewer than 1024 ports).
struct PortList: ExpressibleByArgument, Sendable {
    let ports: [UInt16]

    init?(argument: String) {
        var ports: [UInt16] = []
        for part in argument.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let low = UInt16(bounds[0].trimmingSpaces), low > 0,
                  let high = bounds.count == 2 ? UInt16(bounds[1].trimmingSpaces) : low, high >= low, Int(high) - Int(low) < 1024
            else { return nil }
            ports.append(contentsOf: low...high)
        }
        guard !ports.isEmpty else { return nil }
        self.ports = ports
    }
}

extension Role: ExpressibleByArgument {}
extension TokenScope: ExpressibleByArgument {}

extension IPAddress: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}
