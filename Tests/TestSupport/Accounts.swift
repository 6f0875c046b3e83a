#if canImport(Glibc)
import Glibc
#endif

/// A system group with one member and one user outside it, made with groupadd/useradd for a
/// test (it must run as root) and removed by `remove()`. Names are random, so a crashed run's
/// leftovers never collide with the next.
public final class TemporaryAccounts: @unchecked Sendable {
    public let group: String
    public let member: String
    public let outsider: String

    public init() throws {
        let tag = String(UInt32.random(in: 0x1000_0000 ... 0xffff_ffff), radix: 16)
        group = "ckg\(tag)"
        member = "ckm\(tag)"
        outsider = "cko\(tag)"
        try Self.run("groupadd", ["--system", group])
        try Self.run("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "--groups", group, member])
        try Self.run("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", outsider])
    }

    /// Runs `executable` as `user`, with that user's own groups (setpriv --init-groups).
    public func run(as user: String, _ executable: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try TestProcess.run("setpriv", ["--reuid=\(user)", "--regid=\(user)", "--init-groups", "--", executable] + arguments)
    }

    public func remove() {
        for user in [member, outsider] { _ = try? TestProcess.run("userdel", [user]) }
        _ = try? TestProcess.run("groupdel", [group])
    }

    private static func run(_ tool: String, _ arguments: [String]) throws {
        let result = try TestProcess.run(tool, arguments)
        guard result.status == 0 else { throw TestFailure("\(tool) \(arguments.joined(separator: " ")) failed: \(result.stderr)") }
    }
}
