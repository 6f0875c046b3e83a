import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A container booted by scripts/nspawn-lab.sh with camhost installed by scripts/install.sh and
/// enabled as the hardened unit; torn down (powered off and removed) by `down()`.
final class ServiceLab: @unchecked Sendable {
    let name: String
    let script = ServiceFiles.repository + "/scripts/nspawn-lab.sh"

    /// `dropIn`: unit settings for this lab (a short WatchdogSec, configuration through
    /// `Environment=CAMHOST_...`), installed before the container boots.
    init(dropIn: String) throws {
        name = "t\(getpid())-\(UInt32.random(in: 0x1000...0xFFFF))"
        let directory = try TemporaryDirectory()
        let path = directory.file("lab.conf")
        try writeFile(path, dropIn)
        let result = try TestProcess.run(script, ["up", name, ServiceFiles.binary, path], environment: TestEnvironment.clean, timeout: .seconds(600))
        guard result.status == 0 else { throw TestFailure("nspawn-lab up failed (\(result.status)): \(result.stderr)") }
    }

    @discardableResult
    func exec(_ arguments: [String], timeout: Duration = .seconds(30)) throws -> (status: Int32, stdout: String, stderr: String) {
        try TestProcess.run(script, ["exec", name] + arguments, environment: TestEnvironment.clean, timeout: timeout)
    }

    func property(_ name: String) throws -> String {
        try exec(["systemctl", "show", "-p", name, "--value", "camhost.service"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `/healthz` inside the container answers 200.
    func healthy(port: Int) -> Bool {
        let result = try? exec(["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2", "https://127.0.0.1:\(port)/healthz"])
        return result?.stdout == "200"
    }

    func waitUntil(_ timeout: Duration, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try condition() { return true }
            usleep(50_000)
        }
        return try condition()
    }

    func journal() -> String { (try? exec(["journalctl", "-u", "camhost.service", "--no-pager", "-o", "cat"]).stdout) ?? "" }

    func down() { _ = try? TestProcess.run(script, ["down", name], environment: TestEnvironment.clean, timeout: .seconds(60)) }
}

/// Whether a real systemd can be booted here: root, systemd-nspawn, and the cached Debian root
/// (scripts/test.sh makes it with `scripts/nspawn-lab.sh root`; it says so when it cannot).
let nspawnAvailable: Bool = getuid() == 0 && commandExists("systemd-nspawn")
    && access((TestEnvironment.current["CAMHOST_NSPAWN_CACHE"] ?? "/var/cache/camhost-test") + "/bookworm/lib/systemd/systemd", X_OK) == 0

@Suite(.serialized, .enabled(if: nspawnAvailable, "needs root, systemd-nspawn and the lab's Debian root (scripts/nspawn-lab.sh root; scripts/test.sh makes it)"))
struct NspawnServiceTests {
    /// A privileged port proves CAP_NET_BIND_SERVICE survives the hardening, and the RTCP watch
    /// (a live capture) that CAP_NET_RAW does.
    static let dropIn = """
        [Service]
        WatchdogSec=3s
        Environment=CAMHOST_SERVER_LISTEN=127.0.0.1:443
        Environment=CAMHOST_DIAGNOSTICS_WATCH_CAMERAS=127.0.0.2

        """

    @Test func startsRestartsAfterKillAndAfterAHungMainLoop() throws {
        let lab = try ServiceLab(dropIn: Self.dropIn)
        defer { lab.down() }

        // Active only after READY=1 (Type=notify), and serving on a port below 1024.
        #expect(try lab.waitUntil(.seconds(30)) { try lab.property("ActiveState") == "active" }, "\(lab.journal())")
        #expect(lab.waitUntil(.seconds(10)) { lab.healthy(port: 443) }, "\(lab.journal())")
        #expect(try lab.property("StatusText").hasPrefix("serving"))
        // The hardened unit may still capture: the RTCP watch started as the camhost user.
        #expect(lab.waitUntil(.seconds(10)) { lab.journal().contains("RTCP watch on") }, "\(lab.journal())")
        #expect(!lab.journal().contains("no permission to capture"))

        // systemctl reload: SIGHUP, camhost says RELOADING then READY, the process stays.
        let beforeReload = try lab.property("MainPID")
        let reload = try lab.exec(["systemctl", "reload", "camhost.service"])
        #expect(reload.status == 0, "\(reload.stderr)")
        #expect(lab.waitUntil(.seconds(10)) { lab.journal().contains("TLS certificate reloaded") }, "\(lab.journal())")
        #expect(try lab.property("MainPID") == beforeReload)
        #expect(try lab.property("ActiveState") == "active")
        #expect(lab.healthy(port: 443))

        // kill -9: systemd restarts it (Restart=on-failure) and /healthz answers again.
        let first = try lab.property("MainPID")
        try lab.exec(["kill", "-9", first])
        #expect(try lab.waitUntil(.seconds(20)) {
            let pid = try lab.property("MainPID")
            return pid != "0" && pid != first && lab.healthy(port: 443)
        }, "\(lab.journal())")
        #expect(try lab.property("NRestarts") == "1")

        // A stopped main loop stops the watchdog pings: systemd kills it with result `watchdog` and restarts it.
        let second = try lab.property("MainPID")
        try lab.exec(["kill", "-STOP", second])
        #expect(try lab.waitUntil(.seconds(30)) {
            let pid = try lab.property("MainPID")
            return pid != "0" && pid != second
        }, "\(lab.journal())")
        #expect(lab.journal().contains("Failed with result 'watchdog'"), "\(lab.journal())")
        #expect(lab.waitUntil(.seconds(10)) { lab.healthy(port: 443) })
        #expect(try lab.property("NRestarts") == "2")
    }
}
