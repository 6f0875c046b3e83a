import TOMLKit
#if canImport(Glibc)
import Glibc
#endif

/// What a camera firmware speaks over MQTT: topics, command encodings, acks or state echoes,
/// and its stream parameters. Loaded from `firmware-profiles/<name>.toml` (docs/control.md).
public struct FirmwareProfile: Sendable {
    public enum Encoding: String, Sendable { case json, plain }

    public struct Topics: Sendable {
        public var command: TopicTemplate?
        public var ack: TopicTemplate?
        public var status: TopicTemplate
        public var availability: TopicTemplate
        public var error: TopicTemplate?
    }

    /// Key names and result words of JSON acks.
    public struct JSONFields: Sendable {
        public var correlation: String
        public var command: String
        public var result: String
        public var reason: String
        public var done: [String]
        public var accepted: [String]
        public var failed: [String]
    }

    public struct Command: Sendable {
        public let kind: CommandKind
        /// JSON: the value of the command field.
        public let wireName: String?
        /// Plain: where the command goes and what it carries.
        public let topic: TopicTemplate?
        public let payload: String?
        /// Plain: the status field whose fresh publish confirms the command, and its expected
        /// value (`*` = any).
        public let echoField: String?
        public let echoPayload: String?
        public let modes: [String]
    }

    /// How the camera streams (docs/control.md, `[stream]`): what camhost's own receiver and the
    /// Kurento offer are built from.
    public struct Stream: Sendable, Hashable {
        /// `H264` or `H265`, as in SDP `a=rtpmap`.
        public let codec: String
        public let payloadType: Int
        public let clockRate: Int
        /// The RTCP feedback the firmware honours, in the profile's order.
        public let rtcpFeedback: [Feedback]
        /// The firmware stops streaming after this long without RTCP.
        public let rtcpTimeoutSeconds: Double
        /// The camera's own RTCP port, where it listens for feedback; nil: its RTP port + 1
        /// (RFC 3550 section 11), or wherever its own RTCP comes from.
        public let rtcpPort: UInt16?
        /// RTP and RTCP on one port (RFC 5761).
        public let rtcpMux: Bool
        /// The most the camera sends, in kilobits per second: the REMB ceiling and the offer's `b=AS`.
        public let maxBitrateKbps: Int?
        /// The SPS and PPS (VPS first for H.265) as the profile's `sprop_parameter_sets` text
        /// (RFC 6184 section 8.1), for the SDP `a=fmtp`; nil when the stream carries them in band.
        public let spropParameterSets: String?
        /// The same parameter sets decoded: NAL units without start codes.
        public let parameterSets: [[UInt8]]
        /// How a Kurento offer describes the camera.
        public let offer: OfferMode
    }

    /// An RTCP feedback message a firmware honours, named by its SDP `a=rtcp-fb` value.
    public enum Feedback: String, Sendable, Hashable, CaseIterable {
        /// Generic NACK (RFC 4585 section 6.2.1).
        case nack = "nack"
        /// Picture Loss Indication (RFC 4585 section 6.3.1).
        case pli = "nack pli"
        /// Full Intra Request (RFC 5104 section 4.3.1).
        case fir = "ccm fir"
        /// Receiver Estimated Maximum Bitrate (draft-alvestrand-rmcat-remb).
        case remb = "goog-remb"
    }

    /// How the offer to a media server (Kurento) tells it where the camera is.
    public enum OfferMode: Sendable, Hashable {
        /// `c=` names the camera, `m=` its RTP port: the server sends RTCP there.
        case direct(cameraRTPPort: UInt16)
        /// Port 9 and `a=direction:active`: the server sends RTCP to where the RTP comes from (Kurento >= 6.6.2).
        case comedia
    }

    public let name: String
    public let description: String
    public let encoding: Encoding
    public let topics: Topics
    public let online: String
    public let offline: String
    public let json: JSONFields?
    public let commands: [CommandKind: Command]
    public let stream: Stream

    /// The modes `set-mode` accepts.
    public var modes: [String] { commands[.setMode]?.modes ?? [] }

    public static func load(path: String) throws(ProfileError) -> FirmwareProfile {
        guard let text = readTextFile(path) else {
            throw ProfileError(file: path, line: nil, message: "cannot read the file (does it exist and is it readable?)")
        }
        return try FirmwareProfile(toml: text, file: path)
    }

