import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

@Suite struct DoctorCLITests {
    struct Report: Decodable {
        struct Check: Decodable { var name: String; var ok: Bool; var detail: String; var fix: String? }
        var ok: Bool
        var checks: [Check]
        func check(_ name: String) -> Check? { checks.first { $0.name == name } }
    }

    func doctor(_ data: String, port: UInt16) throws -> (status: Int32, report: Report) {
        var environment = TestEnvironment.clean
        environment["CAMHOST_SERVER_LISTEN"] = "127.0.0.1:\(port)"
        let result = try TestProcess.run(TestEnvironment.camhostBinary, ["doctor", "--data-dir", data, "--json"], environment: environment)
        let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
        return (result.status, report)
    }

    /// A host with three things wrong: the key readable by everyone, a certificate about to
    /// expire, and another program on the HTTPS port. Each is named with its fix; exit 1.
    @Test func findsWhatIsWrongAndSaysHowToFixIt() throws {
        let directory = try TemporaryDirectory()
        let data = directory.file("var")
        try FileManager.default.createDirectory(atPath: data + "/tls", withIntermediateDirectories: true)
        let key = data + "/tls/key.pem"
        let certtool = { (arguments: [String]) throws in
            let result = try TestProcess.run("/usr/bin/certtool", arguments, environment: TestEnvironment.clean)
            guard result.status == 0 else { throw TestFailure("certtool: \(result.stderr)") }
        }
        try certtool(["--generate-privkey", "--key-type=ecdsa", "--outfile", key])
        try writeFile(directory.file("template"), "cn = \"soon\"\nexpiration_days = 3\ntls_www_server\nsigning_key\n")
        try certtool(["--generate-self-signed", "--load-privkey", key, "--template", directory.file("template"), "--outfile", data + "/tls/cert.pem"])
        chmod(key, 0o644)
        let squatter = try TestProcess("/usr/bin/python3", ["-c", """
            import socket, time
            s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(60)
            """], environment: TestEnvironment.clean)
        defer { squatter.kill() }
        #expect(Loopback.waitUntil { !squatter.output().isEmpty })
        let port = try #require(UInt16(squatter.output().trimmingCharacters(in: .whitespacesAndNewlines)))

        let (status, report) = try doctor(data, port: port)
        #expect(status == 1)
        #expect(!report.ok)
        let keyCheck = try #require(report.check("tls key"))
        #expect(!keyCheck.ok && keyCheck.fix == "chmod 600 \(key)", "\(keyCheck)")
        let certificate = try #require(report.check("certificate"))
        #expect(!certificate.ok && certificate.detail.contains("expires in 2 days") || certificate.detail.contains("expires in 3 days"), "\(certificate)")
        #expect(certificate.fix?.contains("certbot") == true)
        let httpsPort = try #require(report.check("https port"))
        #expect(!httpsPort.ok && httpsPort.detail.contains("python3"), "\(httpsPort)")
        #expect(httpsPort.fix?.contains("server.listen") == true)
        // What is fine says so, without a fix.
        let broker = try #require(report.check("broker"))
        #expect(broker.ok && broker.fix == nil)
    }

    @Test func humanOutputAndUsage() throws {
        let directory = try TemporaryDirectory()
        let result = try TestProcess.run(TestEnvironment.camhostBinary, ["doctor", "--data-dir", directory.file("var")], environment: TestEnvironment.clean)
        #expect(result.stdout.contains("tls key"))
        #expect(result.stdout.contains("checks pass") || result.stdout.contains("found"))
        #expect(result.status == 0 || result.status == 1)
        let bad = try TestProcess.run(TestEnvironment.camhostBinary, ["doctor", "--bogus"], environment: TestEnvironment.clean)
        #expect(bad.status == 64)
    }
}
