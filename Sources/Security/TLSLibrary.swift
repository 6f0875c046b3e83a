import CGnuTLS

/// The linked GnuTLS library. It needs no explicit set-up: since 3.3 GnuTLS initialises itself
/// in a library constructor, so there is no `gnutls_global_init` to call.
public enum TLSLibrary {
    /// The runtime GnuTLS version string, e.g. "3.7.9".
    public static var version: String {
        guard let v = gnutls_check_version(nil) else { return "unknown" }
        return String(cString: v)
    }
}
