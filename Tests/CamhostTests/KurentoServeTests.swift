import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `camhost serve` with media.engine = "kurento" end to end (issue 14): a real broker, a
/// simulated camera (plainval: COMEDIA offer, 10-s RTCP time-out) in the stream lab's namespace,
/// the Kurento protocol double on loopback answering with a wrong `c=` (as Kurento's first
/// interface often is) and media.address naming this host's side of the lab. serve releases the
/// pipeline a previous camhost left, offers the camera, tells it media.address and Kurento's port
/// over MQTT; Kurento's counters (getStats) show the RTP arriving. The double sends no RTCP (it
/// models no media), so the camera stops after its time-out and the RTCP watch's confirmation
/// raises the trap alarm with its evidence; SIGTERM releases the stream's pipeline.
@Suite(.serialized) struct KurentoServeTests {
    private func field(_ json: String, _ key: String) -> String? {
        guard let regex = try? Regex("\"\(key)\":(\"[^\"]*\"|[0-9.]+|null)"), let match = json.firstMatch(of: regex),
              let text = match.output[1].substring else { return nil }
        return text.hasPrefix("\"") ? String(text.dropFirst().dropLast()) : String(text)
    }

    @Test(.timeLimit(.minutes(2))) func serveDrivesKurentoForASimulatedCamera() throws {
        let lab = try StreamLab()
        defer { lab.tearDown() }
        let directory = try TemporaryDirectory(prefix: "kurento-serve")
        let double = try KurentoDouble(["--answer-address", "192.0.2.77"])
        let cameraSide = Loopback.freePort()
        let broker = try TestBroker(configuration: "listener \(cameraSide) \(lab.hostAddress)", directory: directory)
        let configuration = directory.file("camhost.toml")
        try writeFile(configuration, """
            [mqtt]
            broker = "\(broker.url)"

            [control]
            profiles_dir = "\(repositoryRoot())/firmware-profiles"
            default_profile = "plainval"

            [media]
            engine = "kurento"
            kurento_url = "\(double.url)"
            address = "\(lab.hostAddress)"
            record_cameras = false
            restart_after_seconds = 30

            [diagnostics]
            watch_cameras = ["\(lab.cameraAddress)"]
            """)
        // A pipeline a previous camhost created and never released, remembered in its database.
        let made = try TestProcess.run("/usr/bin/python3", ["-c", """
            import asyncio, json, sys, websockets
            async def main():
                async with websockets.connect(sys.argv[1]) as ws:
                    await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "create", "params": {"type": "MediaPipeline", "constructorParams": {}, "properties": {}}}))
                    print(json.loads(await ws.recv())["result"]["value"])
            asyncio.run(main())
            """, double.url])
        let leftover = made.stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(made.status == 0 && leftover.hasSuffix("_kurento.MediaPipeline"), "\(made.stderr)")
        let data = directory.file("var")
        let token = try TestProcess.run(TestEnvironment.camhostBinary, ["token", "create", "--scope", "admin", "--name", "kurento", "--data-dir", data],
                                        environment: TestEnvironment.clean).stdout.trimmingCharacters()
        let sql = try TestProcess.run("sqlite3", [data + "/camhost.db", """
            INSERT INTO cameras (id, name, profile, address) VALUES ('labcam-1', 'Lab', 'plainval', '\(lab.cameraAddress)');
            INSERT INTO kurento_objects (object_id, camera, kurento_url) VALUES ('\(leftover)', 'labcam-1', '\(double.url)');
            """])
        #expect(sql.status == 0, "\(sql.stderr)")

        let serve = try RunningServe(extraArguments: ["--config", configuration], directory: directory)
        #expect(serve.waitUntilServing(), "\(serve.process.errors())")
        func list() throws -> String {
            let run = try TestProcess.run(TestEnvironment.camhostBinary,
                                          ["stream", "list", "--json", "--url", serve.url(""), "--cacert", serve.certificate, "--token", token],
                                          environment: TestEnvironment.clean)
            return run.status == 0 ? run.stdout : "exit \(run.status): \(run.stderr)"
        }
        // The health supervisor pings Kurento: probe_kurento in /healthz and /metrics.
        #expect(Loopback.waitUntil(timeout: .seconds(10)) {
            ((try? serve.curl([serve.url("/healthz")]).stdout) ?? "").contains("probe_kurento")
        })
        let health = try serve.curl([serve.url("/healthz")]).stdout
        #expect(health.contains("\(double.url) answered ping in"), "\(health)")
        let metrics = try serve.curl([serve.url("/metrics")]).stdout
        #expect(metrics.contains("camhost_health_check_ok{check=\"probe_kurento\"} 1"), "\(metrics.prefix(2000))")
        // The leftover is released at start.
        #expect(Loopback.waitUntil(timeout: .seconds(10)) {
            ((try? double.control("log")) ?? "").split(separator: "\n").contains { $0.contains("\"release\"") && $0.contains(leftover) }
        })

        let video = try TestVideo(seconds: 4, width: 640, height: 360, rate: 25, gop: 25, in: directory)
        let camera = try TestProcess("/sbin/ip", ["netns", "exec", lab.namespace, "timeout", "-s", "KILL", "90", TestEnvironment.camhostBinary,
                                                 "simulate", "cameras", "--count", "1", "--profile", "plainval", "--id-prefix", "labcam-",
                                                 "--broker", "mqtt://\(lab.hostAddress):\(cameraSide)", "--config", configuration,
                                                 "--video", video.path, "--fps", "25"], environment: TestEnvironment.clean)
        // SIGTERM first: `timeout` passes it on to camhost; a SIGKILL of `timeout` alone would
        // leave the simulator running after the test (as StreamServeTests does).
        defer {
            camera.signal(SIGTERM)
            if camera.wait(timeout: .seconds(5)) == nil { camera.kill() }
        }

        var listed = ""
        #expect(Loopback.waitUntil(timeout: .seconds(30)) {
            listed = (try? list()) ?? ""
            return field(listed, "state") == "receiving" && (Int(field(listed, "packets") ?? "") ?? 0) > 0
        }, "\(listed)\n\(serve.process.errors())")
        #expect(field(listed, "engine") == "kurento" && field(listed, "camera") == "labcam-1")
        // The offer names the camera and asks for COMEDIA; the answer's c= is the double's wrong one.
        #expect(listed.contains("c=IN IP4 \(lab.cameraAddress)") && listed.contains("a=direction:active"), "\(listed)")
        #expect(listed.contains("c=IN IP4 192.0.2.77") && listed.contains("a=direction:passive"), "\(listed)")
        let requests = try double.requests()
        for step in ["create MediaPipeline", "create RtpEndpoint", "subscribe MediaFlowInStateChanged", "subscribe Error", "invoke processOffer", "invoke getStats"] {
            #expect(requests.contains(step), "\(step) in \(requests)")
        }

        // No RTCP from the double: the camera stops after 10 s, and the watch's confirmation alarms.
        var alarms = ""
        #expect(Loopback.waitUntil(timeout: .seconds(20)) {
            alarms = (try? serve.curl(["-H", "Authorization: Bearer \(token)", serve.url("/api/v1/alarms")]).stdout) ?? ""
            return alarms.contains("\"state\":\"trap\"")
        }, "\(alarms)\n\(serve.process.errors())")
        #expect(alarms.contains("\"camera\":\"\(lab.cameraAddress)\""))
        #expect(serve.process.errors().contains("no RTCP feedback reached camera labcam-1 (\(lab.cameraAddress)) within its RTCP time-out"))

        // SIGTERM: the stream's pipeline is released, nothing stays owned.
        let before = try double.requests().filter { $0 == "release" }.count
        serve.process.signal(SIGTERM)
        #expect(serve.process.wait(timeout: .seconds(20)) == 0, "\(serve.process.errors())")
        #expect(try double.requests().filter { $0 == "release" }.count == before + 1)
        let owned = try TestProcess.run("sqlite3", [data + "/camhost.db", "SELECT count(*) FROM kurento_objects"]).stdout
        #expect(owned.trimmingCharacters() == "0")
    }
}
