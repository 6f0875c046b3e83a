import Appliance
import ArgumentParser
import Control
import JSONText
import Logging
import POSIX
import Synchronization

struct CameraCommandLine: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "camera",
        abstract: "List, watch and command cameras over MQTT; every command waits for the camera's answer.",
        discussion: """
            camhost talks to cameras through the MQTT broker: mqtt.broker from the \
            configuration, or the broker camhost manages (mqtt://127.0.0.1:<mqtt.managed_broker_port>) \
            when that is empty; --broker overrides both. Each camera is spoken to in its firmware \
            profile's language (control.profiles_dir); a camera's profile is known from the topics \
            its status arrives on, otherwise control.default_profile or --profile is used.

            A command carries a correlation id and waits for the camera's ack (or, for firmware \
            without acks, the echo of the changed state) until --timeout. Each command writes an \
            audit row (actor cli:<user>) to the database. See docs/control.md.

            Exit codes: 0 done or accepted; 1 the camera answered failed; 2 timed out (no \
            answer); 3 unknown camera (status; mode, at once, when the broker has carried nothing \
            from the camera: its profile's modes are unknown); 64 wrong arguments (bad id, mode not allowed by \
            the profile, bad URL); 69 the broker is unreachable, refused the log-in or the TLS \
            handshake, or the connection dropped; 74 the database for the audit log cannot be \
            opened (nothing was sent); 78 the configuration or a firmware profile is wrong.

            Examples:
              camhost camera list
              camhost camera list --json --broker mqtt://10.0.0.2:1883
              camhost camera status gate
              camhost camera mode gate night --json
              camhost camera reboot gate --timeout 10s
              camhost camera watch --json
            """,
        subcommands: [List.self, Status.self, Reboot.self, Mode.self, Watch.self, Bench.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every camera seen on the broker (from retained status and availability).",
            discussion: """
                Examples:
                  camhost camera list
                  camhost camera list --json | jq -r '.[] | select(.online | not) | .id'
                """)
        @OptionGroup var options: CameraOptions
        @Flag(help: "Print JSON: [{\"id\": s, \"online\": b, \"mode\": s, \"profile\": s, \"last_seen\": s}].")
        var json = false

        func run() throws {
            let session = try CameraSession(options)
            let limit = session.timeout
            let cameras = try session.run { control in
                await control.settle(limit: limit)
                return control.snapshot()
            }
            if json {
                printOut("[" + cameras.map { listJSON($0) }.joined(separator: ", ") + "]")
            } else if cameras.isEmpty {
                printOut("no cameras seen on \(session.settings.brokerURL)")
            } else {
                printOut(table(["ID", "ONLINE", "MODE", "PROFILE", "LAST SEEN"],
                               cameras.map { [$0.id.rawValue, $0.online ? "yes" : "no", $0.mode, $0.profile, $0.listEntry.lastSeen] }))
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print one camera's status: online, mode, firmware, stream, profile, last seen.",
            discussion: """
                Exit codes: 0 known; 3 the camera has published nothing on this broker.

                Examples:
                  camhost camera status gate
                  camhost camera status gate --json
                """)
        @OptionGroup var options: CameraOptions
        @Argument(help: "Camera id (letters, digits, '.', '_', '-').") var id: String
        @Flag(help: "Print JSON: {\"id\", \"online\", \"mode\", \"profile\", \"last_seen\", \"firmware\", \"stream\"}.")
        var json = false

        func run() throws {
            let camera = try parseCameraID(id)
            let session = try CameraSession(options)
            let limit = session.timeout
            let status = try session.run { control in
                await control.settle(limit: limit)
                return control.camera(camera)
            }
            guard let status else {
                printError("camhost: camera \(camera) has published no status or availability on \(session.settings.brokerURL)")
                throw ExitCode(3)
            }
            if json {
                printOut(statusJSON(status))
            } else {
                printOut(table(["FIELD", "VALUE"], [
                    ["id", status.id.rawValue], ["online", status.online ? "yes" : "no"], ["mode", status.mode],
                    ["firmware", status.firmware], ["stream", status.stream], ["profile", status.profile],
                    ["last seen", status.listEntry.lastSeen],
                ]))
            }
        }
    }

    struct Reboot: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Reboot a camera and wait for its answer.",
            discussion: """
                Examples:
                  camhost camera reboot gate
                  camhost camera reboot gate --json --timeout 10s
                """)
        @OptionGroup var options: CameraOptions
        @Argument(help: "Camera id.") var id: String
        @Flag(help: "Print JSON: {\"camera\": s, \"command\": s, \"result\": \"done|accepted|failed|timed-out\", \"latency_ms\": n}.")
        var json = false

        func run() throws { try sendCommand(.reboot, to: id, options: options, json: json) }
    }

    struct Mode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a camera's mode (one the camera's profile allows, e.g. day/night/auto) and wait for its answer.",
            discussion: """
                Examples:
                  camhost camera mode gate night
                  camhost camera mode yard mono --profile plainval --json
                """)
        @OptionGroup var options: CameraOptions
        @Argument(help: "Camera id.") var id: String
        @Argument(help: "The mode, as the profile names it.") var mode: String
        @Flag(help: "Print JSON: {\"camera\": s, \"command\": s, \"result\": \"done|accepted|failed|timed-out\", \"latency_ms\": n}.")
        var json = false

        func run() throws { try sendCommand(.setMode(mode), to: id, options: options, json: json) }
    }

    struct Watch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print cameras as they change (online/offline, mode, firmware, stream) until Ctrl-C.",
            discussion: """
                First prints every known camera, then one line per change. Survives broker \
                restarts (reconnects by itself). Exits 0 on Ctrl-C or SIGTERM.

                Examples:
                  camhost camera watch
                  camhost camera watch --json | jq -c 'select(.online == false)'
                """)
        @OptionGroup var options: CameraOptions
        @Flag(help: "Print one JSON object per line: {\"id\", \"online\", \"mode\", \"profile\", \"last_seen\", \"firmware\", \"stream\"}.")
        var json = false

        func run() throws {
            StopSignals.block()
            let session = try CameraSession(options)
            let json = self.json
            let control = try session.connect()
            if !json { printError("watching cameras on \(session.settings.brokerURL) (Ctrl-C to stop)") }
            let printer = Task.detached {
                var shown: [CameraID: StatusOutput] = [:]
                var lastState = control.connectionState
                while !Task.isCancelled {
                    for status in control.snapshot() {
                        var current = StatusOutput(status)
                        current.lastSeen = ""
                        guard shown[status.id] != current else { continue }
                        shown[status.id] = current
                        if json {
                            printOut(statusJSON(status))
                        } else {
                            printOut("\(status.listEntry.lastSeen)  \(status.id)  \(status.online ? "online" : "OFFLINE")  mode=\(status.mode)  firmware=\(status.firmware)  stream=\(status.stream)  profile=\(status.profile)")
                        }
                    }
                    let state = control.connectionState
                    if state != lastState { printError("camhost: MQTT connection \(state)"); lastState = state }
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
            _ = StopSignals.wait()
            printer.cancel()
            try BlockingTask.run { await control.stop() }
        }
    }

    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure command round trips against simulated cameras (see `camhost simulate cameras`).",
            discussion: """
                Sends --count set-mode commands (alternating the profile's first two modes) to \
                cameras <prefix>1…<prefix>N, at most --concurrency in flight (never two to one \
                camera), and prints the round-trip percentiles and the rate. Writes no audit rows.

                Examples:
                  camhost simulate cameras --count 100 --profile acme-json &
                  camhost camera bench --count 10000 --cameras 100 --concurrency 8 --json
                """)
        @OptionGroup var options: CameraOptions
        @Option(help: "Commands to send.") var count = 10_000
        @Option(help: "Cameras to spread them over.") var cameras = 100
        @Option(help: "Commands in flight at once.") var concurrency = 8
        @Option(help: "Camera id prefix of the simulator.") var idPrefix = "sim-"
        @Flag(help: "Print JSON: {\"commands\", \"cameras\", \"concurrency\", \"ok\", \"failed\", \"timed_out\", \"seconds\", \"commands_per_second\", \"p50_ms\", \"p90_ms\", \"p99_ms\", \"max_ms\"}.")
        var json = false

        func validate() throws {
            guard count > 0, cameras > 0, concurrency > 0 else { throw ValidationError("--count, --cameras and --concurrency must be positive") }
        }

        func run() throws {
            let session = try CameraSession(options, onlyDefaultProfile: true)
            let ids = (1...cameras).compactMap { CameraID("\(idPrefix)\($0)") }
            guard ids.count == cameras else { throw ValidationError("--id-prefix \(idPrefix): \(idPrefix)1 is not a camera id") }
            let benchmark = (count, concurrency)
            let report = try session.run { control in
                let modes = control.defaultProfile.modes
                guard modes.count >= 2 else { throw ValidationError("profile \(control.defaultProfile.name) has fewer than two modes") }
                return try await CommandBenchmark(count: benchmark.0, cameras: ids, concurrency: benchmark.1, modes: (modes[0], modes[1]))
                    .run { command, camera in try await control.send(command, to: camera) }
            }
            if json {
                printOut(report.json)
            } else {
                printOut("""
                    \(report.commands) commands to \(report.cameras) cameras, \(report.concurrency) in flight: \(report.ok) ok, \(report.failed) failed, \(report.timed_out) timed out
                    \(formatMilliseconds(report.seconds * 1000)) ms, \(Int(report.commands_per_second)) commands/s
                    round trip p50 \(formatMilliseconds(report.p50_ms)) ms, p90 \(formatMilliseconds(report.p90_ms)) ms, p99 \(formatMilliseconds(report.p99_ms)) ms, max \(formatMilliseconds(report.max_ms)) ms
                    """)
            }
        }
    }
}

