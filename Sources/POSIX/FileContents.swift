#if canImport(Glibc)
import Glibc
#endif

/// A file (or standard input) that could not be read whole: what, and errno, or that it exceeds the limit.
public struct FileReadError: Error, Sendable, CustomStringConvertible {
    /// The path, or `-` for standard input.
    public let path: String
    /// errno, or 0 when the input is larger than the limit.
    public let code: Int32
    public let limit: Int

    public var description: String {
        let what = path == "-" ? "standard input" : path
        return code == 0 ? "\(what) is larger than \(limit) bytes" : "cannot read \(what): \(String(cString: strerror(code)))"
    }
}

/// The whole contents of `path`, or of standard input when `path` is `-`; at most `limit` bytes.
/// Reads retry EINTR.
public func readFileContents(_ path: String, limit: Int = 64 << 20) throws(FileReadError) -> [UInt8] {
    let fd: Int32
    if path == "-" {
        fd = 0
    } else {
        var opened: Int32
        repeat { opened = open(path, O_RDONLY | O_CLOEXEC) } while opened < 0 && errno == EINTR
        guard opened >= 0 else { throw FileReadError(path: path, code: errno, limit: limit) }
        fd = opened
    }
    defer { if fd != 0 { close(fd) } }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw FileReadError(path: path, code: errno, limit: limit)
        }
        if n == 0 { return bytes }
        guard bytes.count + n <= limit else { throw FileReadError(path: path, code: 0, limit: limit) }
        bytes += chunk[0..<n]
    }
}
