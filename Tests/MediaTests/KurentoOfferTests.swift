import Control
import Media
import Testing
import Wire
#if canImport(Glibc)
import Glibc
#endif

let repository: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)  // Tests/MediaTests/<file>
    return parts.joined(separator: "/")
}()

func shippedProfile(_ name: String) throws -> FirmwareProfile {
    try FirmwareProfile.load(path: "\(repository)/firmware-profiles/\(name).toml")
}

/// A json profile whose `[stream]` section is `stream`.
func profile(stream: String) throws -> FirmwareProfile {
    try FirmwareProfile(toml: """
        [profile]
        name = "t"
        encoding = "json"
        [topics]
        command = "c/{id}/cmd"
        ack = "c/{id}/ack"
        status = "c/{id}/status"
        availability = "c/{id}/avail"
        [availability]
        online = "on"
        offline = "off"
        [json]
        correlation_field = "id"
        command_field = "cmd"
        result_field = "result"
        reason_field = "reason"
        done = ["ok"]
        failed = ["err"]
        [commands.reboot]
        name = "reboot"
        [stream]
        \(stream)
        """, file: "t.toml")
}

func profileError(stream: String) -> ProfileError? {
    do { _ = try profile(stream: stream); return nil } catch let error as ProfileError { return error } catch { return nil }
}

let gate = CameraID("gate")!
let camera = IPAddress(192, 168, 1, 20)
let thisHost = [IPAddress(192, 168, 1, 5), IPAddress.ipv4Loopback]

