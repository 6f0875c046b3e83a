import Appliance
import ArgumentParser
import FoundationEssentials

struct FirewallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "firewall",
        abstract: "The firewall rules camhost's configuration needs.",
        subcommands: [Plan.self])

    struct Plan: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the ufw rules that follow from the live configuration (changes nothing).",
            discussion: """
                SSH (the port of the session you run it from, rate-limited) comes first and the \
                firewall is enabled last, so applying the plan never cuts your session. The \
                dashboard's port is opened when server.listen is not loopback; cameras' MQTT and \
                media ports only from the local networks the routing table shows; CoTURN's ports \
                when /etc/turnserver.conf exists (or --turn).
                scripts/configure-firewall.sh applies the plan (dry run unless --apply).

                Examples:
                  camhost firewall plan --config /etc/camhost/camhost.toml
                  camhost firewall plan --mqtt-port 8883 --turn --json | jq -r '.commands[]'
                """)

        @OptionGroup var options: ConfigOptions

        @Option(help: ArgumentHelp("The MQTT port cameras use on this host (LAN only), when the broker they use runs here.", valueName: "port"))
        var mqttPort: UInt16?

        @Option(help: ArgumentHelp("RTP/RTCP ports cameras send to (LAN only), LOW-HIGH (default: media.port_range, 5000-5050).", valueName: "range"))
        var mediaPorts: PortRange?

        @Flag(help: "Open CoTURN's default ports (3478, 5349, relay 49152-65535) even without /etc/turnserver.conf.")
        var turn = false

        @Flag(help: "Print JSON: {\"rules\": [...], \"commands\": [...], \"local_networks\": [...], \"notes\": [...]}.")
        var json = false

        struct Output: Encodable {
            struct Rule: Encodable {
                var action: String, port: String, proto: String, from: String?, comment: String, command: String
            }
            var rules: [Rule]
            var commands: [String]
            var local_networks: [String]
            var notes: [String]
        }

        func run() throws {
            let configuration = try options.load()
            let inputs = FirewallPlan.Inputs.current(configuration: configuration, environment: currentEnvironment(),
                                                     mqttPort: mqttPort, mediaPorts: mediaPorts?.range ?? configuration.mediaPortRange, turn: turn ? .init() : nil)
            let plan = FirewallPlan(inputs)
            if json {
                let output = Output(
                    rules: plan.rules.map { .init(action: $0.action.rawValue, port: $0.port, proto: $0.proto.rawValue, from: $0.from, comment: $0.comment, command: $0.command) },
                    commands: plan.commands, local_networks: inputs.localNetworks, notes: plan.notes)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
                printOut(String(decoding: try encoder.encode(output), as: UTF8.self))
                return
            }
            printOut("# camhost firewall plan: local networks \(inputs.localNetworks.isEmpty ? "none found" : inputs.localNetworks.joined(separator: ", "))")
            for note in plan.notes { printOut("# note: \(note)") }
            for command in plan.commands { printOut(command) }
        }
    }
}

/// A port range on the command line: `5000-5050` or one port.
struct PortRange: ExpressibleByArgument, Sendable {
    var range: ClosedRange<UInt16>
    init(_ range: ClosedRange<UInt16>) { self.range = range }
    init?(argument: String) {
        let parts = argument.split(separator: "-", omittingEmptySubsequences: false)
        guard let low = parts.first.flatMap({ UInt16($0) }), low > 0 else { return nil }
        let high = parts.count == 2 ? UInt16(parts[1]) : (parts.count == 1 ? low : nil)
        guard let high, high >= low else { return nil }
        range = low...high
    }
    var defaultValueDescription: String { "\(range.lowerBound)-\(range.upperBound)" }
}
