import Media
import Testing
import Wire

func check(_ fixture: String, camera: IPAddress? = nil, hosts: [IPAddress] = thisHost) throws -> SDPCheck {
    SDPCheck(try SessionDescription(parsing: try sdpFixture(fixture)), camera: camera, hostAddresses: hosts)
}

func check(text: String, camera: IPAddress? = nil, hosts: [IPAddress] = thisHost) throws -> SDPCheck {
    SDPCheck(try SessionDescription(parsing: text), camera: camera, hostAddresses: hosts)
}

@Suite struct SDPCheckTests {
    @Test func theOldPlatformsOfferIsATrap() throws {
        let result = try check("old-platform.sdp", camera: camera)
        #expect(result.verdict == .trap && result.verdict.exitCode == 1)
        #expect(result.findings.count == 1)
        let finding = try #require(result.findings.first)
        #expect(finding.line == 4 && finding.severity == .trap)
        #expect(finding.message.contains("would go to 0.0.0.0, the unspecified address") && finding.message.contains("loopback trap"))
        #expect(finding.fix.hasPrefix("c=IN IP4 192.168.1.20 at media level (right after line 6)"))
        #expect(finding.fix.contains("a=direction:active"))
        // Without --camera the fix still says what to write.
        #expect(try check("old-platform.sdp").findings.first?.fix.hasPrefix("c=IN IP4 <camera address>") == true)
    }

    @Test func ffmpegsOwnSDPSendsRTCPToLoopbackAndNegotiatesNoFeedback() throws {
        let result = try check("ffmpeg-rtp.sdp")
        #expect(result.verdict == .trap)
        #expect(result.findings.map(\.line) == [4, 7])
        #expect(result.findings[0].severity == .trap && result.findings[0].message.contains("would go to 127.0.0.1, a loopback address"))
        #expect(result.findings[1].severity == .warning && result.findings[1].message.contains("RTP/AVP: no RTCP feedback"))
        #expect(result.findings[1].fix.hasPrefix("m=video 5004 RTP/AVPF 96"))
    }

    @Test func kurentosAnswerShapeGetsWarnings() throws {
        let result = try check("kurento-answer.sdp", camera: camera)
        #expect(result.verdict == .warning && result.verdict.exitCode == 3)
        let lines = result.findings.map { "\($0.line) \($0.severity)" }
        #expect(lines == ["4 warning", "6 warning", "10 warning"], "\(result.text)")
        #expect(result.findings[0].message.contains("would go to 172.17.0.2, not to the camera 192.168.1.20"))
        #expect(result.findings[1].message.contains("has no c= of its own") && result.findings[1].fix == "add c=IN IP4 172.17.0.2 right after line 6")
        #expect(result.findings[2].message.contains("a=recvonly") && result.findings[2].fix == "a=sendonly")
    }

    @Test func halfComediaIsAWarningOnTheLineWithout() throws {
        let result = try check("comedia-partial.sdp", camera: camera)
        #expect(result.verdict == .warning)
        #expect(result.findings.map(\.line) == [5, 5])
        #expect(result.findings.contains { $0.message.contains("another media line asks for COMEDIA") && $0.fix.hasPrefix("add a=direction:active after line 5") })
        #expect(result.findings.contains { $0.message.contains("RTP/AVP") })
    }

    @Test func aGoodOfferIsOK() throws {
        let result = try check("direct-ok.sdp", camera: camera)
        #expect(result.verdict == .ok && result.findings.isEmpty && result.verdict.exitCode == 0)
        #expect(result.json == #"{"verdict": "ok", "findings": []}"#)
        #expect(result.text.hasPrefix("ok: "))
    }

