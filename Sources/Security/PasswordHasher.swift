import CGnuTLS

/// Hashes and verifies operator passwords with PBKDF2-HMAC-SHA256 (RFC 8018 section 5.2,
/// `gnutls_pbkdf2`), stored as `pbkdf2-sha256$<iterations>$<salt>$<hash>` with salt and hash
/// in standard base64 without padding.
public struct PasswordHasher: Sendable {
    /// OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256.
    public static let defaultIterations = 600_000
    static let scheme = "pbkdf2-sha256"
    /// Refuse stored hashes asking for more work than this: a tampered row must not pin a CPU.
    static let maximumIterations = 100_000_000

    public var iterations: Int
    public var saltLength: Int
    public var hashLength: Int

    public init(iterations: Int = defaultIterations, saltLength: Int = 16, hashLength: Int = 32) {
        precondition(iterations >= 1 && saltLength >= 8 && hashLength >= 16, "weak PasswordHasher parameters")
        self.iterations = iterations
        self.saltLength = saltLength
        self.hashLength = hashLength
    }

    /// PBKDF2-HMAC-SHA256 of `password` and `salt`.
    public static func deriveKey(password: [UInt8], salt: [UInt8], iterations: Int, length: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        let result = withDatum(password) { key in
            withDatum(salt) { salt in
                gnutls_pbkdf2(GNUTLS_MAC_SHA256, key, salt, UInt32(iterations), &out, length)
            }
        }
        try check(result, "derive PBKDF2-HMAC-SHA256 key")
        return out
    }

    /// A new encoded hash of `password` with a fresh random salt.
    public func hash(_ password: String) throws -> String {
        let salt = SecureRandom.bytes(saltLength)
        let derived = try Self.deriveKey(password: Array(password.utf8), salt: salt, iterations: iterations, length: hashLength)
        return [Self.scheme, String(iterations),
                Base64.encode(salt, padding: false), Base64.encode(derived, padding: false)].joined(separator: "$")
    }

    /// Whether `password` matches `encoded`. Malformed or foreign encodings never match.
    public func verify(_ password: String, against encoded: String) -> Bool {
        guard let stored = EncodedHash(encoded),
              let derived = try? Self.deriveKey(password: Array(password.utf8), salt: stored.salt,
                                                iterations: stored.iterations, length: stored.hash.count)
        else { return false }
        return constantTimeEqual(derived, stored.hash)
    }

    /// Whether `encoded` should be replaced (after a successful login) because it is malformed,
    /// of another scheme, or uses fewer than `minimumIterations`.
    public static func needsRehash(_ encoded: String, minimumIterations: Int = defaultIterations) -> Bool {
        guard let stored = EncodedHash(encoded) else { return true }
        return stored.iterations < minimumIterations
    }

    /// The parsed parts of an encoded hash.
    struct EncodedHash {
        let iterations: Int
        let salt: [UInt8]
        let hash: [UInt8]

        init?(_ encoded: String) {
            let parts = encoded.split(separator: "$", omittingEmptySubsequences: false)
            guard parts.count == 4, parts[0] == PasswordHasher.scheme,
                  let iterations = Int(parts[1]), iterations >= 1, iterations <= PasswordHasher.maximumIterations,
                  let salt = Base64.decode(String(parts[2])), !salt.isEmpty,
                  let hash = Base64.decode(String(parts[3])), hash.count >= 16
            else { return nil }
            self.iterations = iterations
            self.salt = salt
            self.hash = hash
        }
    }
}
