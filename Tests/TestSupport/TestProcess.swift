import POSIX
#if canImport(Glibc)
import Glibc
#endif

/// A process started by a test, with an empty signal mask and default signal handlers.
///
/// Foundation's `Process` started from a test thread inherits that thread's blocked signals and
/// ignores SIGTERM (shared FACTS), so tests spawn through here (`spawnChild`, as camhost does). Output goes to files in a
/// temporary directory, read back with `output()` / `errors()`.
public final class TestProcess: @unchecked Sendable {
    public let pid: pid_t
    public let stdoutPath: String
    public let stderrPath: String
    private var exitStatus: Int32?
    private let scratch: TemporaryDirectory

    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                directory: String? = nil, stdin: String? = nil) throws {
        let scratch = try TemporaryDirectory(prefix: "proc")
        self.scratch = scratch
        stdoutPath = scratch.path + "/stdout"
        stderrPath = scratch.path + "/stderr"
        let inputPath = scratch.path + "/stdin"
        if let stdin { try writeFile(inputPath, stdin) }
        var command: [String] = [executable] + arguments
        if let directory { command = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory] + command }
        let pairs: [String] = (environment ?? TestEnvironment.current).map { "\($0.key)=\($0.value)" }
        let (stdoutPath, stderrPath) = (self.stdoutPath, self.stderrPath)
        let child: pid_t
        do {
            child = try spawnChild(command, environment: pairs, searchPath: !command[0].contains("/")) { actions in
                posix_spawn_file_actions_addopen(&actions, 0, stdin == nil ? "/dev/null" : inputPath, O_RDONLY, 0)
                posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            }
        } catch {
            throw TestFailure("cannot start \(executable): \(String(cString: strerror(error.code)))")
        }
        pid = child
    }

    public func signal(_ signal: Int32) { Glibc.kill(pid, signal) }

    /// Waits for the exit; returns the exit status (128+N when killed by signal N), or nil on time-out.
    @discardableResult
    public func wait(timeout: Duration = .seconds(30)) -> Int32? {
        if let exitStatus { return exitStatus }
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var status: Int32 = 0
        while ContinuousClock.now < deadline {
            let rc = waitpid(pid, &status, WNOHANG)
            if rc == pid {
                let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                exitStatus = code
                return code
            }
            if rc < 0 && errno != EINTR { return nil }
            usleep(5_000)
        }
        return nil
    }

    /// Whether the process is still running.
    public var isRunning: Bool {
        if exitStatus != nil { return false }
        var status: Int32 = 0
        let rc = waitpid(pid, &status, WNOHANG)
        if rc == pid {
            exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
            return false
        }
        return rc == 0
    }

    /// SIGKILL and reap; safe to call twice.
    public func kill() {
        if isRunning {
            Glibc.kill(pid, SIGKILL)
            wait(timeout: .seconds(5))
        }
    }

    public func output() -> String { (try? readFile(stdoutPath)) ?? "" }
    public func errors() -> String { (try? readFile(stderrPath)) ?? "" }

    deinit { kill() }

    /// Runs to completion and returns (status, stdout, stderr).
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                           directory: String? = nil, stdin: String? = nil, timeout: Duration = .seconds(60)) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = try TestProcess(executable, arguments, environment: environment, directory: directory, stdin: stdin)
        guard let status = process.wait(timeout: timeout) else {
            process.kill()
            throw TestFailure("\(executable) \(arguments.joined(separator: " ")) did not finish within \(timeout)")
        }
        return (status, process.output(), process.errors())
    }
}

/// A failure in test set-up, with a message saying what.
public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public enum TestEnvironment {
    /// This process's environment (POSIX's reading of `environ`).
    public static var current: [String: String] { Environment.current() }

    /// The environment without any CAMHOST_* variable, so a developer's shell cannot change a test.
    public static var clean: [String: String] { current.filter { !$0.key.hasPrefix("CAMHOST_") } }

    /// The camhost binary built next to the test bundle (or `$CAMHOST_BIN`).
    public static var camhostBinary: String {
        if let explicit = current["CAMHOST_BIN"] { return explicit }
        return builtProgram("camhost")
    }

    /// The crash-safety tests' cleanup with SIGKILL hooks (Tests/CrashHarness), built next to
    /// the test bundle; never part of the shipped camhost.
    public static var crashHarnessBinary: String { builtProgram("CrashHarness") }

    private static func builtProgram(_ name: String) -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let exe = n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        // .build/<triple>/debug/camhostPackageTests.xctest -> .build/<triple>/debug/camhost
        var directory = exe
        while let slash = directory.lastIndex(of: "/") {
            directory = String(directory[..<slash])
            if access(directory + "/" + name, X_OK) == 0 { return directory + "/" + name }
            if directory.isEmpty { break }
        }
        return name
    }
}
