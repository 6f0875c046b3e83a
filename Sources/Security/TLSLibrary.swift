import CGnuTLS

/// The linked GnuTLS library: its version and one-time global initialisation.
public enum TLSLibrary {
    /// The runtime GnuTLS version string, e.g. "3.7.9".
    public static var version: String {
        guard let v = gnutls_check_version(nil) else { return "unknown" }
        return String(cString: v)
    }
}
