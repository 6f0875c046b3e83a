import CGnuTLS

/// The TLS settings camhost's servers use.
public enum TLSPolicy {
    /// GnuTLS priority string for the HTTPS server and any other TLS listener: TLS 1.2 and 1.3 only.
    ///
    /// With a P-256 key, `SECURE256` alone silently disables TLS 1.3 on GnuTLS 3.7, so SECURE128
    /// suites are added back; and without a priority string GnuTLS would accept TLS 1.0 and 1.1.
    public static let serverPriorities = "SECURE256:+SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

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
