import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `camhost sdp offer` and `camhost sdp check` as a user runs them: the built binary, real files,
/// standard input, the JSON contract and every documented exit code.
@Suite struct SDPCLITests {
    static let fixtures = repositoryRoot() + "/Tests/MediaTests/Fixtures/sdp"

    func camhost(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        var env = TestEnvironment.clean
        env["CAMHOST_CONTROL_PROFILES_DIR"] = repositoryRoot() + "/firmware-profiles"
        return try TestProcess.run(TestEnvironment.camhostBinary, ["sdp"] + arguments, environment: env.merging(environment) { $1 }, stdin: stdin)
    }

    /// Checks the JSON with Python's parser: exactly the contract's keys and types.
    func assertCheckJSON(_ json: String, verdict: String, lines: [Int]) throws {
        let result = try TestProcess.run("python3", ["-c", """
            import json, sys
            d = json.load(sys.stdin)
            assert list(d) == ["verdict", "findings"], d
            assert d["verdict"] == sys.argv[1], d
            for f in d["findings"]:
                assert list(f) == ["line", "severity", "message", "fix"], f
                assert isinstance(f["line"], int) and f["severity"] in ("trap", "warning"), f
                assert isinstance(f["message"], str) and f["message"] and isinstance(f["fix"], str) and f["fix"], f
            print(",".join(str(f["line"]) for f in d["findings"]))
            """, verdict], stdin: json)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == lines.map(String.init).joined(separator: ",") + "\n", "\(json)")
    }

    @Test func checkVerdictsAndExitCodes() throws {
        let old = try camhost(["check", Self.fixtures + "/old-platform.sdp", "--camera", "192.168.1.20"])
        #expect(old.status == 1)
        #expect(old.stdout.hasPrefix("trap: "))
        #expect(old.stdout.contains("line 4: trap: RTCP for m=video (line 6) would go to 0.0.0.0"))
        #expect(old.stdout.contains("  fix: c=IN IP4 192.168.1.20 at media level"))

        let ffmpeg = try camhost(["check", Self.fixtures + "/ffmpeg-rtp.sdp", "--json"])
        #expect(ffmpeg.status == 1)
        try assertCheckJSON(ffmpeg.stdout, verdict: "trap", lines: [4, 7])

        let answer = try camhost(["check", Self.fixtures + "/kurento-answer.sdp", "--camera", "192.168.1.20", "--json"])
        #expect(answer.status == 3)
        try assertCheckJSON(answer.stdout, verdict: "warning", lines: [4, 6, 10])

        let good = try camhost(["check", Self.fixtures + "/direct-ok.sdp", "--camera", "192.168.1.20", "--json"])
        #expect(good.status == 0, "\(good.stdout)")
        #expect(good.stdout == "{\"verdict\": \"ok\", \"findings\": []}\n")
    }

    @Test func checkReadsStandardInputAndFindsThisHost() throws {
        // 127.0.0.2 is loopback; this host's own address comes from getifaddrs in the binary.
        let text = try readFile(Self.fixtures + "/direct-ok.sdp").split(separator: "192.168.1.20", omittingEmptySubsequences: false).joined(separator: "127.0.0.2")
        let result = try camhost(["check", "-", "--json"], stdin: text)
        #expect(result.status == 1)
        try assertCheckJSON(result.stdout, verdict: "trap", lines: [7])
        // A log of offers: one verdict, findings numbered in the whole input.
        let log = try readFile(Self.fixtures + "/kurento-answer.sdp") + text
        let both = try camhost(["check", "-", "--json"], stdin: log)
        #expect(both.status == 1)
        try assertCheckJSON(both.stdout, verdict: "trap", lines: [6, 10, 23])
    }

    @Test func malformedUnreadableAndUsage() throws {
        let malformed = try camhost(["check", Self.fixtures + "/malformed-connection.sdp", "--json"])
        #expect(malformed.status == 65)
        #expect(malformed.stdout.isEmpty)
        #expect(malformed.stderr.contains("malformed-connection.sdp: not valid SDP: line 4 \"c=IN IP4\": expected c=<nettype> <addrtype> <address>"))
        let piped = try camhost(["check", "-"], stdin: "hello\n")
        #expect(piped.status == 65 && piped.stderr.contains("standard input: not valid SDP: line 1 \"hello\""))
        let missing = try camhost(["check", "/nonexistent/offer.sdp"])
        #expect(missing.status == 66 && missing.stderr.contains("cannot read /nonexistent/offer.sdp"))
        #expect(try camhost(["check", Self.fixtures + "/direct-ok.sdp", "--camera", "not-an-ip"]).status == 64)
        #expect(try camhost(["check"]).status == 64)
        #expect(try camhost(["offer"]).status == 64)
        #expect(try camhost(["offer", "--camera", "bad id"]).status == 64)
        #expect(try camhost(["offer", "--camera", "gate", "--address", "300.1.1.1"]).status == 64)
    }

    @Test func offerFromFlagsPassesItsOwnCheck() throws {
        let directory = try TemporaryDirectory(prefix: "sdp-offer")
        let data = ["--data-dir", directory.file("var")]
        let direct = try camhost(["offer", "--camera", "gate", "--address", "192.168.1.20", "--profile", "acme-json"] + data)
        #expect(direct.status == 0, "\(direct.stderr)")
        #expect(direct.stdout.hasPrefix("v=0\r\no=camhost 0 0 IN IP4 192.168.1.20\r\ns=camhost gate\r\n"))
        #expect(direct.stdout.contains("\r\nm=video 5004 RTP/AVPF 96\r\nc=IN IP4 192.168.1.20\r\n"))
        #expect(direct.stdout.hasSuffix("a=rtcp-fb:96 ccm fir\r\n"))
        let checked = try camhost(["check", "-", "--camera", "192.168.1.20"], stdin: direct.stdout)
        #expect(checked.status == 0, "\(checked.stdout)")

        let comedia = try camhost(["offer", "--camera", "door", "--address", "192.168.1.21", "--profile", "plainval", "--json"] + data)
        #expect(comedia.status == 0, "\(comedia.stderr)")
        let fields = try TestProcess.run("python3", ["-c", """
            import json, sys
            d = json.load(sys.stdin)
            assert list(d) == ["camera", "address", "profile", "mode", "sdp"], d
            assert (d["camera"], d["address"], d["profile"], d["mode"]) == ("door", "192.168.1.21", "plainval", "comedia"), d
            assert "m=video 9 RTP/AVPF 96\\r\\n" in d["sdp"] and "a=direction:active\\r\\n" in d["sdp"], d
            print("ok")
            """], stdin: comedia.stdout)
        #expect(fields.stdout == "ok\n", "\(fields.stderr)")

        for refused in ["127.0.0.1", "0.0.0.0", "::", "224.0.0.5"] {
            let result = try camhost(["offer", "--camera", "gate", "--address", refused, "--profile", "acme-json"] + data)
            #expect(result.status == 1, "\(refused)")
            #expect(result.stdout.isEmpty)
            #expect(result.stderr.contains("camhost: camera gate: refused: c=\(refused) is "), "\(result.stderr)")
        }
        let unknownProfile = try camhost(["offer", "--camera", "gate", "--address", "192.168.1.20", "--profile", "nope"] + data)
        #expect(unknownProfile.status == 64 && unknownProfile.stderr.contains("no firmware profile named \"nope\""))
    }

    @Test func offerForACameraInTheDatabase() throws {
        let directory = try TemporaryDirectory(prefix: "sdp-db")
        let data = ["--data-dir", directory.file("var")]
        #expect(mkdir(directory.file("var"), 0o750) == 0)
        // Unknown camera: exit 3, and the message says which flags to give.
        let unknown = try camhost(["offer", "--camera", "gate"] + data)
        #expect(unknown.status == 3, "\(unknown.stderr)")
        #expect(unknown.stderr.contains("camera gate is not in the database") && unknown.stderr.contains("--address IP"))
        // The command migrated the database; register cameras the way an operator would.
        let sql = try TestProcess.run("sqlite3", [directory.file("var/camhost.db"),
            "INSERT INTO cameras (id, name, profile, address) VALUES ('gate', 'Gate', 'plainval', '192.168.1.20'), ('yard', 'Yard', 'unknown', ''), ('hall', 'Hall', 'unknown', '10.0.0.9');"])
        #expect(sql.status == 0, "\(sql.stderr)")
        let known = try camhost(["offer", "--camera", "gate", "--json"] + data)
        #expect(known.status == 0, "\(known.stderr)")
        #expect(known.stdout.hasPrefix("{\"camera\": \"gate\", \"address\": \"192.168.1.20\", \"profile\": \"plainval\", \"mode\": \"comedia\", \"sdp\": \"v=0\\r\\n"))
        // Flags override the database; a camera with no profile gets control.default_profile (acme-json).
        let overridden = try camhost(["offer", "--camera", "gate", "--profile", "acme-json", "--json"] + data)
        #expect(overridden.stdout.contains("\"profile\": \"acme-json\", \"mode\": \"direct\""))
        let noAddress = try camhost(["offer", "--camera", "yard"] + data)
        #expect(noAddress.status == 3 && noAddress.stderr.contains("no address for camera yard"))
        let defaultProfile = try camhost(["offer", "--camera", "hall", "--json"] + data)
        #expect(defaultProfile.status == 0 && defaultProfile.stdout.contains("\"profile\": \"acme-json\""), "\(defaultProfile.stderr)")
    }
}
