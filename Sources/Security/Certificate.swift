import CGnuTLS
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An X.509 certificate (`gnutls_x509_crt_t`): make a self-signed server certificate, import and
/// export PEM, read expiry, subject and subject alternative names.
public final class Certificate {
    let handle: gnutls_x509_crt_t

    private init(handle: gnutls_x509_crt_t) {
        self.handle = handle
    }

    deinit {
        gnutls_x509_crt_deinit(handle)
    }

    private static func makeHandle() throws -> gnutls_x509_crt_t {
        var handle: gnutls_x509_crt_t?
        try check(gnutls_x509_crt_init(&handle), "allocate certificate")
        guard let handle else { throw TLSError(code: GNUTLS_E_MEMORY_ERROR, operation: "allocate certificate") }
        return handle
    }

    /// Days a generated certificate is valid: 825, the longest that Apple platforms accept for
    /// TLS server certificates.
    public static let defaultValidityDays = 825

    /// A self-signed TLS server certificate for `key`: X.509 v3, random positive 127-bit serial,
    /// valid for `validityDays` from an hour before `now` (clock skew), key usage
    /// digitalSignature, extended key usage serverAuth, not a CA, signed with SHA-256.
    public static func selfSigned(
        key: PrivateKey,
        commonName: String = "camhost",
        subjectAlternativeNames: [SubjectAlternativeName],
        validityDays: Int = defaultValidityDays,
        now: time_t = time(nil)
    ) throws -> Certificate {
        let certificate = Certificate(handle: try makeHandle())
        let crt = certificate.handle

        try check(gnutls_x509_crt_set_version(crt, 3), "set certificate version")

        // RFC 5280 section 4.1.2.2: positive, at most 20 octets, unpredictable.
        var serial = SecureRandom.bytes(16)
        serial[0] = (serial[0] & 0x7f) | 0x01
        try check(gnutls_x509_crt_set_serial(crt, serial, serial.count), "set certificate serial")

        // The whole span is `validityDays`: an 825-day certificate that started an hour early
        // and ended 825 days from now lasted 825 days and an hour, which Apple platforms refuse
        // and testssl.sh flags (cert_validityPeriod, MEDIUM).
        let start = now - 3600
        try check(gnutls_x509_crt_set_activation_time(crt, start), "set certificate start time")
        try check(gnutls_x509_crt_set_expiration_time(crt, start + time_t(validityDays) * 86_400),
                  "set certificate expiry time")

        let cn = Array(commonName.utf8)
        try check(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, UInt32(cn.count)),
                  "set certificate common name", input: commonName)
        try check(gnutls_x509_crt_set_key(crt, key.handle), "set certificate public key")

        for name in subjectAlternativeNames {
            let (type, data): (gnutls_x509_subject_alt_name_t, [UInt8])
            switch name {
            case .dnsName(let dns):
                guard !dns.isEmpty else {
                    throw CredentialError(kind: .invalidSubjectAlternativeName, problem: "empty host name for certificate",
                                          path: "(host names)", fix: "remove the empty host name from the configuration")
                }
                (type, data) = (GNUTLS_SAN_DNSNAME, Array(dns.utf8))
            case .ipAddress(let address):
                guard let bytes = SubjectAlternativeName.addressBytes(address) else {
                    throw CredentialError(kind: .invalidSubjectAlternativeName, problem: "not an IPv4 or IPv6 address",
                                          path: address, fix: "give addresses like 192.168.1.10 or fd00::1")
                }
                (type, data) = (GNUTLS_SAN_IPADDRESS, bytes)
            }
            try check(gnutls_x509_crt_set_subject_alt_name(crt, type, data, UInt32(data.count), UInt32(GNUTLS_FSAN_APPEND)),
                      "add subject alternative name", input: name.description)
        }

