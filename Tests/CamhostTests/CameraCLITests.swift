import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `camhost camera …` and `camhost simulate cameras` as a person runs them: real processes,
/// a real Mosquitto, the JSON contracts, the exit codes and the audit rows in the database.
final class CameraLab {
    let broker: TestBroker
    let directory: TemporaryDirectory
    var simulators: [TestProcess] = []

    init(brokerConfiguration: String = "set_tcp_nodelay true") throws {
        broker = try TestBroker(configuration: brokerConfiguration)
        directory = try TemporaryDirectory(prefix: "camera-cli")
    }

    var environment: [String: String] {
        var env = TestEnvironment.clean
        env["CAMHOST_CONTROL_PROFILES_DIR"] = repositoryRoot() + "/firmware-profiles"
        return env
    }

    var dataDirectory: String { directory.file("var") }

    /// Starts `camhost simulate cameras` and waits until it says what it started.
    func simulate(_ arguments: [String]) throws -> TestProcess {
        let process = try TestProcess(TestEnvironment.camhostBinary, ["simulate", "cameras", "--broker", broker.url, "--data-dir", dataDirectory] + arguments,
                                      environment: environment)
        guard Loopback.waitUntil(timeout: .seconds(20), { process.output().contains("simulating") || !process.isRunning }), process.isRunning else {
            throw TestFailure("simulator did not start: \(process.errors())")
        }
        simulators.append(process)
        return process
    }

    func camhost(_ arguments: [String], broker url: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        try TestProcess.run(TestEnvironment.camhostBinary, ["camera"] + arguments + ["--broker", url ?? broker.url, "--data-dir", dataDirectory],
                            environment: environment)
    }

    /// `python3 -c SCRIPT` with `input` on stdin; expects it to print "ok".
    func check(_ script: String, _ input: String) throws -> String {
        let result = try TestProcess.run("python3", ["-c", script], stdin: input)
        return result.stdout == "ok\n" ? "ok" : result.stdout + result.stderr
    }

    func auditRows() throws -> [String] {
        let result = try TestProcess.run("python3", ["-c", """
            import sqlite3, sys
            for row in sqlite3.connect(sys.argv[1]).execute("SELECT actor, action, target, outcome, detail FROM audit_log ORDER BY id"):
                print("|".join(str(v) for v in row))
            """, dataDirectory + "/camhost.db"])
        return result.stdout.split(separator: "\n").map(String.init)
    }

    deinit { simulators.forEach { $0.kill() } }
}

@Suite("camhost camera and simulate, end to end", .serialized)
struct CameraCLITests {
    static let commandShape = """
        import json, sys
        d = json.loads(sys.stdin.read())
        assert list(d) == ["camera", "command", "result", "latency_ms"], d
        assert isinstance(d["camera"], str) and isinstance(d["command"], str), d
        assert d["result"] in ("done", "accepted", "failed", "timed-out"), d
        assert isinstance(d["latency_ms"], (int, float)) and d["latency_ms"] >= 0, d
        print("ok")
        """

