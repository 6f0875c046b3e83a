import Control
import Testing

let profilesDirectory: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)  // Tests/ControlTests/<file>
    return parts.joined(separator: "/") + "/firmware-profiles"
}()

func loadProfile(_ name: String) throws -> FirmwareProfile {
    try FirmwareProfile.load(path: "\(profilesDirectory)/\(name).toml")
}

@Suite struct FirmwareProfileTests {
    @Test func shippedProfilesLoad() throws {
        let all = try FirmwareProfile.loadDirectory(profilesDirectory)
        #expect(Set(all.keys).isSuperset(of: ["acme-json", "plainval"]))
        let acme = try #require(all["acme-json"])
        #expect(acme.encoding == .json && acme.modes == ["day", "night", "auto"])
        #expect(acme.stream.payloadType == 96 && acme.stream.rtcpTimeoutSeconds == 10)
        #expect(acme.topics.ack?.filter == "cameras/+/ack")
        let plain = try #require(all["plainval"])
        #expect(plain.encoding == .plain && plain.topics.ack == nil)
        #expect(plain.topics.status.render(id: CameraID("c1")!, field: "mode") == "cam/c1/state/mode")
    }

    @Test func topicsMatchTheirTemplatesExactly() throws {
        let ack = try #require(try loadProfile("acme-json").topics.ack)
        #expect(ack.match("cameras/cam-1/ack")?.id == CameraID("cam-1"))
        for other in ["cameras/cam-1/ack/x", "cameras/cam-1", "cameras//ack", "camera/cam-1/ack", "cameras/cam 1/ack",
                      "cameras/cam-1/acks", "/cameras/cam-1/ack", "", "cameras/\(String(repeating: "x", count: 65))/ack"] {
            #expect(ack.match(other) == nil, "\(other)")
        }
        let status = try loadProfile("plainval").topics.status
        let match = try #require(status.match("cam/c.1_A/state/mode"))
        #expect(match.id == CameraID("c.1_A") && match.field == "mode")
        #expect(status.match("cam/c1/state/") .map { $0.field } == "")
        #expect(status.match("cam/c1/state") == nil && status.match("cam/c1/state/mode/x") == nil)
    }

    @Test func encodeAndDecodeAreInverse() throws {
        let id = CameraID("cam-7")!
        for name in ["acme-json", "plainval"] {
            let profile = try loadProfile(name)
            let commands: [CameraCommand] = [.reboot, .setMode(profile.modes[1]), .stopStream, .getStatus,
                                             .startStream(StreamDestination(host: "192.0.2.10", rtpPort: 5004, payloadType: 96))]
            for command in commands {
                let (topic, payload) = try profile.encode(command, to: id, correlationID: "abc123")
                let decoded = try #require(profile.decodeCommand(topic: topic, payload: payload), "\(name) \(command)")
                #expect(decoded.camera == id && decoded.command == command)
                if profile.encoding == .json { #expect(decoded.correlationID == "abc123") }
            }
            #expect(throws: CommandError.self) { try profile.encode(.setMode("disco"), to: id, correlationID: "x") }
        }
    }

    func error(_ toml: String) -> ProfileError? {
        do { _ = try FirmwareProfile(toml: toml, file: "bad.toml"); return nil } catch { return error }
    }

    static let valid = """
    [profile]
    name = "t"
    encoding = "json"

    [topics]
    command = "c/{id}/cmd"
    ack = "c/{id}/ack"
    status = "c/{id}/status"
    availability = "c/{id}/avail"

    [availability]
    online = "on"
    offline = "off"

    [json]
    correlation_field = "id"
    command_field = "cmd"
    result_field = "result"
    reason_field = "reason"
    done = ["ok"]
    failed = ["err"]

    [commands.reboot]
    name = "reboot"

    [stream]
    codec = "H264"
    payload_type = 96
    clock_rate = 90000
    rtcp_timeout_seconds = 10
    """

    @Test func validProfileParses() throws {
        let p = try FirmwareProfile(toml: Self.valid, file: "ok.toml")
        #expect(p.commands.count == 1)
    }

    @Test func tomlSyntaxErrorHasLineAndColumn() throws {
        let e = try #require(error(Self.valid.replacingOccurrences("codec = \"H264\"", "codec = H264")))
        #expect(e.line == 27)
        #expect(e.column != nil)
        #expect(e.description.hasPrefix("bad.toml:27:"))
    }

    @Test func unknownKeyPointsAtItsLine() throws {
        let e = try #require(error(Self.valid.replacingOccurrences("clock_rate = 90000", "clock_rate = 90000\nbitrate = 5")))
        #expect(e.line == 30)
        #expect(e.message.contains("unknown key \"bitrate\""))
    }

    @Test func missingKeyPointsAtItsSection() throws {
        let e = try #require(error(Self.valid.replacingOccurrences("reason_field = \"reason\"\n", "")))
        #expect(e.line == 15)
        #expect(e.message.contains("reason_field"))
    }

    @Test func badTemplatesAreRejectedWithLine() throws {
        let e = try #require(error(Self.valid.replacingOccurrences("ack = \"c/{id}/ack\"", "ack = \"c/+/ack\"")))
        #expect(e.line == 7 && e.message.contains("wildcards"))
        let f = try #require(error(Self.valid.replacingOccurrences("status = \"c/{id}/status\"", "status = \"c/{camera}/status\"")))
        #expect(f.line == 8)
        let g = try #require(error(Self.valid.replacingOccurrences("[commands.reboot]", "[commands.explode]")))
        #expect(g.line == 23 && g.message.contains("unknown command"))
        let h = try #require(error(Self.valid.replacingOccurrences("payload_type = 96", "payload_type = 8")))
        #expect(h.line == 28)
    }
}

extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        guard let r = self.firstRange(of: target) else { return self }
        return self.replacingCharacters(in: r, with: replacement)
    }
}