    /// Every `*.toml` in `directory`, by profile name.
    public static func loadDirectory(_ directory: String) throws(ProfileError) -> [String: FirmwareProfile] {
        guard let dir = opendir(directory) else {
            throw ProfileError(file: directory, line: nil, message: "cannot open the profile directory")
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasSuffix(".toml") { names.append(name) }
        }
        var profiles: [String: FirmwareProfile] = [:]
        for name in names.sorted() {
            let profile = try load(path: "\(directory)/\(name)")
            profiles[profile.name] = profile
        }
        return profiles
    }

    public init(toml text: String, file: String = "<profile>") throws(ProfileError) {
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ProfileError(file: file, line: error.source.begin.line, column: error.source.begin.column, message: error.description)
        } catch {
            throw ProfileError(file: file, line: nil, message: "\(error)")
        }
        var reader = ProfileReader(text: text, file: file)
        try reader.allowOnly(root, section: nil, keys: ["profile", "topics", "availability", "json", "commands", "stream"])

        let profile = try reader.table(root, "profile", in: nil)
        try reader.allowOnly(profile, section: "profile", keys: ["name", "description", "encoding"])
        name = try reader.string(profile, "name", in: "profile")
        description = try reader.optionalString(profile, "description", in: "profile") ?? ""
        let encodingText = try reader.string(profile, "encoding", in: "profile")
        guard let encoding = Encoding(rawValue: encodingText) else {
            throw reader.error("encoding must be \"json\" or \"plain\", not \"\(encodingText)\"", section: "profile", key: "encoding")
        }
        self.encoding = encoding

        let t = try reader.table(root, "topics", in: nil)
        try reader.allowOnly(t, section: "topics", keys: ["command", "ack", "status", "availability", "error"])
        let status = try reader.topic(t, "status", in: "topics", needsField: encoding == .plain)
        topics = Topics(
            command: encoding == .json ? try reader.topic(t, "command", in: "topics") : nil,
            ack: encoding == .json ? try reader.topic(t, "ack", in: "topics") : nil,
            status: status,
            availability: try reader.topic(t, "availability", in: "topics"),
            error: t.contains(key: "error") ? try reader.topic(t, "error", in: "topics") : nil)
        if encoding == .plain, t.contains(key: "command") || t.contains(key: "ack") {
            throw reader.error("plain profiles put a topic on each command and have no acks; remove command/ack", section: "topics", key: t.contains(key: "ack") ? "ack" : "command")
        }

        let a = try reader.table(root, "availability", in: nil)
        try reader.allowOnly(a, section: "availability", keys: ["online", "offline"])
        online = try reader.string(a, "online", in: "availability")
        offline = try reader.string(a, "offline", in: "availability")

        if encoding == .json {
            let j = try reader.table(root, "json", in: nil)
            try reader.allowOnly(j, section: "json", keys: ["correlation_field", "command_field", "result_field", "reason_field", "done", "accepted", "failed"])
            json = JSONFields(
                correlation: try reader.string(j, "correlation_field", in: "json"),
                command: try reader.string(j, "command_field", in: "json"),
                result: try reader.string(j, "result_field", in: "json"),
                reason: try reader.string(j, "reason_field", in: "json"),
                done: try reader.strings(j, "done", in: "json"),
                accepted: try reader.optionalStrings(j, "accepted", in: "json") ?? [],
                failed: try reader.strings(j, "failed", in: "json"))
        } else {
            if root.contains(key: "json") { throw reader.error("[json] is only for encoding = \"json\"", section: "json", key: nil) }
            json = nil
        }

        let c = try reader.table(root, "commands", in: nil)
        var commands: [CommandKind: Command] = [:]
        for key in c.keys {
            guard let kind = CommandKind(rawValue: key) else {
                throw reader.error("unknown command \"\(key)\"; known: \(CommandKind.allCases.map(\.rawValue).joined(separator: ", "))", section: "commands.\(key)", key: nil)
            }
            let section = "commands.\(key)"
            let spec = try reader.table(c, key, in: "commands")
            let placeholders = kind.placeholders
            if encoding == .json {
                try reader.allowOnly(spec, section: section, keys: kind == .setMode ? ["name", "modes"] : ["name"])
                commands[kind] = Command(kind: kind, wireName: try reader.string(spec, "name", in: section), topic: nil, payload: nil,
                                         echoField: nil, echoPayload: nil,
                                         modes: kind == .setMode ? try reader.strings(spec, "modes", in: section) : [])
            } else {
                try reader.allowOnly(spec, section: section, keys: kind == .setMode
                                     ? ["topic", "payload", "echo_field", "echo_payload", "modes"]
                                     : ["topic", "payload", "echo_field", "echo_payload"])
                let payload = try reader.string(spec, "payload", in: section)
                try reader.checkTemplate(payload, allowed: placeholders, section: section, key: "payload")
                let echoPayload = try reader.string(spec, "echo_payload", in: section)
                if echoPayload != "*" { try reader.checkTemplate(echoPayload, allowed: placeholders, section: section, key: "echo_payload") }
                commands[kind] = Command(kind: kind, wireName: nil, topic: try reader.topic(spec, "topic", in: section), payload: payload,
                                         echoField: try reader.string(spec, "echo_field", in: section), echoPayload: echoPayload,
                                         modes: kind == .setMode ? try reader.strings(spec, "modes", in: section) : [])
            }
        }
        self.commands = commands

