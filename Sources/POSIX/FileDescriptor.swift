#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An open file descriptor: a number the caller closes (no deinit; descriptors are handed
/// between threads and to children by number). Every call retries EINTR and throws `Errno`.
public struct FileDescriptor: RawRepresentable, Hashable, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let standardInput = FileDescriptor(rawValue: 0)
    public static let standardOutput = FileDescriptor(rawValue: 1)
    public static let standardError = FileDescriptor(rawValue: 2)

    public enum AccessMode: Sendable {
        case readOnly, writeOnly, readWrite
        var flags: Int32 {
            switch self {
            case .readOnly: O_RDONLY
            case .writeOnly: O_WRONLY
            case .readWrite: O_RDWR
            }
        }
    }

    /// open(2) flags besides the access mode; `O_CLOEXEC` is always set (children get only the
    /// descriptors handed to them on purpose).
    public struct Options: OptionSet, Sendable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        public static let create = Options(rawValue: O_CREAT)
        public static let exclusive = Options(rawValue: O_EXCL)
        public static let truncate = Options(rawValue: O_TRUNC)
        public static let append = Options(rawValue: O_APPEND)
        public static let directory = Options(rawValue: O_DIRECTORY)
        public static let noFollow = Options(rawValue: O_NOFOLLOW)
    }

    /// open(2), or openat(2) when `directory` is given (then `path` is relative to it).
    public static func open(_ path: some CPath, _ mode: AccessMode, options: Options = [], permissions: FileMode = 0o644,
                            in directory: FileDescriptor? = nil) throws(Errno) -> FileDescriptor {
        let flags = mode.flags | options.rawValue | O_CLOEXEC
        let result = path.withCPath { cPath in
            valueOrErrno { Glibc.openat(directory?.rawValue ?? AT_FDCWD, cPath, flags, permissions) }
        }
        return FileDescriptor(rawValue: try result.get())
    }

    /// A pipe: (read end, write end), both close-on-exec. (pipe2 does not import; a copy leaked
    /// into another thread's fork in between is closed by that child's exec or never waited on.)
    public static func pipe() throws(Errno) -> (read: FileDescriptor, write: FileDescriptor) {
        var ends: [Int32] = [-1, -1]
        try nothingOrErrno { Glibc.pipe(&ends) }.get()
        for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (FileDescriptor(rawValue: ends[0]), FileDescriptor(rawValue: ends[1]))
    }

    /// Sets O_NONBLOCK: reads answer `wouldBlock` instead of waiting.
    public func setNonBlocking() {
        _ = fcntl(rawValue, F_SETFL, fcntl(rawValue, F_GETFL) | O_NONBLOCK)
    }

    /// close(2). Not retried on EINTR: on Linux the descriptor is gone whatever it answers.
    public func close() {
        _ = Glibc.close(rawValue)
    }

    /// close(2), for writers that must know the data reached the file system.
    public func closeChecked() throws(Errno) {
        try nothingOrErrno(retryOnInterrupt: false) { Glibc.close(rawValue) }.get()
    }

    /// One read(2) into `buffer`; 0 at the end of the file.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        try valueOrErrno { Glibc.read(rawValue, buffer.baseAddress, buffer.count) }.get()
    }

    /// Up to `count` bytes from one read(2).
    public func read(upTo count: Int) throws(Errno) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        let n = try buffer.withUnsafeMutableBytes { raw in valueOrErrno { Glibc.read(rawValue, raw.baseAddress, raw.count) } }.get()
        buffer.removeSubrange(n...)
        return buffer
    }

    /// Everything until the end of the file, at most `limit` bytes (more is `fileTooLarge`).
    public func readAll(limit: Int = 16 << 20, chunk: Int = 65_536) throws(Errno) -> [UInt8] {
        var contents: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: chunk)
        while true {
            let n = try buffer.withUnsafeMutableBytes { raw in valueOrErrno { Glibc.read(rawValue, raw.baseAddress, raw.count) } }.get()
            if n == 0 { return contents }
            contents.append(contentsOf: buffer[0..<n])
            if contents.count > limit { throw .fileTooLarge }
        }
    }

    /// write(2) until every byte is written.
    public func writeAll(_ bytes: some Collection<UInt8>) throws(Errno) {
        let result: Result<Void, Errno>? = bytes.withContiguousStorageIfAvailable { buffer in
            writeAll(UnsafeRawBufferPointer(buffer))
        }
        if let result { return try result.get() }
        try writeAll(Array(bytes))
    }

    /// Writes the buffers one after the other, whole, with writev(2) (a short write goes on
    /// where it stopped): one system call for a header and the pictures after it, no copy.
    public func writeAll(_ buffers: [[UInt8]]) throws(Errno) {
        var index = 0, offset = 0   // the first byte not yet written
        while index < buffers.count {
            if offset == buffers[index].count { index += 1; offset = 0; continue }
            let batch = buffers[index..<min(buffers.count, index + 1024)]   // IOV_MAX on Linux
            let result: Result<Int, Errno> = withIOVectors(batch, skippingFirst: offset) { vectors in
                valueOrErrno { Glibc.writev(rawValue, vectors.baseAddress, Int32(vectors.count)) }
            }
            var written = try result.get()
            while written > 0 && index < buffers.count {
                let left = buffers[index].count - offset
                if written >= left { written -= left; index += 1; offset = 0 } else { offset += written; written = 0 }
            }
        }
    }

    /// Calls `body` with an iovec for each buffer (the first one from `offset`), the pointers
    /// valid inside it: each array's bytes are borrowed by a nested `withUnsafeBytes`.
    private func withIOVectors<R>(_ buffers: ArraySlice<[UInt8]>, skippingFirst offset: Int, _ body: (UnsafeBufferPointer<iovec>) -> R) -> R {
        var vectors: [iovec] = []
        vectors.reserveCapacity(buffers.count)
        func borrow(_ position: Int) -> R {
            guard position < buffers.endIndex else { return vectors.withUnsafeBufferPointer(body) }
            return buffers[position].withUnsafeBytes { raw in
                let skip = position == buffers.startIndex ? offset : 0
                vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: raw.baseAddress.map { $0 + skip }), iov_len: raw.count - skip))
                return borrow(position + 1)
            }
        }
        return borrow(buffers.startIndex)
    }

    private func writeAll(_ raw: UnsafeRawBufferPointer) -> Result<Void, Errno> {
        var written = 0
        while written < raw.count {
            switch valueOrErrno({ Glibc.write(rawValue, raw.baseAddress! + written, raw.count - written) }) {
            case .success(let n): written += n
            case .failure(let error): return .failure(error)
            }
        }
        return .success(())
    }

    /// Best-effort write of a whole line of text (standard error, a log file): errors ignored.
    public func write(_ text: String) {
        var text = text
        text.withUTF8 { _ = writeAll(UnsafeRawBufferPointer($0)) }
    }

    /// pread(2) until `count` bytes or the end of the file, without moving the file offset.
    public func read(at offset: Int, count: Int) throws(Errno) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let n = try buffer.withUnsafeMutableBytes { raw in
                valueOrErrno { pread(rawValue, raw.baseAddress! + filled, count - filled, off_t(offset + filled)) }
            }.get()
            if n == 0 { break }
            filled += n
        }
        buffer.removeSubrange(filled...)
        return buffer
    }

    /// ftruncate(2): cuts the file to `length` bytes.
    public func truncate(to length: Int) throws(Errno) { try nothingOrErrno { ftruncate(rawValue, off_t(length)) }.get() }

    /// fsync(2).
    public func sync() throws(Errno) { try nothingOrErrno { fsync(rawValue) }.get() }

    /// fstat(2).
    public func status() throws(Errno) -> FileStatus {
        var info = stat()
        try nothingOrErrno { fstat(rawValue, &info) }.get()
        return FileStatus(info)
    }

    /// fchmod(2): exactly `permissions` (open's mode is filtered by the umask).
    public func setPermissions(_ permissions: FileMode) throws(Errno) {
        try nothingOrErrno { fchmod(rawValue, permissions) }.get()
    }

    /// fchown(2) of the group only.
    public func changeGroup(_ group: GroupID) throws(Errno) {
        try nothingOrErrno { fchown(rawValue, UserID.max, group) }.get()
    }

    /// flock(LOCK_EX | LOCK_NB): `wouldBlock` while another holder keeps it.
    public func tryLockExclusive() throws(Errno) {
        try nothingOrErrno { flock(rawValue, LOCK_EX | LOCK_NB) }.get()
    }

    /// dup(2), close-on-exec.
    public func duplicate() throws(Errno) -> FileDescriptor {
        FileDescriptor(rawValue: try valueOrErrno { fcntl(rawValue, F_DUPFD_CLOEXEC, 0) }.get())
    }

    /// Whether this descriptor is a terminal (isatty).
    public var isTerminal: Bool { isatty(rawValue) == 1 }
}
