#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// Operations on paths: whole-file reads, atomic writes, `mkdir -p`, renames and links. Errors
/// name the operation and the path (`SystemError`).
public enum FileSystem {
    /// A whole file, at most `limit` bytes (more fails with `fileTooLarge`).
    public static func readFile(_ path: String, limit: Int = 16 << 20) throws(SystemError) -> [UInt8] {
        let fd: FileDescriptor
        do { fd = try FileDescriptor.open(path, .readOnly) } catch { throw SystemError(operation: .open, path: path, errno: error) }
        defer { fd.close() }
        do { return try fd.readAll(limit: limit) } catch { throw SystemError(operation: .read, path: path, errno: error) }
    }

    /// A whole file as UTF-8 text (invalid bytes replaced).
    public static func readText(_ path: String, limit: Int = 16 << 20) throws(SystemError) -> String {
        String(decoding: try readFile(path, limit: limit), as: UTF8.self)
    }

    private static let temporaryCounter = Atomic<Int>(0)

    /// Writes a new file at `path` atomically: a temporary file created exclusively (never
    /// through a link) in the same directory with exactly `permissions` (and `group` when set),
    /// written, fsynced, renamed over `path`, and the directory fsynced. A crash leaves the old
    /// file or the whole new one, never a truncated file; readers never see half a file.
    public static func writeAtomically(_ bytes: some Collection<UInt8>, to path: String, permissions: FileMode = 0o644,
                                       group: GroupID? = nil) throws(SystemError) {
        let directory = parentDirectory(of: path)
        let serial = temporaryCounter.add(1, ordering: .relaxed).newValue
        let temporary = directory + "/." + fileName(of: path) + ".tmp-\(getpid())-\(serial)"
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(temporary, .writeOnly, options: [.create, .exclusive, .noFollow], permissions: permissions)
        } catch { throw SystemError(operation: .create, path: temporary, errno: error) }
        var closed = false
        var renamed = false
        defer {
            if !closed { fd.close() }
            if !renamed { _ = temporary.withCPath { unlink($0) } }
        }
        func step(_ operation: SystemError.Operation, _ body: () throws(Errno) -> Void) throws(SystemError) {
            do { try body() } catch { throw SystemError(operation: operation, path: path, errno: error) }
        }
        if let group { try step(.changeGroup) { () throws(Errno) in try fd.changeGroup(group) } }
        try step(.setPermissions) { () throws(Errno) in try fd.setPermissions(permissions) }
        try step(.write) { () throws(Errno) in try fd.writeAll(bytes) }
        try step(.sync) { () throws(Errno) in try fd.sync() }
        closed = true
        try step(.close) { () throws(Errno) in try fd.closeChecked() }
        try step(.rename) { () throws(Errno) in try rename(temporary, to: path) }
        renamed = true
        // Make the rename itself durable.
        if let directoryFD = try? FileDescriptor.open(directory, .readOnly, options: .directory) {
            try? directoryFD.sync()
            directoryFD.close()
        }
    }

    /// `mkdir -p`: `path` and its missing parents, made with `permissions` (exactly, not
    /// filtered by the umask, when `exactPermissions`) and given to `group` when set. Fails with
    /// `.notDirectory` when something other than a directory is in the way.
    public static func makeDirectories(_ path: String, permissions: FileMode = 0o750, group: GroupID? = nil,
                                       exactPermissions: Bool = false) throws(SystemError) {
        switch Result(catching: { () throws(Errno) in try FileStatus(path) }) {
        case .success(let existing):
            guard existing.kind == .directory else { throw SystemError(operation: .notDirectory, path: path, errno: .notDirectory) }
            return
        case .failure(.noSuchFileOrDirectory): break
        case .failure(let error): throw SystemError(operation: .inspect, path: path, errno: error)
        }
        let parent = parentDirectory(of: path)
        if parent != path && parent != "." { try makeDirectories(parent, permissions: permissions, group: group, exactPermissions: exactPermissions) }
        switch path.withCPath({ cPath in nothingOrErrno { mkdir(cPath, permissions) } }) {
        case .success: break
        case .failure(.fileExists): return
        case .failure(let error): throw SystemError(operation: .makeDirectory, path: path, errno: error)
        }
        if let group {
            if case .failure(let error) = path.withCPath({ cPath in nothingOrErrno { chown(cPath, UserID.max, group) } }) {
                throw SystemError(operation: .changeGroup, path: path, errno: error)
            }
        }
        if exactPermissions, case .failure(let error) = path.withCPath({ cPath in nothingOrErrno { chmod(cPath, permissions) } }) {
            throw SystemError(operation: .setPermissions, path: path, errno: error)
        }
    }

    /// mkdtemp(3): a new private directory from a template ending in XXXXXX.
    public static func makeTemporaryDirectory(_ template: String) throws(SystemError) -> String {
        var bytes = Array(template.utf8CString)
        guard let made = mkdtemp(&bytes) else { throw SystemError(operation: .makeDirectory, path: template, errno: .current) }
        return String(cString: made)
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    public static func isDirectory(_ path: String) -> Bool { (try? FileStatus(path))?.kind == .directory }

    public static func isReadable(_ path: String) -> Bool { access(path, R_OK) == 0 }

    public static func isExecutable(_ path: String) -> Bool { access(path, X_OK) == 0 }

    /// Whether this process may create and write files in the directory `path`.
    public static func isWritableDirectory(_ path: String) -> Bool { access(path, W_OK | X_OK) == 0 }

    public static func remove(_ path: String) throws(Errno) { try nothingOrErrno { unlink(path) }.get() }

    /// rmdir(2): an empty directory.
    public static func removeDirectory(_ path: String) throws(Errno) { try nothingOrErrno { rmdir(path) }.get() }

    public static func rename(_ source: String, to target: String) throws(Errno) {
        try nothingOrErrno { Glibc.rename(source, target) }.get()
    }

    /// chown(2) of an existing path.
    public static func changeOwner(_ path: String, user: UserID, group: GroupID) throws(Errno) {
        try nothingOrErrno { chown(path, user, group) }.get()
    }

    /// Sets the modification (and access) time of `path` to `seconds` since 1970.
    public static func setModificationTime(_ path: String, seconds: Int64) throws(Errno) {
        var times = [timespec(tv_sec: Int(seconds), tv_nsec: 0), timespec(tv_sec: Int(seconds), tv_nsec: 0)]
        try nothingOrErrno { utimensat(AT_FDCWD, path, &times, 0) }.get()
    }

    /// Where a symbolic link points, as stored in the link (bytes).
    public static func linkTarget(_ path: some CPath) -> [UInt8]? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = path.withCPath { cPath in readlink(cPath, &buffer, buffer.count - 1) }
        guard n >= 0 else { return nil }
        return buffer.prefix(n).map { UInt8(bitPattern: $0) }
    }

    /// The canonical absolute path of an existing file (realpath), as bytes.
    public static func canonical(_ path: String) -> [UInt8]? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return Array(UnsafeBufferPointer(start: UnsafeRawPointer(resolved).assumingMemoryBound(to: UInt8.self), count: strlen(resolved)))
    }

    public static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
        return getcwd(&buffer, buffer.count) != nil ? buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } : "."
    }

    /// `path` made absolute against the current directory (without resolving links).
    public static func absolute(_ path: String) -> String {
        guard !path.hasPrefix("/") else { return path }
        let relative = path.hasPrefix("./") ? String(path.dropFirst(2)) : path
        let base = currentDirectory()
        return base.hasSuffix("/") ? base + relative : base + "/" + relative
    }

    /// Available and total bytes on the file system holding `path` (statvfs; available is what
    /// an unprivileged writer can use, like `df`).
    public static func space(_ path: String) -> (available: Int64, total: Int64)? {
        var info = statvfs()
        guard case .success = nothingOrErrno({ statvfs(path, &info) }) else { return nil }
        let unit = Int64(info.f_frsize)
        return (Int64(info.f_bavail) * unit, Int64(info.f_blocks) * unit)
    }

    public static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let parent = String(path[..<slash])
        return parent.isEmpty ? "/" : parent
    }

    public static func fileName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// umask(2): sets the mask for files this process creates; returns the old one.
    @discardableResult
    public static func setCreationMask(_ mask: FileMode) -> FileMode { umask(mask) }
}