/// Flags shared by the `camera` subcommands.
struct CameraOptions: ParsableArguments {
    @OptionGroup var config: ConfigOptions
    @Option(help: ArgumentHelp("Broker URL, mqtt://HOST:PORT or mqtts://HOST:PORT. Default: mqtt.broker, or the managed broker.", valueName: "url"))
    var broker: String?
    @Option(help: ArgumentHelp("Firmware profile to use for every camera (default: each camera's own, else control.default_profile).", valueName: "name"))
    var profile: String?
    @Option(help: ArgumentHelp("How long to wait for the camera's answer (and, for list/status, for retained status). Default: control.command_timeout_seconds.", valueName: "duration"))
    var timeout: TimeSpan?
}

/// One CLI invocation's broker connection: configuration, profiles, and what to do on failure.
struct CameraSession {
    let configuration: Configuration
    let settings: ControlSettings
    let control: CameraControl
    let timeout: Duration

    /// `onlyDefaultProfile`: one registry and controller (the benchmark), not one per profile.
    init(_ options: CameraOptions, onlyDefaultProfile: Bool = false) throws {
        configuration = try options.config.load()
        // Results go to stdout; only problems to stderr (not one info line per command).
        LogSink.bootstrap(level: .warning)
        do {
            var settings = try ControlSettings(configuration: configuration, brokerOverride: options.broker)
            if let flag = options.timeout { settings.commandTimeout = flag.duration }
            self.settings = settings
            control = try CameraControl(settings: settings, profiles: try settings.loadProfiles(),
                                        only: options.profile ?? (onlyDefaultProfile ? settings.defaultProfile : nil))
        } catch {
            printError("camhost: \(error)")
            throw ExitCode(error.kind == .usage ? 64 : 78)
        }
        timeout = settings.commandTimeout
    }

