import CPcap
#if canImport(Glibc)
import Glibc
#endif

/// One libpcap handle (`pcap_t`): a live device, an offline file or a "dead" handle for writing.
/// It is used by one thread at a time; only `breakLoop()` may be called from another thread
/// (libpcap 1.10 wakes a blocked read through an eventfd for exactly that).
final class PcapHandle {
    let pointer: OpaquePointer
    /// The interface name or file path, for messages.
    let input: String
    /// The stdio buffer of an offline handle's file; freed after `pcap_close` has closed the file.
    private let fileBuffer: UnsafeMutableRawPointer?

    init(pointer: OpaquePointer, input: String, fileBuffer: UnsafeMutableRawPointer? = nil) {
        self.pointer = pointer
        self.input = input
        self.fileBuffer = fileBuffer
    }

    deinit {
        pcap_close(pointer)
        fileBuffer?.deallocate()
    }

    /// libpcap reads a capture file with two `fread`s per packet through its FILE; glibc gives that
    /// FILE a buffer of st_blksize (4 KiB), one read(2) per six packets of a video stream, and the
    /// system calls cost more than the analysis. 256 KiB makes them few; more gains nothing measurable.
    static let offlineBufferBytes = 256 << 10

    /// Opens a capture file (pcap or pcapng) with nanosecond timestamps, read through a large buffer.
    static func openOffline(path: String) throws(PcapError) -> PcapHandle {
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        let precision = UInt32(PCAP_TSTAMP_PRECISION_NANO)
        // "-" is standard input to libpcap: leave it to pcap_open_offline.
        guard path != "-" else {
            guard let handle = pcap_open_offline_with_tstamp_precision(path, precision, &errorBuffer) else {
                throw openError(String(cString: errorBuffer), path: path)
            }
            return PcapHandle(pointer: handle, input: path)
        }
        // As pcap_open_offline does (its message too), with our buffer set before the first read.
        guard let file = fopen(path, "rb") else {
            throw openError("\(path): \(String(cString: strerror(errno)))", path: path)
        }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: offlineBufferBytes, alignment: 16)
        setvbuf(file, buffer.assumingMemoryBound(to: CChar.self), _IOFBF, offlineBufferBytes)
        guard let handle = pcap_fopen_offline_with_tstamp_precision(file, precision, &errorBuffer) else {
            fclose(file)
            buffer.deallocate()
            throw openError(String(cString: errorBuffer), path: path)
        }
        return PcapHandle(pointer: handle, input: path, fileBuffer: buffer)
    }

    private static func openError(_ message: String, path: String) -> PcapError {
        PcapError(.open, "cannot read this capture file: \(message)\(offlineHint(message))", input: path)
    }

    private static func offlineHint(_ message: String) -> String {
        if message.contains("unknown file format") { return " (not a pcap or pcapng file: wrong magic number)" }
        if message.contains("truncated") { return " (the file ends inside its header)" }
        return ""
    }

    /// Opens, configures and activates a live capture on `device` ("any" for all interfaces).
    static func openLive(device: String, snapshotLength: Int32, bufferBytes: Int32, timeoutMilliseconds: Int32) throws(PcapError) -> PcapHandle {
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let pointer = pcap_create(device, &errorBuffer) else {
            throw PcapError(.open, "cannot create a capture handle: \(String(cString: errorBuffer))", input: device)
        }
        let handle = PcapHandle(pointer: pointer, input: device)
        pcap_set_snaplen(pointer, snapshotLength)
        pcap_set_promisc(pointer, 0)
        pcap_set_immediate_mode(pointer, 1)
        pcap_set_timeout(pointer, timeoutMilliseconds)
        pcap_set_buffer_size(pointer, bufferBytes)
        _ = pcap_set_tstamp_precision(pointer, Int32(PCAP_TSTAMP_PRECISION_NANO))
        let rc = pcap_activate(pointer)
        if rc < 0 {
            let detail = String(cString: pcap_geterr(pointer))
            let status = String(cString: pcap_statustostr(rc))
            let message = detail.isEmpty ? status : detail
            switch rc {
            case PCAP_ERROR_PERM_DENIED, PCAP_ERROR_PROMISC_PERM_DENIED:
                throw PcapError(.permission, "no permission to capture (\(message)); \(PcapError.permissionHint)", input: device, status: rc)
            case PCAP_ERROR_NO_SUCH_DEVICE:
                throw PcapError(.noSuchDevice, "no such interface (\(message)); list them with `ip link`, or use `any`", input: device, status: rc)
            default:
                // Some kernels answer EPERM through the generic error code.
                if message.contains("Operation not permitted") || message.contains("ermission denied") {
                    throw PcapError(.permission, "no permission to capture (\(message)); \(PcapError.permissionHint)", input: device, status: rc)
                }
                throw PcapError(.open, "cannot start capturing: \(message)", input: device, status: rc)
            }
        }
        // libpcap 1.10 gives `any` LINUX_SLL by default; v2 carries the interface index.
        if device == "any" { _ = pcap_set_datalink(pointer, 276) }
        return handle
    }

    /// The DLT link type as libpcap reports it (RAW is 12 on Linux even when the file says 101).
    var linkType: Int32 { pcap_datalink(pointer) }

    /// Compiles and installs a BPF filter.
    func setFilter(_ expression: String) throws(PcapError) {
        var program = bpf_program()
        guard pcap_compile(pointer, &program, expression, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            throw PcapError(.filter, "bad capture filter: \(String(cString: pcap_geterr(pointer)))", input: expression)
        }
        defer { pcap_freecode(&program) }
        guard pcap_setfilter(pointer, &program) == 0 else {
            throw PcapError(.filter, "cannot set the capture filter: \(String(cString: pcap_geterr(pointer)))", input: expression)
        }
    }

    /// What one `next` call found.
    enum Next {
        /// A packet: the header and bytes are valid until the next call.
        case packet(UnsafePointer<pcap_pkthdr>, UnsafePointer<UInt8>)
        /// The live read timeout passed without a packet.
        case timeout
        /// End of file, or `breakLoop()` was called.
        case end
    }

    /// Reads the next packet (`pcap_next_ex`); throws on a read error.
    @inline(__always)
    func next() throws(PcapError) -> Next {
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        let rc = pcap_next_ex(pointer, &header, &data)
        switch rc {
        case 1:
            guard let header, let data else { return .timeout }
            return .packet(UnsafePointer(header), data)
        case 0:
            return .timeout
        case PCAP_ERROR_BREAK:
            return .end
        default:
            throw readError(rc)
        }
    }

    private func readError(_ rc: Int32) -> PcapError {
        let message = String(cString: pcap_geterr(pointer))
        return PcapError(.read, message.contains("truncated")
            ? "the capture file is truncated: \(message)"
            : "cannot read the capture: \(message)", input: input, status: rc)
    }

    /// Hands every remaining packet of a capture file to `consumer` until the end of the file or
    /// until it returns false; throws on a read error (a truncated or damaged file). One
    /// `pcap_dispatch` reads them all: libpcap's loop calls back, with no return through
    /// `pcap_next_ex` and its one-shot copy per packet. The callback reaches the consumer through a
    /// pointer, not a closure, so no reference is counted per packet.
    func forEachPacket<Consumer: PacketConsumer>(_ consumer: inout Consumer) throws(PcapError) {
        let rc = withUnsafeMutablePointer(to: &consumer) { consumer in
            var dispatch = Dispatch(consumer: ConsumerPointer(pointer: consumer), pointer: pointer)
            return withUnsafeMutablePointer(to: &dispatch) { context in
                var rc: Int32
                repeat {
                    // A savefile with a count of -1: every packet, to the end (libpcap clips the count at INT_MAX).
                    rc = pcap_dispatch(pointer, -1, { user, header, data in
                        guard let user, let header, let data else { return }
                        let dispatch = UnsafeMutableRawPointer(user).assumingMemoryBound(to: Dispatch.self)
                        if !dispatch.pointee.consumer.consume(header, data) {
                            dispatch.pointee.stopped = true
                            pcap_breakloop(dispatch.pointee.pointer)
                        }
                    }, UnsafeMutableRawPointer(context).assumingMemoryBound(to: UInt8.self))
                } while rc > 0 && !context.pointee.stopped
                return context.pointee.stopped ? 0 : rc
            }
        }
        if rc < 0 && rc != PCAP_ERROR_BREAK { throw readError(rc) }
    }

    /// What the C callback of `forEachPacket` finds behind its user pointer.
    private struct Dispatch {
        /// A trivial value (one pointer) in an existential: the callback cannot be generic. Its
        /// method is mutating so that the call opens it in place rather than copying it out.
        var consumer: any ConsumerReference
        let pointer: OpaquePointer
        var stopped = false
    }

    private protocol ConsumerReference {
        mutating func consume(_ header: UnsafePointer<pcap_pkthdr>, _ bytes: UnsafePointer<UInt8>) -> Bool
    }

    private struct ConsumerPointer<Consumer: PacketConsumer>: ConsumerReference {
        let pointer: UnsafeMutablePointer<Consumer>
        mutating func consume(_ header: UnsafePointer<pcap_pkthdr>, _ bytes: UnsafePointer<UInt8>) -> Bool {
            pointer.pointee.consume(header, bytes)
        }
    }

    /// Makes a blocked or future `next()` on another thread return `.end`.
    func breakLoop() { pcap_breakloop(pointer) }

    /// Whether timestamps are in nanoseconds (else microseconds).
    var nanosecondTimestamps: Bool { pcap_get_tstamp_precision(pointer) == Int32(PCAP_TSTAMP_PRECISION_NANO) }

    /// The loopback flag libpcap's interface list gives `device`; nil when it is not listed.
    static func isLoopbackInterface(_ device: String) -> Bool? {
        var list: UnsafeMutablePointer<pcap_if_t>?
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard pcap_findalldevs(&list, &errorBuffer) == 0 else { return nil }
        defer { pcap_freealldevs(list) }
        var cursor = list
        while let entry = cursor {
            if String(cString: entry.pointee.name) == device {
                return entry.pointee.flags & UInt32(PCAP_IF_LOOPBACK) != 0
            }
            cursor = entry.pointee.next
        }
        return nil
    }
}

/// Takes the packets `PcapHandle.forEachPacket` reads from a capture file.
protocol PacketConsumer {
    /// One packet: its header and bytes are valid during the call. Returns false to stop reading.
    mutating func consume(_ header: UnsafePointer<pcap_pkthdr>, _ bytes: UnsafePointer<UInt8>) -> Bool
}

/// The handle is touched by one capture thread; `breakLoop` is the one cross-thread call libpcap allows.
extension PcapHandle: @unchecked Sendable {}

extension pcap_pkthdr {
    /// Capture time in nanoseconds since the epoch.
    @inline(__always)
    func nanoseconds(precisionIsNano: Bool) -> Int64 {
        Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_usec) * (precisionIsNano ? 1 : 1000)
    }
}
