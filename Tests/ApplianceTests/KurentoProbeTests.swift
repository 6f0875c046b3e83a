import POSIX
import Storage
import Testing
import TestSupport
@testable import Appliance
#if canImport(Glibc)
import Glibc
#endif

/// Issue 15's Kurento half: the supervisor's `kurento` probe (a JSON-RPC ping) and `camhost
/// doctor`'s check, against the protocol double (Tests/MediaTests/Fixtures/kurento_double.py)
/// and against nothing listening.
@Suite("Kurento probe and doctor check", .serialized)
struct KurentoProbeTests {
    func configuration(_ url: String, extra: [String: String] = [:]) throws -> Configuration {
        let directory = try TemporaryDirectory(prefix: "kurento-probe")
        let result = ConfigLoader.load(file: nil, environment: [
            "CAMHOST_MEDIA_ENGINE": "kurento", "CAMHOST_MEDIA_KURENTO_URL": url, "CAMHOST_STORAGE_DATA_DIR": directory.path,
        ].merging(extra) { $1 })
        #expect(result.problems.isEmpty, "\(result.problems)")
        return result.configuration
    }

    @Test func pingAnsweredByKurento() throws {
        let double = try KurentoDouble()
        let result = HealthSupervisor.Probe.kurentoProbe(url: double.url, timeout: .seconds(3))
        #expect(result.ok, "\(result.detail)")
        #expect(result.detail.hasPrefix("\(double.url) answered ping in "))
        #expect(try double.requests() == ["ping"])
    }

    @Test func nothingListeningFailsWithTheURL() {
        let url = "ws://127.0.0.1:\(Loopback.freePort())/kurento"
        let result = HealthSupervisor.Probe.kurentoProbe(url: url, timeout: .seconds(2))
        #expect(!result.ok)
        #expect(result.detail.hasPrefix("cannot connect to Kurento at \(url)"), "\(result.detail)")
    }

    @Test func slowPongIsAFailure() throws {
        let double = try KurentoDouble()
        try double.control("slow", "method=ping&seconds=3")
        let started = ContinuousClock.now
        let result = HealthSupervisor.Probe.kurentoProbe(url: double.url, timeout: .milliseconds(500))
        #expect(!result.ok)
        #expect(result.detail == "Kurento at \(double.url) did not answer ping within 0.5 s")
        #expect(ContinuousClock.now - started < .seconds(2))
    }

    @Test func errorAnswerToPingIsAFailure() throws {
        let double = try KurentoDouble()
        try double.control("error", "method=ping&code=40000&message=overloaded")
        let result = HealthSupervisor.Probe.kurentoProbe(url: double.url, timeout: .seconds(2))
        #expect(!result.ok)
        #expect(result.detail == "Kurento refused ping: error 40000: overloaded")
    }

    @Test func serviceProbesKurentoOnlyAsTheEngine() throws {
        let url = "ws://127.0.0.1:\(Loopback.freePort())/kurento"
        let directory = try TemporaryDirectory(prefix: "kurento-service")
        let store = try Store(path: directory.file("camhost.db"), migrator: CamhostSchema.migrator)
        let marker = directory.file("restarts")
        // health.restart_command is split on spaces: a script stands in for systemctl.
        let script = directory.file("restart.sh")
        try writeFile(script, "#!/bin/sh\necho \"$1\" >> \(marker)\n")
        chmod(script, 0o755)
        let withScript = try configuration(url, extra: ["CAMHOST_HEALTH_RESTART_COMMAND": "\(script) {unit}", "CAMHOST_HEALTH_KURENTO_UNIT": "kms.service"])
        let supervisor = HealthSupervisor.forService(configuration: withScript, store: store) { [] }
        supervisor.runOnce()
        let kurentoResult = try #require(supervisor.latest["kurento"])
        #expect(!kurentoResult.ok)
        #expect(kurentoResult.detail.contains(url))
        // Restarted through the configured command, once (the back-off holds the second).
        supervisor.runOnce()
        #expect(((try? FileSystem.readText(marker)) ?? "") == "kms.service\n")
        #expect(supervisor.restartCounts["kurento"]?.made == 1)
        #expect(try HealthHistory(store: store).latest().contains { $0.check == "kurento.restart" && $0.ok })

        let builtin = ConfigLoader.load(file: nil, environment: ["CAMHOST_STORAGE_DATA_DIR": directory.path]).configuration
        let plain = HealthSupervisor.forService(configuration: builtin, store: store) { [] }
        plain.runOnce()
        #expect(plain.latest["kurento"] == nil)
    }

    @Test func doctorSaysKurentoIsReachableOrHowToFixIt() throws {
        let double = try KurentoDouble()
        let up = Doctor(configuration: try configuration(double.url))
        let ok = try #require(up.checks.first { $0.name == "kurento" })
        #expect(ok.ok && ok.fix == nil)
        double.kill()
        let down = Doctor(configuration: try configuration(double.url))
        let failing = try #require(down.checks.first { $0.name == "kurento" })
        #expect(!failing.ok)
        #expect(!down.ok)
        #expect(failing.detail.contains(double.url))
        #expect(failing.fix == "systemctl restart kurento-media-server.service (systemctl status kurento-media-server.service says why it stopped); or check media.kurento_url = \"\(double.url)\" (camhost config show)")
        // Not the engine: not checked.
        let builtin = Doctor(configuration: ConfigLoader.load(file: nil).configuration)
        #expect(!builtin.checks.contains { $0.name == "kurento" })
    }
}
