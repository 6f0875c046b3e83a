#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// The one place where a failed call's -1 becomes an `Errno` and EINTR is retried (the shape of
// swift-system's Internals/Syscalls.swift and Util.swift). Every wrapper of this target calls
// libc through these; nobody else writes an EINTR loop.

/// Runs `call` until it does not fail with EINTR (unless `retryOnInterrupt` is false); -1
/// becomes the thread's errno.
@inline(__always)
func valueOrErrno<I: FixedWidthInteger>(retryOnInterrupt: Bool = true, _ call: () -> I) -> Result<I, Errno> {
    while true {
        let value = call()
        if value != -1 { return .success(value) }
        let error = Errno.current
        if retryOnInterrupt && error == .interrupted { continue }
        return .failure(error)
    }
}

@inline(__always)
func nothingOrErrno<I: FixedWidthInteger>(retryOnInterrupt: Bool = true, _ call: () -> I) -> Result<Void, Errno> {
    valueOrErrno(retryOnInterrupt: retryOnInterrupt, call).map { _ in () }
}

/// For calls that return their error number instead of setting errno (pthread, posix_spawn).
@inline(__always)
func nothingOrReturnedErrno(_ code: Int32) -> Result<Void, Errno> {
    code == 0 ? .success(()) : .failure(Errno(code))
}

/// A path handed to libc: a Swift `String` or raw bytes from a directory entry (names on Linux
/// are bytes; a recording's name need not be UTF-8).
public protocol CPath {
    func withCPath<R>(_ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R
}

extension String: CPath {
    public func withCPath<R>(_ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R { try withCString(body) }
}

extension Array: CPath where Element == UInt8 {
    /// NUL-terminated copy; names never contain NUL (they come from readdir or a validated path).
    public func withCPath<R>(_ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        var copy = self
        copy.append(0)
        return try copy.withUnsafeBufferPointer { buffer in
            try buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { try body($0) }
        }
    }
}

/// C's own types under names a part that does not import Glibc can write.
public typealias FileMode = UInt32
public typealias UserID = UInt32
public typealias GroupID = UInt32
public typealias ProcessID = Int32
