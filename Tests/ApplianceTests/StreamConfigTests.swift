import Logging
import Testing
import TestSupport
@testable import Appliance

/// `[[media.streams]]` and `media.port_range` (issue 12): bad entries are refused at load, each
/// with the key (`media.streams[N].key`) and the line of its table.
@Suite("Configuration: [[media.streams]] and media.port_range")
struct StreamConfigTests {
    static func load(_ text: String) throws -> ConfigLoader.Result {
        let directory = try TemporaryDirectory(prefix: "stream-config")
        try writeFile(directory.file("c.toml"), text)
        return ConfigLoader.load(file: directory.file("c.toml"))
    }

    @Test func goodEntriesLoadAsStreamSpecs() throws {
        let result = try Self.load("""
            [media]
            port_range = "6000-6100"

            [[media.streams]]
            camera = "gate"
            source = "192.168.1.20"
            port = 6000
            camera_rtcp_port = 7001

            [[media.streams]]
            camera = "yard"
            source = "fd00::21"
            port = 6010
            codec = "h265"
            record = false
            """)
        #expect(result.problems.isEmpty, "\(result.problems)")
        let configuration = result.configuration
        #expect(configuration.mediaPortRange == 6000...6100)
        #expect(configuration.mediaStreams.map(\.camera) == ["gate", "yard"])
        #expect(configuration.mediaStreams.map(\.line) == [4, 10])
        let specs = configuration.streamSpecs
        #expect(specs.count == 2)
        #expect(specs[0].port == 6000 && specs[0].cameraRTCPPort == 7001 && specs[0].record && specs[0].codec == .h264)
        #expect(specs[1].codec == .h265 && !specs[1].record && specs[1].source?.description == "fd00::21")
    }

    @Test func theRTCPWatchWatchesTheConfiguredStreamsCameras() throws {
        let result = try Self.load("""
            [diagnostics]
            watch_cameras = ["192.168.1.9"]

            [[media.streams]]
            camera = "gate"
            source = "192.168.1.20"
            port = 5000
            """)
        #expect(result.problems.isEmpty, "\(result.problems)")
        let watched = RTCPWatch.cameras(configuration: result.configuration, store: nil, logger: Logger(label: "test"))
        #expect(watched.map(\.description) == ["192.168.1.9", "192.168.1.20"])
    }

    @Test func theDefaultRangeIsTheOldFirewallRange() {
        let result = ConfigLoader.load(file: nil)
        #expect(result.configuration.mediaPortRange == 5000...5050)
        #expect(result.configuration.mediaStreams.isEmpty)
    }

    @Test func badEntriesAreRefusedNamingTheKey() throws {
        let result = try Self.load("""
            [[media.streams]]
            camera = "loop"
            source = "127.0.0.1"
            port = 5000

            [[media.streams]]
            camera = "any"
            source = "0.0.0.0"
            port = 5010

            [[media.streams]]
            camera = "far"
            source = "192.168.1.22"
            port = 6000

            [[media.streams]]
            camera = "twin"
            source = "192.168.1.23"
            port = 5011

            [[media.streams]]
            camera = "odd"
            source = "192.168.1.24"
            port = 5020
            codec = "mjpeg"

            [[media.streams]]
            camera = "typo"
            source = "192.168.1.25"
            port = 5030
            recrod = true
            """)
        let byKey = Dictionary(result.errors.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byKey["media.streams[1].source"]?.message.contains("loopback") == true)
        #expect(byKey["media.streams[1].source"]?.line == 1)
        #expect(byKey["media.streams[2].source"]?.message.contains("unspecified") == true)
        #expect(byKey["media.streams[3].port"]?.message.contains("outside media.port_range 5000-5050") == true)
        #expect(byKey["media.streams[3].port"]?.line == 11)
        #expect(byKey["media.streams[4].port"]?.message.contains("already used by the RTCP of camera any") == true)
        #expect(byKey["media.streams[5].codec"]?.message.contains("unknown codec \"mjpeg\"") == true)
        #expect(byKey["media.streams[6].recrod"]?.message.contains("did you mean \"record\"") == true)
        #expect(result.errors.count == 6, "\(result.errors)")
    }

    @Test func twoStreamsOnOnePortAndABadRangeAreRefused() throws {
        let result = try Self.load("""
            [media]
            port_range = "6000"

            [[media.streams]]
            camera = "a"
            source = "192.168.1.20"
            port = 5000

            [[media.streams]]
            camera = "b"
            source = "192.168.1.21"
            port = 5000

            [[media.streams]]
            camera = "a"
            source = "192.168.1.22"
            port = 5004
            """)
        let byKey = Dictionary(result.errors.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byKey["media.port_range"]?.message.contains("is not LOW-HIGH") == true)
        #expect(byKey["media.port_range"]?.line == 2)
        #expect(byKey["media.streams[2].port"]?.message.contains("port 5000 (RTP of camera b) is already used by the RTP of camera a") == true)
        #expect(byKey["media.streams[3].camera"]?.message.contains("two [[media.streams]] entries") == true)
    }

    @Test func anEntryMissingItsSourceSaysWhatToWrite() throws {
        let result = try Self.load("""
            [[media.streams]]
            camera = "gate"
            port = 5000
            """)
        #expect(result.errors.map(\.key) == ["media.streams[1].source"])
        #expect(result.errors.first?.message.contains("source = \"192.168.1.20\"") == true)
    }
}
