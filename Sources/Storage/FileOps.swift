#if canImport(Glibc)
import Glibc
#endif

/// A file-system call that failed: what was attempted, on which path (relative to the
/// recordings root when it is under it), and errno.
public struct FileError: Error, Sendable, Equatable, CustomStringConvertible {
    public let operation: String
    public let path: [UInt8]
    public let errno: Int32

    public var description: String {
        "\(operation) \(RecordingPath.display(path)): \(FileOps.message(errno))"
    }
}

/// An errno value carried as an error; `.noEntry` etc. for matching.
struct Errno: Error, Equatable {
    var code: Int32
    init(_ code: Int32) { self.code = code }
    static let noEntry = Errno(ENOENT)
    static let loop = Errno(ELOOP)
    static let wouldBlock = Errno(EWOULDBLOCK)
    static let invalid = Errno(EINVAL)
    static let isDirectory = Errno(EISDIR)
    static let notDirectory = Errno(ENOTDIR)
    static let notEmpty = Errno(ENOTEMPTY)
    static let exists = Errno(EEXIST)
}

/// Every raw libc file call of the Storage part goes through here (modelled on swift-system's
/// Internals/Syscalls.swift): EINTR is retried, errno becomes a `FileError`, and nothing below
/// the recordings root is reached through a symbolic link (every component is opened with
/// `O_NOFOLLOW` relative to its parent's descriptor).
enum FileOps {
    enum Kind: UInt8 { case file = 1, directory = 2, symlink = 3, other = 4 }

    struct Status {
        var kind: Kind
        var size: Int64
        /// Modification time, nanoseconds since 1970.
        var modified: Int64
    }

    static func message(_ code: Int32) -> String { String(cString: strerror(code)) }

    private static func retrying(_ call: () -> Int32) -> Int32 {
        while true {
            let rc = call()
            if rc < 0 && errno == EINTR { continue }
            return rc
        }
    }

