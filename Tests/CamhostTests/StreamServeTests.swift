import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `camhost serve`'s stream manager end to end (issue 12): a real broker, a simulated camera
/// (`camhost simulate cameras`, plainval profile with its [stream] section, streaming real
/// H.264) in the stream lab's namespace, serve on the host sending start-stream over MQTT with
/// its own address toward the camera, receiving and recording; `stream list` and the API show
/// it; stop and start through the API; the camera going offline stops the stream and frees the port.
/// A value of the first `"key":` in compact JSON, quotes removed (null as "null").
private func field(_ json: String, _ key: String) -> String? {
    guard let regex = try? Regex("\"\(key)\":(\"[^\"]*\"|[0-9.]+|null)"), let match = json.firstMatch(of: regex),
          let text = match.output[1].substring else { return nil }
    return text.hasPrefix("\"") ? String(text.dropFirst().dropLast()) : String(text)
}

@Suite(.serialized) struct StreamServeTests {
    /// Whether some socket holds UDP `port` (/proc/net/udp).
    static func isBound(_ port: UInt16) -> Bool {
        let hex = ":" + String(port, radix: 16, uppercase: true)
        let table = (try? readFile("/proc/net/udp")) ?? ""
        return table.split(separator: "\n").contains { $0.split(separator: " ").dropFirst().first?.hasSuffix(hex) ?? false }
    }

