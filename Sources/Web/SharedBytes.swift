/// An immutable body written once and sent many times without copying: libmicrohttpd reads it
/// in place and holds a reference until the response has gone out (a cached API answer served
/// to every client; copying 32 KB per request cost a malloc, a memcpy and a free each time).
public final class SharedBytes {
    let buffer: UnsafeRawBufferPointer

    public init(_ bytes: [UInt8]) {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        bytes.withUnsafeBytes { storage.copyMemory(from: $0) }
        buffer = UnsafeRawBufferPointer(start: storage.baseAddress, count: bytes.count)
    }

    deinit { UnsafeMutableRawPointer(mutating: buffer.baseAddress)?.deallocate() }

    public var count: Int { buffer.count }

    /// A copy, for callers that want an array (tests, HEAD handling).
    public var bytes: [UInt8] { Array(buffer) }
}

// Safe: the buffer is written only in init and freed only in deinit.
extension SharedBytes: @unchecked Sendable {}
