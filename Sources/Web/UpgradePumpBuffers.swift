import CMicroHTTPD
import Synchronization

/// Gives libmicrohttpd 0.9.75's TLS upgrade pump real buffers.
///
/// Over TLS, libmicrohttpd copies between the upgraded socketpair and GnuTLS through two buffers
/// taken from the connection's memory pool. In 0.9.75 the pool is always full at that moment
/// (the response header's write buffer took all of it and is not given back), so it falls back
/// to its 8-byte emergency buffer: 4 bytes each way. Every 4 bytes of a WebSocket frame became
/// one TLS record (26 bytes on the wire) and two system calls: broadcasting 6 MB took 4 s of
/// CPU. Fixed upstream in 0.9.76 (the buffers are released before the upgrade); Debian 12 ships
/// 0.9.75.
///
/// The upgrade handler runs before the pump starts, with the handle `urh` in hand. When the
/// handle has exactly 0.9.75's layout (x86-64 and arm64, HTTPS and epoll support compiled in, as
/// Debian builds it) AND is in that fallback state, its buffer pointers and sizes are replaced
/// with 16 KiB each of our own; any other version, layout or state is left alone. The memory is
/// freed when libmicrohttpd reports the connection closed, after it has freed the handle.
enum UpgradePumpBuffers {
    static let size = 16 * 1024

    /// Offsets in `struct MHD_UpgradeResponseHandle` of 0.9.75 (src/microhttpd/internal.h):
    /// connection, next, prev, nextE, prevE, in_eready_list (padded), in_buffer, out_buffer,
    /// in_buffer_size, out_buffer_size, in_buffer_used, out_buffer_used, app {urh, socket, celi},
    /// mhd {urh, socket, celi}, e_buf[8].
    private enum Offset {
        static let connection = 0
        static let inBuffer = 48
        static let outBuffer = 56
        static let inSize = 64
        static let outSize = 72
        static let inUsed = 80
        static let outUsed = 88
        static let appHandle = 96
        static let appSocket = 104
        static let mhdHandle = 112
        static let emergencyBuffer = 128
    }

    /// The version whose layout the offsets describe.
    static let layoutVersion = "0.9.75"
    static let isLayoutVersion: Bool = MHD_get_version().map { String(cString: $0) } == layoutVersion
        && MemoryLayout<Int>.size == 8

    /// Replaces the 4-byte pump buffers of `urh`; the allocation to free once the connection has
    /// closed, or nil when the handle is not in 0.9.75's fallback state (nothing changed).
    static func enlarge(_ urh: OpaquePointer, connection: OpaquePointer, appSocket: Int32) -> UnsafeMutableRawPointer? {
        guard isLayoutVersion else { return nil }
        let base = UnsafeMutableRawPointer(urh)
        func pointer(_ offset: Int) -> UnsafeRawPointer? { base.load(fromByteOffset: offset, as: UnsafeRawPointer?.self) }
        func word(_ offset: Int) -> Int { base.load(fromByteOffset: offset, as: Int.self) }
        let emergency = UnsafeRawPointer(base + Offset.emergencyBuffer)
        guard pointer(Offset.connection) == UnsafeRawPointer(connection),
              pointer(Offset.appHandle) == UnsafeRawPointer(base),
              pointer(Offset.mhdHandle) == UnsafeRawPointer(base),
              base.load(fromByteOffset: Offset.appSocket, as: Int32.self) == appSocket,
              pointer(Offset.inBuffer) == emergency, pointer(Offset.outBuffer) == emergency + 4,
              word(Offset.inSize) == 4, word(Offset.outSize) == 4,
              word(Offset.inUsed) == 0, word(Offset.outUsed) == 0
        else { return nil }
        let buffers = UnsafeMutableRawPointer.allocate(byteCount: 2 * size, alignment: 16)
        base.storeBytes(of: buffers, toByteOffset: Offset.inBuffer, as: UnsafeMutableRawPointer.self)
        base.storeBytes(of: buffers + size, toByteOffset: Offset.outBuffer, as: UnsafeMutableRawPointer.self)
        base.storeBytes(of: size, toByteOffset: Offset.inSize, as: Int.self)
        base.storeBytes(of: size, toByteOffset: Offset.outSize, as: Int.self)
        return buffers
    }
}

/// Pump buffers handed to libmicrohttpd, by connection, until it reports the connection closed.
final class UpgradeBufferRegistry: Sendable {
    private struct Allocation: @unchecked Sendable {
        // Safe: written once by the upgrade handler, freed once by the close notification.
        let pointer: UnsafeMutableRawPointer
    }
    private let allocations = Mutex<[UInt: Allocation]>([:])
    /// Lets the close notification of every other connection skip the lock.
    private let count = Atomic<Int>(0)

    /// How many upgraded connections have our buffers now.
    var active: Int { count.load(ordering: .relaxed) }

    func keep(_ buffers: UnsafeMutableRawPointer, for connection: OpaquePointer) {
        allocations.withLock { $0[UInt(bitPattern: connection)] = Allocation(pointer: buffers) }
        count.add(1, ordering: .releasing)
    }

    /// Frees the buffers of `connection`, if it had any: libmicrohttpd freed its handle before
    /// reporting the close (MHD_cleanup_connections).
    func release(_ connection: OpaquePointer) {
        guard count.load(ordering: .acquiring) > 0 else { return }
        guard let allocation = allocations.withLock({ $0.removeValue(forKey: UInt(bitPattern: connection)) }) else { return }
        count.subtract(1, ordering: .relaxed)
        allocation.pointer.deallocate()
    }
}
