#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A problem with the key or certificate files that is not a GnuTLS failure: a file system error,
/// a key that does not match its certificate, a file camhost refuses to touch. Says what failed,
/// the path and how to fix it.
public struct CredentialError: Error, Equatable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        /// A system call failed with this errno.
        case system(errno: Int32)
        /// The certificate was not issued for this private key.
        case keyCertificateMismatch
        /// The certificate exists but its private key does not; camhost will not invent one.
        case keyMissing
        /// A host name or IP address given for the certificate is not usable.
        case invalidSubjectAlternativeName
        /// The key file's permissions or type are unsafe.
        case unsafePermissions
    }

    public let kind: Kind
    /// What failed, in words.
    public let problem: String
    /// The file (or value) involved.
    public let path: String
    /// What the operator should do.
    public let fix: String

    public var description: String { "\(problem): \(path). Fix: \(fix)" }

    static func system(_ code: Int32, _ what: String, path: String, fix: String) -> CredentialError {
        let reason = strerror(code).map { String(cString: $0) } ?? "errno \(code)"
        return CredentialError(kind: .system(errno: code), problem: "\(what) (\(reason))", path: path, fix: fix)
    }
}
