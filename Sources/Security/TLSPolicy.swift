import CGnuTLS

/// The TLS settings camhost's servers use.
public enum TLSPolicy {
    /// GnuTLS priority string for the HTTPS server and any other TLS listener: Mozilla's
    /// "intermediate" profile (docs/security.md, "TLS profile").
    ///
    /// - TLS 1.3 and 1.2 only: without a priority string GnuTLS would accept TLS 1.0 and 1.1.
    /// - `SECURE256:+SECURE128`: with a P-256 key, `SECURE256` alone silently disables TLS 1.3
    ///   on GnuTLS 3.7 (shared FACTS), so the 128-bit level is added back.
    /// - AEAD suites only (AES-GCM, ChaCha20-Poly1305) with ECDHE: no CBC suite (LUCKY13 and
    ///   its kin), no static-RSA or finite-field DHE key exchange, no CCM; TLS 1.3 suites are
    ///   these same ciphers.
    /// - `%SERVER_PRECEDENCE`: our order wins over the client's, so a client offering CBC or
    ///   ChaCha first still gets AES-128-GCM where both have it.
    public static let serverPriorities = "SECURE256:+SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
        + ":-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA"
        + ":%SERVER_PRECEDENCE"

    /// Throws when GnuTLS cannot parse `priorities`; the error's input names the offending part.
    public static func validate(_ priorities: String) throws(TLSError) {
        let (result, offending) = priorities.withCString { text -> (Int32, String?) in
            var cache: gnutls_priority_t?
            var errorPosition: UnsafePointer<CChar>?
            let r = gnutls_priority_init(&cache, text, &errorPosition)
            if let cache { gnutls_priority_deinit(cache) }
            return (r, r < 0 ? errorPosition.map { String(cString: $0) } : nil)
        }
        try check(result, "parse TLS priority string", input: offending.map { "\"\($0)\" in \(priorities)" } ?? priorities)
    }
}
