import Appliance
import ArgumentParser
import JSONText

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

    func run() throws {
        let libraries = VersionInfo.libraries()
        if json {
            let versions = Dictionary(uniqueKeysWithValues: libraries.map { ($0.name, JSONValue.string($0.version)) })
            printOut(JSONValue.object(["version": .string(VersionInfo.camhost), "libraries": .object(versions)]).prettyPrinted)
        } else {
            printOut("camhost \(VersionInfo.camhost)")
            for library in libraries { printOut("  \(library.name.padding(14)) \(library.version)") }
        }
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