@Suite struct KurentoOfferTests {
    @Test func directOfferFromTheShippedProfileNamesTheCamera() throws {
        let offer = try KurentoOffer(camera: gate, address: camera, stream: try shippedProfile("acme-json").stream, hostAddresses: thisHost)
        #expect(offer.text == """
            v=0\r
            o=camhost 0 0 IN IP4 192.168.1.20\r
            s=camhost gate\r
            t=0 0\r
            m=video 5004 RTP/AVPF 96\r
            c=IN IP4 192.168.1.20\r
            b=AS:4000\r
            a=sendonly\r
            a=rtpmap:96 H264/90000\r
            a=fmtp:96 packetization-mode=1;profile-level-id=42c01e;sprop-parameter-sets=Z0LAHtkAoC/5cBEAAAMAAQAAAwAyDxYuSA==,aMuDyyA=\r
            a=rtcp-fb:96 goog-remb\r
            a=rtcp-fb:96 nack\r
            a=rtcp-fb:96 nack pli\r
            a=rtcp-fb:96 ccm fir\r

            """)
        // RTCP port 5005 is RTP + 1: no a=rtcp line needed. The offer passes its own lint.
        let check = SDPCheck(try SessionDescription(parsing: offer.text), camera: camera, hostAddresses: thisHost)
        #expect(check.verdict == .ok, "\(check.text)")
    }

    @Test func directOfferWithAnRTCPPortThatIsNotRTPPlusOne() throws {
        let stream = try profile(stream: """
            codec = "H264"
            payload_type = 97
            clock_rate = 90000
            rtcp_timeout_seconds = 8
            rtcp_feedback = ["nack pli"]
            offer = "direct"
            camera_rtp_port = 6000
            rtcp_port = 6100
            """).stream
        #expect(stream.rtcpPort == 6100 && stream.offer == .direct(cameraRTPPort: 6000) && stream.rtcpFeedback == [.pli])
        let offer = try KurentoOffer(camera: gate, address: camera, stream: stream, hostAddresses: thisHost)
        let video = try #require(offer.description.media.first)
        #expect(video.media.port == 6000 && video.media.formats == ["97"])
        #expect(video.rtcp?.port == 6100)
        #expect(video.lines.contains(.attribute(.rtcp(port: 6100, connection: nil))))
        #expect(video.rtcpFeedback == [SDPFeedback(format: "97", type: "nack", parameter: "pli")])
        #expect(video.formatParameters(for: "97") == "packetization-mode=1")
        #expect(!offer.text.contains("b=AS"))
        #expect(SDPCheck(offer.description, camera: camera, hostAddresses: thisHost).verdict == .ok)
    }

    @Test func directOfferWithRTCPMux() throws {
        let stream = try profile(stream: """
            codec = "H264"
            payload_type = 96
            clock_rate = 90000
            rtcp_timeout_seconds = 10
            rtcp_mux = true
            offer = "direct"
            camera_rtp_port = 5004
            rtcp_port = 5004
            """).stream
        let video = try #require(try KurentoOffer(camera: gate, address: camera, stream: stream, hostAddresses: thisHost).description.media.first)
        #expect(video.isRTCPMultiplexed && video.rtcp?.port == 5004)
    }

    @Test func comediaOfferFromTheShippedProfile() throws {
        let stream = try shippedProfile("plainval").stream
        #expect(stream.offer == .comedia && stream.maxBitrateKbps == 2000)
        let offer = try KurentoOffer(camera: gate, address: camera, stream: stream, hostAddresses: thisHost)
        #expect(offer.description.media.count == 1)
        for video in offer.description.media {
            #expect(video.media.port == 9)
            #expect(video.connectionDirection == .active)
            #expect(video.direction == .sendonly)
            #expect(video.rtcp == nil)
            #expect(video.connection == SDPConnection(camera))
        }
        #expect(offer.text.contains("m=video 9 RTP/AVPF 96\r\nc=IN IP4 192.168.1.20\r\nb=AS:2000\r\na=direction:active\r\n"))
        #expect(SDPCheck(offer.description, hostAddresses: thisHost).verdict == .ok)
    }

    static let refused: [(IPAddress, String)] = [
        (.ipv4Unspecified, "unspecified"), (.ipv6Unspecified, "unspecified"), (.ipv4Loopback, "loopback"), (IPAddress(127, 0, 1, 1), "loopback"),
        (.ipv6Loopback, "loopback"), (IPAddress(224, 0, 0, 1), "multicast"), (IPAddress("ff02::1")!, "multicast"),
        (IPAddress(192, 168, 1, 5), "an address of this host"),
    ]

    @Test(arguments: refused.indices) func trapAddressesAreRefusedInEveryMode(index: Int) throws {
        let (address, words) = Self.refused[index]
        for name in ["acme-json", "plainval"] {
            let stream = try shippedProfile(name).stream
            let error = #expect(throws: OfferError.self) {
                _ = try KurentoOffer(camera: gate, address: address, stream: stream, hostAddresses: thisHost)
            }
            let text = "\(error.map { "\($0)" } ?? "")"
            #expect(text.hasPrefix("refused: c=\(address) is ") && text.contains(words) && text.contains("--address"), "\(text)")
        }
    }

    @Test func everyAddressOfThisHostIsRefused() throws {
        let addresses = try HostAddresses.current()
        #expect(addresses.contains(.ipv4Loopback))
        let stream = try shippedProfile("acme-json").stream
        for address in addresses {
            #expect(throws: OfferError.self) { try KurentoOffer(camera: gate, address: address, stream: stream, hostAddresses: addresses) }
        }
    }

    @Test func comediaAnswerWithoutPassiveIsRefused() throws {
        let offer = try KurentoOffer(camera: gate, address: camera, stream: try shippedProfile("plainval").stream, hostAddresses: thisHost)
        let passive = try sdpFixture("kurento-answer.sdp")
        let answer = try offer.accept(answer: passive)
        #expect(answer == KurentoAnswer(address: IPAddress(172, 17, 0, 2), rtpPort: 23472, rtcpPort: 23473))
        let old = passive.replacingOccurrences("a=direction:passive\r\n", "")
        #expect(throws: OfferError.answerNotPassive(line: 6)) { try offer.accept(answer: old) }
        #expect("\(OfferError.answerNotPassive(line: 6))".contains("a=direction:passive"))
        #expect(throws: OfferError.answerRejectedMedia(line: 6)) { try offer.accept(answer: passive.replacingOccurrences("m=video 23472", "m=video 0")) }
        #expect(throws: OfferError.noVideoInAnswer) { try offer.accept(answer: passive.replacingOccurrences("m=video", "m=audio")) }
        let malformed = #expect(throws: OfferError.self) { try offer.accept(answer: passive.replacingOccurrences("a=rtcp:23473", "a=rtcp:x")) }
        guard case .malformedAnswer(let e) = malformed else { Issue.record("not malformedAnswer: \(String(describing: malformed))"); return }
        #expect(e.line == 9)
    }

    @Test func directAnswerNeedsNoPassive() throws {
        let offer = try KurentoOffer(camera: gate, address: camera, stream: try shippedProfile("acme-json").stream, hostAddresses: thisHost)
        let text = try sdpFixture("kurento-answer.sdp").replacingOccurrences("a=direction:passive\r\n", "").replacingOccurrences("a=rtcp:23473\r\n", "")
        #expect(try offer.accept(answer: text) == KurentoAnswer(address: IPAddress(172, 17, 0, 2), rtpPort: 23472, rtcpPort: 23473))
    }

    @Test func streamSectionErrorsNameFileKeyAndLine() throws {
        let base = "codec = \"H264\"\npayload_type = 96\nclock_rate = 90000\nrtcp_timeout_seconds = 10\n"
        // The [stream] header is line 21 of the test profile; its keys follow.
        let cases: [(String, Int, String)] = [
            (base + "offer = \"direct\"", 26, "offer = \"direct\" needs camera_rtp_port"),
            (base + "offer = \"sideways\"", 26, "offer must be"),
            (base + "offer = \"direct\"\ncamera_rtp_port = 70000", 27, "camera_rtp_port must be a UDP port"),
            (base + "rtcp_port = 0", 26, "rtcp_port must be a UDP port"),
            (base + "rtcp_feedback = [\"nack\", \"remb\"]", 26, "unknown rtcp_feedback \"remb\""),
            (base + "max_bitrate_kbps = 0", 26, "max_bitrate_kbps must be"),
            (base + "rtcp_mux = \"yes\"", 26, "rtcp_mux must be true or false"),
            (base + "sprop_parameter_sets = \"Z0LAHt!,aMuDyyA=\"", 26, "sprop_parameter_sets must be base64"),
            (base + "sprop_parameter_sets = \"Z0LAHtk,\"", 26, "sprop_parameter_sets must be base64"),
            (base.replacingOccurrences("\"H264\"", "\"VP8\""), 22, "codec must be"),
            (base + "offer = \"direct\"\ncamera_rtp_port = 5004\nrtcp_port = 5004", 28, "rtcp_mux = true"),
        ]
        for (stream, line, words) in cases {
            let error = try #require(profileError(stream: stream), "\(stream)")
            #expect(error.line == line, "\(error)")
            #expect(error.message.hasPrefix("[stream] "), "\(error)")
            #expect(error.message.contains(words), "\(error)")
            #expect(error.description.hasPrefix("t.toml:\(line): "), "\(error)")
        }
    }

    @Test func streamSectionDefaultsAndDecodedParameterSets() throws {
        let minimal = try profile(stream: "codec = \"H264\"\npayload_type = 96\nclock_rate = 90000\nrtcp_timeout_seconds = 10").stream
        #expect(minimal.offer == .comedia && minimal.rtcpPort == nil && !minimal.rtcpMux && minimal.maxBitrateKbps == nil)
        #expect(minimal.rtcpFeedback.isEmpty && minimal.parameterSets.isEmpty && minimal.spropParameterSets == nil)
        let acme = try shippedProfile("acme-json").stream
        #expect(acme.rtcpFeedback == [.remb, .nack, .pli, .fir])
        #expect(acme.parameterSets.count == 2)
        #expect(acme.parameterSets[0].prefix(4) == [0x67, 0x42, 0xC0, 0x1E])  // SPS: baseline, level 3.0
        #expect(acme.parameterSets[1] == [0x68, 0xCB, 0x83, 0xCB, 0x20])    // PPS
        #expect(acme.rtcpPort == 5005 && acme.offer == .direct(cameraRTPPort: 5004))
    }
}

func sdpFixture(_ name: String) throws -> String {
    guard let file = fopen("\(repository)/Tests/MediaTests/Fixtures/sdp/\(name)", "r") else { throw FixtureMissing(name: name) }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = fread(&buffer, 1, buffer.count, file)
        if n <= 0 { break }
        bytes += buffer[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}

struct FixtureMissing: Error { let name: String }

extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        guard let r = self.firstRange(of: target) else { return self }
        return self.replacingCharacters(in: r, with: replacement)
    }
}
