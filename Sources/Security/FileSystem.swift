#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import POSIX


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

/// Security's file operations: the POSIX layer's calls, with each failure turned into a
/// `CredentialError` that names the path and how to fix it.
enum FileSystem {
    static var userID: uid_t { Users.effectiveUserID }

    /// `lstat` (or `stat` when `followingLinks`); nil when nothing is at `path`.
    static func status(_ path: String, followingLinks: Bool = false) throws -> FileStatus? {
        do {
            let status = try POSIX.FileStatus(path, followingLinks: followingLinks)
            return FileStatus(mode: status.mode, owner: status.owner, group: status.group,
                              modificationTime: timespec(tv_sec: Int(status.modifiedSeconds), tv_nsec: Int(status.modifiedNanoseconds)))
        } catch .noSuchFileOrDirectory {
            return nil
        } catch {
            throw CredentialError.system(error.rawValue, "cannot inspect file", path: path,
                                         fix: "check that camhost (uid \(userID)) may search every directory above it")
        }
    }

    /// Where a symbolic link points, as stored in the link.
    static func linkTarget(_ path: String) -> String? {
        POSIX.FileSystem.linkTarget(path).map { String(decoding: $0, as: UTF8.self) }
    }

    static func parentDirectory(of path: String) -> String { POSIX.FileSystem.parentDirectory(of: path) }

    static func fileName(of path: String) -> String { POSIX.FileSystem.fileName(of: path) }

    static func readFile(_ path: String, what: String) throws -> [UInt8] {
        do {
            return try POSIX.FileSystem.readFile(path, limit: 1 << 20)
        } catch where error.errno == .fileTooLarge {
            throw CredentialError(kind: .system(errno: Errno.fileTooLarge.rawValue), problem: "\(what) is larger than 1 MiB; not a PEM file",
                                  path: path, fix: "point the configuration at the PEM file")
        } catch where error.operation == .open {
            throw CredentialError.system(error.errno.rawValue, "cannot open \(what)", path: path,
                                         fix: "make it readable by camhost (uid \(userID)), e.g. with chown or the configured TLS group")
        } catch {
            throw CredentialError.system(error.errno.rawValue, "cannot read \(what)", path: path, fix: "check the disk and the file")
        }
    }

    /// Creates `path` and any missing parents with exactly `mode`, giving them `group` when set.
    static func makeDirectories(_ path: String, mode: mode_t, group: gid_t?) throws {
        do {
            try POSIX.FileSystem.makeDirectories(path, permissions: mode, group: group, exactPermissions: true)
        } catch {
            let at = error.path
            switch error.operation {
            case .notDirectory:
                throw CredentialError.system(ENOTDIR, "not a directory", path: at, fix: "move the file aside or configure another directory")
            case .changeGroup:
                throw CredentialError.system(error.errno.rawValue, "cannot give directory to group \(group.map(String.init) ?? "")", path: at,
                                             fix: "camhost's user must be a member of that group, or run: chgrp \(group.map(String.init) ?? "") \(at)")
            case .setPermissions:
                throw CredentialError.system(error.errno.rawValue, "cannot set directory mode", path: at, fix: "chmod \(octal(mode)) \(at)")
            case .inspect:
                throw CredentialError.system(error.errno.rawValue, "cannot inspect file", path: at,
                                             fix: "check that camhost (uid \(userID)) may search every directory above it")
            default:
                throw CredentialError.system(error.errno.rawValue, "cannot create directory", path: at,
                                             fix: "create it yourself (mkdir -m 700 \(at)) or run camhost as a user that may")
            }
        }
    }

    /// Writes a new file at `path` atomically (POSIX's `writeAtomically`: a temporary file
    /// created exclusively with `mode`, fsynced, renamed over `path`). A crash leaves either no
    /// file or the whole file, never a truncated key.
    static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t, group: gid_t?, what: String) throws {
        do {
            try POSIX.FileSystem.writeAtomically(bytes, to: path, permissions: mode, group: group)
        } catch {
            let directory = parentDirectory(of: path)
            let code = error.errno.rawValue
            switch error.operation {
            case .create:
                throw CredentialError.system(code, "cannot create \(what)", path: error.path, fix: "make \(directory) writable by camhost (uid \(userID))")
            case .changeGroup:
                throw CredentialError.system(code, "cannot give \(what) to group \(group.map(String.init) ?? "")", path: path,
                                             fix: "add camhost's user to that group, or leave the TLS group unset")
            case .setPermissions:
                throw CredentialError.system(code, "cannot set mode of \(what)", path: path, fix: "check the file system")
            case .write:
                throw CredentialError.system(code, "cannot write \(what)", path: path, fix: "check free space on \(directory)")
            case .sync:
                throw CredentialError.system(code, "cannot flush \(what) to disk", path: path, fix: "check the disk")
            case .close:
                throw CredentialError.system(code, "cannot close \(what)", path: path, fix: "check the disk")
            default:
                throw CredentialError.system(code, "cannot move \(what) into place", path: path,
                                             fix: "make \(directory) writable by camhost (uid \(userID))")
            }
        }
    }

    /// `path` with every symbolic link and `.`/`..` resolved; nil when it cannot be resolved.
    static func canonical(_ path: String) -> String? {
        POSIX.FileSystem.canonical(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The names in `directory`, without `.` and `..`.
    static func entries(of directory: String) throws -> [String] {
        var names: [String] = []
        do {
            try Directory.forEachEntry(at: directory) { name, _ in
                if name != Array(".".utf8) && name != Array("..".utf8) { names.append(String(decoding: name, as: UTF8.self)) }
            }
        } catch {
            throw CredentialError.system(error.rawValue, "cannot list directory", path: directory, fix: "check its mode and owner")
        }
        return names
    }

    /// Gives `path` to `group` (the owner stays) and sets its permission bits to `mode`.
    static func setGroupAndMode(_ path: String, group: gid_t, mode: mode_t) throws {
        do { try POSIX.FileSystem.changeOwner(path, user: uid_t.max, group: group) } catch {
            throw CredentialError.system(error.rawValue, "cannot give directory to group \(group)", path: path,
                                         fix: "camhost's user must own it or be in that group; or run: chgrp \(group) \(path)")
        }
        try setMode(path, mode)
    }

    static func setMode(_ path: String, _ mode: mode_t) throws {
        if chmod(path, mode) != 0 {
            throw CredentialError.system(errno, "cannot set mode", path: path, fix: "chmod \(octal(mode)) \(path)")
        }
    }
}

/// `mode` as "0644".
func octal(_ mode: mode_t) -> String {
    let digits = String(mode & 0o7777, radix: 8)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}
