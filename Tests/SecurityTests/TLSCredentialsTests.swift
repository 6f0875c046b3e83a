#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Security

private func status(_ path: String) throws -> FileStatus {
    try #require(try FileSystem.status(path))
}

private func contents(_ path: String) throws -> [UInt8] {
    try FileSystem.readFile(path, what: "test file")
}

@Test func firstStartMakesKeyAndCertificateWithSafeModes() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let keyPath = scratch.file("tls/private/server.key")
    let certPath = scratch.file("tls/private/server.crt")

    let credentials = try TLSCredentials.ensure(keyPath: keyPath, certPath: certPath,
                                                hostNames: ["localhost", "nvr.site.example"],
                                                ipAddresses: TLSCredentials.defaultIPAddresses)
    #expect(credentials.generated)
    #expect(credentials.origin == .keyAndCertificateGenerated)
    #expect(try contents(keyPath) == credentials.keyPEM)
    #expect(try contents(certPath) == credentials.certPEM)
    #expect(try status(keyPath).permissions == 0o600)
    #expect(try status(certPath).permissions == 0o644)
    #expect(try status(scratch.file("tls/private")).permissions == 0o700)
    #expect(try status(scratch.file("tls")).permissions == 0o700)
    let expectedExpiry = time(nil) - 3600 + 825 * 86_400  // 825 days from the start, an hour back
    #expect(abs(credentials.certificateExpiry - expectedExpiry) < 60)

    // No temporary files left behind.
    let listing = try run("/bin/ls", ["-a", scratch.file("tls/private")])
    #expect(listing.output.split(separator: "\n").sorted() == [".", "..", "server.crt", "server.key"])

    #expect(KeyPermissionAudit(keyPath: keyPath).findings == [])

    // An independent parser agrees.
    let info = try run("/usr/bin/certtool", ["--certificate-info", "--infile", certPath])
    #expect(info.status == 0, "\(info.output)")
    for expected in ["CN=camhost", "DNSname: localhost", "DNSname: nvr.site.example",
                     "IPAddress: 127.0.0.1", "IPAddress: ::1", "Digital signature.",
                     "TLS WWW Server.", "Certificate Authority (CA): FALSE"] {
        #expect(info.output.contains(expected), "certtool output lacks \(expected):\n\(info.output)")
    }
    #expect(info.output.contains("ECDSA-SHA256"), "\(info.output)")
    #expect(info.output.contains("SECP256R1"), "\(info.output)")
    let keyInfo = try run("/usr/bin/certtool", ["--key-info", "--infile", keyPath])
    #expect(keyInfo.status == 0, "\(keyInfo.output)")
}

@Test func groupReadableKeyWhenGroupGiven() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let keyPath = scratch.file("keys/server.key")
    let certPath = scratch.file("keys/server.crt")
    let group = getegid()
    _ = try TLSCredentials.ensure(keyPath: keyPath, certPath: certPath, group: group)
    let key = try status(keyPath)
    #expect(key.permissions == 0o640)
    #expect(key.group == group)
    #expect(try status(scratch.file("keys")).permissions == 0o710)
    #expect(!KeyPermissionAudit(keyPath: keyPath, group: group).refuseToStart)
    // The same file is refused when no group is configured.
    #expect(KeyPermissionAudit(keyPath: keyPath).refuseToStart)
}

@Test func secondStartChangesNothing() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let keyPath = scratch.file("server.key")
    let certPath = scratch.file("server.crt")
    let first = try TLSCredentials.ensure(keyPath: keyPath, certPath: certPath)
    let keyBefore = try status(keyPath)
    let certBefore = try status(certPath)

    let second = try TLSCredentials.ensure(keyPath: keyPath, certPath: certPath, hostNames: ["other.example"])
    #expect(!second.generated)
    #expect(second.origin == .loaded)
    #expect(second.keyPEM == first.keyPEM)
    #expect(second.certPEM == first.certPEM)
    #expect(second.certificateExpiry == first.certificateExpiry)
    let keyAfter = try status(keyPath)
    let certAfter = try status(certPath)
    #expect(keyAfter.modificationTime.tv_sec == keyBefore.modificationTime.tv_sec)
    #expect(keyAfter.modificationTime.tv_nsec == keyBefore.modificationTime.tv_nsec)
    #expect(certAfter.modificationTime.tv_sec == certBefore.modificationTime.tv_sec)
    #expect(certAfter.modificationTime.tv_nsec == certBefore.modificationTime.tv_nsec)
    #expect(try contents(keyPath) == first.keyPEM)
    #expect(try contents(certPath) == first.certPEM)
}

