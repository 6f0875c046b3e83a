import POSIX
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Every child of camhost starts with an empty signal mask and default dispositions, whatever
/// the spawning thread blocks or ignores (camhost blocks SIGTERM to sigwait for it).
@Suite struct SpawnTests {
    @Test func aChildStopsOnSIGTERMEvenWhenTheParentThreadBlocksAndIgnoresIt() throws {
        var blocked = sigset_t(), previous = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &blocked, &previous)
        let previousHandler = signal(SIGHUP, SIG_IGN)
        defer {
            pthread_sigmask(SIG_SETMASK, &previous, nil)
            signal(SIGHUP, previousHandler)
        }
        for stop in [SIGTERM, SIGHUP] {
            let pid = try spawnChild(["/bin/sleep", "30"], newProcessGroup: true)
            #expect(getpgid(pid) == pid)  // its own group: a terminal's Ctrl-C is not sent to it
            kill(pid, stop)
            var status: Int32 = 0
            #expect(waitpid(pid, &status, 0) == pid)
            #expect(describeWaitStatus(status) == "killed by signal \(stop)")
        }
    }

    @Test func environmentPathSearchAndFileActions() throws {
        let output = "/tmp/camhost-spawn-\(getpid())"
        defer { unlink(output) }
        let pid = try spawnChild(["sh", "-c", "echo \"$GREETING\""], environment: ["GREETING=hello", "PATH=/usr/bin:/bin"], searchPath: true) { actions in
            posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        #expect(describeWaitStatus(status) == "exited with status 0")
        let file = try #require(fopen(output, "r"))
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 64)
        #expect(fgets(&line, 64, file) != nil && String(cString: line) == "hello\n")
    }

    @Test func aMissingProgramIsAClearError() {
        let error = #expect(throws: SpawnError.self) { try spawnChild(["/nonexistent/camhost-tool"]) }
        #expect(error?.code == ENOENT)
        #expect(error?.description == "cannot start /nonexistent/camhost-tool: No such file or directory")
    }

    /// Blocking work on threads of its own: more sleepers than the concurrency pool has threads
    /// still run side by side, and each result comes back.
    @Test func blockingWorkRunsOnItsOwnThreads() async {
        let started = ContinuousClock.now
        let results = await withTaskGroup(of: Int.self) { group in
            for n in 0..<6 { group.addTask { await runOnOwnThread { usleep(300_000); return n * n } } }
            var all: [Int] = []
            for await value in group { all.append(value) }
            return all.sorted()
        }
        #expect(results == [0, 1, 4, 9, 16, 25])
        #expect(ContinuousClock.now - started < .seconds(1.2), "six 0.3 s sleeps should overlap")
    }
}
