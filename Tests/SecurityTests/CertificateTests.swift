#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Security

@Test func libraryVersionIsReported() {
    #expect(TLSLibrary.version.hasPrefix("3."))
}

@Test func privateKeyRoundTripsThroughPEM() throws {
    let key = try PrivateKey.generate()
    let pem = try key.pemBytes()
    #expect(String(decoding: pem, as: UTF8.self).hasPrefix("-----BEGIN EC PRIVATE KEY-----"))
    let again = try PrivateKey(pem: pem)
    #expect(try again.keyID() == key.keyID())
    #expect(try key.keyID().count == 32)
    #expect(try PrivateKey.generate().keyID() != key.keyID())
}

@Test func selfSignedCertificateCarriesNamesAndValidity() throws {
    let key = try PrivateKey.generate()
    let now = time(nil)
    let names: [SubjectAlternativeName] = [.dnsName("localhost"), .dnsName("nvr.example"),
                                           .ipAddress("127.0.0.1"), .ipAddress("::1"), .ipAddress("192.168.7.20")]
    let certificate = try Certificate.selfSigned(key: key, commonName: "camhost", subjectAlternativeNames: names,
                                                 validityDays: 30, now: now)
    #expect(try certificate.subject() == "CN=camhost")
    let sans = try certificate.subjectAlternativeNames()
    #expect(sans == names, "\(sans)")
    #expect(certificate.notBefore == now - 3600)
    #expect(certificate.notAfter == now - 3600 + 30 * 86_400, "the whole span is 30 days (Apple's 825-day limit counts it)")
    #expect(try certificate.matches(key))
    #expect(try !certificate.matches(PrivateKey.generate()))

    let parsed = try Certificate(pem: certificate.pemBytes())
    #expect(try parsed.subjectAlternativeNames() == names)
    #expect(parsed.notAfter == certificate.notAfter)
}

@Test func subjectAlternativeNamesAreClassified() {
    #expect(SubjectAlternativeName("10.0.0.1") == .ipAddress("10.0.0.1"))
    #expect(SubjectAlternativeName("FD00:0::1") == .ipAddress("fd00::1"))
    #expect(SubjectAlternativeName("cam-host.local") == .dnsName("cam-host.local"))
}

@Test func invalidAddressIsRejected() throws {
    let key = try PrivateKey.generate()
    #expect {
        _ = try Certificate.selfSigned(key: key, subjectAlternativeNames: [.ipAddress("300.1.1.1")])
    } throws: { error in
        (error as? CredentialError)?.kind == .invalidSubjectAlternativeName
    }
}

@Test func garbledPEMGivesTLSError() throws {
    let garbage = Array("-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n".utf8)
    let error = try #require(throws: TLSError.self) { try Certificate(pem: garbage, source: "/etc/x.pem") }
    #expect(error.code < 0)
    #expect(error.input == "/etc/x.pem")
    #expect(!error.message.isEmpty)
    #expect(throws: TLSError.self) { try PrivateKey(pem: Array("hello".utf8)) }
}

@Test func serverPrioritiesAllowOnlyTLS12And13() throws {
    // The versions part as before; the suites that follow it are the AEAD-only profile (issue 17).
    #expect(TLSPolicy.serverPriorities.hasPrefix("SECURE256:+SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:"))
    #expect(TLSPolicy.serverPriorities.hasSuffix(":%SERVER_PRECEDENCE"))
    try TLSPolicy.validate(TLSPolicy.serverPriorities)
    let error = try #require(throws: TLSError.self) { try TLSPolicy.validate("SECURE256:+NOT-A-THING") }
    #expect(error.input?.contains("NOT-A-THING") == true)
}
