import CGnuTLS

/// An X.509 private key (`gnutls_x509_privkey_t`): generate, import and export PEM, key ID.
public final class PrivateKey {
    /// Key types camhost generates. P-256 is the default: fast handshakes, TLS 1.3 with
    /// `TLSPolicy.serverPriorities`.
    public enum Algorithm: Sendable {
        case ecdsaP256
        case ecdsaP384
    }

    let handle: gnutls_x509_privkey_t

    private init(handle: gnutls_x509_privkey_t) {
        self.handle = handle
    }

    deinit {
        gnutls_x509_privkey_deinit(handle)
    }

    private static func makeHandle() throws -> gnutls_x509_privkey_t {
        var handle: gnutls_x509_privkey_t?
        try check(gnutls_x509_privkey_init(&handle), "allocate private key")
        guard let handle else { throw TLSError(code: GNUTLS_E_MEMORY_ERROR, operation: "allocate private key") }
        return handle
    }

    /// Generates a new key.
    public static func generate(_ algorithm: Algorithm = .ecdsaP256) throws -> PrivateKey {
        let key = PrivateKey(handle: try makeHandle())
        let curve: gnutls_ecc_curve_t = switch algorithm {
        case .ecdsaP256: GNUTLS_ECC_CURVE_SECP256R1
        case .ecdsaP384: GNUTLS_ECC_CURVE_SECP384R1
        }
        try check(gnutls_x509_privkey_generate(key.handle, GNUTLS_PK_ECDSA, cgnutls_curve_to_bits(curve), 0),
                  "generate \(algorithm) private key")
        return key
    }

    /// Imports an unencrypted PEM key (SEC1 "EC PRIVATE KEY", PKCS#1 or PKCS#8 "PRIVATE KEY").
    /// `source` names the input in errors.
    public convenience init(pem: [UInt8], source: String? = nil) throws {
        let handle = try Self.makeHandle()
        let result = withDatum(pem) { gnutls_x509_privkey_import2(handle, $0, GNUTLS_X509_FMT_PEM, nil, 0) }
        guard result >= 0 else {
            gnutls_x509_privkey_deinit(handle)
            throw TLSError(code: result, operation: "import PEM private key", input: source)
        }
        self.init(handle: handle)
    }

    /// The key in PEM.
    public func pemBytes() throws -> [UInt8] {
        var out = gnutls_datum_t()
        try check(gnutls_x509_privkey_export2(handle, GNUTLS_X509_FMT_PEM, &out), "export private key")
        return takeDatum(out)
    }

    /// SHA-256 identifier of the public key; equal to `Certificate.keyID()` of any certificate
    /// issued for this key.
    public func keyID() throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 64)
        var size = buffer.count
        try check(gnutls_x509_privkey_get_key_id(handle, UInt32(GNUTLS_KEYID_USE_SHA256.rawValue), &buffer, &size),
                  "compute private key ID")
        return Array(buffer.prefix(size))
    }
}
