#if canImport(Glibc)
import Glibc
#endif

/// An open directory: the anchor for `openat`-style calls, so a path is resolved one component
/// at a time and a component swapped for a symbolic link is refused (`O_NOFOLLOW`).
public struct Directory: Sendable, Hashable {
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// Opens a directory by path (the path itself may pass through links the operator made).
    public static func open(_ path: String) throws(Errno) -> Directory {
        Directory(rawValue: try retryingInterrupts { Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) })
    }

    /// Opens subdirectory `name`, refusing a symbolic link.
    public func open(_ name: String) throws(Errno) -> Directory {
        Directory(rawValue: try retryingInterrupts { openat(rawValue, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) })
    }

    /// Opens subdirectory `name`, making it (mode 0755) when it is missing.
    public func openOrMake(_ name: String) throws(Errno) -> Directory {
        do { return try open(name) } catch .noEntry {}
        do { _ = try retryingInterrupts { mkdirat(rawValue, name, 0o755) } } catch .exists {}
        return try open(name)
    }

    /// Renames `from` to `to` within this directory, atomically; refuses to replace an existing `to`
    /// (the check and the rename are two steps: callers own the directory's names).
    public func rename(_ from: String, to: String) throws(Errno) {
        if (try? exists(to)) == true { throw .exists }
        _ = try retryingInterrupts { renameat(rawValue, from, rawValue, to) }
    }

    /// Whether an entry called `name` exists (links are not followed).
    public func exists(_ name: String) throws(Errno) -> Bool {
        var info = stat()
        do { _ = try retryingInterrupts { fstatat(rawValue, name, &info, AT_SYMLINK_NOFOLLOW) } } catch .noEntry { return false }
        return true
    }

    /// Removes the file `name` (never a directory, never what a link points to).
    public func remove(_ name: String) throws(Errno) { _ = try retryingInterrupts { unlinkat(rawValue, name, 0) } }

    /// Makes the directory's entries (creations, renames, removals) durable.
    public func sync() throws(Errno) { _ = try retryingInterrupts { fsync(rawValue) } }

    /// What kind of entry a listing found (from readdir's type, else `fstatat`).
    public enum EntryKind: Sendable { case file, directory, other }

    /// The entries of this directory (not `.` and `..`), in readdir's order.
    public func entries() throws(Errno) -> [(name: String, kind: EntryKind)] {
        let copy = try retryingInterrupts { dup(rawValue) }
        guard let stream = fdopendir(copy) else {
            let error = Errno.current
            _ = Glibc.close(copy)
            throw error
        }
        defer { closedir(stream) }
        rewinddir(stream)
        var found: [(String, EntryKind)] = []
        errno = 0
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
            if name == "." || name == ".." { continue }
            var kind: EntryKind
            switch Int32(entry.pointee.d_type) {
            case Int32(DT_REG): kind = .file
            case Int32(DT_DIR): kind = .directory
            case Int32(DT_UNKNOWN):
                var info = stat()
                kind = fstatat(rawValue, name, &info, AT_SYMLINK_NOFOLLOW) == 0
                    ? (info.st_mode & S_IFMT == S_IFREG ? .file : info.st_mode & S_IFMT == S_IFDIR ? .directory : .other) : .other
            default: kind = .other
            }
            found.append((name, kind))
            errno = 0
        }
        if errno != 0 { throw Errno.current }
        return found
    }

    public func close() { _ = Glibc.close(rawValue) }
}