    @Test func thisHostsOwnAddressIsATrapAsIsAnRTCPAttributeNamingIt() throws {
        let own = try check("direct-ok.sdp", hosts: [camera])
        #expect(own.verdict == .trap)
        #expect(own.findings.map(\.line) == [7])
        #expect(own.findings[0].message.contains("would go to 192.168.1.20, an address of this host"))
        let rtcp = try check(text: try sdpFixture("direct-ok.sdp").replacingOccurrences("a=rtcp:5006", "a=rtcp:5006 IN IP4 127.0.0.1"))
        #expect(rtcp.verdict == .trap && rtcp.findings.map(\.line) == [9])
        #expect(rtcp.findings[0].message.contains("(a=rtcp names it, RFC 3605)"))
    }

    @Test func comediaWithATrapAddressIsOnlyAWarning() throws {
        let text = "v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 RTP/AVPF 96\r\nc=IN IP4 0.0.0.0\r\na=direction:active\r\na=rtpmap:96 H264/90000\r\na=rtcp-fb:96 goog-remb\r\n"
        let result = try check(text: text)
        #expect(result.verdict == .warning)
        #expect(result.findings.map(\.line) == [6])
        #expect(result.findings[0].message.contains("a media server without COMEDIA"))
    }

    @Test func otherWarnings() throws {
        let base = "v=0\r\no=- 0 0 IN IP4 192.168.1.20\r\ns=-\r\nt=0 0\r\n"
        let noConnection = try check(text: base + "m=video 5004 RTP/AVPF 96\r\na=rtcp-fb:96 nack\r\n")
        #expect(noConnection.verdict == .warning && noConnection.findings.map(\.line) == [5])
        #expect(noConnection.findings[0].message.contains("no c= line"))
        let noFeedback = try check(text: base + "m=video 5004 RTP/AVPF 96\r\nc=IN IP4 192.168.1.20\r\n")
        #expect(noFeedback.findings.map(\.message).first?.contains("no a=rtcp-fb line") == true)
        let multicast = try check(text: base + "m=video 5004 RTP/AVPF 96\r\nc=IN IP4 239.1.1.1/16\r\na=rtcp-fb:96 nack\r\n")
        #expect(multicast.verdict == .warning && multicast.findings[0].message.contains("multicast"))
        let name = try check(text: base + "m=video 5004 RTP/AVPF 96\r\nc=IN IP4 cam.example.com\r\na=rtcp-fb:96 nack\r\n")
        #expect(name.verdict == .warning && name.findings[0].message.contains("not an IP address"))
        let nothing = try check(text: base + "m=video 0 RTP/AVPF 96\r\n")
        #expect(nothing.verdict == .warning && nothing.findings[0].message.contains("no RTP media line"))
    }

    @Test func severalOffersGetOneVerdictAndLinesOfTheWholeText() throws {
        let good = try sdpFixture("direct-ok.sdp"), old = try sdpFixture("old-platform.sdp")
        let text = good + "\r\n" + old
        let result = SDPCheck(try SessionDescription.parseAll(text), camera: camera, hostAddresses: thisHost)
        #expect(result.verdict == .trap)
        #expect(result.findings.map(\.line) == [20])  // 15 lines, an empty one, then the old offer's c= on its 4th
        #expect(result.findings[0].message.contains("m=video (line 22)"))
        let fine = SDPCheck(try SessionDescription.parseAll(good + good), camera: camera)
        #expect(fine.verdict == .ok)
    }

    @Test func jsonHasTheContractShapeAndEscapes() throws {
        let result = try check("ffmpeg-rtp.sdp")
        #expect(result.json.hasPrefix(#"{"verdict": "trap", "findings": [{"line": 4, "severity": "trap", "message": ""#))
        #expect(result.json.contains(#"}, {"line": 7, "severity": "warning", "message": ""#))
        #expect(result.json.hasSuffix("\"}]}"))
        let quoted = try check(text: "v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=video 5004 RTP/AVPF 96\r\nc=IN X25 x\"y\r\n")
        #expect(quoted.json.contains(#"names x\"y, not"#))
    }
}