@Test func missingCertificateIsRemadeForTheExistingKey() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let keyPath = scratch.file("server.key")
    let certPath = scratch.file("server.crt")
    let first = try TLSCredentials.ensure(keyPath: keyPath, certPath: certPath)
    let keyBefore = try status(keyPath)
    #expect(unlink(certPath) == 0)

    let second = try TLSCredentials.ensure(keyPath: keyPath, certPath: certPath, hostNames: ["new.example"])
    #expect(second.origin == .certificateGenerated)
    #expect(second.generated)
    #expect(second.keyPEM == first.keyPEM)
    #expect(second.certPEM != first.certPEM)
    #expect(try contents(keyPath) == first.keyPEM)
    #expect(try status(keyPath).modificationTime.tv_nsec == keyBefore.modificationTime.tv_nsec)
    let certificate = try Certificate(pem: contents(certPath))
    #expect(try certificate.matches(PrivateKey(pem: first.keyPEM)))
    #expect(try certificate.subjectAlternativeNames().contains(.dnsName("new.example")))
    #expect(try status(certPath).permissions == 0o644)
}

@Test func mismatchedKeyAndCertificateAreRefused() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let keyPath = scratch.file("server.key")
    let certPath = scratch.file("server.crt")
    _ = try TLSCredentials.ensure(keyPath: keyPath, certPath: certPath)
    // Put a different key in place, as a careless restore would.
    let otherKey = try PrivateKey.generate().pemBytes()
    #expect(unlink(keyPath) == 0)
    try FileSystem.writeAtomically(otherKey, to: keyPath, mode: 0o600, group: nil, what: "key")
    let certBefore = try contents(certPath)

    let error = try #require(throws: CredentialError.self) {
        try TLSCredentials.ensure(keyPath: keyPath, certPath: certPath)
    }
    #expect(error.kind == .keyCertificateMismatch)
    #expect(error.description.contains(keyPath))
    #expect(error.description.contains(certPath))
    #expect(error.description.contains("Fix:"))
    // Neither file was touched.
    #expect(try contents(keyPath) == otherKey)
    #expect(try contents(certPath) == certBefore)
}

@Test func certificateWithoutKeyIsRefused() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let keyPath = scratch.file("server.key")
    let certPath = scratch.file("server.crt")
    _ = try TLSCredentials.ensure(keyPath: keyPath, certPath: certPath)
    #expect(unlink(keyPath) == 0)
    let error = try #require(throws: CredentialError.self) {
        try TLSCredentials.ensure(keyPath: keyPath, certPath: certPath)
    }
    #expect(error.kind == .keyMissing)
    #expect(error.path == keyPath)
    #expect(try FileSystem.status(keyPath) == nil)
}

@Test func garbledFilesAreNamedInTheError() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let keyPath = scratch.file("server.key")
    let certPath = scratch.file("server.crt")
    _ = try TLSCredentials.ensure(keyPath: keyPath, certPath: certPath)

    let garbage = Array("-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n".utf8)
    #expect(unlink(certPath) == 0)
    try FileSystem.writeAtomically(garbage, to: certPath, mode: 0o644, group: nil, what: "certificate")
    let certError = try #require(throws: TLSError.self) {
        try TLSCredentials.ensure(keyPath: keyPath, certPath: certPath)
    }
    #expect(certError.input == certPath)
    #expect(certError.description.contains(certPath))
    #expect(certError.fix != nil)
    #expect(try contents(certPath) == garbage)

    #expect(unlink(keyPath) == 0)
    try FileSystem.writeAtomically(Array("not a key".utf8), to: keyPath, mode: 0o600, group: nil, what: "key")
    let keyError = try #require(throws: TLSError.self) {
        try TLSCredentials.ensure(keyPath: keyPath, certPath: certPath)
    }
    #expect(keyError.input == keyPath)
    #expect(keyError.description.contains(keyPath))
}

@Test func badAddressLeavesNoFiles() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let keyPath = scratch.file("server.key")
    #expect(throws: CredentialError.self) {
        try TLSCredentials.ensure(keyPath: keyPath, certPath: scratch.file("server.crt"), ipAddresses: ["10.0.0.999"])
    }
    #expect(try FileSystem.status(keyPath) == nil)
}

@Test func defaultHostNamesIncludeLocalhostAndThisHost() {
    let names = TLSCredentials.defaultHostNames()
    #expect(names.first == "localhost")
    var buffer = [CChar](repeating: 0, count: 256)
    gethostname(&buffer, 255)
    #expect(names.contains(cString(buffer)))
}
