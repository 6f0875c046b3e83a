import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `tls.key_group`: a service in the group (CoTURN, in ssl-cert) reads the key through the
/// folders on the way to it; users outside the group cannot, and the group reads nothing else.
@Suite("tls.key_group, end to end", .serialized)
struct KeyGroupTests {
    @Test func theGroupReachesTheKeyAndNothingElse() throws {
        try #require(getuid() == 0, "needs root: it creates a group and two users")
        let accounts = try TemporaryAccounts()
        defer { accounts.remove() }
        let directory = try TemporaryDirectory(prefix: "serve")
        // mkdtemp made it 0700: the folder above the data directory is the operator's to open, not camhost's.
        chmod(directory.path, 0o755)
        // A data directory from before, with a file others could read while nobody but root could enter.
        mkdir(directory.file("var"), 0o750)
        try writeFile(directory.file("var/export.csv"), "secret rows\n", mode: 0o644)

        let serve = try RunningServe(environment: ["CAMHOST_TLS_KEY_GROUP": accounts.group], directory: directory)
        #expect(serve.waitUntilServing(), "\(serve.process.errors())")
        let key = directory.file("var/tls/key.pem")

        let asMember = try accounts.run(as: accounts.member, "cat", [key])
        #expect(asMember.status == 0, "a member of \(accounts.group) must read the key: \(asMember.stderr)")
        #expect(asMember.stdout.contains("PRIVATE KEY"))
        #expect(try accounts.run(as: accounts.member, "cat", [serve.certificate]).status == 0, "and the certificate")

        let asOutsider = try accounts.run(as: accounts.outsider, "cat", [key])
        #expect(asOutsider.status != 0)
        #expect(asOutsider.stderr.contains("Permission denied"), "\(asOutsider.stderr)")

        // The group passes the data directory but reads nothing else in it.
        for other in ["var/camhost.db", "var/export.csv"] {
            let read = try accounts.run(as: accounts.member, "cat", [directory.file(other)])
            #expect(read.status != 0 && read.stderr.contains("Permission denied"), "\(other): \(read.status) \(read.stderr)")
        }
        #expect(fileMode(key) == 0o640)
        #expect(fileMode(directory.file("var/tls")) == 0o750)
        #expect(fileMode(directory.file("var")) == 0o750)
        #expect(serve.process.output().contains("key group") || serve.process.errors().contains("key group"))

        // A second start changes nothing and finds nothing to warn about.
        serve.process.signal(SIGTERM)
        #expect(serve.process.wait(timeout: .seconds(20)) == 0)
        let again = try RunningServe(environment: ["CAMHOST_TLS_KEY_GROUP": accounts.group], directory: directory)
        #expect(again.waitUntilServing(), "\(again.process.errors())")
        let log = again.process.output() + again.process.errors()
        #expect(!log.contains("tls.key_group:") && !log.contains("cannot reach private key"), "\(log)")
        #expect(try accounts.run(as: accounts.member, "cat", [key]).status == 0)
    }
}
