import Foundation
import Testing
import TestSupport

/// The TLS profile of `serve` as an outside reviewer checks it: testssl.sh 3.0 (Debian package
/// `testssl.sh`) against a real serve, read from its JSON report. About a minute on an idle
/// machine; several on two busy cores.
@Suite("TLS profile, checked by testssl.sh", .serialized)
struct TLSProfileTests {
    @Test(.timeLimit(.minutes(10)))
    func testsslFlagsNothingButTheSelfSignedCertificate() throws {
        try #require(fileExists("/usr/bin/testssl"), "testssl.sh is missing: scripts/install-deps.sh --test")
        let serve = try RunningServe()
        #expect(serve.waitUntilServing(), "\(serve.process.errors())")
        let report = serve.directory.file("testssl.json")
        let run = try TestProcess.run("/usr/bin/testssl", ["--quiet", "--color", "0", "--warnings", "off", "--jsonfile", report,
                                                           "127.0.0.1:\(serve.port)"], timeout: .seconds(540))
        let data = try #require(FileManager.default.contents(atPath: report), "no JSON report: \(run.stdout.suffix(2000)) \(run.stderr)")
        let entries = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        let findings = entries.compactMap { entry -> (id: String, severity: String, finding: String)? in
            guard let id = entry["id"] as? String, let severity = entry["severity"] as? String else { return nil }
            return (id, severity, entry["finding"] as? String ?? "")
        }
        func finding(_ id: String) -> (severity: String, finding: String)? {
            findings.first { $0.id == id }.map { ($0.severity, $0.finding) }
        }

        // What testssl flagged before: client-initiated renegotiation, obsolete CBC suites, no server order.
        let renegotiation = try #require(finding("secure_client_renego"))
        #expect(renegotiation.severity == "OK" && renegotiation.finding.hasPrefix("not vulnerable"), "\(renegotiation)")
        #expect(finding("secure_renego")?.severity == "OK", "RFC 5746 stays supported: \(String(describing: finding("secure_renego")))")
        let cbc = try #require(finding("cipherlist_AVERAGE"), "the 'Obsolete CBC ciphers' line")
        #expect(cbc.finding == "not offered", "\(cbc)")
        #expect(finding("LUCKY13")?.severity == "OK", "\(String(describing: finding("LUCKY13")))")
        let order = try #require(finding("cipher_order"))
        #expect(order.severity == "OK" && order.finding == "server", "\(order)")
        #expect(finding("TLS1_3")?.finding.hasPrefix("offered") == true, "TLS 1.3 stays: \(String(describing: finding("TLS1_3")))")
        #expect(finding("TLS1_2")?.finding == "offered")

        // Nothing else of MEDIUM or worse. The exception is the self-signed certificate made on
        // first start: its chain is not trusted, and only a CA can publish CRL or OCSP for it.
        let selfSigned = finding("cert_chain_of_trust")?.finding.contains("self signed") == true
        let exempt: Set<String> = selfSigned ? ["cert_chain_of_trust", "cert_revocation"] : []
        let serious = findings.filter { ["MEDIUM", "HIGH", "CRITICAL"].contains($0.severity) && !exempt.contains($0.id) }
        #expect(serious.isEmpty, "\(serious)")
        #expect(findings.count > 50, "testssl ran its checks: \(findings.count) findings")
    }
}
