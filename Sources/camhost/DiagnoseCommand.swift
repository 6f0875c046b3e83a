import ArgumentParser
import Capture
import POSIX
import Synchronization
import Wire

struct DiagnoseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diagnose",
        abstract: "Diagnose the media path on the wire.",
        subcommands: [RTCP.self])

    struct RTCP: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rtcp",
            abstract: "Check on the wire that a camera's RTCP feedback reaches it, or falls into the loopback trap.",
            discussion: """
                Kurento sends RTCP feedback (receiver reports, REMB, NACK, PLI) to the address in the \
                SDP offer it was given. An offer saying c=IN IP4 0.0.0.0 makes Linux deliver that \
                feedback locally over lo: the camera hears nothing and drops the stream after about \
                ten seconds. This command captures RTCP (found on any UDP port; --ports narrows it), \
                sorts it into to the camera / from the camera / on loopback / other, and says which \
                case this is, with the evidence and the SDP line to fix. Without --read it captures \
                live on `any` (loopback and the camera's interface at once) for --duration; Ctrl-C \
                ends it early and still reports.

                Verdicts and exit codes:
                  0  healthy        feedback is addressed to the camera
                  1  trap           none reaches the camera; feedback about its stream goes over loopback
                  2  no-rtcp        no feedback at all (no RTCP, or only the camera's own SR/SDES/BYE)
                  3  indeterminate  nothing reached the camera, but the interfaces captured could not
                                    show loopback (or the camera's side): capture on `any`
                  64 usage error    65 unreadable or malformed capture file
                  69 capture device failed   73 --write file cannot be created
                  77 no permission to capture: run as root, or once
                     sudo setcap cap_net_raw,cap_net_admin=eip $(which camhost)

                Examples:
                  camhost diagnose rtcp --camera 192.168.1.20
                  camhost diagnose rtcp --camera 192.168.1.20 --duration 30s --write /tmp/rtcp.pcap
                  camhost diagnose rtcp --camera 192.168.1.20 --interface lo --interface eth0 --ports 5004-5005
                  camhost diagnose rtcp --camera 192.168.1.20 --read capture.pcapng --json
                """)

        @Option(help: ArgumentHelp("The camera's IP address (IPv4 or IPv6).", valueName: "ip"))
        var camera: IPAddress

        @Option(name: .customLong("interface"), help: ArgumentHelp("Interface to capture on; repeat for several. Default: any.", valueName: "any|name"))
        var interfaces: [String] = []

        @Option(help: ArgumentHelp("How long to capture live: 15s, 500ms, 2m, or seconds.", valueName: "time"))
        var duration = TimeSpan(argument: "15s")!

        @Option(help: ArgumentHelp("Read a pcap or pcapng file instead of capturing.", valueName: "file"))
        var read: String?

        @Option(help: ArgumentHelp("Save the RTCP datagrams seen as a pcap file (opens in Wireshark).", valueName: "file"))
        var write: String?

        @Option(help: ArgumentHelp("Only UDP ports in this list, e.g. 5004,5005 or 5000-5010.", valueName: "list"))
        var ports: PortList?

        @Flag(help: "Print JSON: {\"verdict\", \"camera\", \"rtcp\": {\"to_camera\", \"from_camera\", \"on_loopback\", \"other\"}, \"evidence\", ...}.")
        var json = false

        func validate() throws {
            guard duration.milliseconds > 0, duration.milliseconds <= 86_400_000 else { throw ValidationError("--duration \(duration): use e.g. 15s, 500ms, 2m or a number of seconds (more than 0, at most 24h)") }
            if read != nil && !interfaces.isEmpty { throw ValidationError("--read and --interface exclude each other: a file is read as it was captured") }
            if let read, let write, read == write { throw ValidationError("--write must not overwrite the --read file") }
        }

        func run() throws {
            var request = TrapDiagnosis.Request(camera: camera)
            request.interfaces = interfaces
            request.duration = duration.duration
            request.readPath = read
            request.writePath = write
            request.ports = ports?.ports ?? []
            // Ctrl-C ends a live capture early and still reports what was seen.
            Signals.catchInterrupt()
            request.shouldStop = { Signals.interrupted.load(ordering: .relaxed) }
            let showProgress = read == nil && FileDescriptor.standardError.isTerminal
            let total = duration.text
            let where_ = interfaces.isEmpty ? "any" : interfaces.joined(separator: ",")
            var progress: (@Sendable (Duration, CaptureStatistics, [FeedbackRoute: RTCPKindCounts]) -> Void)?
            if showProgress {
                progress = { elapsed, statistics, counts in
                    printErrorRaw(Self.progressLine(where_, elapsed: elapsed, total: total, statistics: statistics, counts: counts))
                }
            }
            let diagnosis: RTCPDiagnosis
            do throws(PcapError) {
                diagnosis = try TrapDiagnosis.run(request, progress: progress)
            } catch {
                if showProgress { printErrorRaw("\r\u{1B}[K") }
                printError("camhost: \(error.input): \(error.message)")
                throw ExitCode(Self.exitCode(for: error, reading: read != nil))
            }
            if showProgress { printErrorRaw("\r\u{1B}[K") }
            printOut(json ? diagnosis.json : diagnosis.text)
            throw ExitCode(diagnosis.verdict.exitCode)
        }

        static func progressLine(_ where_: String, elapsed: Duration, total: String, statistics: CaptureStatistics,
                                 counts: [FeedbackRoute: RTCPKindCounts]) -> String {
            let to: Int = counts[.toCamera]?.datagrams ?? 0
            let loop: Int = counts[.onLoopback]?.datagrams ?? 0
            let from: Int = counts[.fromCamera]?.datagrams ?? 0
            return "\rcapturing on \(where_): \(elapsed.components.seconds) s of \(total), \(statistics.frames) frames; RTCP to camera \(to), on loopback \(loop), from camera \(from)   "
        }

        static func exitCode(for error: PcapError, reading: Bool) -> Int32 {
            switch error.code {
            case .permission: 77
            case .noSuchDevice, .usage, .filter: 64
            case .write: 73
            case .malformed: 65
            case .open, .read: reading ? 65 : 69
            }
        }


    }
}


extension Substring {
    var trimmingSpaces: Substring { drop { $0 == " " }.reversed().drop { $0 == " " }.reversed().reduce(into: Substring()) { $0.append($1) } }
}
