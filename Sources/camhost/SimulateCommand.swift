import Appliance
import ArgumentParser
import Control
import Logging

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run simulated devices against a real broker, for tests, benchmarks and demos.",
        subcommands: [Cameras.self])

    struct Cameras: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Simulate cameras that speak a firmware profile over MQTT, until Ctrl-C.",
            discussion: """
                Each camera (<prefix>1 … <prefix>N) has its own MQTT connection with a last will \
                ("offline", retained), publishes retained availability and status, and answers \
                commands after --ack-delay, failing --failure-rate of them. Told to start a \
                stream, it sends real H.264 as RTP (RFC 6184: single NAL unit and FU-A packets, at the \
                video's frame rate, looping) to the given address with a sender report each second, \
                and stops after --rtcp-timeout (default: the profile's rtcp_timeout_seconds) when no \
                RTCP comes back — as real firmware does. The video is --video (H.264 Annex B), else \
                a 10-second test pattern made once with ffmpeg (libx264) in the data directory; \
                without ffmpeg the cameras say so and send dummy RTP packets (no pictures).
                All cameras share one network thread (poll), so a thousand fit in one process.

                Exit codes: 0 stopped by Ctrl-C or SIGTERM; 64 wrong arguments; 69 the broker is \
                unreachable; 78 the configuration or the profile is wrong.

                Examples:
                  camhost simulate cameras --count 10 --profile acme-json
                  camhost simulate cameras --count 1000 --profile plainval --broker mqtt://127.0.0.1:1883
                  camhost simulate cameras --count 5 --ack-delay 20ms --failure-rate 0.1 --rtcp-timeout 3s
                """)

        @OptionGroup var config: ConfigOptions
        @Option(help: "How many cameras.") var count = 10
        @Option(help: ArgumentHelp("Firmware profile the cameras speak (default: control.default_profile).", valueName: "name"))
        var profile: String?
        @Option(help: ArgumentHelp("Broker URL. Default: mqtt.broker, or the managed broker.", valueName: "url"))
        var broker: String?
        @Option(help: ArgumentHelp("Delay before each answer.", valueName: "duration")) var ackDelay = TimeSpan(argument: "0ms")!
        @Option(help: ArgumentHelp("Share of commands answered with a failure, 0…1.", valueName: "rate")) var failureRate = 0.0
        @Option(help: ArgumentHelp("Stop a stream after this long without RTCP (default: the profile's).", valueName: "duration"))
        var rtcpTimeout: TimeSpan?
        @Option(help: "Camera id prefix.") var idPrefix = "sim-"
        @Option(help: ArgumentHelp("H.264 Annex-B file the cameras stream (default: a test pattern made with ffmpeg).", valueName: "file"))
        var video: String?
        @Option(help: ArgumentHelp("Frame rate of --video.", valueName: "n")) var fps = 25

        func validate() throws {
            guard (1...100_000).contains(count) else { throw ValidationError("--count must be 1…100000") }
            guard (0...1).contains(failureRate) else { throw ValidationError("--failure-rate must be between 0 and 1") }
            guard (1...240).contains(fps) else { throw ValidationError("--fps must be 1…240") }
        }

        func run() throws {
            StopSignals.block()
            let configuration = try config.load()
            LogSink.bootstrap(level: .warning)
            let settings: ControlSettings
            let chosen: FirmwareProfile
            do throws(ControlSetupError) {
                settings = try ControlSettings(configuration: configuration, brokerOverride: broker)
                let profiles = try settings.loadProfiles()
                let name = profile ?? settings.defaultProfile
                guard let found = profiles[name] else {
                    throw ControlSetupError(kind: .usage, message: "no firmware profile named \"\(name)\" in \(settings.profilesDirectory); profiles there: \(profiles.keys.sorted().joined(separator: ", "))")
                }
                chosen = found
            } catch {
                printError("camhost: \(error)")
                throw ExitCode(error.kind == .usage ? 64 : 78)
            }
            var streamed: SimulatorVideo?
            do throws(SimulatorVideoError) {
                if let video {
                    streamed = try SimulatorVideo(annexB: video, frameRate: fps)
                } else {
                    streamed = try SimulatorVideoMaker.video(at: configuration.dataDirectory + "/simulator/testsrc-640x360-25.h264",
                                                             ffmpeg: configuration[Settings.mediaFfmpeg])
                }
            } catch {
                if video != nil {
                    printError("camhost: --video: \(error)")
                    throw ExitCode(64)
                }
                printError("camhost: \(error); streaming dummy RTP instead")
            }
            var options = settings.options
            options.clientIDPrefix = "camsim"
            let simulator = CameraSimulator(configuration: .init(
                count: count, profile: chosen, broker: options, idPrefix: idPrefix, ackDelay: ackDelay.duration,
                failureRate: failureRate, rtcpTimeout: rtcpTimeout?.duration, video: streamed))
            let url = settings.brokerURL
            try BlockingTask.run {
                do {
                    try await simulator.start()
                } catch {
                    await simulator.stop()
                    printError("camhost: cannot reach the MQTT broker \(url): \(error)")
                    throw ExitCode(69)
                }
            }
            let ids = simulator.cameraIDs
            printOut("simulating \(ids.count) camera\(ids.count == 1 ? "" : "s") (\(ids.first!) … \(ids.last!)) speaking \(chosen.name) on \(url); ack delay \(ackDelay), failure rate \(failureRate); Ctrl-C to stop")
            let signal = StopSignals.wait()
            printError("camhost: \(signal): disconnecting the simulated cameras")
            try BlockingTask.run { await simulator.stop() }
        }
    }
}
