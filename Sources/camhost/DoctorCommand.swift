import Appliance
import ArgumentParser
import JSONText

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check this host for everything that can keep camhost from working, with the fix for each.",
        discussion: """
            Reads the configuration, the files and the database; changes nothing. Checks: the TLS \
            key's permissions, the certificate's expiry, the HTTPS port, the broker, CoTURN (when \
            health.coturn is set), permission to capture packets, the loopback trap as the running \
            serve last saw it, the database, free disk space and the clock.
            Exit status: 0 all well, 1 problems (each printed with its fix), 64 usage, 78 bad configuration.

            Examples:
              camhost doctor --config /etc/camhost/camhost.toml
              camhost doctor --json | jq -r '.checks[] | select(.ok | not) | .fix'
            """)

    @OptionGroup var options: ConfigOptions

    @Flag(help: "Print JSON: {\"ok\": b, \"checks\": [{\"name\": s, \"ok\": b, \"detail\": s, \"fix\": s|null}]}.")
    var json = false

    func run() throws {
        let doctor = Doctor(configuration: try options.load())
        if json {
            var w = JSONWriter(capacity: 2048)
            w.object { w in
                w.field("ok", doctor.ok)
                w.key("checks")
                w.array { w in
                    for check in doctor.checks {
                        w.object { w in
                            w.field("name", check.name); w.field("ok", check.ok); w.field("detail", check.detail); w.field("fix", check.fix)
                        }
                    }
                }
            }
            printOut(w.text)
        } else {
            let width = doctor.checks.map(\.name.count).max() ?? 0
            for check in doctor.checks {
                printOut("\(check.ok ? "ok     " : "PROBLEM") \(check.name.padding(width))  \(check.detail)")
                if let fix = check.fix { printOut("        \(String(repeating: " ", count: width))  fix: \(fix)") }
            }
            let problems = doctor.checks.filter { !$0.ok }.count
            printOut(problems == 0 ? "\nall \(doctor.checks.count) checks pass" : "\n\(problems) problem\(problems == 1 ? "" : "s") found")
        }
        if !doctor.ok { throw ExitCode(1) }
    }
}
