import CPcap

/// Facts about the libpcap this process runs with.
public enum PcapLibrary {
    /// e.g. "libpcap version 1.10.3 (with TPACKET_V3)".
    public static var version: String { String(cString: pcap_lib_version()) }
}
