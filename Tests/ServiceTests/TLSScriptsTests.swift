import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// scripts/setup-tls.sh and scripts/certbot-deploy-hook.sh on a real group and real files: folders
/// 0750 and keys 0640 for the group, certificates 0644; a renewal installed with the same group
/// and modes, and the running services reloaded (systemctl stood in for by a recording script).
@Suite(.serialized, .enabled(if: getuid() == 0, "needs root (groups, chgrp)"))
struct TLSScriptsTests {
    func run(_ script: String, _ arguments: [String], environment extra: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        try TestProcess.run(ServiceFiles.repository + "/scripts/" + script, arguments, environment: TestEnvironment.clean.merging(extra) { $1 })
    }

    func status(_ path: String) throws -> (mode: mode_t, group: gid_t) {
        var info = stat()
        guard stat(path, &info) == 0 else { throw TestFailure("cannot stat \(path)") }
        return (info.st_mode & 0o7777, info.st_gid)
    }

    @Test func setUpThenRenewKeepsGroupAndModesAndReloads() throws {
        let directory = try TemporaryDirectory()
        let group = "cht\(UInt16.random(in: 1000...9999))"
        defer { _ = try? TestProcess.run("/usr/sbin/groupdel", [group], environment: TestEnvironment.clean) }
        let tls = directory.file("ssl/camhost")
        let made = try run("setup-tls.sh", ["--group", group, "--dir", tls, "--users", "", "--self-signed", "camhost.example"])
        #expect(made.status == 0, "\(made.stderr)")
        let gid = try #require(getgrnam(group)?.pointee.gr_gid)
        #expect(try status(tls).mode == 0o750 && status(tls).group == gid)
        #expect(try status(tls + "/key.pem").mode == 0o640 && status(tls + "/key.pem").group == gid)
        #expect(try status(tls + "/cert.pem").mode == 0o644)
        // Idempotent: a second run changes nothing and makes no new key.
        let key = try readFile(tls + "/key.pem")
        #expect(try run("setup-tls.sh", ["--group", group, "--dir", tls, "--users", "", "--self-signed", "camhost.example"]).status == 0)
        #expect(try readFile(tls + "/key.pem") == key)
        #expect(try run("setup-tls.sh", ["--cert", "only-one.pem"]).status == 64)

        // A renewal as certbot leaves it, and a systemctl that records what it is asked.
        let lineage = directory.file("live/camhost.example")
        try FileManager.default.createDirectory(atPath: lineage, withIntermediateDirectories: true)
        let certtool = { (arguments: [String]) throws in
            let result = try TestProcess.run("/usr/bin/certtool", arguments, environment: TestEnvironment.clean)
            guard result.status == 0 else { throw TestFailure("certtool: \(result.stderr)") }
        }
        try certtool(["--generate-privkey", "--key-type=ecdsa", "--outfile", lineage + "/privkey.pem"])
        try writeFile(directory.file("template"), "cn = \"renewed\"\nexpiration_days = 90\ntls_www_server\nsigning_key\n")
        try certtool(["--generate-self-signed", "--load-privkey", lineage + "/privkey.pem", "--template", directory.file("template"),
                      "--outfile", lineage + "/fullchain.pem"])
        chmod(lineage + "/privkey.pem", 0o600)
        let calls = directory.file("systemctl.calls")
        let systemctl = directory.file("systemctl")
        try writeFile(systemctl, "#!/bin/sh\necho \"$@\" >> \(calls)\ncase \"$1 $3\" in \"is-active kurento-media-server\") exit 3 ;; esac\nexit 0\n", mode: 0o755)
        let hook = try run("certbot-deploy-hook.sh", [], environment: [
            "RENEWED_LINEAGE": lineage, "CAMHOST_TLS_DIR": tls, "CAMHOST_TLS_GROUP": group, "SYSTEMCTL": systemctl,
        ])
        #expect(hook.status == 0, "\(hook.stderr)")
        #expect(try readFile(tls + "/cert.pem") == readFile(lineage + "/fullchain.pem"))
        #expect(try readFile(tls + "/key.pem") == readFile(lineage + "/privkey.pem"))
        #expect(try status(tls + "/key.pem").mode == 0o640 && status(tls + "/key.pem").group == gid)
        let asked = try readFile(calls)
        #expect(asked.contains("reload-or-restart camhost"))
        #expect(asked.contains("reload-or-restart coturn"))
        #expect(!asked.contains("try-restart kurento-media-server"), "Kurento is not running: nothing to restart")
        #expect(hook.stdout.contains("kurento-media-server is not running"))

        // Without the lineage's files: a clear error, nothing changed.
        let broken = try run("certbot-deploy-hook.sh", [], environment: ["RENEWED_LINEAGE": directory.file("nowhere"), "CAMHOST_TLS_DIR": tls, "CAMHOST_TLS_GROUP": group])
        #expect(broken.status == 66 && broken.stderr.contains("missing"))
        #expect(try readFile(tls + "/key.pem") == readFile(lineage + "/privkey.pem"))
    }
}
