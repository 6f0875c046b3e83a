import Appliance
import ArgumentParser
import FoundationEssentials

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print camhost's version and the versions of the C libraries it runs with.",
        discussion: """
            Each library is asked for its own version at run time, so a shared library that \
            differs from the one camhost was built against shows here.

            Examples:
              camhost version
              camhost version --json | jq -r .libraries.gnutls
            """)

    @Flag(help: "Print JSON: {\"version\": \"...\", \"libraries\": {\"libmicrohttpd\": \"...\", ...}}.")
    var json = false

    struct Output: Encodable {
        var version: String
        var libraries: [String: String]
    }

    func run() throws {
        let libraries = VersionInfo.libraries()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            let data = try encoder.encode(Output(version: VersionInfo.camhost, libraries: Dictionary(uniqueKeysWithValues: libraries.map { ($0.name, $0.version) })))
            printOut(String(decoding: data, as: UTF8.self))
        } else {
            printOut("camhost \(VersionInfo.camhost)")
            for library in libraries { printOut("  \(library.name.padding(14)) \(library.version)") }
        }
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
