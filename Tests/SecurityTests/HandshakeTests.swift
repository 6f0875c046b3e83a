#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Security

/// A gnutls-serv on loopback serving the given credentials with `TLSPolicy.serverPriorities`,
/// stopped with SIGKILL.
private struct TLSTestServer {
    let pid: pid_t
    let port: Int
    let logFD: Int32

    init(keyPath: String, certPath: String, logPath: String) throws {
        port = Int.random(in: 20_000...60_000)
        logFD = open(logPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        pid = try spawn("/usr/bin/gnutls-serv", ["--x509keyfile", keyPath, "--x509certfile", certPath,
                                                 "--priority", TLSPolicy.serverPriorities, "-p", String(port)],
                        outputFD: logFD)
    }

    func stop() {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        close(logFD)
    }

    /// Runs gnutls-cli against the server, retrying for up to 5 s while the server starts.
    func connect(caFile: String, host: String = "localhost", priorities: String = "NORMAL") throws -> ProcessResult {
        var result = ProcessResult(status: -1, output: "")
        for _ in 0..<100 {
            result = try run("/usr/bin/gnutls-cli", ["--x509cafile", caFile, "--priority", priorities,
                                                     "-p", String(port), host])
            if !result.output.contains("Connection refused") && !result.output.contains("Could not connect") { break }
            usleep(50_000)
        }
        return result
    }
}

@Test(.timeLimit(.minutes(1)))
func realHandshakeUsesTLS13AndRefusesOldVersions() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let keyPath = scratch.file("server.key")
    let certPath = scratch.file("server.crt")
    _ = try TLSCredentials.ensure(keyPath: keyPath, certPath: certPath, hostNames: ["localhost"])
    let server = try TLSTestServer(keyPath: keyPath, certPath: certPath, logPath: scratch.file("server.log"))
    defer { server.stop() }

    let modern = try server.connect(caFile: certPath)
    #expect(modern.status == 0, "\(modern.output)")
    #expect(modern.output.contains("The certificate is trusted"), "\(modern.output)")
    #expect(modern.output.contains("(TLS1.3"), "\(modern.output)")

    let tls12 = try server.connect(caFile: certPath, priorities: "NORMAL:-VERS-ALL:+VERS-TLS1.2")
    #expect(tls12.status == 0, "\(tls12.output)")
    #expect(tls12.output.contains("(TLS1.2"), "\(tls12.output)")

    for old in ["TLS1.1", "TLS1.0"] {
        let refused = try server.connect(caFile: certPath, priorities: "NORMAL:-VERS-ALL:+VERS-\(old)")
        #expect(refused.status != 0, "\(old) was accepted: \(refused.output)")
    }

    // The IP address SAN verifies too.
    let byAddress = try server.connect(caFile: certPath, host: "127.0.0.1")
    #expect(byAddress.output.contains("The certificate is trusted"), "\(byAddress.output)")
}

@Test(.timeLimit(.minutes(1)))
func tls12OffersOnlyAEADSuitesAndTheServerOrderWins() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let keyPath = scratch.file("server.key")
    let certPath = scratch.file("server.crt")
    _ = try TLSCredentials.ensure(keyPath: keyPath, certPath: certPath, hostNames: ["localhost"])
    let server = try TLSTestServer(keyPath: keyPath, certPath: certPath, logPath: scratch.file("server.log"))
    defer { server.stop() }

    // A client that speaks only CBC (what testssl flagged: ECDHE-ECDSA-AES128-SHA and -AES256-SHA).
    let cbc = try server.connect(caFile: certPath, priorities: "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-CBC:+AES-256-CBC")
    #expect(cbc.status != 0, "a CBC suite was accepted: \(cbc.output)")
    #expect(!cbc.output.contains("- Description:"), "\(cbc.output)")

    // A client preferring ChaCha20 and AES-256 gets the server's first choice.
    let chachaFirst = try server.connect(caFile: certPath, priorities: "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+CHACHA20-POLY1305:+AES-256-GCM:+AES-128-GCM")
    #expect(chachaFirst.status == 0, "\(chachaFirst.output)")
    #expect(chachaFirst.output.contains("(TLS1.2") && chachaFirst.output.contains("(AES-128-GCM)"), "\(chachaFirst.output)")
    // ChaCha20 alone still works (clients without AES hardware).
    let chachaOnly = try server.connect(caFile: certPath, priorities: "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+CHACHA20-POLY1305")
    #expect(chachaOnly.output.contains("(CHACHA20-POLY1305)"), "\(chachaOnly.output)")
}
