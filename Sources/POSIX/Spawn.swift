#if canImport(Glibc)
import Glibc
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

/// How a child ended, from a waitpid status: "exited with status N" or "killed by signal N".
public func describeWaitStatus(_ status: Int32) -> String {
    let signal = status & 0x7f
    return signal == 0 ? "exited with status \((status >> 8) & 0xff)" : "killed by signal \(signal)"
}

/// Starts a joinable OS thread (a capture loop, a health or retention schedule): for work that
/// blocks, which must not sit on one of the Swift concurrency pool's threads. Join it with
/// `joinThread`.
public func startThread(_ body: @escaping @Sendable () -> Void) -> pthread_t {
    guard let thread = createThread(body) else { fatalError("cannot start a thread: \(String(cString: strerror(errno)))") }
    return thread
}

/// Waits for a thread from `startThread` to return.
public func joinThread(_ thread: pthread_t) {
    pthread_join(thread, nil)
}

/// Starts a detached OS thread for blocking work that waits on nobody (a reconnect loop). When
/// no thread can be made, the work runs on the caller's thread rather than being lost.
public func startDetachedThread(_ body: @escaping @Sendable () -> Void) {
    if let thread = createThread(body) { pthread_detach(thread) } else { body() }
}

private func createThread(_ body: @escaping @Sendable () -> Void) -> pthread_t? {
    let raw = Unmanaged.passRetained(OwnThreadWork(body)).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { raw in
        Unmanaged<OwnThreadWork>.fromOpaque(raw!).takeRetainedValue().run()
        return nil
    }, raw)
    guard rc == 0 else {
        Unmanaged<OwnThreadWork>.fromOpaque(raw).release()
        errno = rc
        return nil
    }
    return thread
}

/// Runs blocking work (a C call that waits on the network, a packet capture of N seconds) on a
/// fresh OS thread and awaits its result, so it never occupies one of the Swift concurrency
/// pool's threads (two on this kind of machine: blocking one starves everything else).
public func runOnOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        startDetachedThread { continuation.resume(returning: body()) }
    }
}

private final class OwnThreadWork: Sendable {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}