        stream = try Self.stream(try reader.table(root, "stream", in: nil), reader: reader)
    }

    static func stream(_ s: TOMLTable, reader: ProfileReader) throws(ProfileError) -> Stream {
        try reader.allowOnly(s, section: "stream", keys: [
            "codec", "payload_type", "clock_rate", "rtcp_feedback", "rtcp_timeout_seconds", "rtcp_port", "rtcp_mux",
            "max_bitrate_kbps", "sprop_parameter_sets", "offer", "camera_rtp_port"])
        let codec = try reader.string(s, "codec", in: "stream")
        guard ["H264", "H265"].contains(codec) else {
            throw reader.error("codec must be \"H264\" or \"H265\" (as in SDP a=rtpmap), not \"\(codec)\"", section: "stream", key: "codec")
        }
        let payloadType = try reader.int(s, "payload_type", in: "stream")
        guard (96...127).contains(payloadType) else {
            throw reader.error("payload_type must be a dynamic RTP payload type, 96–127 (RFC 3551 §6)", section: "stream", key: "payload_type")
        }
        let clockRate = try reader.int(s, "clock_rate", in: "stream")
        guard clockRate > 0, clockRate <= Int(UInt32.max) else {
            throw reader.error("clock_rate must be positive (90000 for video, RFC 6184 §8.2.1)", section: "stream", key: "clock_rate")
        }
        let timeout: Double
        if let d = s["rtcp_timeout_seconds"]?.double { timeout = d }
        else { timeout = Double(try reader.int(s, "rtcp_timeout_seconds", in: "stream")) }
        guard timeout > 0 else { throw reader.error("rtcp_timeout_seconds must be positive", section: "stream", key: "rtcp_timeout_seconds") }
        var feedback: [Feedback] = []
        for text in try reader.optionalStrings(s, "rtcp_feedback", in: "stream") ?? [] {
            guard let f = Feedback(rawValue: text) else {
                throw reader.error("unknown rtcp_feedback \"\(text)\"; known: \(Feedback.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))",
                                   section: "stream", key: "rtcp_feedback")
            }
            if !feedback.contains(f) { feedback.append(f) }
        }
        let rtcpPort = try reader.optionalPort(s, "rtcp_port", in: "stream")
        let rtcpMux: Bool
        if let value = s["rtcp_mux"] {
            guard let b = value.bool else { throw reader.error("rtcp_mux must be true or false", section: "stream", key: "rtcp_mux") }
            rtcpMux = b
        } else {
            rtcpMux = false
        }
        var maxBitrate: Int? = nil
        if s.contains(key: "max_bitrate_kbps") {
            let kbps = try reader.int(s, "max_bitrate_kbps", in: "stream")
            guard (1...10_000_000).contains(kbps) else {
                throw reader.error("max_bitrate_kbps must be 1–10000000 (kilobits per second)", section: "stream", key: "max_bitrate_kbps")
            }
            maxBitrate = kbps
        }
        let sprop = try reader.optionalString(s, "sprop_parameter_sets", in: "stream")
        var parameterSets: [[UInt8]] = []
        if let sprop {
            for part in sprop.split(separator: ",", omittingEmptySubsequences: false) {
                guard let nal = decodeBase64(part), !nal.isEmpty else {
                    throw reader.error("sprop_parameter_sets must be base64 NAL units separated by commas (RFC 6184 §8.1), e.g. \"Z0IAH5WoFAFuQA==,aM48gA==\"; \"\(part)\" is not",
                                       section: "stream", key: "sprop_parameter_sets")
                }
                parameterSets.append(nal)
            }
        }
        let offerText = try reader.optionalString(s, "offer", in: "stream") ?? "comedia"
        let cameraRTPPort = try reader.optionalPort(s, "camera_rtp_port", in: "stream")
        let offer: OfferMode
        switch offerText {
        case "comedia":
            offer = .comedia
        case "direct":
            guard let cameraRTPPort else {
                throw reader.error("offer = \"direct\" needs camera_rtp_port: the port the camera sends its RTP from", section: "stream", key: "offer")
            }
            offer = .direct(cameraRTPPort: cameraRTPPort)
        default:
            throw reader.error("offer must be \"direct\" (c= names the camera) or \"comedia\" (Kurento >= 6.6.2 answers to where RTP comes from), not \"\(offerText)\"",
                               section: "stream", key: "offer")
        }
        if let rtcpPort, case .direct(let rtp) = offer, rtcpPort == rtp, !rtcpMux {
            throw reader.error("rtcp_port equals camera_rtp_port: set rtcp_mux = true if the camera multiplexes RTP and RTCP", section: "stream", key: "rtcp_port")
        }
        return Stream(codec: codec, payloadType: payloadType, clockRate: clockRate, rtcpFeedback: feedback, rtcpTimeoutSeconds: timeout,
                      rtcpPort: rtcpPort, rtcpMux: rtcpMux, maxBitrateKbps: maxBitrate, spropParameterSets: sprop,
                      parameterSets: parameterSets, offer: offer)
    }
}

