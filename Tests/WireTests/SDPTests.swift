import Testing
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// The SDP fixtures (real ffmpeg output, a Kurento answer, the old platform's offer, ...) live with
/// the Media tests that lint them; here they check the parser and renderer.
let sdpFixtures: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)  // Tests/WireTests/<file>
    return parts.joined(separator: "/") + "/Tests/MediaTests/Fixtures/sdp"
}()

func sdpFixture(_ name: String) throws -> String {
    guard let file = fopen("\(sdpFixtures)/\(name)", "r") else { throw SDPTestFailure("cannot open \(name)") }
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

struct SDPTestFailure: Error { let message: String; init(_ m: String) { message = m } }

func crlf(_ text: String) -> String {
    // "\r\n" is one Character (a grapheme cluster), so split on either ending.
    text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).joined(separator: "\r\n")
}

func parseError(_ text: String) -> SDPError? {
    do { _ = try SessionDescription(parsing: text); return nil } catch { return error }
}

@Suite struct SDPTests {
    static let fixtures = ["ffmpeg-rtp.sdp", "old-platform.sdp", "kurento-answer.sdp", "comedia-partial.sdp", "direct-ok.sdp"]

    @Test(arguments: fixtures) func fixturesRoundTripExactly(name: String) throws {
        let text = try sdpFixture(name)
        let parsed = try SessionDescription(parsing: text)
        #expect(parsed.text == crlf(text), "\(name)")
        #expect(try SessionDescription(parsing: parsed.text) == parsed)
        // LF line ends (what people paste) give the same description.
        #expect(try SessionDescription(parsing: text.split(separator: "\r\n", omittingEmptySubsequences: false).joined(separator: "\n")) == parsed)
    }

