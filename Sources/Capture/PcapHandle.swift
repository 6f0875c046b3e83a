import CPcap

/// One libpcap handle (`pcap_t`): a live device, an offline file or a "dead" handle for writing.
/// It is used by one thread at a time; only `breakLoop()` may be called from another thread
/// (libpcap 1.10 wakes a blocked read through an eventfd for exactly that).
final class PcapHandle {
    let pointer: OpaquePointer
    /// The interface name or file path, for messages.
    let input: String

    init(pointer: OpaquePointer, input: String) {
        self.pointer = pointer
        self.input = input
    }

    deinit { pcap_close(pointer) }

    /// Opens a capture file (pcap or pcapng) with nanosecond timestamps.
    static func openOffline(path: String) throws(PcapError) -> PcapHandle {
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let handle = pcap_open_offline_with_tstamp_precision(path, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errorBuffer) else {
            let message = String(cString: errorBuffer)
            throw PcapError(.open, "cannot read this capture file: \(message)\(Self.offlineHint(message))", input: path)
        }
        return PcapHandle(pointer: handle, input: path)
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
            let message = String(cString: pcap_geterr(pointer))
            throw PcapError(.read, message.contains("truncated")
                ? "the capture file is truncated: \(message)"
                : "cannot read the capture: \(message)", input: input, status: rc)
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

/// The handle is touched by one capture thread; `breakLoop` is the one cross-thread call libpcap allows.
extension PcapHandle: @unchecked Sendable {}

extension pcap_pkthdr {
    /// Capture time in nanoseconds since the epoch.
    @inline(__always)
    func nanoseconds(precisionIsNano: Bool) -> Int64 {
        Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_usec) * (precisionIsNano ? 1 : 1000)
    }
}
