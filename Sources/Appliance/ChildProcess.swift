import POSIX
#if canImport(Glibc)
import Glibc
#endif

/// A long-running child process (the managed broker), started by `spawnChild` (clean signal
/// mask, default handlers, its own process group).
final class ChildProcess: Sendable {
    let pid: pid_t
    let executable: String

    /// `outputPath`: standard output and error are appended there. `dieWithParent`: the child is
    /// sent SIGKILL by the kernel if the spawning thread dies, even when camhost is killed with
    /// SIGKILL (prctl PR_SET_PDEATHSIG through util-linux's `setpriv`). `runAs`: when camhost is
    /// root, the child runs as this user; the switch happens in setpriv *before* the death signal
    /// is set, because the kernel clears PR_SET_PDEATHSIG whenever a process changes its user
    /// (a daemon that drops privileges by itself would silently lose it). `inheritedFiles`: files
    /// opened read-only by camhost for the child at the given descriptor numbers, so the child
    /// can read them as /dev/fd/N without permission to the directory they are in.
    init(executable: String, arguments: [String], outputPath: String?, dieWithParent: Bool,
         runAs user: String? = nil, inheritedFiles: [(descriptor: Int32, path: String)] = []) throws(SystemError) {
        var argv = [executable] + arguments
        let candidates: [String] = ["/usr/bin/setpriv", "/bin/setpriv"]
        if dieWithParent, let setpriv = candidates.first(where: { access($0, X_OK) == 0 }) {
            var options: [String] = []
            if let user, geteuid() == 0, getpwnam(user) != nil {
                options = ["--reuid=\(user)", "--regid=\(user)", "--init-groups"]
            }
            argv = [setpriv] + options + ["--pdeathsig", "KILL", "--"] + argv
        }
        let output = outputPath ?? "/dev/null"
        let child: pid_t
        do {
            // Own process group: a Ctrl-C in the terminal reaches camhost, which then stops the child in order.
            child = try spawnChild(argv, newProcessGroup: true) { actions in
                posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
                posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o640)
                posix_spawn_file_actions_adddup2(&actions, 1, 2)
                for file in inheritedFiles {
                    posix_spawn_file_actions_addopen(&actions, file.descriptor, file.path, O_RDONLY, 0)
                }
            }
        } catch {
            throw SystemError(operation: "start", path: argv[0], errno: error.code)
        }
        self.pid = child
        self.executable = executable
    }

    func signal(_ signal: Int32) { kill(pid, signal) }

    /// Blocks until the child exits; returns a description of how it ended.
    func wait() -> String {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return "unknown (waitpid: \(String(cString: strerror(errno))))" }
        }
        return describeWaitStatus(status)
    }
}
