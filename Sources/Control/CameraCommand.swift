import JSONText

/// A command camhost can send to a camera; its profile decides the topic and payload.
public enum CameraCommand: Sendable, Equatable, CustomStringConvertible {
    case reboot
    case setMode(String)
    case startStream(StreamDestination)
    case stopStream
    case getStatus

    public var kind: CommandKind {
        switch self {
        case .reboot: .reboot
        case .setMode: .setMode
        case .startStream: .startStream
        case .stopStream: .stopStream
        case .getStatus: .getStatus
        }
    }

    public var description: String { kind.rawValue }

    /// Template values beside `id` and `corr`.
    var parameters: [String: String] {
        switch self {
        case .setMode(let mode): ["mode": mode]
        case .startStream(let d): ["host": d.host, "rtp_port": String(d.rtpPort), "rtcp_port": String(d.rtcpPort), "payload_type": String(d.payloadType)]
        default: [:]
        }
    }
}

/// Where a camera should send its RTP (and RTCP) for a stream.
public struct StreamDestination: Sendable, Equatable {
    public var host: String
    public var rtpPort: Int
    public var rtcpPort: Int
    public var payloadType: Int
    public init(host: String, rtpPort: Int, rtcpPort: Int? = nil, payloadType: Int = 96) {
        self.host = host
        self.rtpPort = rtpPort
        self.rtcpPort = rtcpPort ?? rtpPort + 1
        self.payloadType = payloadType
    }
}

/// A command that cannot be sent as asked (before anything goes on the wire).
public struct CommandError: Error, Sendable, CustomStringConvertible {
    public let camera: CameraID
    public let command: String
    public let reason: String
    public var description: String { "cannot send \(command) to camera \(camera): \(reason)" }
}

extension FirmwareProfile {
    /// The topic and payload for `command` to `camera`, carrying `correlationID` where the
    /// encoding has room for it.
    public func encode(_ command: CameraCommand, to camera: CameraID, correlationID: String) throws(CommandError) -> (topic: String, payload: [UInt8]) {
        guard let spec = commands[command.kind] else {
            throw CommandError(camera: camera, command: command.description, reason: "profile \(name) has no \(command.kind.rawValue) command")
        }
        switch command {
        case .setMode(let mode) where !spec.modes.contains(mode):
            throw CommandError(camera: camera, command: command.description, reason: "mode \"\(mode)\" is not one of \(spec.modes.joined(separator: ", ")) (profile \(name))")
        case .startStream(let d):
            guard (1...65535).contains(d.rtpPort), (1...65535).contains(d.rtcpPort), (0...127).contains(d.payloadType),
                  !d.host.isEmpty, d.host.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == ":" || $0 == "-" }) else {
                throw CommandError(camera: camera, command: command.description, reason: "bad stream destination \(d.host) \(d.rtpPort)/\(d.rtcpPort) pt \(d.payloadType)")
            }
        default: break
        }
        switch encoding {
        case .json:
            let fields = json!
            var object: [String: JSONValue] = [fields.correlation: .string(correlationID), fields.command: .string(spec.wireName!)]
            switch command {
            case .setMode(let mode): object["mode"] = .string(mode)
            case .startStream(let d):
                object["host"] = .string(d.host)
                object["rtp_port"] = .number(Double(d.rtpPort))
                object["rtcp_port"] = .number(Double(d.rtcpPort))
                object["payload_type"] = .number(Double(d.payloadType))
            default: break
            }
            return (topics.command!.render(id: camera), Array(JSONValue.object(object).serialized.utf8))
        case .plain:
            var values = command.parameters
            values["id"] = camera.rawValue
            values["corr"] = correlationID
            return (spec.topic!.render(id: camera), Array(renderTemplate(spec.payload!, values).utf8))
        }
    }

    /// The inverse of `encode`, for the simulator: which camera, correlation id (JSON only)
    /// and command a message carries; nil when it is not a command this profile knows.
    public func decodeCommand(topic: String, payload: [UInt8]) -> (camera: CameraID, correlationID: String?, command: CameraCommand)? {
        guard let text = String(validating: payload, as: UTF8.self) else { return nil }
        switch encoding {
        case .json:
            guard let camera = topics.command?.match(topic)?.id, let fields = json,
                  let value = try? JSONValue(parsing: payload),
                  let name = value[fields.command]?.stringValue,
                  let kind = commands.values.first(where: { $0.wireName == name })?.kind else { return nil }
            let corr = value[fields.correlation]?.stringValue
            let command: CameraCommand
            switch kind {
            case .reboot: command = .reboot
            case .stopStream: command = .stopStream
            case .getStatus: command = .getStatus
            case .setMode:
                guard let mode = value["mode"]?.stringValue else { return nil }
                command = .setMode(mode)
            case .startStream:
                guard let host = value["host"]?.stringValue, let rtp = value["rtp_port"]?.intValue else { return nil }
                command = .startStream(StreamDestination(host: host, rtpPort: rtp, rtcpPort: value["rtcp_port"]?.intValue,
                                                         payloadType: value["payload_type"]?.intValue ?? stream.payloadType))
            }
            return (camera, corr, command)
        case .plain:
            // Literal payloads first, so "off" is not read as a start-stream template.
            let candidates = commands.values.sorted { ($0.payload?.contains("{") == false ? 0 : 1) < ($1.payload?.contains("{") == false ? 0 : 1) }
            for spec in candidates {
                guard let camera = spec.topic?.match(topic)?.id, let template = spec.payload,
                      let values = matchTemplate(template, text) else { continue }
                switch spec.kind {
                case .reboot: return (camera, nil, .reboot)
                case .stopStream: return (camera, nil, .stopStream)
                case .getStatus: return (camera, nil, .getStatus)
                case .setMode:
                    guard let mode = values["mode"] else { continue }
                    return (camera, nil, .setMode(mode))
                case .startStream:
                    guard let host = values["host"], let rtp = values["rtp_port"].flatMap({ Int($0) }) else { continue }
                    return (camera, nil, .startStream(StreamDestination(host: host, rtpPort: rtp, rtcpPort: values["rtcp_port"].flatMap { Int($0) },
                                                                        payloadType: values["payload_type"].flatMap { Int($0) } ?? stream.payloadType)))
                }
            }
            return nil
        }
    }
}

/// Reads placeholder values back out of `text` rendered from `template`; nil when it does not fit.
func matchTemplate(_ template: String, _ text: String) -> [String: String]? {
    enum Piece { case literal(Substring), name(String) }
    var pieces: [Piece] = []
    var rest = Substring(template)
    while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
        if open > rest.startIndex { pieces.append(.literal(rest[..<open])) }
        pieces.append(.name(String(rest[rest.index(after: open)..<close])))
        rest = rest[rest.index(after: close)...]
    }
    if !rest.isEmpty { pieces.append(.literal(rest)) }
    var values: [String: String] = [:]
    var input = Substring(text)
    for (i, piece) in pieces.enumerated() {
        switch piece {
        case .literal(let l):
            guard input.hasPrefix(l) else { return nil }
            input = input.dropFirst(l.count)
        case .name(let n):
            if i + 1 < pieces.count, case .literal(let next) = pieces[i + 1] {
                guard let r = input.firstRange(of: next) else { return nil }
                values[n] = String(input[..<r.lowerBound])
                input = input[r.lowerBound...]
            } else {
                values[n] = String(input)
                input = input[input.endIndex...]
            }
            if values[n]!.isEmpty { return nil }
        }
    }
    return input.isEmpty ? values : nil
}
