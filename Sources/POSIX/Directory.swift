#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Directory operations relative to an open directory descriptor (the `*at` calls), so that a
/// walk never follows a link it did not choose to, and reading a directory's entries.
public enum Directory {
    /// mkdirat(2).
    public static func make(_ name: some CPath, in directory: FileDescriptor, permissions: FileMode = 0o755) throws(Errno) {
        try name.withCPath { cPath in nothingOrErrno { mkdirat(directory.rawValue, cPath, permissions) } }.get()
    }

    /// renameat(2) inside one directory (atomic; replaces a file at `target`).
    public static func rename(_ source: some CPath, to target: some CPath, in directory: FileDescriptor) throws(Errno) {
        try source.withCPath { from in
            target.withCPath { to in nothingOrErrno { renameat(directory.rawValue, from, directory.rawValue, to) } }
        }.get()
    }

    /// unlinkat(2) of a non-directory entry (never what a link points to).
    public static func unlink(_ name: some CPath, in directory: FileDescriptor) throws(Errno) {
        try name.withCPath { cPath in nothingOrErrno { unlinkat(directory.rawValue, cPath, 0) } }.get()
    }

    /// unlinkat(2) with AT_REMOVEDIR: an empty directory.
    public static func removeDirectory(_ name: some CPath, in directory: FileDescriptor) throws(Errno) {
        try name.withCPath { cPath in nothingOrErrno { unlinkat(directory.rawValue, cPath, AT_REMOVEDIR) } }.get()
    }

    /// Calls `body` with each name in the directory (not `.` and `..`) and the kind readdir
    /// reports, when it does (nil: ask fstatat). `directory` stays open and unmoved (a duplicate
    /// is read).
    public static func forEachEntry(in directory: FileDescriptor, _ body: ([UInt8], FileStatus.Kind?) -> Void) throws(Errno) {
        let copy = try directory.duplicate()
        guard let stream = fdopendir(copy.rawValue) else {
            let error = Errno.current
            copy.close()
            throw error
        }
        defer { closedir(stream) }
        rewinddir(stream)
        try read(stream, body)
    }

    /// The entries of the directory at `path` (not `.` and `..`), as `forEachEntry`.
    public static func forEachEntry(at path: String, _ body: ([UInt8], FileStatus.Kind?) -> Void) throws(Errno) {
        guard let stream = opendir(path) else { throw Errno.current }
        defer { closedir(stream) }
        try read(stream, body)
    }

    private static func read(_ stream: OpaquePointer, _ body: ([UInt8], FileStatus.Kind?) -> Void) throws(Errno) {
        errno = 0
        while let entry = readdir(stream) {
            let name: [UInt8] = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            if name == [0x2E] || name == [0x2E, 0x2E] { errno = 0; continue }
            let kind: FileStatus.Kind?
            switch Int32(entry.pointee.d_type) {
            case Int32(DT_REG): kind = .file
            case Int32(DT_DIR): kind = .directory
            case Int32(DT_LNK): kind = .symbolicLink
            case Int32(DT_UNKNOWN): kind = nil
            default: kind = .other
            }
            body(name, kind)
            errno = 0
        }
        if errno != 0 { throw Errno.current }
    }
}
