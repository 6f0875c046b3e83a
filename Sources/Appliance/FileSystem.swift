#if canImport(Glibc)
import Glibc
#endif

/// An operating-system call that failed: what was attempted, on which path, and errno's text.
public struct SystemError: Error, CustomStringConvertible, Sendable {
    public let operation: String
    public let path: String
    public let errno: Int32

    public var description: String { "\(operation) \(path): \(String(cString: strerror(errno)))" }
}

/// Every raw libc file-system call of the Appliance part goes through here.
enum FileSystem {
    static func readText(_ path: String, limit: Int = 16 << 20) -> Result<String, SystemError> {
        readBytes(path, limit: limit).map { String(decoding: $0, as: UTF8.self) }
    }

    static func readBytes(_ path: String, limit: Int = 16 << 20) -> Result<[UInt8], SystemError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(SystemError(operation: "open", path: path, errno: errno)) }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while out.count < limit {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(SystemError(operation: "read", path: path, errno: errno))
            }
            if n == 0 { break }
            out.append(contentsOf: buffer[0..<n])
        }
        return .success(out)
    }

    /// Writes through a temporary file and a rename, so readers never see half a file.
    static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) -> Result<Void, SystemError> {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { return .failure(SystemError(operation: "create", path: temporary, errno: errno)) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                let error = SystemError(operation: "write", path: temporary, errno: errno)
                close(fd)
                unlink(temporary)
                return .failure(error)
            }
            written += n
        }
        fsync(fd)
        close(fd)
        guard rename(temporary, path) == 0 else {
            let error = SystemError(operation: "rename to", path: path, errno: errno)
            unlink(temporary)
            return .failure(error)
        }
        return .success(())
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// `mkdir -p` with `mode` for the directories it creates.
    static func makeDirectories(_ path: String, mode: mode_t = 0o750) -> Result<Void, SystemError> {
        if isDirectory(path) { return .success(()) }
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if !isDirectory(prefix), mkdir(prefix, mode) != 0, errno != EEXIST {
                return .failure(SystemError(operation: "create directory", path: prefix, errno: errno))
            }
            prefix += "/"
        }
        return .success(())
    }

    /// Whether this process may create and write files in `path`.
    static func isWritableDirectory(_ path: String) -> Bool { access(path, W_OK | X_OK) == 0 }

    static func remove(_ path: String) { unlink(path) }

    static func groupID(named name: String) -> gid_t? {
        guard let entry = getgrnam(name) else { return nil }
        return entry.pointee.gr_gid
    }

    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
        return getcwd(&buffer, buffer.count) != nil ? buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } : "."
    }

    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : joinPath(currentDirectory(), path.hasPrefix("./") ? String(path.dropFirst(2)) : path)
    }
}

/// Whether `text` is a numeric IPv4 or IPv6 address.
func isNumericAddress(_ text: String) -> Bool {
    var v4 = in_addr()
    var v6 = in6_addr()
    return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
}