/// Standard base64 (RFC 4648 section 4), padding optional; nil on any other character.
func decodeBase64(_ text: Substring) -> [UInt8]? {
    var out: [UInt8] = []
    var buffer: UInt32 = 0
    var bits = 0
    var padding = 0
    for c in text.utf8 {
        let value: UInt8
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = c - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): value = c - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): value = c - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): value = 62
        case UInt8(ascii: "/"): value = 63
        case UInt8(ascii: "="): padding += 1; continue
        default: return nil
        }
        guard padding == 0 else { return nil }
        buffer = buffer << 6 | UInt32(value)
        bits += 6
        if bits >= 8 {
            bits -= 8
            out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
        }
    }
    // Leftover bits must be the zero fill of a partial group, and padding at most what completes it.
    guard bits < 6, buffer & ((1 << UInt32(bits)) - 1) == 0, padding <= 2 else { return nil }
    return out
}

/// The five commands camhost knows; a profile says how (and whether) its firmware takes each.
public enum CommandKind: String, Sendable, CaseIterable, Hashable {
    case reboot, setMode = "set-mode", startStream = "start-stream", stopStream = "stop-stream", getStatus = "get-status"

    /// Placeholders a plain payload template may use for this command.
    var placeholders: Set<String> {
        var base: Set<String> = ["id", "corr"]
        switch self {
        case .setMode: base.insert("mode")
        case .startStream: base.formUnion(["host", "rtp_port", "rtcp_port", "payload_type"])
        default: break
        }
        return base
    }
}

/// A profile that failed to load: file, line (and column when TOML itself failed), message.
public struct ProfileError: Error, Sendable, CustomStringConvertible {
    public let file: String
    public let line: Int?
    public let column: Int?
    public let message: String

    public init(file: String, line: Int?, column: Int? = nil, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        var location = file
        if let line { location += ":\(line)" }
        if let column { location += ":\(column)" }
        return "\(location): \(message) (schema: docs/control.md)"
    }
}

/// Typed reads from a parsed table whose errors point at the line in the source text.
struct ProfileReader {
    let lines: [Substring]
    let file: String

    init(text: String, file: String) {
        self.lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        self.file = file
    }

    /// TOMLKit drops positions after parsing: find the `[section]` header, then `key =` below it.
    func line(section: String?, key: String?) -> Int? {
        var start = 0
        var sectionLine: Int? = nil
        if let section {
            guard let i = lines.firstIndex(where: { header(of: $0) == section }) else {
                return key.flatMap { k in lines.firstIndex { isKey(k, $0) }.map { $0 + 1 } }
            }
            sectionLine = i + 1
            start = i + 1
        }
        guard let key else { return sectionLine }
        var i = start
        while i < lines.count {
            if header(of: lines[i]) != nil { break }
            if isKey(key, lines[i]) { return i + 1 }
            i += 1
        }
        return sectionLine
    }

    private func header(of line: Substring) -> String? {
        let t = line.trimmingSpaces
        guard t.hasPrefix("["), let close = t.firstIndex(of: "]") else { return nil }
        return t[t.index(after: t.startIndex)..<close].trimmingSpaces.replacingQuotes
    }

    private func isKey(_ key: String, _ line: Substring) -> Bool {
        let t = line.trimmingSpaces
        guard t.hasPrefix(key) else { return false }
        return t.dropFirst(key.count).trimmingSpaces.hasPrefix("=")
    }

    func error(_ message: String, section: String?, key: String?) -> ProfileError {
        let place = [section.map { "[\($0)]" }, key].compactMap { $0 }.joined(separator: " ")
        return ProfileError(file: file, line: line(section: section, key: key), message: place.isEmpty ? message : "\(place): \(message)")
    }

