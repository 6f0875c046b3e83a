import Foundation
import Testing
import TestSupport

@Suite struct FirewallCLITests {
    func camhost(_ arguments: [String], environment extra: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        try TestProcess.run(TestEnvironment.camhostBinary, arguments, environment: TestEnvironment.clean.merging(extra) { $1 })
    }

    @Test func planAsJSONHasRulesCommandsAndNetworks() throws {
        let directory = try TemporaryDirectory()
        let config = directory.file("camhost.toml")
        try writeFile(config, "[server]\nlisten = \"0.0.0.0:8443\"\n")
        let result = try camhost(["firewall", "plan", "--config", config, "--turn", "--json"],
                                 environment: ["SSH_CONNECTION": "192.0.2.9 51234 192.0.2.2 2222"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let commands = try #require(json["commands"] as? [String])
        #expect(commands.first == "ufw default deny incoming")
        #expect(commands.last == "ufw --force enable")
        #expect(commands.contains("ufw limit 2222/tcp comment 'camhost: SSH'"))
        #expect(commands.contains("ufw allow 8443/tcp comment 'camhost: HTTPS dashboard and API'"))
        #expect(commands.contains("ufw allow 49152:65535/udp comment 'CoTURN: relay ports'"))
        let rules = try #require(json["rules"] as? [[String: Any]])
        #expect(rules.count == commands.count - 3)
        #expect(rules.allSatisfy { $0["action"] != nil && $0["port"] != nil && $0["proto"] != nil && $0["command"] != nil })
        #expect(json["local_networks"] is [String])
    }

    @Test func badArgumentsAreUsageErrors() throws {
        let result = try camhost(["firewall", "plan", "--media-ports", "5050-5000"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--media-ports"))
    }

    /// The dry run prints what --apply would run, SSH allowed before the firewall is enabled.
    @Test func configureFirewallDryRunKeepsTheSession() throws {
        let result = try TestProcess.run(ServiceFiles.repository + "/scripts/configure-firewall.sh", [],
                                         environment: TestEnvironment.clean.merging(["CAMHOST_BIN": TestEnvironment.camhostBinary,
                                                                                    "SSH_CONNECTION": "192.0.2.9 51234 192.0.2.2 2222"]) { $1 })
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("# dry run") == true)
        let ssh = try #require(lines.firstIndex { $0.hasPrefix("ufw limit 2222/tcp") })
        let enable = try #require(lines.firstIndex(of: "ufw --force enable"))
        #expect(ssh < enable)
        #expect(!result.stderr.contains("warning"))
    }
}
