import CGnuTLS

/// Message digests (`gnutls_hash_fast`).
public enum Digest {
    /// SHA-256 of `bytes` (32 bytes), e.g. for storing API tokens hashed.
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        let result = bytes.withUnsafeBytes { input in
            gnutls_hash_fast(GNUTLS_DIG_SHA256, input.baseAddress, input.count, &out)
        }
        // SHA-256 is always compiled in; failure means a broken library, not bad input.
        precondition(result >= 0, "\(TLSError(code: result, operation: "gnutls_hash_fast(SHA-256)"))")
        return out
    }

    /// SHA-256 of the UTF-8 bytes of `text`.
    public static func sha256(_ text: some StringProtocol) -> [UInt8] {
        sha256(Array(text.utf8))
    }
}

/// Compares two byte strings in time that depends only on their lengths, not on where they
/// differ, so secrets (password hashes, token hashes) cannot be guessed byte by byte.
public func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for i in a.indices {
        difference |= a[i] ^ b[i]
    }
    return difference == 0
}
