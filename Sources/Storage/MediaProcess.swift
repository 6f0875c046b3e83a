import POSIX
#if canImport(Glibc)
import Glibc
#endif

/// A media tool (ffprobe, ffmpeg) running as a child process: started by `spawnChild` (clean
/// signal mask, default handlers), standard output and error captured, and files of ours handed
/// over as descriptors so the tool never resolves a path below the recordings root itself.
final class MediaProcess {
    let pid: pid_t
    /// Read ends of the child's standard output (when not redirected to a file) and error.
    private var pipes: [Int32]
    private(set) var output: [UInt8] = []
    private(set) var errorOutput: [UInt8] = []
    private(set) var status: Int32?

    /// `descriptors`: our descriptor → the number the child sees it as (e.g. 3 for /dev/fd/3;
    /// 1 to send standard output to a file of ours instead of the capture pipe).
    init(executable: String, arguments: [String], descriptors: [(ours: Int32, child: Int32)]) throws(Errno) {
        var outputPipe: [Int32] = [-1, -1], errorPipe: [Int32] = [-1, -1]
        // pipe2 (O_CLOEXEC at once) does not import; we only ever wait with waitpid, so a copy
        // leaked into another thread's fork in between would do no harm.
        guard pipe(&outputPipe) == 0 else { throw Errno(errno) }
        guard pipe(&errorPipe) == 0 else {
            let code = errno
            Glibc.close(outputPipe[0]); Glibc.close(outputPipe[1])
            throw Errno(code)
        }
        for fd in outputPipe + errorPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        defer { Glibc.close(outputPipe[1]); Glibc.close(errorPipe[1]) }

        let child: pid_t
        do {
            child = try spawnChild([executable] + arguments) { actions in
                posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
                posix_spawn_file_actions_adddup2(&actions, outputPipe[1], 1)
                posix_spawn_file_actions_adddup2(&actions, errorPipe[1], 2)
                // dup2 clears close-on-exec on the copy, so only these reach the child.
                for descriptor in descriptors { posix_spawn_file_actions_adddup2(&actions, descriptor.ours, descriptor.child) }
            }
        } catch {
            Glibc.close(outputPipe[0]); Glibc.close(errorPipe[0])
            throw Errno(error.code)
        }
        pid = child
        pipes = [outputPipe[0], errorPipe[0]]
        for fd in pipes { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    }

    deinit {
        if status == nil { kill(); _ = poll() }
        for fd in pipes where fd >= 0 { Glibc.close(fd) }
    }

    /// Reads what the child wrote so far (never blocks), then reaps it if it has exited:
    /// returns its wait status once it has.
    func poll() -> Int32? {
        drain()
        if let status { return status }
        var raw: Int32 = 0
        let rc = waitpid(pid, &raw, WNOHANG)
        if rc == pid || (rc < 0 && errno == ECHILD) {
            drain()
            status = rc == pid ? raw : -1
        }
        return status
    }

    /// True when the child exited with status 0.
    var succeeded: Bool { status.map { $0 & 0x7f == 0 && ($0 >> 8) & 0xff == 0 } ?? false }

    /// How it ended, for an error message.
    var ending: String {
        guard let status else { return "still running" }
        if status < 0 { return "lost (waitpid)" }
        return describeWaitStatus(status)
    }

    func kill() { _ = Glibc.kill(pid, SIGKILL) }

    /// Blocks until the child has exited (after `kill`).
    func waitForExit() {
        guard status == nil else { return }
        status = (try? waitForChild(pid))?.rawValue ?? -1
        drain()
    }

    private func drain() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        for (index, fd) in pipes.enumerated() where fd >= 0 {
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    // Keep the first 64 kB: enough for a duration line or an error message.
                    if index == 0 { if output.count < 65_536 { output += buffer[0..<n] } }
                    else if errorOutput.count < 65_536 { errorOutput += buffer[0..<n] }
                    continue
                }
                if n == 0 { Glibc.close(fd); pipes[index] = -1 }
                break   // EAGAIN: nothing more for now
            }
        }
    }
}
