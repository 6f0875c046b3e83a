import Appliance
import ArgumentParser
import Logging
import POSIX

@main
struct Camhost: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "camhost",
        abstract: "Run and inspect the server that hosts a site's IP cameras.",
        discussion: """
            camhost serves an HTTPS dashboard and JSON API, controls cameras over MQTT, records \
            their streams and diagnoses the media path on the wire. Everything lives in one data \
            directory (default ./var); a fresh start makes the database, a TLS key and a \
            self-signed certificate there.

            Examples:
              camhost serve                              # embedded defaults: https://127.0.0.1:5000
              camhost serve --listen 0.0.0.0:443 --data-dir /var/lib/camhost
              camhost config check /etc/camhost/camhost.toml
              camhost config show --config /etc/camhost/camhost.toml
              camhost version --json
              camhost diagnose rtcp --camera 192.168.1.20
              camhost sdp check offer.sdp --camera 192.168.1.20
              camhost camera list --json
              camhost simulate cameras --count 10 --profile acme-json
            """,
        version: VersionInfo.camhost,
        subcommands: [Serve.self, VersionCommand.self, ConfigCommand.self, RecordingsCommand.self, DiagnoseCommand.self, SDPCommand.self, UserCommand.self, TokenCommand.self, CameraCommandLine.self, SimulateCommand.self, FirewallCommand.self, DoctorCommand.self, StreamCommand.self])
}

/// The flags every command that reads the configuration accepts.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Configuration file (TOML). Without it: embedded defaults and CAMHOST_* variables.", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Data directory (database, TLS files, logs, recordings). Overrides storage.data_dir.", valueName: "dir"))
    var dataDir: String?

    var flags: [String: String] {
        var flags: [String: String] = [:]
        if let dataDir { flags["storage.data_dir"] = dataDir }
        return flags
    }

    /// Loads and validates; prints every problem and exits 78 when there are errors.
    func load(extra: [String: String] = [:]) throws -> Configuration {
        let result = ConfigLoader.load(file: config, environment: currentEnvironment(), flags: flags.merging(extra) { $1 })
        for problem in result.problems { printError(problem.description) }
        if !result.errors.isEmpty {
            printError("camhost: the configuration has \(result.errors.count) error\(result.errors.count == 1 ? "" : "s"); nothing was started")
            throw ExitCode(78)
        }
        return result.configuration
    }
}

func currentEnvironment() -> [String: String] { Environment.current() }

func printError(_ message: String) {
    FileDescriptor.standardError.write(message + "\n")
}

func printOut(_ message: String) {
    FileDescriptor.standardOutput.write(message + "\n")
}
