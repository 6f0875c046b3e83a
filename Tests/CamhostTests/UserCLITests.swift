import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `camhost user ...` and `camhost token ...` end to end: the real binary, a real database.
@Suite("camhost user and token", .serialized)
struct UserCLITests {
    func camhost(_ arguments: [String], stdin: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        try TestProcess.run(TestEnvironment.camhostBinary, arguments, environment: TestEnvironment.clean, stdin: stdin)
    }

    func sqlite(_ database: String, _ sql: String) throws -> String {
        try TestProcess.run("python3", ["-c", "import sqlite3,sys; [print('|'.join(map(str, r))) for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2])]", database, sql]).stdout
    }

    @Test func addListPasswdRemoveWithPasswordsFromStandardInput() throws {
        let directory = try TemporaryDirectory(prefix: "users")
        let data = ["--data-dir", directory.file("var")]
        let added = try camhost(["user", "add", "alice", "--role", "admin"] + data, stdin: "correct horse battery\n")
        #expect(added.status == 0, "\(added.stderr)")
        #expect(added.stdout.contains("added admin 'alice'"))
        #expect(try camhost(["user", "add", "bob", "--role", "viewer"] + data, stdin: "another long password\n").status == 0)

        let list = try camhost(["user", "list", "--json"] + data)
        #expect(list.status == 0)
        #expect(list.stdout.hasPrefix(#"[{"name":"alice","role":"admin","created_at":"#))
        #expect(list.stdout.contains(#"{"name":"bob","role":"viewer""#))
        #expect(list.stdout.contains(#""last_login_at":null,"password_iterations":600000"#))

        // The password is stored only as a PBKDF2 hash.
        let hash = try sqlite(directory.file("var/camhost.db"), "SELECT password_hash FROM users WHERE name = 'alice'")
        #expect(hash.hasPrefix("pbkdf2-sha256$600000$"))
        #expect(!hash.contains("correct horse"))

        // Wrong inputs: exit codes and messages that say what to do.
        let duplicate = try camhost(["user", "add", "ALICE", "--role", "viewer"] + data, stdin: "yet another password\n")
        #expect(duplicate.status == 65 && duplicate.stderr.contains("exists already"))
        let short = try camhost(["user", "add", "carol", "--role", "viewer"] + data, stdin: "short\n")
        #expect(short.status == 64 && short.stderr.contains("at least 10 characters"))
        #expect(try camhost(["user", "add", "x y", "--role", "viewer"] + data, stdin: "long enough password\n").status == 64)
        #expect(try camhost(["user", "add", "dave", "--role", "root"] + data, stdin: "long enough password\n").status == 64)
        #expect(try camhost(["user", "add", "erin", "--role", "viewer"] + data).status == 64, "no password on stdin")

        let passwd = try camhost(["user", "passwd", "bob"] + data, stdin: "a brand new password\n")
        #expect(passwd.status == 0, "\(passwd.stderr)")
        #expect(try camhost(["user", "passwd", "ghost"] + data, stdin: "a brand new password\n").status == 65)

        let lastAdmin = try camhost(["user", "remove", "alice"] + data)
        #expect(lastAdmin.status == 64 && lastAdmin.stderr.contains("last admin"))
        #expect(try camhost(["user", "remove", "bob"] + data).status == 0)
        #expect(try camhost(["user", "list", "--json"] + data).stdout.occurrences(of: "\"name\"") == 1)

        let audit = try sqlite(directory.file("var/camhost.db"), "SELECT action, target FROM audit_log ORDER BY id")
        #expect(audit.contains("user.add|alice") && audit.contains("user.passwd|bob") && audit.contains("user.remove|bob"))
        #expect(try sqlite(directory.file("var/camhost.db"), "SELECT DISTINCT actor FROM audit_log").hasPrefix("cli:"))
    }

    @Test func tokensArePrintedOnceStoredHashedAndRevocable() throws {
        let directory = try TemporaryDirectory(prefix: "tokens")
        let data = ["--data-dir", directory.file("var")]
        let created = try camhost(["token", "create", "--scope", "read", "--expires", "30d", "--name", "grafana"] + data)
        #expect(created.status == 0, "\(created.stderr)")
        let secret = created.stdout.trimmingCharacters()
        #expect(secret.hasPrefix("camhost_") && !secret.contains(" ") && secret.count > 40)
        #expect(created.stderr.contains("shown only now"))

        let list = try camhost(["token", "list", "--json"] + data)
        #expect(list.status == 0)
        #expect(list.stdout.contains(#""name":"grafana","scope":"read""#))
        #expect(list.stdout.contains(#""revoked_at":null"#) && list.stdout.contains(#""usable":true"#))
        #expect(!list.stdout.contains(secret), "the secret is never shown again")
        #expect(!(try camhost(["token", "list"] + data).stdout.contains(secret)))
        let stored = try sqlite(directory.file("var/camhost.db"), "SELECT hex(token_hash), expires_at - created_at FROM api_tokens")
        #expect(!stored.contains(secret))
        #expect(stored.hasSuffix("|2592000\n"))

        #expect(try camhost(["token", "create", "--scope", "everything"] + data).status == 64)
        #expect(try camhost(["token", "create", "--scope", "read", "--expires", "soon"] + data).status == 64)

        let revoked = try camhost(["token", "revoke", "1"] + data)
        #expect(revoked.status == 0, "\(revoked.stderr)")
        #expect(try camhost(["token", "list", "--json"] + data).stdout.contains(#""usable":false"#))
        #expect(try camhost(["token", "revoke", "99"] + data).status == 65)
        let audit = try sqlite(directory.file("var/camhost.db"), "SELECT action, target FROM audit_log ORDER BY id")
        #expect(audit.contains("token.create|1") && audit.contains("token.revoke|1"))
    }

    @Test func serveLogsAOneTimeSetUpLinkWhileThereAreNoUsers() throws {
        let serve = try RunningServe()
        defer { serve.process.kill() }
        #expect(serve.waitUntilServing(), "\(serve.process.errors())")
        let log = serve.directory.file("var/logs/camhost.log")
        #expect(Loopback.waitUntil(timeout: .seconds(5)) { ((try? readFile(log)) ?? "").contains("camhost.setup") })
        let text = (try? readFile(log)) ?? ""
        #expect(text.contains("url=https://127.0.0.1:\(serve.port)/setup?token="), "\(text)")
        serve.process.signal(SIGTERM)
        #expect(serve.process.wait(timeout: .seconds(20)) == 0)

        // With a user, no set-up link.
        let added = try camhost(["user", "add", "alice", "--role", "admin", "--data-dir", serve.directory.file("var")], stdin: "correct horse battery\n")
        #expect(added.status == 0)
        let again = try RunningServe(directory: serve.directory)
        defer { again.process.kill() }
        #expect(again.waitUntilServing())
        usleep(300_000)
        let after = (try? readFile(log)) ?? ""
        #expect(after.occurrences(of: "camhost.setup") == 1, "only the first start logs a set-up link")
    }
}

extension String {
    func occurrences(of needle: String) -> Int {
        var count = 0
        var rest = self[...]
        while let range = rest.firstRange(of: needle) {
            count += 1
            rest = rest[range.upperBound...]
        }
        return count
    }
}