    @Test func kurentoAnswerIsTyped() throws {
        let answer = try SessionDescription(parsing: try sdpFixture("kurento-answer.sdp"))
        #expect(answer.connection == SDPConnection(IPAddress(172, 17, 0, 2)))
        #expect(answer.connection?.ipAddress == IPAddress(172, 17, 0, 2))
        let video = try #require(answer.media.first)
        #expect(video.media == SDPMedia(type: "video", port: 23472, transport: "RTP/AVPF", formats: ["96"]))
        #expect(video.media.usesFeedbackProfile && video.media.isRTP)
        #expect(video.connection == nil)
        #expect(video.rtcp?.port == 23473 && video.rtcp?.connection == nil)
        #expect(!video.isRTCPMultiplexed)
        #expect(video.direction == .recvonly)
        #expect(video.connectionDirection == .passive)
        #expect(video.rtpMaps == [SDPRTPMap(payloadType: 96, encoding: "H264", clockRate: 90000)])
        #expect(video.formatParameters(for: "96") == "packetization-mode=1")
        #expect(video.formatParameters(for: "97") == nil)
        #expect(video.rtcpFeedback == [
            SDPFeedback(format: "96", type: "goog-remb"), SDPFeedback(format: "96", type: "ccm", parameter: "fir"),
            SDPFeedback(format: "96", type: "nack"), SDPFeedback(format: "96", type: "nack", parameter: "pli"),
        ])
        #expect(video.attributes.last == .ssrc(id: 2_787_413_207, attribute: "cname", value: "user3413474150@host-7f2c0e5a"))
        #expect(answer.lines.first == .version(0))
        #expect(answer.lines.contains(.sessionName("Kurento Media Server")))
        #expect(answer.lines.contains(.timing(start: 0, stop: 0)))
    }

    @Test func unknownLinesAndAttributesKeepTheirPlace() throws {
        let text = "v=0\r\no=- 1 2 IN IP6 2001:db8::1\r\ns= \r\ni=session info\r\nu=http://example.com/x\r\ne=ops@example.com\r\nc=IN IP6 ff1e::1/3\r\nb=CT:1000\r\nt=3000000000 3000003600\r\nr=7d 1h 0 25h\r\nz=2882844526 -1h\r\nk=prompt\r\na=recvonly\r\na=tool:foo\r\nm=audio 49170/2 RTP/AVP 0 8\r\ni=media info\r\nc=IN IP4 mic.example.com\r\nk=clear:x\r\na=x-weird:1 2 3\r\na=rtcp:53020 IN IP4 126.16.64.4\r\na=rtpmap:0 PCMU/8000/1\r\na=fmtp:8\r\na=mid\r\nm=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\na=rtcp-fb:* trr-int 100\r\ny=future line type\r\n"
        let parsed = try SessionDescription(parsing: text)
        #expect(parsed.text == text)
        #expect(parsed.lines[3] == .other(type: "i", value: "session info"))
        #expect(parsed.connection?.ipAddress == IPAddress("ff1e::1"))
        #expect(parsed.attributes == [.mediaDirection(.recvonly), .other(name: "tool", value: "foo")])
        let audio = parsed.media[0]
        #expect(audio.media.portCount == 2 && audio.media.formats == ["0", "8"])
        #expect(audio.connection?.ipAddress == nil && audio.connection?.address == "mic.example.com")
        #expect(audio.rtcp?.port == 53020 && audio.rtcp?.connection?.ipAddress == IPAddress(126, 16, 64, 4))
        #expect(audio.rtpMaps.first?.channels == 1)
        #expect(audio.attributes.contains(.other(name: "x-weird", value: "1 2 3")))
        #expect(audio.attributes.contains(.other(name: "mid", value: nil)))
        #expect(audio.formatParameters(for: "8") == "")
        #expect(parsed.media[1].lines.last == .other(type: "y", value: "future line type"))
        #expect(parsed.media[1].rtcpFeedback == [SDPFeedback(format: "*", type: "trr-int", parameter: "100")])
        #expect(!parsed.media[1].media.isRTP)
    }

    @Test func lineNumbersPointBackIntoTheText() throws {
        let parsed = try SessionDescription(parsing: try sdpFixture("comedia-partial.sdp"))
        let lines = parsed.text.split(separator: "\r\n").map(String.init)
        #expect(lines[parsed.lineNumber(line: 3) - 1] == "t=0 0")
        #expect(lines[parsed.lineNumber(media: 0) - 1] == "m=audio 9 RTP/AVP 0")
        #expect(lines[parsed.lineNumber(media: 1) - 1] == "m=video 9 RTP/AVPF 96")
        #expect(lines[parsed.lineNumber(media: 1, line: 1) - 1] == "a=direction:active")
        #expect(parsed.media[1].lines[1].text == "a=direction:active")
    }

    @Test func builtDescriptionsRender() throws {
        let camera = IPAddress(192, 0, 2, 20)
        let description = SessionDescription(lines: [
            .version(0), .origin(SDPOrigin(sessionID: "7", sessionVersion: "1", address: camera)), .sessionName("x"), .timing(start: 0, stop: 0),
        ], media: [MediaDescription(media: SDPMedia(type: "video", port: 9, transport: "RTP/AVPF", formats: ["96"]), lines: [
            .connection(SDPConnection(IPAddress("2001:db8::20")!)), .bandwidth(type: "AS", value: 2000), .attribute(.rtcpMux),
            .attribute(.direction(.active)), .attribute(.mediaDirection(.sendonly)),
            .attribute(.rtcp(port: 9, connection: SDPConnection(camera))),
            .attribute(.ssrc(id: 1, attribute: "cname", value: nil)),
        ])])
        #expect(description.text == "v=0\r\no=- 7 1 IN IP4 192.0.2.20\r\ns=x\r\nt=0 0\r\nm=video 9 RTP/AVPF 96\r\nc=IN IP6 2001:db8::20\r\nb=AS:2000\r\na=rtcp-mux\r\na=direction:active\r\na=sendonly\r\na=rtcp:9 IN IP4 192.0.2.20\r\na=ssrc:1 cname\r\n")
        #expect(try SessionDescription(parsing: description.text) == description)
    }

    /// Each malformed input: the line number the error names and a word of its message.
    static let malformed: [(String, Int, String)] = [
        ("", 1, "empty SDP"),
        ("\r\n\r\n", 1, "empty SDP"),
        ("o=- 0 0 IN IP4 1.2.3.4\r\n", 1, "starts with v=0"),
        ("v=1\r\n", 1, "version 0"),
        ("v=0\r\ns=x\r\n", 2, "no o= line"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\nt=0 0\r\nm=video 1 RTP/AVP 96\r\n", 4, "no s= line"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\no=- 0 0 IN IP4 1.2.3.4\r\n", 3, "second o="),
        ("v=0\r\no=- x 0 IN IP4 1.2.3.4\r\ns=-\r\n", 2, "<sess-id>"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\n\r\nt=0 0\r\n", 4, "empty line"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4\r\n", 4, "c=<nettype>"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 999.0.0.1\r\n", 4, "c=<nettype>"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 ::1\r\n", 4, "c=<nettype>"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP6 10.0.0.1\r\n", 4, "c=<nettype>"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 224.2.1.1/ttl\r\n", 4, "c=<nettype>"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nb=AS:fast\r\n", 4, "b=<bwtype>"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nt=0\r\n", 4, "t=<start-time>"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nc = IN IP4 1.2.3.4\r\n", 4, "not an SDP line"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nC=IN IP4 1.2.3.4\r\n", 4, "not an SDP line"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nhello\r\n", 4, "not an SDP line"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=a\rb\r\n", 3, "CR character"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nm=video x RTP/AVP 96\r\n", 4, "m=<media>"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nm=video 70000 RTP/AVP 96\r\n", 4, "m=<media>"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nm=video 5004 RTP/AVP\r\n", 4, "m=<media>"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nm=video 5004 RTP/AVP 96\r\nt=0 0\r\n", 5, "session level"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nm=video 5004 RTP/AVP 96\r\na=rtcp:abc\r\n", 5, "a=rtcp:<port>"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nm=video 5004 RTP/AVP 96\r\na=rtcp:5005 IN IP4\r\n", 5, "a=rtcp:<port>"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nm=video 5004 RTP/AVP 96\r\na=rtcp:5005 IN IP4 0.0.0.0.0\r\n", 5, "valid address"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nm=video 5004 RTP/AVP 96\r\na=rtcp-mux:1\r\n", 5, "without a value"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nm=video 5004 RTP/AVP 96\r\na=rtcp-fb:96\r\n", 5, "a=rtcp-fb:"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nm=video 5004 RTP/AVP 96\r\na=rtcp-fb:200 nack\r\n", 5, "a=rtcp-fb:"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nm=video 5004 RTP/AVP 96\r\na=rtpmap:96 H264\r\n", 5, "a=rtpmap:"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nm=video 5004 RTP/AVP 96\r\na=rtpmap:96 H264/0\r\n", 5, "a=rtpmap:"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nm=video 5004 RTP/AVP 96\r\na=rtpmap:96 opus/48000/two\r\n", 5, "channels"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nm=video 5004 RTP/AVP 96\r\na=fmtp: x\r\n", 5, "a=fmtp:"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nm=video 5004 RTP/AVP 96\r\na=ssrc:abc cname:x\r\n", 5, "a=ssrc:"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nm=video 5004 RTP/AVP 96\r\na=ssrc:1\r\n", 5, "a=ssrc:"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nm=video 5004 RTP/AVP 96\r\na=direction:sideways\r\n", 5, "a=direction:"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nm=video 5004 RTP/AVP 96\r\na=sendonly:yes\r\n", 5, "without a value"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nm=video 5004 RTP/AVP 96\r\na=\r\n", 5, "a=<attribute>"),
        ("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nm=video 5004 RTP/AVP 96\r\na=bad name:1\r\n", 5, "a=<attribute>"),
    ]

    @Test(arguments: malformed.indices) func malformedLinesAreNamed(index: Int) throws {
        let (text, line, words) = Self.malformed[index]
        let error = try #require(parseError(text), "accepted: \(text.debugDescription)")
        #expect(error.line == line, "\(error)")
        #expect(error.description.contains(words), "\(error)")
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map(String.init)
        if !text.isEmpty, line <= lines.count, error.problem != .empty {
            #expect(error.text == lines[line - 1], "\(error)")
            #expect(error.description.hasPrefix("line \(line) \"\(lines[line - 1])\": "))
        }
    }

    @Test func severalDescriptionsInOneText() throws {
        let one = try sdpFixture("old-platform.sdp"), two = try sdpFixture("kurento-answer.sdp")
        let all = try SessionDescription.parseAll("\r\n" + one + "\r\n\r\n" + two)
        #expect(all.map(\.firstLine) == [2, 16])
        let first = try SessionDescription(parsing: one), second = try SessionDescription(parsing: two)
        #expect(all[0].description == first && all[1].description == second)
        // Errors name the line of the whole text; a single-description parse refuses the second v=.
        let broken = one + two.replacingOccurrences(of: "a=rtcp:23473", with: "a=rtcp:x")
        #expect(throws: SDPError(line: 21, text: "a=rtcp:x", problem: .badValue(expected: "a=rtcp:<port> [IN IP4 <address>] (RFC 3605), e.g. a=rtcp:5005"))) {
            try SessionDescription.parseAll(broken)
        }
        #expect(parseError(one + two)?.problem == .sessionLevelOnly("v"))
        #expect(throws: SDPError(line: 1, text: "", problem: .empty)) { try SessionDescription.parseAll("\n\n") }
    }

    @Test func longLinesAreCutInErrors() throws {
        let error = try #require(parseError("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 " + String(repeating: "9", count: 1000) + "\r\n"))
        #expect(error.line == 4 && error.text.count == 201 && error.text.hasSuffix("…"))
    }

    @Test func multicastAndNetworkBytes() {
        #expect(IPAddress(224, 0, 0, 1).isMulticast && IPAddress(239, 255, 255, 250).isMulticast && IPAddress("ff02::1")!.isMulticast)
        #expect(IPAddress("::ffff:224.1.2.3")!.isMulticast)
        #expect(!IPAddress(223, 255, 255, 255).isMulticast && !IPAddress(240, 0, 0, 1).isMulticast && !IPAddress("fe80::1")!.isMulticast)
        #expect(IPAddress(networkBytes: [192, 0, 2, 1]) == IPAddress(192, 0, 2, 1))
        #expect(IPAddress(networkBytes: [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [1]) == IPAddress("2001:db8::1"))
        #expect(IPAddress(networkBytes: [1, 2, 3]) == nil)
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
