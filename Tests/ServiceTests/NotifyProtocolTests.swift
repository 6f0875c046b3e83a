import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The sd_notify protocol as systemd would receive it: a datagram socket the test listens on
/// (NOTIFY_SOCKET), `camhost serve` in a network namespace of its own so that the test can take
/// its loopback away (its own HTTPS check then fails) and give it back.
final class NotifyListener: @unchecked Sendable {
    let path: String
    let process: TestProcess

    init(directory: TemporaryDirectory) throws {
        path = directory.file("notify.sock")
        process = try TestProcess("/usr/bin/python3", ["-u", "-c", """
            import socket, sys, time
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])
            print("listening", flush=True)
            s.settimeout(120)
            while True:
                data = s.recv(4096).decode()
                print("%.3f %s" % (time.monotonic(), data.replace("\\n", "|")), flush=True)
            """, path], environment: TestEnvironment.clean)
        guard Loopback.waitUntil(timeout: .seconds(10), { process.output().contains("listening") }) else {
            throw TestFailure("the notify listener did not start: \(process.errors())")
        }
    }

    /// Every message so far, oldest first, as (monotonic seconds, text with '|' between lines).
    var messages: [(at: Double, text: String)] {
        process.output().split(separator: "\n").dropFirst().compactMap { line in
            guard let space = line.firstIndex(of: " "), let at = Double(line[..<space]) else { return nil }
            return (at, String(line[line.index(after: space)...]))
        }
    }

    func count(_ prefix: String) -> Int { messages.filter { $0.text.hasPrefix(prefix) }.count }

    deinit { process.kill() }
}

@Suite(.serialized, .enabled(if: getuid() == 0, "needs root for a network namespace"))
struct NotifyProtocolTests {
    func ip(_ arguments: [String]) throws {
        let result = try TestProcess.run("/sbin/ip", arguments, environment: TestEnvironment.clean)
        guard result.status == 0 else { throw TestFailure("ip \(arguments.joined(separator: " ")): \(result.stderr)") }
    }

    @Test func readyAfterStartWatchdogOnlyWhileOwnChecksPassReloadAndStop() throws {
        let directory = try TemporaryDirectory()
        let listener = try NotifyListener(directory: directory)
        let namespace = "camhost-nt-\(UInt32.random(in: 0x1000...0xFFFF))"
        try ip(["netns", "add", namespace])
        defer { _ = try? TestProcess.run("/sbin/ip", ["netns", "del", namespace], environment: TestEnvironment.clean) }
        try ip(["netns", "exec", namespace, "ip", "link", "set", "lo", "up"])

        var environment = TestEnvironment.clean
        environment["NOTIFY_SOCKET"] = listener.path
        environment["WATCHDOG_USEC"] = "1000000"
        environment["CAMHOST_HEALTH_READY_TIMEOUT_SECONDS"] = "10"
        let serve = try TestProcess("/sbin/ip", ["netns", "exec", namespace, TestEnvironment.camhostBinary, "serve",
                                                 "--data-dir", directory.file("var"), "--listen", "127.0.0.1:5443"], environment: environment)
        defer { serve.kill() }

        // READY=1 once HTTPS and the managed broker's MQTT connection are up, with a status line.
        #expect(Loopback.waitUntil(timeout: .seconds(60)) { listener.count("READY=1") == 1 }, "\(serve.errors())")
        let ready = try #require(listener.messages.first { $0.text.hasPrefix("READY=1") })
        #expect(ready.text.contains("STATUS=serving https://127.0.0.1:5443; MQTT connected"), "\(ready.text)")
        #expect(ready.text.contains("MAINPID="))
        // Pinged at half of WatchdogSec while all is well.
        #expect(Loopback.waitUntil(timeout: .seconds(5)) { listener.count("WATCHDOG=1") >= 3 })

        // Take loopback away: HTTPS no longer accepts, so the pings stop (systemd would restart camhost).
        try ip(["netns", "exec", namespace, "ip", "link", "set", "lo", "down"])
        usleep(3_500_000)  // the check runs every 2 s; let one in-flight ping pass
        let before = listener.count("WATCHDOG=1")
        usleep(3_000_000)
        #expect(listener.count("WATCHDOG=1") == before, "WATCHDOG=1 kept coming while HTTPS was unreachable")
        try ip(["netns", "exec", namespace, "ip", "link", "set", "lo", "up"])
        #expect(Loopback.waitUntil(timeout: .seconds(8)) { listener.count("WATCHDOG=1") > before }, "pings did not resume")

        // SIGHUP: RELOADING=1, then READY=1 again.
        serve.signal(SIGHUP)
        #expect(Loopback.waitUntil(timeout: .seconds(10)) { listener.count("RELOADING=1") == 1 && listener.count("READY=1") == 2 })
        let reloading = try #require(listener.messages.first { $0.text.hasPrefix("RELOADING=1") })
        #expect(reloading.text.contains("MONOTONIC_USEC="))

        serve.signal(SIGTERM)
        #expect(serve.wait(timeout: .seconds(20)) == 0)
        #expect(listener.count("STOPPING=1") == 1)
    }

    /// A renewed certificate is served to new connections at once after SIGHUP, on the same port.
    @Test func reloadServesTheRenewedCertificate() throws {
        let directory = try TemporaryDirectory()
        let port = Loopback.freePort()
        let data = directory.file("var")
        let serve = try TestProcess(TestEnvironment.camhostBinary, ["serve", "--data-dir", data, "--listen", "127.0.0.1:\(port)"],
                                    environment: TestEnvironment.clean)
        defer { serve.kill() }
        #expect(Loopback.waitUntil(timeout: .seconds(30)) { Loopback.isListening(port) }, "\(serve.errors())")
        func servedCertificate() throws -> String {
            let result = try TestProcess.run("/usr/bin/gnutls-cli", ["--insecure", "--print-cert", "-p", "\(port)", "127.0.0.1"],
                                             environment: TestEnvironment.clean, stdin: "", timeout: .seconds(20))
            let text = result.stdout
            guard let start = text.range(of: "-----BEGIN CERTIFICATE-----"), let end = text.range(of: "-----END CERTIFICATE-----") else {
                throw TestFailure("gnutls-cli printed no certificate: \(result.stderr)")
            }
            return String(text[start.lowerBound..<end.upperBound])
        }
        let first = try servedCertificate()
        #expect(first == (try readFile(data + "/tls/cert.pem")).trimmingCharacters(in: .whitespacesAndNewlines))

        // A renewal: a new certificate for the same key, written as certbot's hook would.
        let template = directory.file("template")
        try writeFile(template, "cn = \"renewed\"\nexpiration_days = 90\ntls_www_server\nsigning_key\n")
        let renewed = try TestProcess.run("/usr/bin/certtool", ["--generate-self-signed", "--load-privkey", data + "/tls/key.pem",
                                                                "--template", template, "--outfile", data + "/tls/cert.pem.new"], environment: TestEnvironment.clean)
        #expect(renewed.status == 0, "\(renewed.stderr)")
        #expect(rename(data + "/tls/cert.pem.new", data + "/tls/cert.pem") == 0)
        serve.signal(SIGHUP)
        var second = first
        #expect(Loopback.waitUntil(timeout: .seconds(10)) {
            second = (try? servedCertificate()) ?? first
            return second != first
        })
        #expect(second == (try readFile(data + "/tls/cert.pem")).trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(serve.errors().contains("TLS certificate reloaded"))
        serve.signal(SIGTERM)
        #expect(serve.wait(timeout: .seconds(20)) == 0)
    }
}
