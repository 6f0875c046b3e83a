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
