import Control
import TOMLKit
import Wire

/// The stream manager's settings (`[media]`, issue 12): the port range, and whether cameras
/// started from their firmware profile stream and record. `[[media.streams]]` entries are
/// tables, not keys: `MediaStreamEntry`.
extension Settings {
    public static let mediaPortRange = Setting<String>("media", "port_range", "5000-5050",
        "UDP ports for camera streams, LOW-HIGH: each stream takes an RTP port and the next for RTCP. `firewall plan` opens this range to the local networks.")
    public static let mediaStreamCameras = Setting<Bool>("media", "stream_cameras", true,
        "Start a stream for each online camera whose firmware profile has a [stream] section and whose address is in the cameras table (false: only [[media.streams]]).")
    public static let mediaRecordCameras = Setting<Bool>("media", "record_cameras", true,
        "Record the streams started from firmware profiles ([[media.streams]] entries say `record` each).")
    public static let mediaRestartAfterSeconds = Setting<Int>("media", "restart_after_seconds", 5,
        "A stream without RTP for this long is restarted (start-stream sent again), with a back-off doubling from 1 s up to 60 s.", range: 1...600)

    static let streamKeys: [ConfigKey] = [mediaPortRange.key, mediaStreamCameras.key, mediaRecordCameras.key, mediaRestartAfterSeconds.key]
}

/// One `[[media.streams]]` entry: a camera that already sends RTP to a fixed port (no MQTT).
public struct MediaStreamEntry: Sendable, Equatable {
    public var camera: String
    public var source: String
    public var port: Int
    public var cameraRTCPPort: Int?
    public var codec: String = "h264"
    public var record: Bool = true
    /// The line of its `[[media.streams]]` header, for messages.
    public var line: Int?

    /// The keys an entry may have.
    static let keys = ["camera", "source", "port", "camera_rtcp_port", "codec", "record"]
    /// How the reference documents the table.
    static let documentation = """
        `[[media.streams]]` (repeat for each stream): a camera that already sends RTP to a fixed port of
        this host, received without MQTT. Keys: `camera` (id, required), `source` (the camera's numeric
        IP address: not loopback, not unspecified), `port` (the local RTP port, inside
        `media.port_range`; RTCP on the next), `camera_rtcp_port` (optional: where the camera listens
        for RTCP; else where its own RTCP comes from, else its RTP port + 1), `codec` (`h264` or
        `h265`, default `h264`), `record` (default true). Two entries may not share a port, nor one
        entry's RTCP port be another's RTP port.
        """
    static let example = """
        # [[media.streams]]
        # camera = "gate"
        # source = "192.168.1.20"
        # port = 5000
        # camera_rtcp_port = 6001   # optional
        # codec = "h264"            # or "h265"
        # record = true
        """

    public init(camera: String, source: String, port: Int, cameraRTCPPort: Int? = nil, codec: String = "h264", record: Bool = true, line: Int? = nil) {
        self.camera = camera
        self.source = source
        self.port = port
        self.cameraRTCPPort = cameraRTCPPort
        self.codec = codec
        self.record = record
        self.line = line
    }
}

/// `LOW-HIGH` of `media.port_range`.
public func parsePortRange(_ text: String) -> ClosedRange<UInt16>? {
    let parts = text.split(separator: "-", omittingEmptySubsequences: false)
    guard parts.count == 2, let low = UInt16(parts[0].trimmingSpaces()), let high = UInt16(parts[1].trimmingSpaces()),
          low > 0, high > low else { return nil }
    return low...high
}

extension Configuration {
    /// `media.port_range`, checked at load (the default when it is wrong).
    public var mediaPortRange: ClosedRange<UInt16> { parsePortRange(self[Settings.mediaPortRange]) ?? 5000...5050 }
}

