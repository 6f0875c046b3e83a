// Starts a real Mosquitto broker for one test. Spawned with posix_spawn and an empty signal
// mask, because a child started from a test thread otherwise inherits blocked signals
// (shared/FACTS.md); stopped with SIGKILL all the same.
import Control
import POSIX
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class Broker: @unchecked Sendable {
    let port: Int
    let configPath: String?
    private(set) var pid: pid_t = 0

    static let binary = "/usr/sbin/mosquitto"

    /// `config` is the body of a mosquitto.conf (without `listener`); nil means `mosquitto -p PORT`.
    init(port: Int? = nil, config: String? = nil, directory: String? = nil) throws {
        self.port = port ?? Int(Loopback.freePort())
        if let config {
            let dir = directory ?? makeTemporaryDirectory()
            let path = "\(dir)/mosquitto.conf"
            try writeFile(path, "listener \(self.port) 127.0.0.1\n" + config)
            configPath = path
        } else {
            configPath = nil
        }
        try start()
    }

    func start() throws {
        var args = [Self.binary]
        if let configPath { args += ["-c", configPath] } else { args += ["-p", String(port)] }
        pid = try spawn(args)
        try waitUntilListening()
    }

    func kill() {
        guard pid > 0 else { return }
        Glibc.kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        pid = 0
    }

    deinit { kill() }

    var options: MQTTClient.Options { MQTTClient.Options(host: "127.0.0.1", port: port, ackTimeout: .seconds(3)) }

    private func waitUntilListening() throws {
        for _ in 0..<100 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            close(fd)
            if rc == 0 { return }
            usleep(50_000)
        }
        throw TestFailure("mosquitto did not listen on \(port)")
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Starts `args` (as camhost starts children: clean signal mask, default dispositions); output
/// to /dev/null when `quiet`.
func spawn(_ args: [String], quiet: Bool = true) throws -> pid_t {
    do {
        return try spawnChild(args) { actions in
            if quiet {
                posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
                posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
            }
        }
    } catch {
        throw TestFailure("\(error)")
    }
}

/// Runs a command to completion; returns its exit status.
@discardableResult
func run(_ args: [String]) throws -> Int32 {
    let pid = try spawn(args)
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    return (status >> 8) & 0xff
}

func makeTemporaryDirectory() -> String {
    var template = Array("/tmp/camhost-control-XXXXXX".utf8CString)
    let path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    return path
}

func writeFile(_ path: String, _ text: String) throws {
    guard let file = fopen(path, "w") else { throw TestFailure("cannot write \(path)") }
    fputs(text, file)
    fclose(file)
}

/// Waits until `condition` holds, polling every 20 ms, or fails after `timeout`.
func eventually(_ timeout: Duration = .seconds(5), _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}

