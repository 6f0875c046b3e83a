import Appliance
import ArgumentParser
import Logging

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the appliance: HTTPS dashboard, MQTT control and the managed broker.",
        discussion: """
            On first start camhost creates the data directory, a SQLite database, a TLS key \
            (mode 0600) and a self-signed certificate, and, unless mqtt.broker is set, starts its \
            own Mosquitto on 127.0.0.1. It stops in order on SIGTERM or Ctrl-C (requests in \
            flight finish, the broker is stopped) and exits 0.

            Exit codes: 0 stopped cleanly; 69 a port or the broker is unavailable; 73 the data \
            directory cannot be created or written; 74 the database cannot be opened; 77 the TLS \
            key is readable by others; 78 the configuration is wrong.

            Examples:
              camhost serve
              camhost serve --listen 0.0.0.0:5000 --data-dir /var/lib/camhost
              camhost serve --demo --data-dir /tmp/camhost-demo
              CAMHOST_MQTT_BROKER=mqtt://10.0.0.2:1883 camhost serve
            """)

    @OptionGroup var options: ConfigOptions

    @Option(name: .long, help: ArgumentHelp("HTTPS address, HOST:PORT or [IPv6]:PORT. Overrides server.listen.", valueName: "address"))
    var listen: String?

    @Flag(name: .long, help: "Demo: three simulated cameras on the managed broker and sample recordings with thumbnails, so every dashboard page shows something on a fresh machine.")
    var demo = false

    func run() throws {
        // Before any thread exists, so every thread inherits the mask and sigwait gets the signals.
        Service.blockStopSignals()
        var extra: [String: String] = [:]
        if let listen { extra["server.listen"] = listen }
        let configuration = try options.load(extra: extra)
        LogSink.bootstrap(level: Logger.Level(rawValue: configuration[Settings.logLevel]) ?? .info)
        do {
            let file = options.config
            let environment = currentEnvironment()
            let flags = options.flags.merging(extra) { $1 }
            let reload: @Sendable () throws -> Configuration = {
                let result = ConfigLoader.load(file: file, environment: environment, flags: flags)
                guard result.errors.isEmpty else { throw ReloadError(problems: result.errors.map(\.description)) }
                return result.configuration
            }
            try Service(configuration: configuration, options: .init(environment: environment, demo: demo, reloadConfiguration: reload)).run()
        } catch {
            printError("camhost: \(error.message)")
            throw ExitCode(error.exitCode)
        }
    }
}

/// A configuration that SIGHUP could not apply: its errors, each with file and line.
struct ReloadError: Error, CustomStringConvertible {
    let problems: [String]
    var description: String { problems.joined(separator: "; ") }
}
