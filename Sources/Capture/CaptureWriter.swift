import CPcap

/// A pcap file being written (`pcap_dump`), nanosecond timestamps, one link type; opens in Wireshark.
public final class CaptureWriter {
    private let dead: OpaquePointer
    private let dumper: OpaquePointer
    public let path: String
    public let linkType: Int32
    public private(set) var packetCount = 0

    public init(path: String, linkType: Int32, snapshotLength: Int32 = 262_144) throws(PcapError) {
        guard let dead = pcap_open_dead_with_tstamp_precision(linkType, snapshotLength, UInt32(PCAP_TSTAMP_PRECISION_NANO)) else {
            throw PcapError(.write, "cannot prepare a pcap writer for link type \(linkType)", input: path)
        }
        guard let dumper = pcap_dump_open(dead, path) else {
            let message = String(cString: pcap_geterr(dead))
            pcap_close(dead)
            throw PcapError(.write, "cannot create the pcap file: \(message)", input: path)
        }
        self.dead = dead
        self.dumper = dumper
        self.path = path
        self.linkType = linkType
    }

    /// Appends one packet with its capture time (nanoseconds) and original length.
    public func write(time: Int64, bytes: UnsafeRawBufferPointer, originalLength: Int? = nil) {
        var header = pcap_pkthdr()
        header.ts.tv_sec = time_t(time / 1_000_000_000)
        header.ts.tv_usec = suseconds_t(time % 1_000_000_000)
        header.caplen = bpf_u_int32(bytes.count)
        header.len = bpf_u_int32(originalLength ?? bytes.count)
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        pcap_dump(UnsafeMutableRawPointer(dumper).assumingMemoryBound(to: UInt8.self), &header, base)
        packetCount += 1
    }

    /// Flushes what was written so far to the file.
    public func flush() { pcap_dump_flush(dumper) }

    deinit {
        pcap_dump_close(dumper)
        pcap_close(dead)
    }
}
