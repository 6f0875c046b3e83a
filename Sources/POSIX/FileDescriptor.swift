#if canImport(Glibc)
import Glibc
#endif

/// An open regular file, reached relative to a directory and never through a symbolic link
/// (`O_NOFOLLOW`), closed on exec. The owner closes it with `close()`; a copy is the same file.
public struct FileDescriptor: Sendable, Hashable {
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// Creates `name` in `directory` for writing (mode 0644); fails with `.exists` when anything
    /// is there already, so two writers never share a file.
    public static func createNew(in directory: Directory, _ name: String) throws(Errno) -> FileDescriptor {
        FileDescriptor(rawValue: try retryingInterrupts { openat(directory.rawValue, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644) })
    }

    /// Opens an existing regular file in `directory` for reading and writing (to repair it).
    public static func openForUpdate(in directory: Directory, _ name: String) throws(Errno) -> FileDescriptor {
        FileDescriptor(rawValue: try retryingInterrupts { openat(directory.rawValue, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC) })
    }

    /// Writes all of `bytes` at the current offset (short writes continued; EINTR retried).
    public func write(_ bytes: [UInt8]) throws(Errno) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in Glibc.write(rawValue, raw.baseAddress! + offset, raw.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw Errno.current
            }
            offset += written
        }
    }

    /// Up to `count` bytes from `offset` (fewer at the end of the file), without moving the file offset.
    public func read(at offset: Int, count: Int) throws(Errno) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let n = buffer.withUnsafeMutableBytes { raw in pread(rawValue, raw.baseAddress! + filled, count - filled, off_t(offset + filled)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Errno.current
            }
            if n == 0 { break }
            filled += n
        }
        buffer.removeSubrange(filled...)
        return buffer
    }

    /// Makes the file's data and size durable (`fsync`).
    public func sync() throws(Errno) { _ = try retryingInterrupts { fsync(rawValue) } }

    /// Cuts the file to `length` bytes.
    public func truncate(to length: Int) throws(Errno) { _ = try retryingInterrupts { ftruncate(rawValue, off_t(length)) } }

    /// Size in bytes and modification time in milliseconds since 1970.
    public func status() throws(Errno) -> (size: Int, modifiedMilliseconds: Int64) {
        var info = stat()
        _ = try retryingInterrupts { fstat(rawValue, &info) }
        return (Int(info.st_size), Int64(info.st_mtim.tv_sec) * 1000 + Int64(info.st_mtim.tv_nsec) / 1_000_000)
    }

    /// Takes an exclusive `flock` without waiting: `.wouldBlock` when another open file holds it.
    /// The kernel drops it when the holder's last descriptor closes, a SIGKILL included, so a
    /// writer's lock says "being written" exactly as long as that is true.
    public func lockExclusively() throws(Errno) { _ = try retryingInterrupts { flock(rawValue, LOCK_EX | LOCK_NB) } }

    public func close() { _ = Glibc.close(rawValue) }
}
