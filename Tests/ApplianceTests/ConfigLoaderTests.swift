import Testing
import TestSupport
@testable import Appliance

@Suite("Configuration: file, environment, flags, every problem with its line")
struct ConfigLoaderTests {
    @Test func embeddedDefaultsNeedNoFile() {
        let result = ConfigLoader.load(file: nil)
        #expect(result.problems.isEmpty)
        #expect(result.configuration.listen == ListenAddress(parsing: "127.0.0.1:5000"))
        #expect(result.configuration.databasePath == "./var/camhost.db")
        #expect(result.configuration.tlsKeyPath == "./var/tls/key.pem")
        #expect(result.configuration.brokerURL == nil)
    }

    @Test func fileThenEnvironmentThenFlagsWin() throws {
        let directory = try TemporaryDirectory()
        try writeFile(directory.file("c.toml"), """
            [server]
            listen = "127.0.0.1:6000"
            threads = 4

            [storage]
            data_dir = "/srv/cam"
            """)
        let result = ConfigLoader.load(file: directory.file("c.toml"),
                                       environment: ["CAMHOST_SERVER_THREADS": "8", "PATH": "/bin"],
                                       flags: ["server.listen": "[::1]:7000"])
        #expect(result.problems.isEmpty)
        let configuration = result.configuration
        #expect(configuration.listen.description == "[::1]:7000")
        #expect(configuration.integer("server.threads") == 8)
        #expect(configuration.databasePath == "/srv/cam/camhost.db")
        #expect(configuration.sources["server.threads"] == .environment("CAMHOST_SERVER_THREADS"))
        #expect(configuration.sources["storage.data_dir"] == .file(path: directory.file("c.toml"), line: 6))
    }

    @Test func reportsEveryProblemWithLineAndKey() throws {
        let directory = try TemporaryDirectory()
        try writeFile(directory.file("bad.toml"), """
            [server]
            listen = "localhost:5000"
            threds = 4
            connection_timeout_seconds = "thirty"

            [log]
            level = "loud"

            [mqtt]
            broker = "http://broker:1883"

            [cameras]
            x = 1
            """)
        let problems = ConfigLoader.load(file: directory.file("bad.toml")).errors
        let byKey = Dictionary(problems.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byKey["server.threds"]?.line == 3)
        #expect(byKey["server.threds"]?.message.contains("did you mean \"threads\"") == true)
        #expect(byKey["server.connection_timeout_seconds"]?.line == 4)
        #expect(byKey["server.connection_timeout_seconds"]?.message.contains("expected an integer") == true)
        #expect(byKey["server.listen"]?.line == 2)
        #expect(byKey["log.level"]?.line == 7)
        #expect(byKey["mqtt.broker"]?.line == 10)
        #expect(byKey["cameras"]?.line == 12)
        #expect(problems.count == 6)
        #expect(problems.allSatisfy { $0.file == directory.file("bad.toml") })
    }

    @Test func syntaxErrorsCarryTheirLine() throws {
        let directory = try TemporaryDirectory()
        try writeFile(directory.file("garbled.toml"), "[server]\nlisten = \"127.0.0.1:5000\n[log\n")
        let problems = ConfigLoader.load(file: directory.file("garbled.toml")).errors
        #expect(problems.count == 1)
        #expect(problems.first?.key == "syntax")
        #expect(problems.first?.line == 2)
    }

    @Test func unreadableFileIsOneClearError() {
        let problems = ConfigLoader.load(file: "/nonexistent/camhost.toml").errors
        #expect(problems.count == 1)
        #expect(problems.first?.description.contains("No such file or directory") == true)
    }

    @Test func badEnvironmentValuesAreErrorsAndUnknownOnesWarnings() {
        let result = ConfigLoader.load(file: nil, environment: ["CAMHOST_SERVER_THREADS": "many", "CAMHOST_SERVER_LISTN": "x"])
        #expect(result.errors.map(\.key) == ["CAMHOST_SERVER_THREADS"])
        #expect(result.problems.contains { $0.severity == .warning && $0.key == "CAMHOST_SERVER_LISTN" && $0.message.contains("CAMHOST_SERVER_LISTEN") })
    }

    @Test func rangesAreChecked() {
        let result = ConfigLoader.load(file: nil, environment: ["CAMHOST_MQTT_MANAGED_BROKER_PORT": "70000"])
        #expect(result.errors.first?.message.contains("out of range") == true)
    }

    @Test func documentedDefaultsParseBackToTheDefaults() throws {
        let directory = try TemporaryDirectory()
        try writeFile(directory.file("defaults.toml"), ConfigRenderer.documentedDefaults())
        let result = ConfigLoader.load(file: directory.file("defaults.toml"))
        #expect(result.problems.isEmpty)
        for key in ConfigSchema.keys {
            #expect(result.configuration.values[key.path] == key.defaultValue)
        }
    }

