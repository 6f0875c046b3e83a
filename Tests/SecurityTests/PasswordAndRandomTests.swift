import Testing
@testable import Security

private func hex(_ bytes: [UInt8]) -> String { Hex.encode(bytes) }

// RFC 7914 section 11: PBKDF2-HMAC-SHA-256 test vectors.
@Test func pbkdf2KnownAnswers() throws {
    let one = try PasswordHasher.deriveKey(password: Array("passwd".utf8), salt: Array("salt".utf8), iterations: 1, length: 64)
    #expect(hex(one) == "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        + "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783")
    let many = try PasswordHasher.deriveKey(password: Array("Password".utf8), salt: Array("NaCl".utf8), iterations: 80_000, length: 64)
    #expect(hex(many) == "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
        + "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d")
}

@Test func defaultHashUsesSixHundredThousandIterations() throws {
    let encoded = try PasswordHasher().hash("correct horse")
    let parts = encoded.split(separator: "$")
    #expect(parts.count == 4)
    #expect(parts[0] == "pbkdf2-sha256")
    #expect(parts[1] == "600000")
    #expect(Base64.decode(String(parts[2]))?.count == 16)
    #expect(Base64.decode(String(parts[3]))?.count == 32)
    #expect(PasswordHasher().verify("correct horse", against: encoded))
    #expect(!PasswordHasher.needsRehash(encoded))
}

@Test func verifyAcceptsOnlyTheRightPassword() throws {
    let hasher = PasswordHasher(iterations: 1_000)
    let encoded = try hasher.hash("s3cret!")
    #expect(hasher.verify("s3cret!", against: encoded))
    #expect(!hasher.verify("s3cret", against: encoded))
    #expect(!hasher.verify("", against: encoded))
    // The stored iteration count wins over the hasher's own.
    #expect(PasswordHasher().verify("s3cret!", against: encoded))
    #expect(try hasher.hash("s3cret!") != encoded, "salts must differ")
}

@Test func needsRehashWhenWeakOrMalformed() throws {
    let weak = try PasswordHasher(iterations: 1_000).hash("pw")
    #expect(PasswordHasher.needsRehash(weak, minimumIterations: 600_000))
    #expect(!PasswordHasher.needsRehash(weak, minimumIterations: 1_000))
    for bad in ["", "plain", "pbkdf2-sha256$x$AAAA$AAAA", "bcrypt$10$abc$def", "pbkdf2-sha256$1000$!!$AAAA"] {
        #expect(PasswordHasher.needsRehash(bad))
        #expect(!PasswordHasher().verify("pw", against: bad))
    }
}

@Test func randomBytesAndTokens() {
    #expect(SecureRandom.bytes(0) == [])
    #expect(SecureRandom.bytes(24).count == 24)
    #expect(SecureRandom.bytes(32) != SecureRandom.bytes(32))
    let tokens = (0..<100).map { _ in SecureRandom.token() }
    #expect(Set(tokens).count == 100)
    let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    for token in tokens {
        #expect(token.count == 43)
        #expect(token.allSatisfy(allowed.contains))
    }
    #expect(SecureRandom.token(bytes: 16).count == 22)
    #expect(Base64.decode(tokens[0])?.count == 32)
}

@Test func sha256KnownAnswer() {
    // FIPS 180-2 appendix B.1.
    #expect(hex(Digest.sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(hex(Digest.sha256([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    // A slice of a header (what API tokens are hashed from) hashes its own bytes only.
    let header = "Bearer abc "
    #expect(Digest.sha256(header.dropFirst(7).dropLast()) == Digest.sha256("abc"))
    #expect(Digest.sha256(Array("abc".utf8)) == Digest.sha256("abc"))
}

@Test func constantTimeComparison() {
    #expect(constantTimeEqual([1, 2, 3], [1, 2, 3]))
    #expect(!constantTimeEqual([1, 2, 3], [1, 2, 4]))
    #expect(!constantTimeEqual([1, 2, 3], [1, 2]))
    #expect(constantTimeEqual([], []))
}

// RFC 4648 section 10.
@Test func base64TestVectors() {
    let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
    for (plain, encoded) in vectors {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
        #expect(Base64.decode(encoded) == Array(plain.utf8))
    }
    #expect(Base64.encode([0xfb, 0xff], urlSafe: true, padding: false) == "-_8")
    #expect(Base64.decode("-_8") == [0xfb, 0xff])
    #expect(Base64.decode("Z") == nil)
}
