import POSIX

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

// Storage's names for the error numbers its walker matches on (POSIX's `Errno` underneath).
extension Errno {
    var code: Int32 { rawValue }
    static let noEntry = Errno.noSuchFileOrDirectory
    static let loop = Errno.tooManySymbolicLinkLevels
    static let invalid = Errno.invalidArgument
    static let notEmpty = Errno.directoryNotEmpty
    static let exists = Errno.fileExists
}

/// Storage's file calls, on the POSIX layer (which retries EINTR and reports `Errno`): nothing
/// below the recordings root is reached through a symbolic link (every component is opened
/// with `O_NOFOLLOW` relative to its parent's descriptor).
enum FileOps {
    enum Kind: UInt8 { case file = 1, directory = 2, symlink = 3, other = 4 }

    struct Status {
        var kind: Kind
        var size: Int64
        /// Modification time, nanoseconds since 1970.
        var modified: Int64
    }

    static func message(_ code: Int32) -> String { Errno(code).description }

    private static func result(_ body: () throws(Errno) -> Int32) -> Result<Int32, Errno> {
        Result(catching: body)
    }

    private static func failure(_ body: () throws(Errno) -> Void) -> Errno? {
        do { try body(); return nil } catch { return error }
    }

    /// Opens the recordings root itself (it may be a symbolic link the operator chose).
    static func openRoot(_ path: String) -> Result<Int32, FileError> {
        result { () throws(Errno) in try FileDescriptor.open(path, .readOnly, options: .directory).rawValue }
            .mapError { FileError(operation: "open", path: Array(path.utf8), errno: $0.rawValue) }
    }

    /// Opens directory `name` inside `parent`, refusing symbolic links.
    static func openDirectory(_ parent: Int32, _ name: [UInt8]) -> Result<Int32, Errno> {
        result { () throws(Errno) in
            try FileDescriptor.open(name, .readOnly, options: [.directory, .noFollow], in: FileDescriptor(rawValue: parent)).rawValue
        }
    }

    static func close(_ fd: Int32) { FileDescriptor(rawValue: fd).close() }

    /// `fstatat` without following a final symbolic link.
    static func status(_ parent: Int32, _ name: [UInt8]) -> Result<Status, Errno> {
        Result { () throws(Errno) in Status(try POSIX.FileStatus(name, in: FileDescriptor(rawValue: parent))) }
    }

    static func status(_ fd: Int32) -> Result<Status, Errno> {
        Result { () throws(Errno) in Status(try FileDescriptor(rawValue: fd).status()) }
    }

    /// Opens regular file `name` inside `parent` for reading, refusing a symbolic link.
    static func openFile(_ parent: Int32, _ name: [UInt8]) -> Result<Int32, Errno> {
        result { () throws(Errno) in try FileDescriptor.open(name, .readOnly, options: .noFollow, in: FileDescriptor(rawValue: parent)).rawValue }
    }

    /// Creates file `name` inside `parent` for writing; fails if anything is there already.
    static func createFile(_ parent: Int32, _ name: [UInt8]) -> Result<Int32, Errno> {
        result { () throws(Errno) in
            try FileDescriptor.open(name, .writeOnly, options: [.create, .exclusive, .noFollow], permissions: 0o644,
                                    in: FileDescriptor(rawValue: parent)).rawValue
        }
    }

    /// Makes directory `name` inside `parent`; errno on failure (`EEXIST` when it is there).
    static func makeDirectory(_ parent: Int32, _ name: [UInt8]) -> Errno? {
        failure { () throws(Errno) in try Directory.make(name, in: FileDescriptor(rawValue: parent)) }
    }

    /// Renames `from` to `to` inside one directory (atomic; replaces a file at `to`).
    static func rename(_ directory: Int32, _ from: [UInt8], to: [UInt8]) -> Errno? {
        failure { () throws(Errno) in try Directory.rename(from, to: to, in: FileDescriptor(rawValue: directory)) }
    }