        try check(gnutls_x509_crt_set_key_usage(crt, UInt32(GNUTLS_KEY_DIGITAL_SIGNATURE)), "set key usage")
        try check(gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0), "set extended key usage")
        try check(gnutls_x509_crt_set_basic_constraints(crt, 0, -1), "set basic constraints")

        var keyID = [UInt8](repeating: 0, count: 64)
        var keyIDSize = keyID.count
        try check(gnutls_x509_privkey_get_key_id(key.handle, 0, &keyID, &keyIDSize), "compute subject key ID")
        try check(gnutls_x509_crt_set_subject_key_id(crt, keyID, keyIDSize), "set subject key ID")

        try check(gnutls_x509_crt_sign2(crt, crt, key.handle, GNUTLS_DIG_SHA256, 0), "sign certificate")
        // A freshly signed gnutls_x509_crt_t answers some reads (subject alternative names) from
        // its unsigned state as empty; a re-imported copy reads like one loaded from disk.
        return try Certificate(pem: certificate.pemBytes())
    }

    /// Imports the first certificate of a PEM file. `source` names the input in errors.
    public convenience init(pem: [UInt8], source: String? = nil) throws {
        let handle = try Self.makeHandle()
        let result = withDatum(pem) { gnutls_x509_crt_import(handle, $0, GNUTLS_X509_FMT_PEM) }
        guard result >= 0 else {
            gnutls_x509_crt_deinit(handle)
            throw TLSError(code: result, operation: "import PEM certificate", input: source)
        }
        self.init(handle: handle)
    }

    /// The certificate in PEM.
    public func pemBytes() throws -> [UInt8] {
        var out = gnutls_datum_t()
        try check(gnutls_x509_crt_export2(handle, GNUTLS_X509_FMT_PEM, &out), "export certificate")
        return takeDatum(out)
    }

    /// Start of validity, seconds since the epoch.
    public var notBefore: time_t { gnutls_x509_crt_get_activation_time(handle) }

    /// End of validity (expiry), seconds since the epoch.
    public var notAfter: time_t { gnutls_x509_crt_get_expiration_time(handle) }

    /// Subject distinguished name in RFC 4514 form, e.g. "CN=camhost".
    public func subject() throws -> String {
        var out = gnutls_datum_t()
        try check(gnutls_x509_crt_get_dn3(handle, &out, 0), "read certificate subject")
        return String(decoding: takeDatum(out), as: UTF8.self)
    }

    /// The DNS names and IP addresses the certificate is valid for, in certificate order; other
    /// kinds of names are skipped.
    public func subjectAlternativeNames() throws -> [SubjectAlternativeName] {
        var names: [SubjectAlternativeName] = []
        var index: UInt32 = 0
        while true {
            var buffer = [UInt8](repeating: 0, count: 256)
            var size = buffer.count
            var result = gnutls_x509_crt_get_subject_alt_name(handle, index, &buffer, &size, nil)
            if result == GNUTLS_E_SHORT_MEMORY_BUFFER {
                buffer = [UInt8](repeating: 0, count: size)
                result = gnutls_x509_crt_get_subject_alt_name(handle, index, &buffer, &size, nil)
            }
            if result == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE { break }
            try check(result, "read subject alternative name \(index)")
            let data = Array(buffer.prefix(size))
            switch gnutls_x509_subject_alt_name_t(UInt32(result)) {
            case GNUTLS_SAN_DNSNAME:
                names.append(.dnsName(String(decoding: data, as: UTF8.self)))
            case GNUTLS_SAN_IPADDRESS:
                if let text = SubjectAlternativeName.addressText(data) { names.append(.ipAddress(text)) }
            default:
                break
            }
            index += 1
        }
        return names
    }

    /// SHA-256 identifier of the certificate's public key; compare with `PrivateKey.keyID()`.
    public func keyID() throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 64)
        var size = buffer.count
        try check(gnutls_x509_crt_get_key_id(handle, UInt32(GNUTLS_KEYID_USE_SHA256.rawValue), &buffer, &size),
                  "compute certificate key ID")
        return Array(buffer.prefix(size))
    }

    /// Whether this certificate carries `key`'s public key.
    public func matches(_ key: PrivateKey) throws -> Bool {
        constantTimeEqual(try keyID(), try key.keyID())
    }
}
