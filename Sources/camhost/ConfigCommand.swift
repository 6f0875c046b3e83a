import Appliance
import ArgumentParser
import FoundationEssentials

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check a configuration file or show the configuration camhost would run with.",
        subcommands: [Show.self, Check.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the effective configuration (file, then CAMHOST_* variables, then flags), secrets redacted.",
            discussion: """
                Each line says where its value came from. With --defaults, prints the documented \
                default file, a starting point for /etc/camhost/camhost.toml.

                Examples:
                  camhost config show --config /etc/camhost/camhost.toml
                  camhost config show --defaults > camhost.toml
                  camhost config show --json
                """)

        @OptionGroup var options: ConfigOptions
        @Option(name: .long, help: ArgumentHelp("Overrides server.listen.", valueName: "address"))
        var listen: String?
        @Flag(help: "Print the documented defaults instead.") var defaults = false
        @Flag(help: "Print the reference of every key as a Markdown table (docs/configuration.md).") var markdown = false
        @Flag(help: "Print JSON: {\"section.key\": {\"value\": ..., \"source\": \"...\"}}.") var json = false

        func run() throws {
            if defaults {
                printOut(ConfigRenderer.documentedDefaults())
                return
            }
            if markdown {
                printOut(ConfigRenderer.markdownReference())
                return
            }
            var extra: [String: String] = [:]
            if let listen { extra["server.listen"] = listen }
            let configuration = try options.load(extra: extra)
            printOut(json ? ConfigRenderer.json(configuration) : ConfigRenderer.toml(configuration))
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Report every problem in a configuration file, with its line and key.",
            discussion: """
                Exit codes: 0 the file is valid (warnings may be printed); 78 it has errors; \
                66 it cannot be read.

                Examples:
                  camhost config check /etc/camhost/camhost.toml
                """)

        @Argument(help: ArgumentHelp("The TOML file to check.", valueName: "file"))
        var file: String

        func run() throws {
            let result = ConfigLoader.load(file: file, environment: [:])
            for problem in result.problems { printError(problem.description) }
            if result.problems.contains(where: { $0.key == "file" }) { throw ExitCode(66) }
            if !result.errors.isEmpty {
                printError("\(file): \(result.errors.count) error\(result.errors.count == 1 ? "" : "s")")
                throw ExitCode(78)
            }
            printOut("\(file): OK")
        }
    }
}
