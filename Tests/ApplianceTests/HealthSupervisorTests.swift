import Control
import Foundation
import Logging
import POSIX
import Storage
import Testing
import TestSupport
@testable import Appliance
#if canImport(Glibc)
import Glibc
#endif

/// A real CoTURN (Debian's coturn) on a loopback port of its own, no TLS, no configuration file.
final class TestTURNServer: @unchecked Sendable {
    let port: UInt16
    let process: TestProcess

    init() throws {
        guard access("/usr/bin/turnserver", X_OK) == 0 else { throw TestFailure("coturn is not installed (scripts/install-deps.sh --test)") }
        let socket = Loopback.bind(type: SOCK_DGRAM)
        port = socket.port
        close(socket.fd)
        process = try TestProcess("/usr/bin/turnserver", ["-n", "--listening-ip=127.0.0.1", "--listening-port=\(port)", "--no-tls", "--no-dtls",
                                                          "--no-cli", "--log-file=stdout", "--simple-log"], environment: TestEnvironment.clean)
    }

    deinit { process.kill() }
}

@Suite("Health supervisor", .serialized)
struct HealthSupervisorTests {
    @Test func stunProbeAgainstARealCoTURN() throws {
        let turn = try TestTURNServer()
        var result = HealthSupervisor.Result(ok: false, detail: "")
        // The server needs a moment to bind.
        for _ in 0..<50 {
            result = HealthSupervisor.Probe.stunProbe(host: "127.0.0.1", port: turn.port, timeout: .milliseconds(500))
            if result.ok { break }
            usleep(100_000)
        }
        #expect(result.ok, "\(result.detail)")
        #expect(result.detail.contains("mapped 127.0.0.1:"), "\(result.detail)")
        #expect(result.detail.contains("Coturn"), "\(result.detail)")

        turn.process.kill()
        _ = turn.process.wait(timeout: .seconds(5))
        let down = HealthSupervisor.Probe.stunProbe(host: "127.0.0.1", port: turn.port, timeout: .milliseconds(500))
        #expect(!down.ok)
        #expect(down.detail.contains("127.0.0.1:\(turn.port)"), "\(down.detail)")
    }

    @Test func stunProbeRefusesAnAnswerThatIsNotSTUN() throws {
        // A UDP echo: the answer is our own request (a Binding Request, not a success response).
        let echo = try TestProcess("/usr/bin/python3", ["-c", """
            import socket, sys
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', 0))
            print(s.getsockname()[1], flush=True)
            s.settimeout(10)
            data, peer = s.recvfrom(2048); s.sendto(data, peer)
            data, peer = s.recvfrom(2048); s.sendto(b'garbage that is not STUN', peer)
            """], environment: TestEnvironment.clean)
        defer { echo.kill() }
        #expect(Loopback.waitUntil { !echo.output().isEmpty })
        let port = try #require(UInt16(echo.output().trimmingCharacters(in: .whitespacesAndNewlines)))
        let echoed = HealthSupervisor.Probe.stunProbe(host: "127.0.0.1", port: port, timeout: .seconds(2))
        #expect(!echoed.ok)
        #expect(echoed.detail.contains("without XOR-MAPPED-ADDRESS"), "\(echoed.detail)")
        let garbage = HealthSupervisor.Probe.stunProbe(host: "127.0.0.1", port: port, timeout: .seconds(2))
        #expect(!garbage.ok)
        #expect(garbage.detail.contains("not a STUN message"), "\(garbage.detail)")
    }

    @Test func brokerProbeMakesARoundTripThroughARealBroker() throws {
        let broker = try TestBroker()
        let options = MQTTClient.Options(host: "127.0.0.1", port: Int(broker.port))
        let ok = HealthSupervisor.Probe.mqttBroker(options: options, neighbour: nil).run()
        #expect(ok.ok, "\(ok.detail)")
        #expect(ok.detail.contains("round trip"))
        broker.process.kill()
        _ = broker.process.wait(timeout: .seconds(5))
        let down = HealthSupervisor.Probe.mqttBroker(options: options, timeout: .seconds(2), neighbour: nil).run()
        #expect(!down.ok)
    }

    /// A neighbour that stays down and whose restart command fails every time: restarts are spaced
    /// by the back-off, stop at the budget, and every one is in the history with its failure.
    @Test func aFailingRestartRespectsBackOffAndBudget() throws {
        let directory = try TemporaryDirectory()
        let store = try Store.open(directory.file("camhost.db"))
        let history = HealthHistory(store: store)
        let marker = directory.file("restarts")
        var settings = HealthSupervisor.Options()
        settings.policy = RestartPolicy(initialDelay: .milliseconds(200), maximumDelay: .milliseconds(800), budget: 3, budgetWindow: .seconds(60))
        let neighbour = HealthSupervisor.Neighbour(name: "coturn", restartCommand: ["/bin/sh", "-c", "date +%s.%N >> \(marker); exit 3"])
        let supervisor = HealthSupervisor(probes: [HealthSupervisor.Probe(name: "coturn", neighbour: neighbour) { .init(ok: false, detail: "down") }],
                                          options: settings, history: history, logger: Logger(label: "test"))
        let started = ContinuousClock.now
        while ContinuousClock.now - started < .seconds(3) {
            supervisor.runOnce()
            usleep(20_000)
        }
        let times = try readFile(marker).split(separator: "\n").compactMap { Double($0) }
        #expect(times.count == 3, "restarts made: \(times.count)")
        let gaps = zip(times, times.dropFirst()).map { $1 - $0 }
        #expect(gaps.count == 2 && gaps[0] >= 0.19 && gaps[1] >= 0.39, "gaps \(gaps)")
        #expect(supervisor.restartCounts["coturn"]?.made == 3)
        #expect(supervisor.restartCounts["coturn"]?.failed == 3)
        let restarts = try history.recent(check: "coturn.restart", limit: 100)
        // Three failed restarts, then the spent budget said once.
        #expect(restarts.count == 4, "\(restarts.map(\.detail))")
        #expect(restarts.filter { $0.detail.hasSuffix("exited with status 3") }.count == 3, "\(restarts.map(\.detail))")
        #expect(restarts.first?.detail.contains("budget of 3") == true)
        #expect(restarts.allSatisfy { !$0.ok })
        let counts = try history.restartCounts()
        #expect(counts.count == 1 && counts[0].neighbour == "coturn" && !counts[0].ok && counts[0].count == 3, "\(counts)")
        let latest = try history.latest()
        #expect(latest.first { $0.check == "coturn" }?.ok == false)
    }

    @Test func probesOfOwnResources() throws {
        let directory = try TemporaryDirectory()
        let store = try Store.open(directory.file("camhost.db"))
        let database = HealthSupervisor.Probe.database(HealthHistory(store: store)).run()
        #expect(database.ok && database.detail == "quick_check ok")
        #expect(HealthSupervisor.Probe.disk(path: directory.path, floorPercent: 0).run().ok)
        #expect(!HealthSupervisor.Probe.disk(path: directory.path, floorPercent: 101).run().ok)
        #expect(!HealthSupervisor.Probe.disk(path: directory.file("missing/nowhere"), floorPercent: 1).run().ok)
        #expect(HealthSupervisor.Probe.streams { [] }.run().ok)
        let trapped = HealthSupervisor.Probe.streams { ["10.0.0.2"] }.run()
        #expect(!trapped.ok && trapped.detail.contains("10.0.0.2"))
        let noCertificate = HealthSupervisor.Probe.certificate(path: directory.file("cert.pem")).run()
        #expect(!noCertificate.ok)
    }
}
