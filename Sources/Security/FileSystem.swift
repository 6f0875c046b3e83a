#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Every raw libc file call of this part goes through here, with EINTR retried and errno turned
// into a `CredentialError` that names the path.

/// File metadata camhost cares about.
struct FileStatus {
    let mode: mode_t
    let owner: uid_t
    let group: gid_t
    let modificationTime: timespec

    var permissions: mode_t { mode & 0o7777 }
    var isRegularFile: Bool { mode & S_IFMT == S_IFREG }
    var isSymbolicLink: Bool { mode & S_IFMT == S_IFLNK }
    var isDirectory: Bool { mode & S_IFMT == S_IFDIR }

    var kindName: String {
        switch mode & S_IFMT {
        case S_IFREG: "regular file"
        case S_IFDIR: "directory"
        case S_IFLNK: "symbolic link"
        case S_IFIFO: "named pipe"
        case S_IFSOCK: "socket"
        case S_IFCHR, S_IFBLK: "device"
        default: "special file"
        }
    }
}

enum FileSystem {
    static var userID: uid_t { geteuid() }

    /// `lstat` (or `stat` when `followingLinks`); nil when nothing is at `path`.
    static func status(_ path: String, followingLinks: Bool = false) throws -> FileStatus? {
        var st = stat()
        let result = followingLinks ? stat(path, &st) : lstat(path, &st)
        if result != 0 {
            let code = errno
            if code == ENOENT { return nil }
            throw CredentialError.system(code, "cannot inspect file", path: path,
                                         fix: "check that camhost (uid \(userID)) may search every directory above it")
        }
        return FileStatus(mode: st.st_mode, owner: st.st_uid, group: st.st_gid, modificationTime: st.st_mtim)
    }

    /// Where a symbolic link points, as stored in the link.
    static func linkTarget(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n >= 0 else { return nil }
        return String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let parent = String(path[..<slash])
        return parent.isEmpty ? "/" : parent
    }

    static func fileName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    static func readFile(_ path: String, what: String) throws -> [UInt8] {
        let fd = retrying { open(path, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else {
            throw CredentialError.system(errno, "cannot open \(what)", path: path,
                                         fix: "make it readable by camhost (uid \(userID)), e.g. with chown or the configured TLS group")
        }
        defer { close(fd) }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = retrying { read(fd, &chunk, chunk.count) }
            guard n >= 0 else {
                throw CredentialError.system(errno, "cannot read \(what)", path: path, fix: "check the disk and the file")
            }
            if n == 0 { break }
            contents.append(contentsOf: chunk[0..<n])
            guard contents.count <= 1 << 20 else {
                throw CredentialError(kind: .system(errno: EFBIG), problem: "\(what) is larger than 1 MiB; not a PEM file",
                                      path: path, fix: "point the configuration at the PEM file")
            }
        }
        return contents
    }

    /// Creates `path` and any missing parents with `mode`, giving them `group` when set.
    static func makeDirectories(_ path: String, mode: mode_t, group: gid_t?) throws {
        if let existing = try status(path, followingLinks: true) {
            guard existing.isDirectory else {
                throw CredentialError.system(ENOTDIR, "not a directory", path: path, fix: "move the file aside or configure another directory")
            }
            return
        }
        let parent = parentDirectory(of: path)
        if parent != path { try makeDirectories(parent, mode: mode, group: group) }
        if mkdir(path, mode) != 0 && errno != EEXIST {
            throw CredentialError.system(errno, "cannot create directory", path: path,
                                         fix: "create it yourself (mkdir -m 700 \(path)) or run camhost as a user that may")
        }
        if let group, chown(path, uid_t.max, group) != 0 {
            throw CredentialError.system(errno, "cannot give directory to group \(group)", path: path,
                                         fix: "camhost's user must be a member of that group, or run: chgrp \(group) \(path)")
        }
        // mkdir's mode was filtered by the umask.
        if chmod(path, mode) != 0 {
            throw CredentialError.system(errno, "cannot set directory mode", path: path, fix: "chmod \(octal(mode)) \(path)")
        }
    }

    /// Writes a new file at `path` atomically: a temporary file created exclusively with `mode`
    /// in the same directory, fsynced, then renamed over `path`. A crash leaves either no file
    /// or the whole file, never a truncated key.
    static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t, group: gid_t?, what: String) throws {
        let directory = parentDirectory(of: path)
        let temporary = directory + "/." + fileName(of: path) + ".tmp-" + Hex.encode(SecureRandom.bytes(6))
        let fd = retrying { open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode) }
        guard fd >= 0 else {
            throw CredentialError.system(errno, "cannot create \(what)", path: temporary,
                                         fix: "make \(directory) writable by camhost (uid \(userID))")
        }
        var closed = false
        var renamed = false
        defer {
            if !closed { close(fd) }
            if !renamed { unlink(temporary) }
        }
        if let group, fchown(fd, uid_t.max, group) != 0 {
            throw CredentialError.system(errno, "cannot give \(what) to group \(group)", path: path,
                                         fix: "add camhost's user to that group, or leave the TLS group unset")
        }
        // The umask may have removed bits from `mode`; set it exactly.
        if fchmod(fd, mode) != 0 {
            throw CredentialError.system(errno, "cannot set mode of \(what)", path: path, fix: "check the file system")
        }
        var written = 0
        while written < bytes.count {
            let n = retrying {
                bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            }
            guard n > 0 else {
                throw CredentialError.system(errno, "cannot write \(what)", path: path, fix: "check free space on \(directory)")
            }
            written += n
        }
        guard fsync(fd) == 0 else {
            throw CredentialError.system(errno, "cannot flush \(what) to disk", path: path, fix: "check the disk")
        }
        closed = true
        guard close(fd) == 0 else {
            throw CredentialError.system(errno, "cannot close \(what)", path: path, fix: "check the disk")
        }
        guard rename(temporary, path) == 0 else {
            throw CredentialError.system(errno, "cannot move \(what) into place", path: path,
                                         fix: "make \(directory) writable by camhost (uid \(userID))")
        }
        renamed = true
        // Make the rename itself durable.
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            _ = fsync(directoryFD)
            close(directoryFD)
        }
    }

    /// `path` with every symbolic link and `.`/`..` resolved; nil when it cannot be resolved.
    static func canonical(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The names in `directory`, without `.` and `..`.
    static func entries(of directory: String) throws -> [String] {
        guard let stream = opendir(directory) else {
            throw CredentialError.system(errno, "cannot list directory", path: directory, fix: "check its mode and owner")
        }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Gives `path` to `group` (the owner stays) and sets its permission bits to `mode`.
    static func setGroupAndMode(_ path: String, group: gid_t, mode: mode_t) throws {
        if chown(path, uid_t.max, group) != 0 {
            throw CredentialError.system(errno, "cannot give directory to group \(group)", path: path,
                                         fix: "camhost's user must own it or be in that group; or run: chgrp \(group) \(path)")
        }
        try setMode(path, mode)
    }

    static func setMode(_ path: String, _ mode: mode_t) throws {
        if chmod(path, mode) != 0 {
            throw CredentialError.system(errno, "cannot set mode", path: path, fix: "chmod \(octal(mode)) \(path)")
        }
    }

    /// Runs a system call again while it fails with EINTR.
    static func retrying<T: BinaryInteger>(_ call: () -> T) -> T {
        while true {
            let result = call()
            if result >= 0 || errno != EINTR { return result }
        }
    }
}

/// `mode` as "0644".
func octal(_ mode: mode_t) -> String {
    let digits = String(mode & 0o7777, radix: 8)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}
