import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `camhost serve` as a user runs it: a real binary, real TLS, a real managed broker.
final class RunningServe {
    let directory: TemporaryDirectory
    let process: TestProcess
    let port: UInt16
    let brokerPort: UInt16

    init(extraArguments: [String] = [], environment: [String: String] = [:], directory: TemporaryDirectory? = nil) throws {
        let directory = try directory ?? TemporaryDirectory(prefix: "serve")
        self.directory = directory
        port = Loopback.freePort()
        brokerPort = Loopback.freePort()
        var env = TestEnvironment.clean
        env["CAMHOST_MQTT_MANAGED_BROKER_PORT"] = "\(brokerPort)"
        env.merge(environment) { $1 }
        process = try TestProcess(TestEnvironment.camhostBinary,
                                  ["serve", "--listen", "127.0.0.1:\(port)", "--data-dir", directory.file("var")] + extraArguments,
                                  environment: env)
    }

    /// Waits until /healthz answers 200 (or the process exits).
    func waitUntilServing() -> Bool {
        Loopback.waitUntil(timeout: .seconds(20)) {
            guard process.isRunning else { return true }
            return (try? curl(["-o", "/dev/null", "-w", "%{http_code}", url("/healthz")]).stdout) == "200"
        } && process.isRunning
    }

    var certificate: String { directory.file("var/tls/cert.pem") }
    func url(_ path: String) -> String { "https://127.0.0.1:\(port)\(path)" }

    func curl(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try TestProcess.run("curl", ["-sS", "--cacert", certificate] + arguments)
    }

    /// The managed broker's pid, from the health report.
    func brokerPID() throws -> Int32? {
        let health = try curl([url("/healthz")]).stdout
        let marker = "managed mosquitto pid "
        guard let start = health.indices.first(where: { health[$0...].hasPrefix(marker) }) else { return nil }
        return Int32(health[health.index(start, offsetBy: marker.count)...].prefix { $0.isNumber })
    }

    deinit { process.kill() }
}

@Suite("camhost serve, end to end", .serialized)
struct ServeTests {
    @Test func firstStartMakesEverythingAndServesHealthOverTLS() throws {
        let serve = try RunningServe()
        #expect(serve.waitUntilServing(), "\(serve.process.errors())")
        let health = try serve.curl([serve.url("/healthz")])
        #expect(health.stdout.contains(#""status":"ok""#), "\(health.stdout)")
        #expect(health.stdout.contains(#""database":{"#))
        #expect(fileMode(serve.directory.file("var/tls/key.pem")) == 0o600)
        #expect(fileExists(serve.directory.file("var/camhost.db")))
        #expect(serve.process.output().contains("https://127.0.0.1:\(serve.port)/"))

        // SQLite: migrated, with the schema version table.
        let schema = try TestProcess.run("python3", ["-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select max(version) from schema_version').fetchone()[0])", serve.directory.file("var/camhost.db")])
        #expect(Int(schema.stdout.trimmingCharacters()) ?? 0 >= 1, "\(schema.stderr)")

        // libmosquitto (through mosquitto_pub/sub, both libmosquitto clients) talks to the managed broker.
        let subscriber = try TestProcess("mosquitto_sub", ["-h", "127.0.0.1", "-p", "\(serve.brokerPort)", "-t", "camhost/test", "-C", "1", "-W", "10"])
        usleep(300_000)
        let published = try TestProcess.run("mosquitto_pub", ["-h", "127.0.0.1", "-p", "\(serve.brokerPort)", "-t", "camhost/test", "-m", "hello", "-q", "1"])
        #expect(published.status == 0, "\(published.stderr)")
        #expect(subscriber.wait(timeout: .seconds(10)) == 0)
        #expect(subscriber.output() == "hello\n")

        // SIGTERM: clean stop, exit 0, broker gone.
        let broker = try #require(try serve.brokerPID())
        serve.process.signal(SIGTERM)
        #expect(serve.process.wait(timeout: .seconds(20)) == 0, "\(serve.process.errors())")
        #expect(Loopback.waitUntil(timeout: .seconds(5)) { !isAlive(broker) }, "the managed broker must stop with camhost")
    }

    @Test func certificateIsKeptAcrossRestartsAndRemadeOnlyWhenMissing() throws {
        let directory = try TemporaryDirectory(prefix: "serve")
        do {
            let serve = try RunningServe(directory: directory)
            #expect(serve.waitUntilServing())
            serve.process.signal(SIGINT)
            #expect(serve.process.wait(timeout: .seconds(20)) == 0)
        }
        let key = try readBytes(directory.file("var/tls/key.pem"))
        let certificate = try readBytes(directory.file("var/tls/cert.pem"))
        do {
            let serve = try RunningServe(directory: directory)
            #expect(serve.waitUntilServing())
            serve.process.signal(SIGTERM)
            #expect(serve.process.wait(timeout: .seconds(20)) == 0)
        }
        #expect(try readBytes(directory.file("var/tls/key.pem")) == key)
        #expect(try readBytes(directory.file("var/tls/cert.pem")) == certificate)
        unlink(directory.file("var/tls/cert.pem"))
        do {
            let serve = try RunningServe(directory: directory)
            #expect(serve.waitUntilServing())
            serve.process.signal(SIGTERM)
            #expect(serve.process.wait(timeout: .seconds(20)) == 0)
        }
        #expect(try readBytes(directory.file("var/tls/key.pem")) == key, "the key is kept")
        #expect(try readBytes(directory.file("var/tls/cert.pem")) != certificate, "a new certificate is made for it")
    }

