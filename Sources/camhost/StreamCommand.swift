import Appliance
import ArgumentParser
import JSONText
import Media
import POSIX
import Security
import Wire

struct StreamCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stream",
        abstract: "Receive camera streams with camhost's own RTP engine.",
        subcommands: [Receive.self, List.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the streams of a running `camhost serve` (its GET /api/v1/streams).",
            discussion: """
                Reads serve's API over HTTPS with an API token: --token, else the CAMHOST_TOKEN \
                environment variable (make one with `camhost token create NAME`). The URL and \
                the certificate to trust default to the configuration's server.listen and \
                tls.certificate, so on the host itself only the token is needed.

                Exit codes: 0 listed; 64 no token or a bad --url; 69 serve cannot be reached or \
                its certificate is not trusted; 77 the token was refused (401/403); 70 another \
                error answer.

                JSON (--json): serve's answer as is, {"streams": [{"camera", "state", "engine", \
                "port", "source", "packets", "lost", "reordered", "foreign_packets", "frames", \
                "keyframes", "bitrate_bps", "jitter_ms", "last_keyframe", "rtcp_sent", \
                "rtcp_to", "remb_bps", "segments_written", ...}]}.

                Examples:
                  CAMHOST_TOKEN=... camhost stream list
                  camhost stream list --url https://nvr.lan:5000 --cacert cert.pem --token ... --json
                """)

        @OptionGroup var options: ConfigOptions

        @Option(help: ArgumentHelp("serve's base URL (default: from server.listen, e.g. https://127.0.0.1:5000).", valueName: "url"))
        var url: String?

        @Option(help: ArgumentHelp("API token (default: $CAMHOST_TOKEN).", valueName: "token"))
        var token: String?

        @Option(help: ArgumentHelp("Certificate (PEM) to trust for serve's HTTPS (default: tls.certificate, serve's own).", valueName: "file"))
        var cacert: String?

        @Flag(help: "Print serve's JSON as is.")
        var json = false

        func run() throws {
            let configuration = try options.load()
            guard let token = token ?? currentEnvironment()["CAMHOST_TOKEN"], !token.isEmpty else {
                printError("camhost: no API token: give --token or set CAMHOST_TOKEN (make one with `camhost token create NAME`)")
                throw ExitCode(64)
            }
            let base = url ?? configuration.listen.url
            let trust = cacert ?? (url == nil ? configuration.tlsCertificatePath : nil)
            let response: HTTPSClient.Response
            do throws(HTTPSClient.Failure) {
                response = try HTTPSClient.request(url: base.hasSuffix("/") ? base + "api/v1/streams" : base + "/api/v1/streams",
                                                   headers: [("Authorization", "Bearer \(token)"), ("Accept", "application/json")],
                                                   trustFile: trust)
            } catch {
                printError("camhost: \(error)")
                throw ExitCode(error.description.hasPrefix("\(base)") ? 64 : 69)
            }
            let text = String(decoding: response.body, as: UTF8.self)
            guard response.status == 200 else {
                printError("camhost: serve answered \(response.status): \(text)")
                throw ExitCode(response.status == 401 || response.status == 403 ? 77 : 70)
            }
            if json { printOut(text); return }
            let value = try? JSONValue(parsing: response.body)
            guard case .array(let streams)? = value?["streams"] else {
                printError("camhost: serve's answer is not the streams list: \(text.prefix(200))")
                throw ExitCode(70)
            }
            printOut(Self.table(streams))
        }

        static func table(_ streams: [JSONValue]) -> String {
            guard !streams.isEmpty else { return "no streams" }
            var rows = [["CAMERA", "STATE", "PORT", "PACKETS", "LOST", "KBIT/S", "JITTER", "RTCP", "SEGMENTS", "DETAIL"]]
            for stream in streams {
                func text(_ key: String) -> String {
                    switch stream[key] {
                    case .string(let s)?: s
                    case .number(let n)?: n == n.rounded() ? String(Int(n)) : String(Int(n.rounded()))
                    default: "-"
                    }
                }
                let kbps = stream["bitrate_bps"]?.intValue.map { String($0 / 1000) } ?? "-"
                rows.append([text("camera"), text("state"), text("port"), text("packets"), text("lost"), kbps, text("jitter_ms") + " ms",
                             text("rtcp_sent") + " to " + text("rtcp_to"), text("segments_written"), text("detail")])
            }
            let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
            return rows.map { row in
                row.enumerated().map { index, cell in index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count) }
                    .joined(separator: "  ")
            }.joined(separator: "\n")
        }
    }

    struct Receive: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Receive one camera's RTP stream in the foreground and answer it with RTCP feedback.",
            discussion: """
                Listens for the camera's H.264 or H.265 RTP on --port (RTCP on --port + 1), puts packets back \
                in order, counts losses and pictures, and sends receiver reports and REMB at least \
                once a second to the address the camera's packets come from: at --camera-rtcp-port, \
                else the port the camera's own RTCP comes from, else its RTP source port + 1. A \
                loopback, unspecified or local --from address is refused (feedback would never \
                leave this host). Packets from any other address are counted and dropped. No broker \
                is needed: for labs, field checks and scripts.

                --feedback adds NACK for lost packets and PLI/FIR when a keyframe is needed; give \
                only those the camera's firmware honours.

                Stops after --duration, or on Ctrl-C or SIGTERM, and prints what it saw.

                Exit codes: 0 RTP arrived; 2 none did; 64 wrong arguments; 69 the port is in use.

                JSON (--json): {"camera", "source": "ip:port", "packets", "lost", "reordered", \
                "foreign_packets", "frames", "keyframes", "rtcp_sent", "rtcp_to": "ip:port", \
                "remb_bps", "segments": [{"path", "duration_ms", "bytes"}]}

                Examples:
                  camhost stream receive --from 192.168.1.20 --port 5004 --duration 30s
                  camhost stream receive --from 192.168.1.20 --port 5004 --feedback nack,pli --json
                  camhost stream receive --from 192.168.1.20 --port 5004 --camera-rtcp-port 6001 --camera gate
                """)

        @Option(help: ArgumentHelp("The camera's IP address: only its packets count, and feedback goes there.", valueName: "ip"))
        var from: String

        @Option(help: ArgumentHelp("Local UDP port for RTP; RTCP uses the next one.", valueName: "n"))
        var port: UInt16

        @Option(help: ArgumentHelp("The camera's RTCP port, when its firmware listens on a fixed one.", valueName: "m"))
        var cameraRTCPPort: UInt16?

        @Option(help: ArgumentHelp("Camera id for the report (default: the --from address).", valueName: "id"))
        var camera: String?

        @Option(help: ArgumentHelp("Video codec of the stream: h264 (RFC 6184) or h265 (RFC 7798).", valueName: "h264|h265"))
        var codec = "h264"

        @Option(help: ArgumentHelp("Record fMP4 segments into this directory (DIR/<camera>/<date>/...mp4; paths in the report are relative to it).", valueName: "dir"))
        var record: String?

        @Option(help: ArgumentHelp("Length of a recorded segment, cut at the next keyframe.", valueName: "seconds"))
        var segmentSeconds: Int = 60

        @Option(help: ArgumentHelp("Stop after this long: 30s, 500ms, 2m, or seconds (default: until Ctrl-C).", valueName: "time"))
        var duration: TimeSpan?

        @Option(help: ArgumentHelp("Feedback besides receiver reports and REMB: a list of nack, pli, fir.", valueName: "list"))
        var feedback: String?

        @Flag(help: "Print the report as JSON.")
        var json = false

        func validate() throws {
            guard IPAddress(from) != nil else {
                throw ValidationError("--from \(from): not an IP address (e.g. 192.168.1.20 or 2001:db8::20)")
            }
            guard port > 0, port < UInt16.max else { throw ValidationError("--port \(port): use 1-65534 (RTCP takes the next port)") }
            if cameraRTCPPort == 0 { throw ValidationError("--camera-rtcp-port 0: use the camera's RTCP port, 1-65535") }
            if let duration, duration.duration <= .zero { throw ValidationError("--duration \(duration): must be more than 0") }
            guard VideoCodec(rawValue: codec) != nil else { throw ValidationError("--codec \(codec): unknown codec; use h264 or h265") }
            if let feedback, case .failure(let error) = FeedbackKinds.parse(feedback) { throw ValidationError("--feedback: \(error)") }
            if let record, record.isEmpty { throw ValidationError("--record: give a directory") }
        }

        func run() throws {
            StopSignals.block()
            let source = IPAddress(from)!
            var configuration = StreamConfiguration(camera: camera ?? from, source: source, port: port)
            configuration.cameraRTCPPort = cameraRTCPPort
            configuration.codec = VideoCodec(rawValue: codec)!
            if let feedback, case .success(let kinds) = FeedbackKinds.parse(feedback) { configuration.feedback = kinds }
            // --record: fMP4 segments under DIR/<camera>/<date>/ (no database: paths are printed).
            var recorder: SegmentRecorder?
            if let record {
                do {
                    recorder = try SegmentRecorder(root: record, camera: configuration.camera, segmentSeconds: segmentSeconds)
                } catch {
                    printError("camhost: --record \(record): \(error)")
                    throw ExitCode(73)
                }
            }
            let receiver: StreamReceiver
            do throws(StreamError) {
                receiver = try StreamReceiver(configuration, sinks: recorder.map { [$0] } ?? [])
            } catch {
                printError("camhost: \(error)")
                switch error {
                case .portInUse: throw ExitCode(69)
                case .socket: throw ExitCode(71)
                case .refusedDestination: throw ExitCode(64)
                }
            }
            receiver.start()
            _ = Signals.wait(for: [.interrupt, .terminate], timeout: duration?.duration)
            let report = receiver.stop()
            let segments = recorder?.close() ?? []
            printOut(json ? Self.json(report, segments: segments) : Self.text(report) + Self.text(segments, root: record))
            throw ExitCode(report.packets > 0 ? 0 : 2)
        }

        static func json(_ report: StreamReport, segments: [SegmentRecorder.Segment] = []) -> String {
            var out = "{\"camera\": "
            jsonQuote(report.camera, into: &out)
            out += ", \"source\": " + (report.source.map(jsonQuoted) ?? "null")
            out += ", \"packets\": \(report.packets), \"lost\": \(report.lost), \"reordered\": \(report.reordered)"
            out += ", \"foreign_packets\": \(report.foreignPackets), \"frames\": \(report.frames), \"keyframes\": \(report.keyframes)"
            out += ", \"rtcp_sent\": \(report.rtcpSent), \"rtcp_to\": " + (report.rtcpTo.map(jsonQuoted) ?? "null")
            out += ", \"remb_bps\": \(report.rembBitrate), \"segments\": ["
            for (index, segment) in segments.enumerated() {
                out += index == 0 ? "{\"path\": " : ", {\"path\": "
                jsonQuote(segment.path, into: &out)
                out += ", \"duration_ms\": \(segment.durationMilliseconds), \"bytes\": \(segment.bytes)}"
            }
            return out + "]}"
        }

        static func text(_ segments: [SegmentRecorder.Segment], root: String?) -> String {
            guard let root else { return "" }
            guard !segments.isEmpty else { return "\n  recorded  nothing (no keyframe arrived) in \(root)" }
            return "\n  recorded  " + segments.map { "\($0.path) (\($0.durationMilliseconds) ms, \($0.bytes) bytes)" }.joined(separator: "\n            ")
        }

        static func text(_ report: StreamReport) -> String {
            guard let source = report.source else {
                return "camera \(report.camera): no RTP arrived (\(report.foreignPackets) datagrams from other addresses dropped)"
            }
            return """
                camera \(report.camera) from \(source)
                  packets   \(report.packets) received, \(report.lost) lost, \(report.reordered) reordered, \(report.late) late or duplicate
                  dropped   \(report.foreignPackets) from other addresses, \(report.malformed) malformed
                  pictures  \(report.frames) (\(report.keyframes) keyframes), \(report.droppedFrames) dropped (damaged or before a keyframe)
                  rate      \(report.bitrate / 1000) kbit/s, jitter \(Int(report.jitterMilliseconds.rounded())) ms, \(report.ssrcChanges) source restarts
                  feedback  \(report.rtcpSent) RTCP datagrams to \(report.rtcpTo ?? "nobody") (\(report.nacksSent) with NACK, \(report.keyframeRequests) keyframe requests), REMB \(report.rembBitrate / 1000) kbit/s
                """
        }
    }
}