    @Test func listStatusAndCommandsWithTheirJSONContractsExitCodesAndAuditRows() throws {
        let lab = try CameraLab()
        _ = try lab.simulate(["--count", "3", "--profile", "acme-json"])

        let list = try lab.camhost(["list", "--json"])
        #expect(list.status == 0, "\(list.stderr)")
        #expect(try lab.check("""
            import json, sys
            rows = json.loads(sys.stdin.read())
            assert [r["id"] for r in rows] == ["sim-1", "sim-2", "sim-3"], rows
            for r in rows:
                assert list(r) == ["id", "online", "mode", "profile", "last_seen"], r
                assert r["online"] is True and r["mode"] == "day" and r["profile"] == "acme-json", r
                assert len(r["last_seen"]) == 20 and r["last_seen"].endswith("Z"), r
            print("ok")
            """, list.stdout) == "ok")

        let mode = try lab.camhost(["mode", "sim-1", "night", "--json"])
        #expect(mode.status == 0, "\(mode.stderr)")
        #expect(try lab.check(Self.commandShape, mode.stdout) == "ok")
        #expect(mode.stdout.contains(#""camera": "sim-1", "command": "set-mode", "result": "done""#))

        let reboot = try lab.camhost(["reboot", "sim-2"])
        #expect(reboot.status == 0)
        #expect(reboot.stdout.hasPrefix("sim-2: reboot: done in "), "\(reboot.stdout)")

        let status = try lab.camhost(["status", "sim-1", "--json"])
        #expect(status.status == 0)
        #expect(status.stdout.contains(#""mode": "night""#) && status.stdout.contains(#""firmware": "sim-1.0""#), "\(status.stdout)")

        let unknown = try lab.camhost(["status", "nobody"])
        #expect(unknown.status == 3)
        #expect(unknown.stderr.contains("camera nobody has published no status"))

        let badMode = try lab.camhost(["mode", "sim-1", "disco"])
        #expect(badMode.status == 64)
        #expect(badMode.stderr.contains(#"mode "disco" is not one of day, night, auto"#), "\(badMode.stderr)")

        let badID = try lab.camhost(["reboot", "no/such"])
        #expect(badID.status == 64)

        let silent = try lab.camhost(["reboot", "nobody", "--timeout", "300ms", "--json"])
        #expect(silent.status == 2)
        #expect(try lab.check(Self.commandShape, silent.stdout) == "ok")
        #expect(silent.stdout.contains(#""result": "timed-out""#))

        let unreachable = try lab.camhost(["reboot", "sim-1"], broker: "mqtt://127.0.0.1:\(Loopback.freePort())")
        #expect(unreachable.status == 69)
        #expect(unreachable.stderr.contains("cannot reach the MQTT broker") && unreachable.stderr.contains("Connection refused"), "\(unreachable.stderr)")

        let rows = try lab.auditRows()
        let user = String(cString: getpwuid(geteuid())!.pointee.pw_name)
        #expect(rows.contains { $0.hasPrefix("cli:\(user)|camera.set-mode|sim-1|success|mode=night result=done") }, "\(rows)")
        #expect(rows.contains { $0.hasPrefix("cli:\(user)|camera.reboot|sim-2|success|result=done") }, "\(rows)")
        #expect(rows.contains { $0.hasPrefix("cli:\(user)|camera.reboot|nobody|failure|result=timed-out") }, "\(rows)")
        #expect(rows.contains { $0.hasPrefix("cli:\(user)|camera.set-mode|sim-1|failure|mode=disco result=not-sent") }, "\(rows)")
        #expect(rows.contains { $0.hasPrefix("cli:\(user)|camera.reboot|sim-1|failure|result=not-sent error=broker unreachable") }, "\(rows)")
    }

    @Test func aCameraThatRefusesExits1AndEachCameraIsSpokenToInItsOwnProfile() throws {
        let lab = try CameraLab()
        _ = try lab.simulate(["--count", "1", "--profile", "acme-json", "--id-prefix", "bad-", "--failure-rate", "1"])
        _ = try lab.simulate(["--count", "2", "--profile", "plainval", "--id-prefix", "pv-", "--ack-delay", "20ms"])

        let refused = try lab.camhost(["reboot", "bad-1", "--json"])
        #expect(refused.status == 1)
        #expect(refused.stdout.contains(#""result": "failed""#))
        #expect(refused.stderr.contains("simulated failure"), "\(refused.stderr)")

        // No --profile: pv-1's status arrived on plainval's topics, so it gets plainval's encoding.
        let mono = try lab.camhost(["mode", "pv-1", "mono", "--json"])
        #expect(mono.status == 0, "\(mono.stderr)")
        #expect(mono.stdout.contains(#""result": "done""#))
        let list = try lab.camhost(["list"])
        #expect(list.stdout.contains("pv-1") && list.stdout.contains("plainval") && list.stdout.contains("bad-1"), "\(list.stdout)")
    }

    @Test func twoCamhostProcessesAtOnceBothStayConnectedAndBothGetAcks() throws {
        let lab = try CameraLab()
        _ = try lab.simulate(["--count", "2", "--profile", "acme-json", "--ack-delay", "50ms"])
        let watch = try TestProcess(TestEnvironment.camhostBinary, ["camera", "watch", "--json", "--broker", lab.broker.url, "--data-dir", lab.dataDirectory],
                                    environment: lab.environment)
        #expect(Loopback.waitUntil(timeout: .seconds(10)) { watch.output().contains(#""id": "sim-2""#) }, "\(watch.errors())")

        // Old platform bug: workers shared one client id and the broker kicked one off. Now two
        // commands from two processes, at once, to the same camera: both are acknowledged.
        func start(_ mode: String) throws -> TestProcess {
            try TestProcess(TestEnvironment.camhostBinary, ["camera", "mode", "sim-1", mode, "--json", "--broker", lab.broker.url, "--data-dir", lab.dataDirectory],
                            environment: lab.environment)
        }
        let first = try start("night"), second = try start("auto")
        #expect(first.wait(timeout: .seconds(20)) == 0, "\(first.errors())")
        #expect(second.wait(timeout: .seconds(20)) == 0, "\(second.errors())")
        #expect(first.output().contains(#""result": "done""#) && second.output().contains(#""result": "done""#))

        // The watcher stayed connected throughout and saw the changes.
        #expect(Loopback.waitUntil(timeout: .seconds(5)) {
            let out = watch.output()
            return out.contains(#""mode": "night""#) || out.contains(#""mode": "auto""#)
        }, "\(watch.output())")
        #expect(watch.isRunning)
        #expect(!watch.errors().contains("connection reconnecting"), "\(watch.errors())")
        watch.signal(SIGINT)
        #expect(watch.wait(timeout: .seconds(10)) == 0)
    }

    @Test func simulatorStopsOnSIGTERMAndTheCamerasGoOffline() throws {
        let lab = try CameraLab()
        let simulator = try lab.simulate(["--count", "2", "--profile", "acme-json"])
        #expect(simulator.output().contains("simulating 2 cameras (sim-1 … sim-2) speaking acme-json on \(lab.broker.url)"))
        simulator.kill()  // no DISCONNECT: the broker publishes each camera's last will
        let list = try lab.camhost(["list", "--json"])
        #expect(list.stdout.contains(#""online": false"#), "\(list.stdout)")
        let again = try lab.simulate(["--count", "1", "--profile", "acme-json"])
        again.signal(SIGTERM)
        #expect(again.wait(timeout: .seconds(10)) == 0, "\(again.errors())")
    }

    @Test func serveReportsTheMQTTConnectionInHealthz() throws {
        let serve = try RunningServe(environment: ["CAMHOST_CONTROL_PROFILES_DIR": repositoryRoot() + "/firmware-profiles"])
        #expect(serve.waitUntilServing(), "\(serve.process.errors())")
        let health = try serve.curl([serve.url("/healthz")]).stdout
        #expect(health.contains(#""mqtt":{"detail":"connected to mqtt://127.0.0.1:\#(serve.brokerPort) as camhost-"#), "\(health)")
        #expect(health.contains(#""status":"ok""#))
    }
}

/// `camera list` against a TLS broker configured through mqtt.* keys (CAMHOST_* variables).
@Suite("camhost camera over TLS", .serialized)
struct CameraCLITLSTests {
    @Test func caFileAndPasswordFromTheConfigurationAndClearFailures() throws {
        let scratch = try TemporaryDirectory(prefix: "camera-tls")
        chmod(scratch.path, 0o755)  // mosquitto started as root reads some files as its own user
        let d = scratch.path
        try writeFile("\(d)/ca.tmpl", "cn = \"camhost test CA\"\nca\ncert_signing_key\nexpiration_days = 2\n")
        try writeFile("\(d)/server.tmpl", "cn = \"127.0.0.1\"\nip_address = \"127.0.0.1\"\ntls_www_server\nexpiration_days = 2\n")
        func certtool(_ arguments: [String]) throws {
            let result = try TestProcess.run("certtool", arguments)
            guard result.status == 0 else { throw TestFailure("certtool: \(result.stderr)") }
        }
        for name in ["ca", "other-ca"] {
            try certtool(["--generate-privkey", "--key-type=ecdsa", "--outfile", "\(d)/\(name).key"])
            try certtool(["--generate-self-signed", "--load-privkey", "\(d)/\(name).key", "--template", "\(d)/ca.tmpl", "--outfile", "\(d)/\(name).pem"])
        }
        try certtool(["--generate-privkey", "--key-type=ecdsa", "--outfile", "\(d)/server.key"])
        try certtool(["--generate-certificate", "--load-privkey", "\(d)/server.key", "--load-ca-certificate", "\(d)/ca.pem",
                      "--load-ca-privkey", "\(d)/ca.key", "--template", "\(d)/server.tmpl", "--outfile", "\(d)/server.pem"])
        #expect(try TestProcess.run("mosquitto_passwd", ["-c", "-b", "\(d)/passwd", "operator", "s3cret"]).status == 0)
        for file in ["ca.pem", "server.pem", "server.key", "passwd"] { chmod("\(d)/\(file)", 0o644) }
        let broker = try TestBroker(configuration: """
            cafile \(d)/ca.pem
            certfile \(d)/server.pem
            keyfile \(d)/server.key
            allow_anonymous false
            password_file \(d)/passwd
            """, directory: scratch)

        func list(ca: String, password: String) throws -> (status: Int32, stdout: String, stderr: String) {
            var env = TestEnvironment.clean
            env["CAMHOST_CONTROL_PROFILES_DIR"] = repositoryRoot() + "/firmware-profiles"
            env["CAMHOST_MQTT_BROKER"] = "mqtts://127.0.0.1:\(broker.port)"
            env["CAMHOST_MQTT_CA_FILE"] = ca
            env["CAMHOST_MQTT_USERNAME"] = "operator"
            env["CAMHOST_MQTT_PASSWORD"] = password
            return try TestProcess.run(TestEnvironment.camhostBinary, ["camera", "list", "--json", "--data-dir", scratch.file("var")], environment: env)
        }
        let ok = try list(ca: "\(d)/ca.pem", password: "s3cret")
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout == "[]\n")

        let untrusted = try list(ca: "\(d)/other-ca.pem", password: "s3cret")
        #expect(untrusted.status == 69)
        #expect(untrusted.stderr.contains("check that the CA file signs the broker's certificate"), "\(untrusted.stderr)")

        let wrong = try list(ca: "\(d)/ca.pem", password: "nope")
        #expect(wrong.status == 69)
        #expect(wrong.stderr.contains("check the MQTT username and password"), "\(wrong.stderr)")
        #expect(!wrong.stderr.contains("nope"), "the password must not be printed")
    }
}

@Suite("camhost camera: unknown cameras")
struct CameraUnknownCLITests {
    /// A mode for a camera the broker never carried anything from: its profile, so its modes,
    /// are unknown. Exit 3 at once (not 2 after the time-out), with an audit row saying why.
    @Test func aModeForACameraNeverSeenExits3WithoutWaitingForTheTimeout() throws {
        let lab = try CameraLab()
        _ = try lab.simulate(["--count", "1", "--profile", "acme-json"])
        let started = ContinuousClock.now
        let result = try lab.camhost(["mode", "nosuch", "night", "--timeout", "30s"])
        let elapsed = ContinuousClock.now - started
        #expect(result.status == 3, "\(result.stderr)")
        #expect(result.stderr.contains("camera nosuch has published no status or availability"), "\(result.stderr)")
        #expect(elapsed < .seconds(15), "waited \(elapsed): the 30 s time-out, not the registry, decided")
        let user = String(cString: getpwuid(geteuid())!.pointee.pw_name)
        #expect(try lab.auditRows().contains { $0.hasPrefix("cli:\(user)|camera.set-mode|nosuch|failure|mode=night result=not-sent error=unknown camera") })

        // A camera that is there still gets its mode.
        let known = try lab.camhost(["mode", "sim-1", "night"])
        #expect(known.status == 0, "\(known.stderr)")
    }
}