    @Test func refusesAWorldReadableKeyAndTouchesNothing() throws {
        let directory = try TemporaryDirectory(prefix: "serve")
        do {
            let serve = try RunningServe(directory: directory)
            #expect(serve.waitUntilServing())
            serve.process.signal(SIGTERM)
            #expect(serve.process.wait(timeout: .seconds(20)) == 0)
        }
        chmod(directory.file("var/tls/key.pem"), 0o644)
        let key = try readBytes(directory.file("var/tls/key.pem"))
        let serve = try RunningServe(directory: directory)
        #expect(serve.process.wait(timeout: .seconds(20)) == 77)
        #expect(serve.process.errors().contains("chmod 600"), "\(serve.process.errors())")
        #expect(try readBytes(directory.file("var/tls/key.pem")) == key)
        #expect(fileMode(directory.file("var/tls/key.pem")) == 0o644, "camhost reports; it does not silently change modes")
    }

    @Test func aPortInUseIsAClearErrorAndLeavesNoBrokerBehind() throws {
        let first = try RunningServe()
        #expect(first.waitUntilServing())
        let directory = try TemporaryDirectory(prefix: "serve")
        var env = TestEnvironment.clean
        let brokerPort = Loopback.freePort()
        env["CAMHOST_MQTT_MANAGED_BROKER_PORT"] = "\(brokerPort)"
        let second = try TestProcess.run(TestEnvironment.camhostBinary,
                                         ["serve", "--listen", "127.0.0.1:\(first.port)", "--data-dir", directory.file("var")], environment: env)
        #expect(second.status == 69)
        #expect(second.stderr.contains("already in use"), "\(second.stderr)")
        #expect(!Loopback.isListening(brokerPort), "the broker started for the failed attempt must be stopped")
    }

    @Test func sigkillOfCamhostTakesTheBrokerDown() throws {
        let serve = try RunningServe()
        #expect(serve.waitUntilServing())
        let broker = try #require(try serve.brokerPID())
        serve.process.kill()
        #expect(Loopback.waitUntil(timeout: .seconds(5)) { !isAlive(broker) }, "parent-death signal must end the broker")
    }

    @Test func unwritableDataDirectoryIsAClearError() throws {
        // Tests run as root, which ignores modes: a data directory under a regular file cannot be created by anyone.
        let directory = try TemporaryDirectory()
        try writeFile(directory.file("file"), "x")
        let result = try TestProcess.run(TestEnvironment.camhostBinary, ["serve", "--data-dir", directory.file("file/var"), "--listen", "127.0.0.1:\(Loopback.freePort())"],
                                         environment: TestEnvironment.clean)
        #expect(result.status == 73)
        #expect(result.stderr.contains("cannot create the data directory"), "\(result.stderr)")
        #expect(try readFile(directory.file("file")) == "x")
    }

    @Test func dataDirectoryWithoutPermissionForTheServiceUserIsAClearError() throws {
        // A real permission failure: camhost runs as `nobody` against a root-owned 0750 directory.
        guard getuid() == 0 else { return }
        let directory = try TemporaryDirectory()
        chmod(directory.path, 0o755)
        mkdir(directory.file("root-only"), 0o750)
        let result = try TestProcess.run("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--",
                                                     TestEnvironment.camhostBinary, "serve", "--data-dir", directory.file("root-only"),
                                                     "--listen", "127.0.0.1:\(Loopback.freePort())"],
                                         environment: TestEnvironment.clean)
        #expect(result.status == 73, "\(result.stderr)")
        #expect(result.stderr.contains("not writable by this user (uid 65534)"), "\(result.stderr)")
    }

    @Test func writesAndRemovesThePidFile() throws {
        let directory = try TemporaryDirectory(prefix: "serve")
        let serve = try RunningServe(environment: ["CAMHOST_SERVER_PID_FILE": directory.file("camhost.pid")], directory: directory)
        #expect(serve.waitUntilServing())
        #expect(try readFile(directory.file("camhost.pid")) == "\(serve.process.pid)\n")
        serve.process.signal(SIGTERM)
        #expect(serve.process.wait(timeout: .seconds(20)) == 0)
        #expect(!fileExists(directory.file("camhost.pid")))
    }
}

/// Whether a process runs: gone, or a zombie nobody reaped (an orphan's new parent may be a
/// PID 1 that does not reap), both count as ended.
func isAlive(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0, let stat = try? readFile("/proc/\(pid)/stat") else { return false }
    guard let close = stat.lastIndex(of: ")") else { return false }
    return !stat[close...].dropFirst(2).hasPrefix("Z")
}

extension String {
    func trimmingCharacters() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
