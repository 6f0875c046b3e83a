import Appliance
import ArgumentParser
import Control
import JSONText
import Media
import POSIX
import Storage
import Wire

struct SDPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sdp",
        abstract: "Make and check the SDP offers that tell a media server (Kurento) where a camera's RTCP goes.",
        discussion: """
            Kurento sends a camera's RTCP feedback to the address in the offer's c= line (media \
            level first) at the a=rtcp port. An offer with 0.0.0.0, loopback or this host's own \
            address makes Linux deliver it over lo: the camera hears nothing and stops streaming \
            after its RTCP time-out (the loopback trap). See docs/sdp.md.

            Examples:
              camhost sdp offer --camera gate
              camhost sdp offer --camera gate --address 192.168.1.20 --profile acme-json --json
              camhost sdp check offer.sdp --camera 192.168.1.20
              curl -s http://old-platform/offer | camhost sdp check - --json
            """,
        subcommands: [Offer.self, Check.self])

    struct Offer: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the SDP offer camhost would give Kurento for a camera.",
            discussion: """
                The camera's address and firmware profile come from the cameras table of the \
                database (storage.database); --address and --profile override them, and give them \
                for a camera the database does not know. A camera without a known profile gets \
                control.default_profile. The profile's [stream] section chooses the mode \
                (docs/control.md): direct (c= and m= name the camera's address and RTP port) or \
                comedia (port 9, a=direction:active: Kurento >= 6.6.2 answers to where the RTP \
                comes from). An address that would spring the loopback trap (0.0.0.0, ::, \
                loopback, multicast, an address of this host) is refused, never printed.

                Exit codes: 0 printed; 1 refused (the address would spring the trap); 3 the camera \
                is not in the database and --address is missing; 64 usage; 71 this host's \
                addresses cannot be listed; 74 the database cannot be read; 78 bad configuration \
                or firmware profile.

                Examples:
                  camhost sdp offer --camera gate
                  camhost sdp offer --camera lab-1 --address 10.0.0.20 --profile plainval --json
                """)

        @OptionGroup var config: ConfigOptions
        @Option(help: ArgumentHelp("The camera's id (as in the cameras table and on MQTT).", valueName: "id"))
        var camera: String
        @Option(help: ArgumentHelp("The camera's IP address (the one its RTP comes from); overrides the database.", valueName: "ip"))
        var address: String?
        @Option(help: ArgumentHelp("Firmware profile name (control.profiles_dir); overrides the database.", valueName: "name"))
        var profile: String?
        @Flag(help: "Print JSON: {\"camera\": s, \"address\": s, \"profile\": s, \"mode\": \"direct\"|\"comedia\", \"sdp\": s}.")
        var json = false

        func validate() throws {
            guard CameraID(camera) != nil else { throw ValidationError("--camera \(camera): a camera id is 1-64 letters, digits, '.', '_' or '-'") }
            if let address, IPAddress(address) == nil { throw ValidationError("--address \(address): not an IP address (e.g. 192.168.1.20 or 2001:db8::20)") }
        }

        func run() throws {
            let configuration = try config.load()
            let id = CameraID(camera)!
            var record: CameraRecord? = nil
            if address == nil || profile == nil {
                do {
                    record = try CameraTable(store: try configuration.openStore()).find(camera)
                } catch {
                    printError("camhost: cannot read the cameras table in \(configuration.databasePath): \(error)")
                    throw ExitCode(74)
                }
            }
            let addressText = address ?? record.flatMap { $0.address.isEmpty ? nil : $0.address }
            guard let addressText else {
                printError(record == nil
                           ? "camhost: camera \(camera) is not in the database (\(configuration.databasePath)): give its address with --address IP (and --profile NAME)"
                           : "camhost: the database has no address for camera \(camera): give it with --address IP")
                throw ExitCode(3)
            }
            guard let ip = IPAddress(addressText) else {
                printError("camhost: the database gives camera \(camera) the address \"\(addressText)\", not an IP address: give it with --address IP")
                throw ExitCode(3)
            }
            let chosen: FirmwareProfile
            do throws(ControlSetupError) {
                let settings = try ControlSettings(configuration: configuration)
                let profiles = try settings.loadProfiles()
                let fromDatabase = record.flatMap { $0.profile.isEmpty || $0.profile == "unknown" ? nil : $0.profile }
                let name = profile ?? fromDatabase ?? settings.defaultProfile
                guard let found = profiles[name] else {
                    throw ControlSetupError(kind: profile == nil ? .configuration : .usage,
                                            message: "no firmware profile named \"\(name)\" in \(settings.profilesDirectory); profiles there: \(profiles.keys.sorted().joined(separator: ", "))")
                }
                chosen = found
            } catch {
                printError("camhost: \(error)")
                throw ExitCode(error.kind == .usage ? 64 : 78)
            }
            let hosts: [IPAddress]
            do throws(Errno) {
                hosts = try HostAddresses.current()
            } catch {
                printError("camhost: cannot list this host's addresses (getifaddrs): \(error)")
                throw ExitCode(71)
            }
            let offer: KurentoOffer
            do throws(OfferError) {
                offer = try KurentoOffer(camera: id, address: ip, stream: chosen.stream, hostAddresses: hosts)
            } catch {
                printError("camhost: camera \(camera): \(error)")
                throw ExitCode(1)
            }
            if json {
                let mode = if case .direct = chosen.stream.offer { "direct" } else { "comedia" }
                printOut("{\"camera\": \(jsonQuoted(camera)), \"address\": \(jsonQuoted(ip.description)), \"profile\": \(jsonQuoted(chosen.name)), \"mode\": \"\(mode)\", \"sdp\": \(jsonQuoted(offer.text))}")
            } else {
                print(offer.text, terminator: "")
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Lint an SDP offer: would the media server's RTCP reach the camera?",
            discussion: """
                Reads SDP from FILE (or standard input with -): one description, or several one \
                after another (each from its v= line, e.g. a log of offers). Reports, with \
                line numbers and the fix for each: trap findings (RTCP would go to 0.0.0.0 or ::, \
                loopback, or an address of this host) and warnings (RTP/AVP so no REMB, NACK or \
                PLI; a media line without its own c=; COMEDIA on some media lines only; c= not \
                the camera given with --camera; ...).

                Verdicts and exit codes:
                  0  ok        nothing found
                  1  trap      RTCP would not leave this host
                  3  warning   warnings only
                  64 usage error
                  65 not valid SDP (the message names the line)
                  66 FILE cannot be read

                Examples:
                  camhost sdp check offer.sdp
                  camhost sdp check offer.sdp --camera 192.168.1.20 --json
                  camhost sdp offer --camera gate | camhost sdp check -
                """)

        @Argument(help: ArgumentHelp("The SDP file, or - for standard input.", valueName: "file"))
        var file: String
        @Option(help: ArgumentHelp("The camera's IP address: c= should name it.", valueName: "ip"))
        var camera: String?
        @Flag(help: "Print JSON: {\"verdict\": s, \"findings\": [{\"line\": n, \"severity\": \"trap\"|\"warning\", \"message\": s, \"fix\": s}]}.")
        var json = false

        func validate() throws {
            if let camera, IPAddress(camera) == nil { throw ValidationError("--camera \(camera): not an IP address (e.g. 192.168.1.20 or 2001:db8::20)") }
        }

        func run() throws {
            let bytes: [UInt8]
            do throws(Errno) {
                if file == "-" {
                    bytes = try FileDescriptor.standardInput.readAll()
                } else {
                    do throws(SystemError) { bytes = try FileSystem.readFile(file) } catch { throw error.errno }
                }
            } catch {
                printError("camhost: cannot read \(file == "-" ? "standard input" : file): \(error)")
                throw ExitCode(66)
            }
            // Without the host's addresses the check still knows unspecified and loopback ones.
            let hosts = (try? HostAddresses.current()) ?? []
            let result: SDPCheck
            do throws(SDPError) {
                result = try SDPCheck(text: String(decoding: bytes, as: UTF8.self), camera: camera.flatMap { IPAddress($0) }, hostAddresses: hosts)
            } catch {
                printError("camhost: \(file == "-" ? "standard input" : file): not valid SDP: \(error)")
                throw ExitCode(65)
            }
            printOut(json ? result.json : result.text)
            throw ExitCode(result.verdict.exitCode)
        }
    }
}