extension ConfigLoader {
    /// Reads the `[[media.streams]]` array of tables; problems name `media.streams[N].key`.
    static func streamEntries(_ value: any TOMLValueConvertible, file: String, text: String) -> ([MediaStreamEntry], [ConfigProblem]) {
        var entries: [MediaStreamEntry] = []
        var problems: [ConfigProblem] = []
        let headers = text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            .filter { $0.element.trimmingSpaces().hasPrefix("[[media.streams]]") }.map { $0.offset + 1 }
        guard let array = value.array else {
            problems.append(ConfigProblem(severity: .error, file: file, line: nil, key: "media.streams",
                                          message: "expected [[media.streams]] tables (an array of tables), found \(value.type)"))
            return ([], problems)
        }
        for (index, element) in array.enumerated() {
            let key = "media.streams[\(index + 1)]"
            let line = index < headers.count ? headers[index] : nil
            func problem(_ name: String?, _ message: String) {
                problems.append(ConfigProblem(severity: .error, file: file, line: line, key: name.map { "\(key).\($0)" } ?? key, message: message))
            }
            guard let table = element.table else { problem(nil, "expected a table, found \(element.type)"); continue }
            for name in table.keys where !MediaStreamEntry.keys.contains(name) {
                problem(name, "unknown key\(suggestion(for: name, among: MediaStreamEntry.keys)); keys of [[media.streams]]: \(MediaStreamEntry.keys.joined(separator: ", "))")
            }
            guard let camera = table["camera"]?.string else { problem("camera", "missing or not a string: the camera's id, e.g. camera = \"gate\""); continue }
            guard let source = table["source"]?.string else { problem("source", "missing or not a string: the camera's IP address, e.g. source = \"192.168.1.20\""); continue }
            guard let port = table["port"]?.int else { problem("port", "missing or not an integer: the local RTP port, e.g. port = 5000"); continue }
            var entry = MediaStreamEntry(camera: camera, source: source, port: port, line: line)
            if let value = table["camera_rtcp_port"] {
                guard let rtcp = value.int else { problem("camera_rtcp_port", "expected an integer port, found \(value.type)"); continue }
                entry.cameraRTCPPort = rtcp
            }
            if let value = table["codec"] {
                guard let codec = value.string else { problem("codec", "expected a string, h264 or h265"); continue }
                entry.codec = codec
            }
            if let value = table["record"] {
                guard let record = value.bool else { problem("record", "expected true or false"); continue }
                entry.record = record
            }
            entries.append(entry)
        }
        return (entries, problems)
    }

    /// What a loaded `[[media.streams]]` list and `media.port_range` must satisfy.
    static func validateStreams(_ configuration: Configuration) -> [ConfigProblem] {
        var problems: [ConfigProblem] = []
        let rangeText = configuration[Settings.mediaPortRange]
        let range = parsePortRange(rangeText)
        if range == nil {
            var file: String?, line: Int?
            if case .file(let p, let l)? = configuration.sources["media.port_range"] { file = p; line = l }
            problems.append(ConfigProblem(severity: .error, file: file, line: line, key: "media.port_range",
                                          message: "\(tomlQuoted(rangeText)) is not LOW-HIGH with 1 <= LOW < HIGH <= 65535, e.g. \"5000-5050\""))
        }
        var taken: [Int: String] = [:]
        var cameras: Set<String> = []
        for (index, entry) in configuration.mediaStreams.enumerated() {
            let key = "media.streams[\(index + 1)]"
            func problem(_ name: String, _ message: String) {
                problems.append(ConfigProblem(severity: .error, file: configuration.mediaStreamsFile, line: entry.line, key: "\(key).\(name)", message: message))
            }
            if CameraID(entry.camera) == nil {
                problem("camera", "\(tomlQuoted(entry.camera)) is not a camera id: 1-64 letters, digits, '.', '_' or '-'")
            } else if !cameras.insert(entry.camera).inserted {
                problem("camera", "camera \(tomlQuoted(entry.camera)) has two [[media.streams]] entries; one stream per camera")
            }
            if let address = IPAddress(entry.source) {
                if address.isLoopback {
                    problem("source", "\(entry.source) is a loopback address: RTCP feedback sent there never leaves this host (the loopback trap); give the camera's own address")
                } else if address.isUnspecified {
                    problem("source", "\(entry.source) is the unspecified address: give the camera's own address, e.g. 192.168.1.20")
                }
            } else {
                problem("source", "\(tomlQuoted(entry.source)) is not a numeric IP address; write e.g. 192.168.1.20 or fd00::20")
            }
            if let range {
                if !(Int(range.lowerBound)...Int(range.upperBound) - 1).contains(entry.port) {
                    problem("port", "\(entry.port) is outside media.port_range \(range.lowerBound)-\(range.upperBound) (the RTP port and the next, for RTCP, must both be inside); choose a port there or widen the range")
                }
            } else if !(1...65534).contains(entry.port) {
                problem("port", "\(entry.port) is not a port 1-65534")
            }
            for (port, role) in [(entry.port, "RTP"), (entry.port + 1, "RTCP")] {
                if let other = taken[port] {
                    problem("port", "port \(port) (\(role) of camera \(entry.camera)) is already used by \(other); give each stream its own pair")
                    break
                }
            }
            taken[entry.port] = "the RTP of camera \(entry.camera)"
            taken[entry.port + 1] = "the RTCP of camera \(entry.camera)"
            if let rtcp = entry.cameraRTCPPort, !(1...65535).contains(rtcp) {
                problem("camera_rtcp_port", "\(rtcp) is not a port 1-65535")
            }
            if VideoCodec(rawValue: entry.codec) == nil {
                problem("codec", "unknown codec \(tomlQuoted(entry.codec)); use \"h264\" or \"h265\"")
            }
        }
        return problems
    }
}
