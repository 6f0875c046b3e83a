import Testing
import TestSupport

@Suite("camhost version and config")
struct CommandLineTests {
    func camhost(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        try TestProcess.run(TestEnvironment.camhostBinary, arguments, environment: TestEnvironment.clean.merging(environment) { $1 })
    }

    @Test func versionJSONHasTheContractShape() throws {
        let result = try camhost(["version", "--json"])
        #expect(result.status == 0)
        let check = try TestProcess.run("python3", ["-c", """
            import json,sys
            d = json.load(sys.stdin)
            assert set(d) == {"version", "libraries"}, d
            assert set(d["libraries"]) == {"libmicrohttpd", "gnutls", "sqlite", "libmosquitto", "libpcap"}, d
            assert d["libraries"]["sqlite"].startswith("3."), d
            assert "libpcap" in d["libraries"]["libpcap"], d
            print("ok")
            """], stdin: result.stdout)
        #expect(check.stdout == "ok\n", "\(check.stderr)")
    }

    @Test func helpExplainsWithExamples() throws {
        let result = try camhost(["serve", "--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("Examples:"))
        #expect(result.stdout.contains("--listen"))
    }

    @Test func configCheckReportsEveryProblemAndExits78() throws {
        let directory = try TemporaryDirectory()
        try writeFile(directory.file("c.toml"), "[server]\nlisten = \"nowhere\"\nthreads = 0\nbogus = 1\n")
        let result = try camhost(["config", "check", directory.file("c.toml")])
        #expect(result.status == 78)
        #expect(result.stderr.contains("c.toml:2: error: server.listen"))
        #expect(result.stderr.contains("c.toml:3: error: server.threads"))
        #expect(result.stderr.contains("c.toml:4: error: server.bogus: unknown key"))
    }

    @Test func configCheckOfAGoodFileAndOfAMissingOne() throws {
        let directory = try TemporaryDirectory()
        try writeFile(directory.file("ok.toml"), "[server]\nlisten = \"0.0.0.0:8443\"\n")
        #expect(try camhost(["config", "check", directory.file("ok.toml")]).status == 0)
        let missing = try camhost(["config", "check", directory.file("missing.toml")])
        #expect(missing.status == 66)
        #expect(missing.stderr.contains("cannot read"))
    }

    @Test func serveWithABadConfigStartsNothingAndOverwritesNothing() throws {
        let directory = try TemporaryDirectory()
        let text = "[server]\nlisten = 5000\n"
        try writeFile(directory.file("c.toml"), text)
        let result = try camhost(["serve", "--config", directory.file("c.toml"), "--data-dir", directory.file("var")])
        #expect(result.status == 78)
        #expect(result.stderr.contains("expected a string"))
        #expect(!fileExists(directory.file("var")))
        #expect(try readFile(directory.file("c.toml")) == text)
    }

    @Test func configShowRedactsSecretsAndNamesSources() throws {
        let result = try camhost(["config", "show", "--listen", "127.0.0.1:9000"], environment: ["CAMHOST_MQTT_PASSWORD": "s3cret"])
        #expect(result.status == 0)
        #expect(!result.stdout.contains("s3cret"))
        #expect(result.stdout.contains("password = \"<redacted>\"  # environment CAMHOST_MQTT_PASSWORD"))
        #expect(result.stdout.contains("listen = \"127.0.0.1:9000\"  # flag server.listen"))
    }

    @Test func documentedDefaultsAreAValidFile() throws {
        let directory = try TemporaryDirectory()
        let defaults = try camhost(["config", "show", "--defaults"])
        try writeFile(directory.file("d.toml"), defaults.stdout)
        #expect(try camhost(["config", "check", directory.file("d.toml")]).status == 0)
        // The example in the repository is exactly this output.
        #expect(try readFile(repositoryRoot() + "/docs/camhost.example.toml") == defaults.stdout,
                "regenerate with: camhost config show --defaults > docs/camhost.example.toml")
        let reference = try camhost(["config", "show", "--markdown"])
        #expect(try readFile(repositoryRoot() + "/docs/configuration.md") == reference.stdout,
                "regenerate with: camhost config show --markdown > docs/configuration.md")
    }
}

/// The repository root: the test binary lives in <root>/.build*/<triple>/debug/.
func repositoryRoot() -> String {
    var path = TestEnvironment.camhostBinary
    while let slash = path.lastIndex(of: "/") {
        path = String(path[..<slash])
        if fileExists(path + "/Package.swift") { return path }
    }
    return "."
}
