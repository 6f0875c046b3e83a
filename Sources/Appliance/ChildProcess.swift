import POSIX

/// A long-running child process (the managed broker), started by `spawnChild` (clean signal
/// mask, default handlers, its own process group).
final class ChildProcess: Sendable {
    let pid: ProcessID
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
        if dieWithParent, let setpriv = candidates.first(where: FileSystem.isExecutable) {
            var options: [String] = []
            if let user, Users.isRoot, Users.lookUp(user) != nil {
                options = ["--reuid=\(user)", "--regid=\(user)", "--init-groups"]
            }
            argv = [setpriv] + options + ["--pdeathsig", "KILL", "--"] + argv
        }
        let output = outputPath ?? "/dev/null"
        let child: ProcessID
        do {
            // Own process group: a Ctrl-C in the terminal reaches camhost, which then stops the child in order.
            child = try spawnChild(argv, newProcessGroup: true, actions: [
                .open(descriptor: 0, path: "/dev/null", .readOnly),
                .open(descriptor: 1, path: output, .writeOnly, options: [.create, .append], permissions: 0o640),
                .duplicate(.standardOutput, as: 2),
            ] + inheritedFiles.map { .open(descriptor: $0.descriptor, path: $0.path, .readOnly) })
        } catch {
            throw SystemError(operation: .start, path: argv[0], errno: Errno(error.code))
        }
        self.pid = child
        self.executable = executable
    }

    func signal(_ signal: Signal) { Signals.send(signal, to: pid) }

    /// Blocks until the child exits; returns a description of how it ended.
    func wait() -> String {
        do { return try waitForChild(pid).description } catch { return "unknown (waitpid: \(error))" }
    }
}
