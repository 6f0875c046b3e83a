import POSIX

/// A path relative to the recordings root, as raw bytes (file names need not be UTF-8), and the
/// only way camhost reaches a file under the root: component by component, never through a link.
public enum RecordingPath {
    /// Why a stored path is refused.
    public enum Problem: String, Sendable {
        case empty = "empty path"
        case absolute = "absolute path (stored paths are relative to the recordings root)"
        case dotDot = "'..' or '.' component: it could leave the recordings root"
        case emptyComponent = "empty component ('//' or a trailing '/')"
        case nul = "NUL byte in path"
    }

    /// Nil when `path` is a clean relative path: no leading `/`, no `.`/`..`/empty component, no NUL.
    public static func problem(_ path: [UInt8]) -> Problem? {
        if path.isEmpty { return .empty }
        if path.first == 0x2F { return .absolute }
        if path.contains(0) { return .nul }
        for component in path.split(separator: 0x2F, omittingEmptySubsequences: false) {
            if component.isEmpty { return .emptyComponent }
            if component.elementsEqual([0x2E]) || component.elementsEqual([0x2E, 0x2E]) { return .dotDot }
        }
        return nil
    }

    /// A readable, unambiguous, one-line form: UTF-8 as is; control characters, backslash and
    /// bytes that are not UTF-8 as `\xNN` (a newline in a name shows as `\x0a`).
    public static func display(_ path: [UInt8]) -> String {
        var out = ""
        var index = 0
        while index < path.count {
            let byte = path[index]
            if byte >= 0x20 && byte < 0x7F && byte != 0x5C {
                out.unicodeScalars.append(Unicode.Scalar(byte))
                index += 1
                continue
            }
            if byte >= 0x80, let (scalar, length) = decodeScalar(path, at: index) {
                out.unicodeScalars.append(scalar)
                index += length
                continue
            }
            out += "\\x" + (byte < 0x10 ? "0" : "") + String(byte, radix: 16)
            index += 1
        }
        return out
    }

    private static func decodeScalar(_ bytes: [UInt8], at index: Int) -> (Unicode.Scalar, Int)? {
        let lead = bytes[index]
        let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC2 ? 2 : 0
        guard length > 0, index + length <= bytes.count, lead < 0xF5 else { return nil }
        var decoder = UTF8()
        var iterator = bytes[index..<(index + length)].makeIterator()
        guard case .scalarValue(let scalar) = decoder.decode(&iterator), iterator.next() == nil,
              Array(String(scalar).utf8).count == length else { return nil }
        return (scalar, length)
    }

    static func join(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] { a.isEmpty ? b : a + [0x2F] + b }

    /// (parent directory, last component); parent is empty for an entry directly in the root.
    static func split(_ path: [UInt8]) -> (parent: [UInt8], name: [UInt8]) {
        guard let slash = path.lastIndex(of: 0x2F) else { return ([], path) }
        return (Array(path[..<slash]), Array(path[(slash + 1)...]))
    }
}

/// Directory descriptors under one root, opened component by component with `O_NOFOLLOW` and
/// cached for a batch, so a directory swapped for a symbolic link cannot redirect a deletion.
final class DirectoryCursor {
    let rootFD: Int32
    private var cache: [[UInt8]: Int32] = [:]
    private var touched: Set<[UInt8]> = []

    init(rootFD: Int32) { self.rootFD = rootFD }

    deinit { closeAll() }

    /// The descriptor of directory `path` (relative; empty is the root), or errno.
    func open(_ path: [UInt8]) -> Result<Int32, Errno> {
        if path.isEmpty { return .success(rootFD) }
        if let fd = cache[path] { return .success(fd) }
        let (parent, name) = RecordingPath.split(path)
        switch open(parent) {
        case .failure(let code): return .failure(code)
        case .success(let parentFD):
            switch FileOps.openDirectory(parentFD, name) {
            case .success(let fd):
                cache[path] = fd
                return .success(fd)
            case .failure(let code):
                return .failure(code == .notDirectory ? .loop : code)
            }
        }
    }

    /// Removes the non-directory entry at `path`. ENOENT is success (already gone, e.g. a rerun
    /// after a crash). A symbolic link anywhere on the way is refused.
    func unlink(_ path: [UInt8]) -> FileError? {
        if let problem = RecordingPath.problem(path) {
            return FileError(operation: "refused (\(problem.rawValue))", path: path, errno: Errno.invalid.code)
        }
        let (parent, name) = RecordingPath.split(path)
        let fd: Int32
        switch open(parent) {
        case .success(let opened): fd = opened
        case .failure(.noEntry): return nil
        case .failure(.loop): return FileError(operation: "refused (a directory on the way is a symbolic link)", path: path, errno: Errno.loop.code)
        case .failure(let code): return FileError(operation: "open directory", path: parent, errno: code.code)
        }
        switch FileOps.status(fd, name) {
        case .failure(.noEntry): return nil
        case .failure(let code): return FileError(operation: "stat", path: path, errno: code.code)
        case .success(let status):
            switch status.kind {
            case .file: break
            case .symlink: return FileError(operation: "refused (symbolic link; camhost never deletes through links)", path: path, errno: Errno.loop.code)
            case .directory: return FileError(operation: "refused (a directory where a file was expected)", path: path, errno: Errno.isDirectory.code)
            case .other: return FileError(operation: "refused (not a regular file)", path: path, errno: Errno.invalid.code)
            }
        }
        switch FileOps.unlink(fd, name) {
        case nil: touched.insert(parent); return nil
        case .noEntry?: return nil
        case let code?: return FileError(operation: "unlink", path: path, errno: code.code)
        }
    }

    /// Whether `path` is missing: `.some(true)` only on ENOENT for the file or a parent.
    func isMissing(_ path: [UInt8]) -> Result<Bool, FileError> {
        let (parent, name) = RecordingPath.split(path)
        switch open(parent) {
        case .failure(.noEntry): return .success(true)
        case .failure(let code): return .failure(FileError(operation: "open directory", path: parent, errno: code.code))
        case .success(let fd):
            switch FileOps.status(fd, name) {
            case .success: return .success(false)
            case .failure(.noEntry): return .success(true)
            case .failure(let code): return .failure(FileError(operation: "stat", path: path, errno: code.code))
            }
        }
    }

    /// Removes the directory at `path` if it is empty. Returns true when removed.
    func removeDirectoryIfEmpty(_ path: [UInt8]) -> Result<Bool, FileError> {
        let (parent, name) = RecordingPath.split(path)
        guard case .success(let fd) = open(parent) else { return .success(false) }
        if let cached = cache.removeValue(forKey: path) { FileOps.close(cached) }
        switch FileOps.removeDirectory(fd, name) {
        case nil: touched.insert(parent); return .success(true)
        case .noEntry?, .notEmpty?, .exists?: return .success(false)
        case let code?: return .failure(FileError(operation: "rmdir", path: path, errno: code.code))
        }
    }

    /// fsyncs every directory an entry was removed from since the last call.
    func syncTouched() -> [FileError] {
        var errors: [FileError] = []
        for path in touched {
            guard case .success(let fd) = open(path) else { continue }
            if let code = FileOps.sync(fd), code != .invalid { errors.append(FileError(operation: "fsync directory", path: path, errno: code.code)) }
        }
        touched.removeAll(keepingCapacity: true)
        return errors
    }

    /// Closes cached directories (the root stays open: it belongs to the caller).
    func closeAll() {
        for fd in cache.values { FileOps.close(fd) }
        cache.removeAll()
    }
}
