#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The server's private key and certificate as PEM, loaded from disk or made on first start.
public struct TLSCredentials: Sendable {
    /// Where the credentials came from.
    public enum Origin: Sendable, Equatable {
        /// Both files existed and were used as they are.
        case loaded
        /// The key existed; a new self-signed certificate was made for it.
        case certificateGenerated
        /// Neither existed; a new key and self-signed certificate were made.
        case keyAndCertificateGenerated
    }

    public let keyPEM: [UInt8]
    public let certPEM: [UInt8]
    public let origin: Origin
    /// The certificate's expiry, seconds since the epoch.
    public let certificateExpiry: time_t

    /// Whether anything was written to disk.
    public var generated: Bool { origin != .loaded }

    /// Names every generated certificate carries besides the host names passed in.
    public static let defaultIPAddresses = ["127.0.0.1", "::1"]

    /// "localhost" and this machine's host name, for `ensure(hostNames:)`.
    public static func defaultHostNames() -> [String] {
        var names = ["localhost"]
        var buffer = [CChar](repeating: 0, count: 256)
        if gethostname(&buffer, buffer.count - 1) == 0 {
            let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if !name.isEmpty && !names.contains(name) { names.append(name) }
        }
        return names
    }

    /// Loads the key and certificate, making whatever is missing; never overwrites a file.
    ///
    /// - Both exist: both must parse and the certificate must carry the key's public key.
    /// - Only the key exists: a new self-signed certificate is made for it.
    /// - Neither exists: a new ECDSA P-256 key and self-signed certificate are made.
    /// - Only the certificate exists: refused; no key can match it.
    ///
    /// A new key file gets mode 0600, or 0640 and group `group` when one is given so a service in
    /// that group (e.g. the MQTT broker) can read it; the certificate gets 0644. Missing parent
    /// directories are created 0700 (0710 with `group`, which the group needs to reach the key).
    public static func ensure(
        keyPath: String,
        certPath: String,
        hostNames: [String] = defaultHostNames(),
        ipAddresses: [String] = defaultIPAddresses,
        group: gid_t? = nil,
        commonName: String = "camhost",
        validityDays: Int = Certificate.defaultValidityDays
    ) throws -> TLSCredentials {
        let keyExists = try FileSystem.status(keyPath) != nil
        let certExists = try FileSystem.status(certPath) != nil
        let names = hostNames.map(SubjectAlternativeName.dnsName) + ipAddresses.map(SubjectAlternativeName.ipAddress)

        switch (keyExists, certExists) {
        case (true, true):
            let (key, keyPEM) = try loadKey(keyPath)
            let certPEM = try FileSystem.readFile(certPath, what: "TLS certificate")
            let certificate: Certificate
            do {
                certificate = try Certificate(pem: certPEM, source: certPath)
            } catch let error as TLSError {
                throw error.naming(certPath, fix: "restore the certificate, or move it aside (mv \(certPath) \(certPath).bad) "
                                   + "and restart camhost to make a new one for the existing key")
            }
            guard try certificate.matches(key) else {
                throw CredentialError(
                    kind: .keyCertificateMismatch,
                    problem: "certificate \(certPath) was not issued for private key \(keyPath)",
                    path: certPath,
                    fix: "restore the matching pair, or move the certificate aside (mv \(certPath) \(certPath).old) "
                        + "and restart camhost to make a new one for this key")
            }
            return TLSCredentials(keyPEM: keyPEM, certPEM: certPEM, origin: .loaded, certificateExpiry: certificate.notAfter)

        case (true, false):
            let (key, keyPEM) = try loadKey(keyPath)
            let certificate = try Certificate.selfSigned(key: key, commonName: commonName, subjectAlternativeNames: names,
                                                         validityDays: validityDays)
            let certPEM = try certificate.pemBytes()
            try writeCertificate(certPEM, to: certPath)
            return TLSCredentials(keyPEM: keyPEM, certPEM: certPEM, origin: .certificateGenerated,
                                  certificateExpiry: certificate.notAfter)

        case (false, true):
            throw CredentialError(
                kind: .keyMissing,
                problem: "certificate \(certPath) exists but its private key is missing",
                path: keyPath,
                fix: "restore the key file, or move the certificate aside (mv \(certPath) \(certPath).old) "
                    + "and restart camhost to make a new key and certificate")

        case (false, false):
            // Build everything in memory first so a bad host name leaves no half-made files.
            let key = try PrivateKey.generate(.ecdsaP256)
            let certificate = try Certificate.selfSigned(key: key, commonName: commonName, subjectAlternativeNames: names,
                                                         validityDays: validityDays)
            let keyPEM = try key.pemBytes()
            let certPEM = try certificate.pemBytes()
            let keyDirectory = FileSystem.parentDirectory(of: keyPath)
            try FileSystem.makeDirectories(keyDirectory, mode: group == nil ? 0o700 : 0o710, group: group)
            // Key first: a crash before the certificate is written is repaired by the next start.
            try FileSystem.writeAtomically(keyPEM, to: keyPath, mode: group == nil ? 0o600 : 0o640, group: group,
                                           what: "TLS private key")
            try writeCertificate(certPEM, to: certPath)
            return TLSCredentials(keyPEM: keyPEM, certPEM: certPEM, origin: .keyAndCertificateGenerated,
                                  certificateExpiry: certificate.notAfter)
        }
    }

    private static func loadKey(_ path: String) throws -> (PrivateKey, [UInt8]) {
        let pem = try FileSystem.readFile(path, what: "TLS private key")
        do {
            return (try PrivateKey(pem: pem, source: path), pem)
        } catch let error as TLSError {
            throw error.naming(path, fix: "the file must be an unencrypted PEM private key; restore it, or move it aside "
                               + "(mv \(path) \(path).bad) together with the certificate and restart camhost to make a new pair")
        }
    }

    private static func writeCertificate(_ pem: [UInt8], to path: String) throws {
        try FileSystem.makeDirectories(FileSystem.parentDirectory(of: path), mode: 0o755, group: nil)
        try FileSystem.writeAtomically(pem, to: path, mode: 0o644, group: nil, what: "TLS certificate")
    }
}