    /// Opens the recordings root itself (it may be a symbolic link the operator chose).
    static func openRoot(_ path: String) -> Result<Int32, FileError> {
        let fd = retrying { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        return fd >= 0 ? .success(fd) : .failure(FileError(operation: "open", path: Array(path.utf8), errno: errno))
    }

    /// Opens directory `name` inside `parent`, refusing symbolic links.
    static func openDirectory(_ parent: Int32, _ name: [UInt8]) -> Result<Int32, Errno> {
        let fd = name.withCString { path in retrying { openat(parent, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) } }
        return fd >= 0 ? .success(fd) : .failure(Errno(errno))
    }

    static func close(_ fd: Int32) { _ = Glibc.close(fd) }

    /// `fstatat` without following a final symbolic link.
    static func status(_ parent: Int32, _ name: [UInt8]) -> Result<Status, Errno> {
        var info = stat()
        let rc = name.withCString { path in retrying { fstatat(parent, path, &info, AT_SYMLINK_NOFOLLOW) } }
        guard rc == 0 else { return .failure(Errno(errno)) }
        return .success(Status(info))
    }

    static func status(_ fd: Int32) -> Result<Status, Errno> {
        var info = stat()
        guard retrying({ fstat(fd, &info) }) == 0 else { return .failure(Errno(errno)) }
        return .success(Status(info))
    }

    /// Opens regular file `name` inside `parent` for reading, refusing a symbolic link.
    static func openFile(_ parent: Int32, _ name: [UInt8]) -> Result<Int32, Errno> {
        let fd = name.withCString { path in retrying { openat(parent, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) } }
        return fd >= 0 ? .success(fd) : .failure(Errno(errno))
    }

    /// Creates file `name` inside `parent` for writing; fails if anything is there already.
    static func createFile(_ parent: Int32, _ name: [UInt8]) -> Result<Int32, Errno> {
        let fd = name.withCString { path in retrying { openat(parent, path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644) } }
        return fd >= 0 ? .success(fd) : .failure(Errno(errno))
    }

    /// Makes directory `name` inside `parent`; errno on failure (`EEXIST` when it is there).
    static func makeDirectory(_ parent: Int32, _ name: [UInt8]) -> Errno? {
        name.withCString { path in retrying { mkdirat(parent, path, 0o755) } } == 0 ? nil : Errno(errno)
    }

    /// Renames `from` to `to` inside one directory (atomic; replaces a file at `to`).
    static func rename(_ directory: Int32, _ from: [UInt8], to: [UInt8]) -> Errno? {
        from.withCString { source in to.withCString { target in retrying { renameat(directory, source, directory, target) } } } == 0 ? nil : Errno(errno)
    }

    /// Removes a non-directory entry (never what a link points to). Returns errno, 0 on success.
    static func unlink(_ parent: Int32, _ name: [UInt8]) -> Errno? {
        name.withCString { path in retrying { unlinkat(parent, path, 0) } } == 0 ? nil : Errno(errno)
    }

    /// Removes an empty directory. Returns errno, 0 on success.
    static func removeDirectory(_ parent: Int32, _ name: [UInt8]) -> Errno? {
        name.withCString { path in retrying { unlinkat(parent, path, AT_REMOVEDIR) } } == 0 ? nil : Errno(errno)
    }

    /// Makes the directory's entries (creations and removals) durable.
    static func sync(_ fd: Int32) -> Errno? { retrying { fsync(fd) } == 0 ? nil : Errno(errno) }

    /// The names in a directory (not `.` and `..`) with the type readdir reports, when it does.
    static func entries(_ fd: Int32, _ body: ([UInt8], Kind?) -> Void) -> Errno? {
        let copy = dup(fd)
        guard copy >= 0, let dir = fdopendir(copy) else {
            let code = errno
            if copy >= 0 { Glibc.close(copy) }
            return Errno(code)
        }
        defer { closedir(dir) }
        rewinddir(dir)
        errno = 0
        while let entry = readdir(dir) {
            let name: [UInt8] = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            let kind: Kind?
            switch Int32(entry.pointee.d_type) {
            case Int32(DT_REG): kind = .file
            case Int32(DT_DIR): kind = .directory
            case Int32(DT_LNK): kind = .symlink
            case Int32(DT_UNKNOWN): kind = nil
            default: kind = .other
            }
            body(name, kind)
            errno = 0
        }
        return errno == 0 ? nil : Errno(errno)
    }

    /// Available and total bytes on the file system holding `path` (`statvfs`; available is
    /// what an unprivileged writer can use, like `df`).
    static func space(_ path: String) -> (available: Int64, total: Int64)? {
        var info = statvfs()
        guard retrying({ statvfs(path, &info) }) == 0 else { return nil }
        let unit = Int64(info.f_frsize)
        return (Int64(info.f_bavail) * unit, Int64(info.f_blocks) * unit)
    }

    /// Takes an exclusive `flock` on `path` (created if missing); returns the descriptor holding
    /// it, or errno (`EWOULDBLOCK` when another holder keeps it for longer than `patience`).
    ///
    /// Why wait at all: a `flock` belongs to the open file description, and a process forked by
    /// any thread of ours (`system()`, a spawned ffmpeg) shares it until its `exec` closes the
    /// `O_CLOEXEC` copy. A lock released just before such a fork stays held for that moment; a
    /// real second cleanup holds it for seconds.
    static func lock(_ path: String, patienceMilliseconds: Int64 = 1000) -> Result<Int32, Errno> {
        let fd = retrying { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        guard fd >= 0 else { return .failure(Errno(errno)) }
        let deadline = monotonicMilliseconds() + patienceMilliseconds
        while retrying({ flock(fd, LOCK_EX | LOCK_NB) }) != 0 {
            let code = errno
            guard code == EWOULDBLOCK, monotonicMilliseconds() < deadline else {
                Glibc.close(fd)
                return .failure(Errno(code))
            }
            usleep(10_000)
        }
        return .success(fd)
    }

    static func unlock(_ fd: Int32) { Glibc.close(fd) }

    /// The absolute paths of files some process holds open, from /proc/PID/fd (best effort:
    /// processes of other users are invisible to non-root).
    static func openFiles(under prefix: [UInt8]) -> Set<[UInt8]> {
        var found: Set<[UInt8]> = []
        guard let proc = opendir("/proc") else { return found }
        defer { closedir(proc) }
        var buffer = [CChar](repeating: 0, count: 4096)
        while let entry = readdir(proc) {
            let name: [UInt8] = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            guard !name.isEmpty, name.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { continue }
            let fdDirectory = "/proc/" + String(decoding: name, as: UTF8.self) + "/fd"
            guard let fds = opendir(fdDirectory) else { continue }
            while let fdEntry = readdir(fds) {
                let fdName = withUnsafeBytes(of: fdEntry.pointee.d_name) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
                if fdName.hasPrefix(".") { continue }
                let n = readlink(fdDirectory + "/" + fdName, &buffer, buffer.count - 1)
                guard n > 0 else { continue }
                let target = buffer[0..<n].map { UInt8(bitPattern: $0) }
                if target.count > prefix.count, target.starts(with: prefix) { found.insert(target) }
            }
            closedir(fds)
        }
        return found
    }

    /// The canonical absolute path of an existing directory (`realpath`), as bytes.
    static func canonical(_ path: String) -> [UInt8]? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return Array(UnsafeBufferPointer(start: UnsafeRawPointer(resolved).assumingMemoryBound(to: UInt8.self), count: strlen(resolved)))
    }

    static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    static func writeStandardError(_ text: String) {
        var text = text
        text.withUTF8 { bytes in _ = Glibc.write(2, bytes.baseAddress, bytes.count) }
    }

    /// Seconds since 1970, from the real-time clock.
    static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec)
    }

    static func monotonicMilliseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }
}

extension FileOps.Status {
    init(_ info: stat) {
        switch info.st_mode & S_IFMT {
        case S_IFREG: kind = .file
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symlink
        default: kind = .other
        }
        size = Int64(info.st_size)
        modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
    }
}

extension Array where Element == UInt8 {
    /// Calls `body` with a NUL-terminated copy (names never contain NUL: they come from readdir
    /// or passed `RecordingPath.validate`).
    func withCString<R>(_ body: (UnsafePointer<CChar>) -> R) -> R {
        var copy = self
        copy.append(0)
        return copy.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { body($0) }
        }
    }
}