    @Test func secretsAreRedactedWhenShown() {
        let result = ConfigLoader.load(file: nil, environment: ["CAMHOST_MQTT_PASSWORD": "hunter2"])
        let shown = ConfigRenderer.toml(result.configuration) + ConfigRenderer.json(result.configuration)
        #expect(!shown.contains("hunter2"))
        #expect(shown.contains(ConfigRenderer.redacted))
    }

    @Test func listenAddressesParse() {
        #expect(ListenAddress(parsing: "0.0.0.0:443")?.url == "https://127.0.0.1:443")
        #expect(ListenAddress(parsing: "[::1]:5000")?.host == "::1")
        #expect(ListenAddress(parsing: "::1:5000") == nil)
        #expect(ListenAddress(parsing: "host:5000") == nil)
        #expect(ListenAddress(parsing: "127.0.0.1:99999") == nil)
        #expect(BrokerURL(parsing: "mqtts://broker.local")?.port == 8883)
        #expect(BrokerURL(parsing: "mqtt://[::1]:1884")?.host == "::1")
        #expect(BrokerURL(parsing: "tcp://x") == nil)
    }
}

@Suite("Configuration: addresses, lists in the environment, typed keys")
struct ConfigAddressTests {
    @Test func everyAddressValuedKeyIsCheckedWithItsLine() throws {
        let directory = try TemporaryDirectory()
        try writeFile(directory.file("c.toml"), """
            [diagnostics]
            watch_cameras = ["10.0.0.2", "not-an-ip"]

            [metrics]
            allow = ["127.0.0.1", "localhost"]

            [auth]
            allow_list = ["10.0.0.0/8", "::1", "10.0.0.0/40"]
            """)
        let problems = ConfigLoader.load(file: directory.file("c.toml")).errors
        let watch = try #require(problems.first { $0.key == "diagnostics.watch_cameras" })
        #expect(watch.line == 2 && watch.file == directory.file("c.toml"))
        #expect(watch.message.contains(#""not-an-ip" is not a numeric IP address"#), "\(watch.message)")
        #expect(problems.first { $0.key == "metrics.allow" }?.message.contains(#""localhost""#) == true)
        #expect(problems.first { $0.key == "metrics.allow" }?.line == 5)
        let allow = problems.filter { $0.key == "auth.allow_list" }
        #expect(allow.count == 1 && allow.first?.message.contains("10.0.0.0/40") == true, "\(allow)")
        #expect(problems.count == 3, "\(problems)")
    }

    @Test func aBadAddressInTheEnvironmentNamesTheVariable() {
        let problems = ConfigLoader.load(file: nil, environment: ["CAMHOST_DIAGNOSTICS_WATCH_CAMERAS": "10.0.0.2,camera-7"]).errors
        #expect(problems.count == 1)
        #expect(problems.first?.key == "CAMHOST_DIAGNOSTICS_WATCH_CAMERAS")
        #expect(problems.first?.message.contains(#""camera-7""#) == true)
    }

    @Test func aListInTheEnvironmentWrittenTheTOMLWayIsAList() {
        let toml = ConfigLoader.load(file: nil, environment: ["CAMHOST_DIAGNOSTICS_WATCH_CAMERAS": #"["10.0.0.2", "fd00::7"]"#])
        #expect(toml.problems.isEmpty, "\(toml.problems)")
        #expect(toml.configuration[Settings.diagnosticsWatchCameras] == ["10.0.0.2", "fd00::7"])

        let commas = ConfigLoader.load(file: nil, environment: ["CAMHOST_DIAGNOSTICS_WATCH_CAMERAS": "10.0.0.2, 10.0.0.3"])
        #expect(commas.configuration[Settings.diagnosticsWatchCameras] == ["10.0.0.2", "10.0.0.3"])

        let broken = ConfigLoader.load(file: nil, environment: ["CAMHOST_DIAGNOSTICS_WATCH_CAMERAS": #"["10.0.0.2""#]).errors
        #expect(broken.first?.key == "CAMHOST_DIAGNOSTICS_WATCH_CAMERAS")
        #expect(broken.first?.message.contains("not a TOML array of strings") == true, "\(broken)")

        let numbers = ConfigLoader.load(file: nil, environment: ["CAMHOST_DIAGNOSTICS_WATCH_CAMERAS": "[1, 2]"]).errors
        #expect(numbers.first?.message.contains("expected an array of strings") == true, "\(numbers)")
    }

    /// Every key of the schema is a typed setting and reads back as its default.
    @Test func typedSettingsCoverTheSchema() {
        let configuration = Configuration()
        #expect(Set(ConfigSchema.keys.map(\.path)).count == ConfigSchema.keys.count)
        #expect(configuration[Settings.serverListen] == "127.0.0.1:5000")
        #expect(configuration[Settings.serverThreads] == 1)   // one thread: libmicrohttpd on camhost's own (docs/websocket.md)
        #expect(configuration[Settings.metricsAllow] == ["127.0.0.1", "::1"])
        for key in ConfigSchema.keys { #expect(configuration.values[key.path] == key.defaultValue, "\(key.path)") }
    }
}
