import CGnuTLS

/// Unpredictable bytes and tokens from GnuTLS's key-grade generator (`gnutls_rnd`, GNUTLS_RND_KEY).
public enum SecureRandom {
    /// `count` random bytes.
    ///
    /// Traps if GnuTLS cannot produce them: handing out predictable salts, serials or session
    /// tokens would be worse than stopping.
    public static func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return out }
        let result = out.withUnsafeMutableBytes { gnutls_rnd(GNUTLS_RND_KEY, $0.baseAddress, $0.count) }
        if result < 0 {
            fatalError("\(TLSError(code: result, operation: "gnutls_rnd(GNUTLS_RND_KEY)"))")
        }
        return out
    }

    /// A random token of `bytes` random bytes as URL-safe base64 without padding
    /// (RFC 4648 section 5); 32 bytes give 43 characters.
    public static func token(bytes count: Int = 32) -> String {
        Base64.encode(bytes(count), urlSafe: true, padding: false)
    }
}
