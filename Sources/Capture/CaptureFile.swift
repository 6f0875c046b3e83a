import CPcap

/// A capture file (pcap or pcapng) opened for reading through libpcap.
public final class CaptureFile {
    private let handle: OpaquePointer
    public let path: String

    public init(path: String) throws(PcapError) {
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let handle = pcap_open_offline(path, &errorBuffer) else {
            let message = errorBuffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw PcapError(.open, "cannot open the capture file: \(message)", input: path)
        }
        self.handle = handle
        self.path = path
    }

    deinit { pcap_close(handle) }

    /// The DLT link type as libpcap reports it (RAW is 12 on Linux even when the file says 101).
    public var linkType: Int32 { pcap_datalink(handle) }

    /// Calls `body` with each packet's capture time (nanoseconds since the epoch) and bytes,
    /// until the file ends or `body` returns false. Throws on a damaged file.
    public func forEachPacket(_ body: (Int64, UnsafeRawBufferPointer) -> Bool) throws(PcapError) {
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        let nanoseconds = pcap_get_tstamp_precision(handle) == Int32(PCAP_TSTAMP_PRECISION_NANO)
        while true {
            let rc = pcap_next_ex(handle, &header, &data)
            if rc == 1, let header, let data {
                let ts = Int64(header.pointee.ts.tv_sec) * 1_000_000_000
                    + Int64(header.pointee.ts.tv_usec) * (nanoseconds ? 1 : 1000)
                if !body(ts, UnsafeRawBufferPointer(start: data, count: Int(header.pointee.caplen))) { return }
            } else if rc == PCAP_ERROR_BREAK || rc == -2 {
                return
            } else {
                let message = String(cString: pcap_geterr(handle))
                throw PcapError(.read, "the capture file is damaged or truncated: \(message)", input: path)
            }
        }
    }
}