    @Test(.timeLimit(.minutes(2))) func serveStreamsAndRecordsASimulatedCameraOverMQTT() throws {
        let lab = try StreamLab()
        defer { lab.tearDown() }
        let directory = try TemporaryDirectory(prefix: "stream-serve")
        // The broker listens on loopback (serve) and on the lab's host address (the camera).
        let cameraSide = Loopback.freePort()
        let broker = try TestBroker(configuration: "listener \(cameraSide) \(lab.hostAddress)", directory: directory)
        let low = UInt16.random(in: 30_000...39_000) & ~1
        let configuration = directory.file("camhost.toml")
        try writeFile(configuration, """
            [mqtt]
            broker = "\(broker.url)"

            [control]
            profiles_dir = "\(repositoryRoot())/firmware-profiles"
            default_profile = "plainval"

            [media]
            port_range = "\(low)-\(low + 9)"
            segment_seconds = 2
            restart_after_seconds = 5
            """)
        let serve = try RunningServe(extraArguments: ["--config", configuration], directory: directory)
        #expect(serve.waitUntilServing(), "\(serve.process.errors())")
        let database = directory.file("var/camhost.db")
        let sql = try TestProcess.run("sqlite3", [database, "INSERT INTO cameras (id, name, profile, address) VALUES ('labcam-1', 'Lab', 'plainval', '\(lab.cameraAddress)');"])
        #expect(sql.status == 0, "\(sql.stderr)")
        let token = try TestProcess.run(TestEnvironment.camhostBinary, ["token", "create", "--scope", "admin", "--name", "streams", "--data-dir", directory.file("var")],
                                        environment: TestEnvironment.clean).stdout.trimmingCharacters()
        func list() throws -> String {
            let run = try TestProcess.run(TestEnvironment.camhostBinary,
                                          ["stream", "list", "--json", "--url", serve.url(""), "--cacert", serve.certificate, "--token", token],
                                          environment: TestEnvironment.clean)
            return run.status == 0 ? run.stdout : "exit \(run.status): \(run.stderr)"
        }
        func post(_ path: String) throws -> String {
            try serve.curl(["-X", "POST", "-H", "Authorization: Bearer \(token)", "-w", " %{http_code}", serve.url(path)]).stdout
        }

        let video = try TestVideo(seconds: 4, width: 640, height: 360, rate: 25, gop: 25, in: directory)
        let camera = try TestProcess("/sbin/ip", ["netns", "exec", lab.namespace, "timeout", "-s", "KILL", "90", TestEnvironment.camhostBinary,
                                                 "simulate", "cameras", "--count", "1", "--profile", "plainval", "--id-prefix", "labcam-",
                                                 "--broker", "mqtt://\(lab.hostAddress):\(cameraSide)", "--config", configuration,
                                                 "--video", video.path, "--fps", "25"], environment: TestEnvironment.clean)
        // SIGTERM first: `timeout` passes it on to camhost; a SIGKILL of `timeout` alone would
        // leave the simulator running (and reconnecting) after the test.
        defer {
            camera.signal(SIGTERM)
            if camera.wait(timeout: .seconds(5)) == nil { camera.kill() }
        }

        var listed = ""
        let receiving = Loopback.waitUntil(timeout: .seconds(30)) {
            listed = (try? list()) ?? ""
            return field(listed, "state") == "receiving" && (Int(field(listed, "packets") ?? "") ?? 0) > 0
        }
        #expect(receiving, "\(listed)\n\(camera.errors())\n\(serve.process.errors())")
        #expect(field(listed, "camera") == "labcam-1" && field(listed, "engine") == "builtin" && field(listed, "origin") == "plainval")
        let port = try #require(UInt16(field(listed, "port") ?? ""))
        #expect((low...low + 9).contains(port))
        #expect(field(listed, "source")?.hasPrefix(lab.cameraAddress + ":") == true, "RTP came from the camera, to this host's address toward it")
        // Segments of 2 s: after a few seconds at least one is finished and registered.
        var later = ""
        Loopback.waitUntil(timeout: .seconds(15)) {
            later = (try? list()) ?? ""
            return (Int(field(later, "segments_written") ?? "") ?? 0) >= 2
        }
        // Feedback goes to the camera's own address (its RTCP port: where its sender reports come from).
        #expect(field(later, "rtcp_to")?.hasPrefix(lab.cameraAddress + ":") == true, "\(later)")
        #expect((Int(field(later, "rtcp_sent") ?? "") ?? 0) > 0)
        let files = try TestProcess.run("find", [directory.file("var/recordings/labcam-1"), "-name", "*.mp4", "-type", "f"]).stdout
            .split(separator: "\n").map(String.init).sorted()
        #expect(files.count >= 2, "\(files)")
        if let first = files.first {
            let probe = try ProbeResult(first)
            #expect(probe.codec == "h264" && probe.width == 640 && probe.frames > 0, "\(probe.errors)")
        }
        let recordings = try serve.curl(["-H", "Authorization: Bearer \(token)", serve.url("/api/v1/recordings?camera=labcam-1")]).stdout
        #expect(recordings.contains("\"camera\":\"labcam-1\""), "\(recordings)")
        let metrics = try serve.curl([serve.url("/metrics")]).stdout
        #expect(metrics.contains("camhost_stream_packets_total{camera=\"labcam-1\"}"), "\(metrics.prefix(300))")

        // Stop through the API: the port is released and the stream stays stopped.
        let stopped = try post("/api/v1/streams/labcam-1/stop")
        #expect(stopped.hasSuffix(" 200") && field(stopped, "state") == "stopped" && field(stopped, "port") == "null", "\(stopped)")
        #expect(Loopback.waitUntil(timeout: .seconds(3)) { !Self.isBound(port) && !Self.isBound(port + 1) })
        let audit = try serve.curl(["-H", "Authorization: Bearer \(token)", serve.url("/api/v1/audit")]).stdout
        #expect(audit.contains("stream.stop"), "\(audit.prefix(400))")
        let unknown = try post("/api/v1/streams/nobody/stop")
        #expect(unknown.hasSuffix(" 404"), "\(unknown)")
        // Start again: start-stream goes out again and RTP comes back.
        let started = try post("/api/v1/streams/labcam-1/start")
        #expect(started.hasSuffix(" 200"), "\(started)")
        var relisted = ""
        #expect(Loopback.waitUntil(timeout: .seconds(20)) {
            relisted = (try? list()) ?? ""
            return field(relisted, "state") == "receiving"
        }, "\(relisted)")
        let reopened = try #require(UInt16(field(try list(), "port") ?? ""))

        // The camera goes offline (a clean power-off: retained "0" on its availability topic).
        camera.signal(SIGTERM)
        _ = camera.wait(timeout: .seconds(10))
        var after = ""
        #expect(Loopback.waitUntil(timeout: .seconds(10)) {
            after = (try? list()) ?? ""
            return field(after, "state") == "stopped"
        }, "\(after)")
        #expect(field(after, "detail") == "the camera went offline" && field(after, "port") == "null", "\(after)")
        #expect(!Self.isBound(reopened) && !Self.isBound(reopened + 1), "the port is freed")
        serve.process.signal(SIGTERM)
        #expect(serve.process.wait(timeout: .seconds(15)) == 0, "\(serve.process.errors())")
    }

    @Test func streamListWithoutATokenSaysHowToGetOne() throws {
        var environment = TestEnvironment.clean
        environment["CAMHOST_TOKEN"] = nil
        let run = try TestProcess.run(TestEnvironment.camhostBinary, ["stream", "list"], environment: environment)
        #expect(run.status == 64)
        #expect(run.stderr.contains("--token") && run.stderr.contains("CAMHOST_TOKEN") && run.stderr.contains("camhost token create"))
        let unreachable = try TestProcess.run(TestEnvironment.camhostBinary, ["stream", "list", "--url", "https://127.0.0.1:\(Loopback.freePort())", "--token", "x"],
                                              environment: environment)
        #expect(unreachable.status == 69, "\(unreachable.stderr)")
        #expect(unreachable.stderr.contains("cannot connect"))
        // A peer that accepts and never answers: a clear error after the 10-s time-out, no hang.
        let (silent, port) = Loopback.bind(type: SOCK_STREAM)
        defer { close(silent) }
        listen(silent, 4)
        let started = ContinuousClock.now
        let hung = try TestProcess.run(TestEnvironment.camhostBinary, ["stream", "list", "--url", "https://127.0.0.1:\(port)", "--token", "x"],
                                       environment: environment, timeout: .seconds(30))
        #expect(hung.status == 69, "\(hung.stderr)")
        #expect(hung.stderr.contains("TLS handshake with 127.0.0.1:\(port) failed"), "\(hung.stderr)")
        #expect(ContinuousClock.now - started < .seconds(20))
    }
}