    /// Removes a non-directory entry (never what a link points to).
    static func unlink(_ parent: Int32, _ name: [UInt8]) -> Errno? {
        failure { () throws(Errno) in try Directory.unlink(name, in: FileDescriptor(rawValue: parent)) }
    }

    /// Removes an empty directory.
    static func removeDirectory(_ parent: Int32, _ name: [UInt8]) -> Errno? {
        failure { () throws(Errno) in try Directory.removeDirectory(name, in: FileDescriptor(rawValue: parent)) }
    }

    /// Makes the directory's entries (creations and removals) durable.
    static func sync(_ fd: Int32) -> Errno? { failure { () throws(Errno) in try FileDescriptor(rawValue: fd).sync() } }

    /// The names in a directory (not `.` and `..`) with the type readdir reports, when it does.
    static func entries(_ fd: Int32, _ body: ([UInt8], Kind?) -> Void) -> Errno? {
        failure { () throws(Errno) in
            try Directory.forEachEntry(in: FileDescriptor(rawValue: fd)) { name, kind in body(name, kind.map(Kind.init)) }
        }
    }

    /// Available and total bytes on the file system holding `path` (`statvfs`; available is
    /// what an unprivileged writer can use, like `df`).
    static func space(_ path: String) -> (available: Int64, total: Int64)? { POSIX.FileSystem.space(path) }

    /// Takes an exclusive `flock` on `path` (created if missing); returns the descriptor holding
    /// it, or errno (`EWOULDBLOCK` when another holder keeps it for longer than `patience`).
    ///
    /// Why wait at all: a `flock` belongs to the open file description, and a process forked by
    /// any thread of ours (`system()`, a spawned ffmpeg) shares it until its `exec` closes the
    /// `O_CLOEXEC` copy. A lock released just before such a fork stays held for that moment; a
    /// real second cleanup holds it for seconds.
    static func lock(_ path: String, patienceMilliseconds: Int64 = 1000) -> Result<Int32, Errno> {
        Result { () throws(Errno) in
            let fd = try FileDescriptor.open(path, .readWrite, options: .create, permissions: 0o600)
            let deadline = monotonicMilliseconds() + patienceMilliseconds
            while true {
                do throws(Errno) {
                    try fd.tryLockExclusive()
                    return fd.rawValue
                } catch {
                    guard error == .wouldBlock, monotonicMilliseconds() < deadline else {
                        fd.close()
                        throw error
                    }
                    Clock.sleep(milliseconds: 10)
                }
            }
        }
    }

    static func unlock(_ fd: Int32) { close(fd) }

    /// The absolute paths of files some process holds open, from /proc/PID/fd (best effort:
    /// processes of other users are invisible to non-root).
    static func openFiles(under prefix: [UInt8]) -> Set<[UInt8]> { ProcFS.openFiles(under: prefix) }

    /// The canonical absolute path of an existing directory (`realpath`), as bytes.
    static func canonical(_ path: String) -> [UInt8]? { POSIX.FileSystem.canonical(path) }

    static func isTerminal(_ fd: Int32) -> Bool { FileDescriptor(rawValue: fd).isTerminal }

    static func writeStandardError(_ text: String) { FileDescriptor.standardError.write(text) }

    /// Seconds since 1970, from the real-time clock.
    static func now() -> Int64 { Clock.unixSeconds }

    static func monotonicMilliseconds() -> Int64 { Clock.monotonicMilliseconds }
}

extension FileOps.Kind {
    init(_ kind: POSIX.FileStatus.Kind) {
        switch kind {
        case .file: self = .file
        case .directory: self = .directory
        case .symbolicLink: self = .symlink
        case .other: self = .other
        }
    }
}

extension FileOps.Status {
    init(_ status: POSIX.FileStatus) {
        kind = FileOps.Kind(status.kind)
        size = status.size
        modified = status.modifiedSeconds * 1_000_000_000 + status.modifiedNanoseconds
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