    func allowOnly(_ table: TOMLTable, section: String?, keys: Set<String>) throws(ProfileError) {
        for key in table.keys where !keys.contains(key) {
            let isTable = table[key]?.table != nil
            throw error("unknown key \"\(key)\"; allowed: \(keys.sorted().joined(separator: ", "))",
                        section: isTable ? [section, key].compactMap { $0 }.joined(separator: ".") : section, key: isTable ? nil : key)
        }
    }

    func table(_ table: TOMLTable, _ key: String, in section: String?) throws(ProfileError) -> TOMLTable {
        guard let value = table[key] else {
            throw error("missing table [\([section, key].compactMap { $0 }.joined(separator: "."))]", section: section, key: nil)
        }
        guard let t = value.table else { throw error("\"\(key)\" must be a table", section: section, key: key) }
        return t
    }

    func optionalString(_ table: TOMLTable, _ key: String, in section: String) throws(ProfileError) -> String? {
        guard let value = table[key] else { return nil }
        guard let s = value.string else { throw error("\(key) must be a string", section: section, key: key) }
        return s
    }

    func string(_ table: TOMLTable, _ key: String, in section: String) throws(ProfileError) -> String {
        guard let s = try optionalString(table, key, in: section) else { throw error("missing key \"\(key)\"", section: section, key: nil) }
        guard !s.isEmpty else { throw error("\(key) must not be empty", section: section, key: key) }
        return s
    }

    func int(_ table: TOMLTable, _ key: String, in section: String) throws(ProfileError) -> Int {
        guard let value = table[key] else { throw error("missing key \"\(key)\"", section: section, key: nil) }
        guard let i = value.int else { throw error("\(key) must be an integer", section: section, key: key) }
        return i
    }

    func optionalPort(_ table: TOMLTable, _ key: String, in section: String) throws(ProfileError) -> UInt16? {
        guard table.contains(key: key) else { return nil }
        let port = try int(table, key, in: section)
        guard (1...65535).contains(port) else { throw error("\(key) must be a UDP port, 1–65535", section: section, key: key) }
        return UInt16(port)
    }

    func optionalStrings(_ table: TOMLTable, _ key: String, in section: String) throws(ProfileError) -> [String]? {
        guard let value = table[key] else { return nil }
        guard let array = value.array else { throw error("\(key) must be an array of strings", section: section, key: key) }
        var out: [String] = []
        for element in array {
            guard let s = element.string else { throw error("\(key) must be an array of strings", section: section, key: key) }
            out.append(s)
        }
        return out
    }

    func strings(_ table: TOMLTable, _ key: String, in section: String) throws(ProfileError) -> [String] {
        guard let s = try optionalStrings(table, key, in: section) else { throw error("missing key \"\(key)\"", section: section, key: nil) }
        guard !s.isEmpty else { throw error("\(key) must not be empty", section: section, key: key) }
        return s
    }

    func topic(_ table: TOMLTable, _ key: String, in section: String, needsField: Bool = false) throws(ProfileError) -> TopicTemplate {
        let text = try string(table, key, in: section)
        let template: TopicTemplate
        do {
            template = try TopicTemplate(text, allowsField: needsField || key == "status")
        } catch let problem {
            throw error("bad topic template \"\(text)\": \(problem.reason)", section: section, key: key)
        }
        if needsField && !template.hasField {
            throw error("bad topic template \"\(text)\": a plain status topic needs a {field} level, e.g. cam/{id}/state/{field}", section: section, key: key)
        }
        return template
    }

    func checkTemplate(_ template: String, allowed: Set<String>, section: String, key: String) throws(ProfileError) {
        do {
            for name in try placeholderNames(in: template) where !allowed.contains(name) {
                throw TemplateProblem(reason: "unknown placeholder {\(name)}; this command allows \(allowed.sorted().map { "{\($0)}" }.joined(separator: ", "))")
            }
        } catch let problem as TemplateProblem {
            throw error("bad template \"\(template)\": \(problem.reason)", section: section, key: key)
        } catch {
            throw self.error("bad template \"\(template)\"", section: section, key: key)
        }
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return s
    }
    var replacingQuotes: String { String(self.filter { $0 != "\"" && $0 != "'" }) }
}

func readTextFile(_ path: String) -> String? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buffer, 1, buffer.count, file)
        if n <= 0 { break }
        bytes += buffer[0..<n]
        if bytes.count > 1 << 20 { return nil }
    }
    return String(decoding: bytes, as: UTF8.self)
}
