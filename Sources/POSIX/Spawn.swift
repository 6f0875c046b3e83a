#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Why `spawnChild` could not start a program: posix_spawn's error number.
public struct SpawnError: Error, Sendable, CustomStringConvertible {
    public let code: Int32
    public let program: String
    public var description: String { "cannot start \(program): \(String(cString: strerror(code)))" }
}

/// Starts a child process the way every child of camhost (and of its tests) must start: with an
/// empty signal mask and every signal at its default disposition.
///
/// camhost blocks SIGTERM and SIGINT in its threads to wait for them with sigwait; a child
/// spawned plainly inherits the mask and then ignores a polite stop (shared/FACTS.md: a broker
/// that survived `kill`, a test process that never ended). `fileActions` sets up the child's
/// descriptors (standard input/output/error, files handed over by number). `newProcessGroup`:
/// a Ctrl-C in the terminal reaches camhost only, which then stops the child in order.
/// `searchPath`: look the program up in PATH (posix_spawnp). `environment`: `KEY=value`
/// entries; nil passes camhost's own.
public func spawnChild(_ argv: [String], environment: [String]? = nil, searchPath: Bool = false, newProcessGroup: Bool = false,
                       fileActions: (inout posix_spawn_file_actions_t) -> Void = { _ in }) throws(SpawnError) -> pid_t {
    precondition(!argv.isEmpty, "spawnChild needs the program as argv[0]")
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attributes, &empty)
    var defaults = sigset_t()
    sigfillset(&defaults)
    sigdelset(&defaults, SIGKILL)
    sigdelset(&defaults, SIGSTOP)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
    if newProcessGroup {
        posix_spawnattr_setpgroup(&attributes, 0)
        flags |= POSIX_SPAWN_SETPGROUP
    }
    posix_spawnattr_setflags(&attributes, Int16(flags))

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    fileActions(&actions)

    var cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
    defer { cArguments.forEach { free($0) } }
    var cEnvironment: [UnsafeMutablePointer<CChar>?] = (environment ?? []).map { strdup($0) } + [nil]
    defer { cEnvironment.forEach { free($0) } }
    var child: pid_t = 0
    let rc: Int32 = cEnvironment.withUnsafeMutableBufferPointer { env in
        let envp = environment == nil ? environ : env.baseAddress
        return searchPath
            ? posix_spawnp(&child, argv[0], &actions, &attributes, &cArguments, envp)
            : posix_spawn(&child, argv[0], &actions, &attributes, &cArguments, envp)
    }
    guard rc == 0 else { throw SpawnError(code: rc, program: argv[0]) }
    return child
}

/// What a child's standard descriptors and handed-over files are set to before it runs.
public enum SpawnAction: Sendable {
    /// Opens `path` as descriptor `descriptor` of the child.
    case open(descriptor: Int32, path: String, FileDescriptor.AccessMode, options: FileDescriptor.Options = [], permissions: FileMode = 0)
    /// Makes our `descriptor` the child's `as` (dup2 clears close-on-exec on the copy only).
    case duplicate(FileDescriptor, as: Int32)
}

/// `spawnChild` with the child's descriptors as typed actions, for parts that do not import Glibc.
public func spawnChild(_ argv: [String], environment: [String]? = nil, searchPath: Bool = false, newProcessGroup: Bool = false,
                       actions: [SpawnAction]) throws(SpawnError) -> ProcessID {
    try spawnChild(argv, environment: environment, searchPath: searchPath, newProcessGroup: newProcessGroup) { fileActions in
        for action in actions {
            switch action {
            case .open(let descriptor, let path, let mode, let options, let permissions):
                posix_spawn_file_actions_addopen(&fileActions, descriptor, path, mode.flags | options.rawValue, permissions)
            case .duplicate(let ours, let child):
                posix_spawn_file_actions_adddup2(&fileActions, ours.rawValue, child)
            }
        }
    }
}

/// How a child ended, from a waitpid status: "exited with status N" or "killed by signal N".
public func describeWaitStatus(_ status: Int32) -> String {
    WaitStatus(rawValue: status).description
}

/// A waitpid(2) status.
public struct WaitStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The signal that ended the child, or nil when it exited.
    public var signal: Int32? { rawValue & 0x7f == 0 ? nil : rawValue & 0x7f }
    /// The exit status, when it exited.
    public var exitStatus: Int32? { signal == nil ? (rawValue >> 8) & 0xff : nil }
    public var succeeded: Bool { exitStatus == 0 }

    /// "exited with status N" or "killed by signal N".
    public var description: String {
        signal.map { "killed by signal \($0)" } ?? "exited with status \(exitStatus ?? 0)"
    }
}

/// Waits until child `pid` has ended (waitpid, EINTR retried).
public func waitForChild(_ pid: ProcessID) throws(Errno) -> WaitStatus {
    var status: Int32 = 0
    try nothingOrErrno { waitpid(pid, &status, 0) }.get()
    return WaitStatus(rawValue: status)
}

/// Reaps child `pid` if it has ended (waitpid with WNOHANG); nil while it runs.
public func reapChild(_ pid: ProcessID) throws(Errno) -> WaitStatus? {
    var status: Int32 = 0
    let rc = try valueOrErrno { waitpid(pid, &status, WNOHANG) }.get()
    return rc == pid ? WaitStatus(rawValue: status) : nil
}

/// This process's id.
public var currentProcessID: ProcessID { getpid() }
