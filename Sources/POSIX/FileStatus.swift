#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What stat(2) says about a file that camhost uses.
public struct FileStatus: Sendable, Equatable {
    public enum Kind: UInt8, Sendable {
        case file = 1, directory = 2, symbolicLink = 3, other = 4
    }

    public let mode: FileMode
    public let owner: UserID
    public let group: GroupID
    public let size: Int64
    /// Modification time: seconds and nanoseconds since 1970.
    public let modifiedSeconds: Int64
    public let modifiedNanoseconds: Int64

    public var permissions: FileMode { mode & 0o7777 }

    public var kind: Kind {
        switch mode & S_IFMT {
        case S_IFREG: .file
        case S_IFDIR: .directory
        case S_IFLNK: .symbolicLink
        default: .other
        }
    }

    /// "regular file", "directory", "named pipe", ... for messages.
    public var kindName: String {
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

    init(_ info: stat) {
        mode = info.st_mode
        owner = info.st_uid
        group = info.st_gid
        size = Int64(info.st_size)
        modifiedSeconds = Int64(info.st_mtim.tv_sec)
        modifiedNanoseconds = Int64(info.st_mtim.tv_nsec)
    }

    /// stat(2), or lstat(2) unless `followingLinks`.
    public init(_ path: some CPath, followingLinks: Bool = true) throws(Errno) {
        var info = stat()
        try path.withCPath { cPath in
            nothingOrErrno { followingLinks ? stat(cPath, &info) : lstat(cPath, &info) }
        }.get()
        self.init(info)
    }

    /// fstatat(2) of `name` inside `directory`, without following a final symbolic link.
    public init(_ name: some CPath, in directory: FileDescriptor) throws(Errno) {
        var info = stat()
        try name.withCPath { cPath in
            nothingOrErrno { fstatat(directory.rawValue, cPath, &info, AT_SYMLINK_NOFOLLOW) }
        }.get()
        self.init(info)
    }
}
