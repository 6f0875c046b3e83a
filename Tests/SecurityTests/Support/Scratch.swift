import POSIX
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// Helpers for the Security tests: temporary directories and running real command line tools
// (certtool, gnutls-serv, gnutls-cli). Processes are started with Spawn's spawnChild (cleared
// signal mask), not Foundation's Process, which inherits the test thread's blocked signals and
// cannot be stopped (see FACTS.md).

/// A fresh directory under /tmp, removed by `remove()`.
struct ScratchDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/camhost-security-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else { throw ScratchError("mkdtemp failed: errno \(errno)") }
        path = cString(template)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func remove() {
        _ = try? run("/bin/rm", ["-rf", path])
    }
}

struct ScratchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Output and exit status of a finished process.
struct ProcessResult {
    let status: Int32
    let output: String
}

/// Runs `executable` with `arguments`, waits for it, and returns its exit status and combined
/// stdout and stderr (collected through a temporary file).
func run(_ executable: String, _ arguments: [String]) throws -> ProcessResult {
    var template = Array("/tmp/camhost-security-out-XXXXXX".utf8CString)
    let outputFD = mkstemp(&template)
    guard outputFD >= 0 else { throw ScratchError("mkstemp failed: errno \(errno)") }
    let outputPath = cString(template)
    defer { close(outputFD); unlink(outputPath) }

    let pid = try spawn(executable, arguments, outputFD: outputFD)
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
        guard errno == EINTR else { throw ScratchError("waitpid failed: errno \(errno)") }
    }
    lseek(outputFD, 0, SEEK_SET)
    var output: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = read(outputFD, &chunk, chunk.count)
        if n <= 0 { break }
        output += chunk[0..<n]
    }
    let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return ProcessResult(status: exitStatus, output: String(decoding: output, as: UTF8.self))
}

/// Starts `executable` with stdout and stderr going to `outputFD`, stdin from /dev/null (as
/// camhost starts children: `spawnChild`, clean signal mask, default dispositions).
func spawn(_ executable: String, _ arguments: [String], outputFD: Int32) throws -> pid_t {
    do {
        return try spawnChild([executable] + arguments) { actions in
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_adddup2(&actions, outputFD, 1)
            posix_spawn_file_actions_adddup2(&actions, outputFD, 2)
        }
    } catch {
        throw ScratchError("posix_spawn \(executable) failed: errno \(error.code)")
    }
}

/// The text of a NUL-terminated C character array.
func cString(_ chars: [CChar]) -> String {
    String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
