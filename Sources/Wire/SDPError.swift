/// Why a text is not a valid SDP description: the 1-based line, its text as written, and what is wrong.
public struct SDPError: Error, Hashable, Sendable, CustomStringConvertible {
    public let line: Int
    /// The offending line (cut at 200 characters); empty for an empty description.
    public let text: String
    public let problem: SDPProblem

    public init(line: Int, text: Substring, problem: SDPProblem) {
        self.line = line
        self.text = text.count > 200 ? String(text.prefix(200)) + "…" : String(text)
        self.problem = problem
    }

    public var description: String {
        text.isEmpty && problem == .empty
            ? "\(problem)"
            : "line \(line) \"\(text)\": \(problem)"
    }
}

/// What is wrong with an SDP line (RFC 8866 section 5 gives the grammar quoted in the messages).
public enum SDPProblem: Hashable, Sendable, CustomStringConvertible {
    /// No lines at all.
    case empty
    /// An empty line before the end (only trailing empty lines are tolerated).
    case emptyLine
    /// Not `<letter>=<value>` with one lowercase letter and no space around `=`.
    case notTypeValue
    /// A NUL or CR inside a line (RFC 8866 section 9: text excludes them).
    case controlCharacter
    /// The first line is not `v=0`.
    case versionFirst
    /// `v=` with a version other than 0.
    case unsupportedVersion
    /// A line type that may appear once per session (v, o, s) appears again.
    case repeated(Character)
    /// A required session-level line (o, s) is missing before the first `m=` or the end.
    case missing(Character)
    /// A session-level line type (v, o, s, t, r, z) inside a media section.
    case sessionLevelOnly(Character)
    /// A line of a known type whose value does not follow its grammar; `expected` quotes it.
    case badValue(expected: String)

    public var description: String {
        switch self {
        case .empty: "empty SDP: a description starts with v=0"
        case .emptyLine: "empty line inside the description (each line is <type>=<value>)"
        case .notTypeValue: "not an SDP line: each line is <type>=<value>, one lowercase letter, then = without spaces"
        case .controlCharacter: "a NUL or CR character inside the line"
        case .versionFirst: "an SDP description starts with v=0"
        case .unsupportedVersion: "only SDP version 0 exists (v=0)"
        case .repeated(let type): "a second \(type)= line; the session has exactly one"
        case .missing(let type): "the session has no \(type)= line (v=, o=, s= come first, RFC 8866 section 5)"
        case .sessionLevelOnly(let type): "\(type)= belongs to the session level, before the first m= line"
        case .badValue(let expected): "expected \(expected)"
        }
    }
}
