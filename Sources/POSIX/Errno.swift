#if canImport(Glibc)
import Glibc
#endif

/// An errno value as a Swift error, with the C library's message. Every call in this target
/// that fails with errno throws one; EINTR is retried here, never at call sites.
public struct Errno: Error, Sendable, Hashable, CustomStringConvertible {
    public let code: Int32

    public init(_ code: Int32) { self.code = code }

    /// The errno the last failed call left.
    static var current: Errno { Errno(errno) }

    public static let noEntry = Errno(ENOENT)
    public static let exists = Errno(EEXIST)
    public static let wouldBlock = Errno(EWOULDBLOCK)
    public static let noSpace = Errno(ENOSPC)
    public static let loop = Errno(ELOOP)
    public static let notDirectory = Errno(ENOTDIR)
    public static let invalid = Errno(EINVAL)

    public var description: String { String(cString: strerror(code)) }
}

/// Runs a call that returns -1 and sets errno on failure, again while it fails with EINTR.
@inline(__always)
func retryingInterrupts<T: BinaryInteger>(_ call: () -> T) throws(Errno) -> T {
    while true {
        let result = call()
        if result >= 0 { return result }
        if errno != EINTR { throw Errno.current }
    }
}