    /// Subscribes and connects; exits 69 with the broker's reason when that fails.
    func connect() throws -> CameraControl {
        let control = self.control, url = settings.brokerURL
        try BlockingTask.run {
            try await control.start()
            do {
                try await control.connect()
            } catch let error as MosquittoError {
                printError("camhost: cannot reach the MQTT broker \(url): \(error)")
                throw ExitCode(69)
            }
        }
        return control
    }

    /// Connects, runs `body`, disconnects.
    func run<T: Sendable>(_ body: @escaping @Sendable (CameraControl) async throws -> T) throws -> T {
        let control = try connect()
        return try BlockingTask.run {
            do {
                let value = try await body(control)
                await control.stop()
                return value
            } catch {
                await control.stop()
                throw error
            }
        }
    }
}

/// reboot / mode: send, audit, print, exit by outcome.
func sendCommand(_ command: CameraCommand, to id: String, options: CameraOptions, json: Bool) throws {
    let camera = try parseCameraID(id)
    let session = try CameraSession(options)
    let audit = CameraCommandAudit(store: try openStore(session.configuration, makingDirectory: true,
                                                        consequence: "the audit log is required, nothing was sent"))
    let actor = cliActor()
    // The camera's profile (and, for a mode, whether the camera is known at all) comes with its
    // retained status, which the broker delivers right after subscribing.
    let isModeChange: Bool
    if case .setMode = command { isModeChange = true } else { isModeChange = false }
    let needsSettle = isModeChange || (options.profile == nil && session.control.profiles.count > 1)
    let outcome: Result<CommandResult, any Error>
    do {
        let control = try session.connect()
        outcome = try BlockingTask.run {
            if needsSettle { await control.settle(quiet: .milliseconds(100), limit: .seconds(1)) }
            let result: Result<CommandResult, any Error>
            do {
                result = .success(try await control.send(command, to: camera, actor: actor, audit: audit, requireKnownCamera: isModeChange) { error in
                    printError("camhost: warning: the audit row was not written: \(error)")
                })
            } catch {
                result = .failure(error)
            }
            await control.stop()
            return result
        }
    } catch let exit as ExitCode {
        try? audit.record(actor: actor, command: command, camera: camera.rawValue, error: "broker unreachable: \(session.settings.brokerURL)")
        throw exit
    }
    switch outcome {
    case .success(let result):
        if json {
            printOut(#"{"camera": \#(jsonString(camera.rawValue)), "command": \#(jsonString(command.kind.rawValue)), "result": "\#(result.outcome.name)", "latency_ms": \#(formatMilliseconds(result.latencyMilliseconds))}"#)
        } else {
            printOut("\(camera): \(command.kind.rawValue)\(modeSuffix(command)): \(result.outcome.name) in \(formatMilliseconds(result.latencyMilliseconds)) ms")
        }
        switch result.outcome {
        case .done, .accepted: return
        case .failed(let reason):
            printError("camhost: camera \(camera) refused \(command.kind.rawValue): \(reason)")
            throw ExitCode(1)
        case .timedOut:
            printError("camhost: camera \(camera) did not answer \(command.kind.rawValue) within \(session.timeout) (is it online? `camhost camera status \(camera)`)")
            throw ExitCode(2)
        }
    case .failure(let error):
        if let error = error as? UnknownCameraError {
            printError("camhost: \(error)")
            throw ExitCode(3)
        }
        if let error = error as? CommandError {
            printError("camhost: \(error)")
            throw ExitCode(64)
        }
        printError("camhost: \(error)")
        throw ExitCode(69)
    }
}

private func modeSuffix(_ command: CameraCommand) -> String {
    if case .setMode(let mode) = command { return " \(mode)" }
    return ""
}

func parseCameraID(_ text: String) throws -> CameraID {
    guard let id = CameraID(text) else {
        throw ValidationError("bad camera id \"\(text)\": use 1–64 letters, digits, '.', '_' or '-'")
    }
    return id
}

/// `{"id": s, "online": b, "mode": s, "profile": s, "last_seen": s}`, keys in this order.
func listJSON(_ status: CameraStatus) -> String {
    let entry = status.listEntry
    return #"{"id": \#(jsonString(entry.id)), "online": \#(entry.online), "mode": \#(jsonString(entry.mode)), "profile": \#(jsonString(entry.profile)), "last_seen": \#(jsonString(entry.lastSeen))}"#
}

/// The list entry plus `"firmware"` and `"stream"` (status, watch).
func statusJSON(_ status: CameraStatus) -> String {
    String(listJSON(status).dropLast()) + #", "firmware": \#(jsonString(status.firmware)), "stream": \#(jsonString(status.stream))}"#
}

/// What `watch` compares to decide that a camera changed.
struct StatusOutput: Equatable, Sendable {
    var id: String
    var online: Bool
    var mode: String
    var profile: String
    var lastSeen: String
    var firmware: String
    var stream: String

    init(_ status: CameraStatus) {
        id = status.id.rawValue
        online = status.online
        mode = status.mode
        profile = status.profile
        lastSeen = status.listEntry.lastSeen
        firmware = status.firmware
        stream = status.stream
    }
}

/// Left-aligned columns, two spaces apart.
func table(_ header: [String], _ rows: [[String]]) -> String {
    let all = [header] + rows
    let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
    return all.map { row in
        row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
        }.joined(separator: "  ")
    }.joined(separator: "\n")
}

/// `cli:<login name>`: who ran a command, for audit rows (camera commands, accounts, tokens).
func cliActor() -> String {
    "cli:" + (Users.name(of: Users.effectiveUserID) ?? "uid\(Users.effectiveUserID)")
}
