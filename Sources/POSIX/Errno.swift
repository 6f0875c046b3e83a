#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An error number from a failed system call: the one error type of the POSIX layer, with Swift
/// names for the codes camhost matches on (as swift-system's `Errno`) and C's text.
public struct Errno: RawRepresentable, Error, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's errno now.
    public static var current: Errno { Errno(errno) }

    /// strerror's text, e.g. "No such file or directory".
    public var description: String { String(cString: strerror(rawValue)) }

    public static let notPermitted = Errno(EPERM)
    public static let noSuchFileOrDirectory = Errno(ENOENT)
    public static let noSuchProcess = Errno(ESRCH)
    public static let interrupted = Errno(EINTR)
    public static let ioError = Errno(EIO)
    public static let badFileDescriptor = Errno(EBADF)
    public static let noChildProcess = Errno(ECHILD)
    public static let wouldBlock = Errno(EWOULDBLOCK)
    public static let noMemory = Errno(ENOMEM)
    public static let permissionDenied = Errno(EACCES)
    public static let fileExists = Errno(EEXIST)
    public static let notDirectory = Errno(ENOTDIR)
    public static let isDirectory = Errno(EISDIR)
    public static let invalidArgument = Errno(EINVAL)
    public static let fileTooLarge = Errno(EFBIG)
    public static let noSpace = Errno(ENOSPC)
    public static let readOnlyFileSystem = Errno(EROFS)
    public static let brokenPipe = Errno(EPIPE)
    public static let nameTooLong = Errno(ENAMETOOLONG)
    public static let directoryNotEmpty = Errno(ENOTEMPTY)
    public static let tooManySymbolicLinkLevels = Errno(ELOOP)
    public static let addressInUse = Errno(EADDRINUSE)
    public static let connectionRefused = Errno(ECONNREFUSED)
    public static let timedOut = Errno(ETIMEDOUT)
}
