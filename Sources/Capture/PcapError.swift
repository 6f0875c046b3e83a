/// A libpcap failure: what was attempted, the library's own message, and the input (interface, file, filter).
public struct PcapError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Equatable {
        /// A capture file or device could not be opened (wrong magic, missing file, device error).
        case open
        /// The process may not capture on this device (needs CAP_NET_RAW and CAP_NET_ADMIN, or root).
        case permission
        /// No interface by that name.
        case noSuchDevice
        /// The BPF filter did not compile or could not be set.
        case filter
        /// Reading packets failed: a truncated or damaged capture file, or a device error mid-capture.
        case read
        /// A record of the capture file is structurally wrong (e.g. zero captured bytes).
        case malformed
        /// The export file could not be written.
        case write
        /// Arguments that cannot work together (e.g. exporting interfaces with different link types to one pcap).
        case usage
    }

    public let code: Code
    /// libpcap's message, or ours, saying what went wrong.
    public let message: String
    /// What it was about: a file path, an interface name or a filter expression.
    public let input: String
    /// libpcap's return code where there was one (PCAP_ERROR_*), else 0.
    public let status: Int32

    public init(_ code: Code, _ message: String, input: String, status: Int32 = 0) {
        self.code = code
        self.message = message
        self.input = input
        self.status = status
    }

    public var description: String { "\(input): \(message)" }

    /// The command that lets camhost capture without running as root.
    public static let permissionHint =
        "capturing needs CAP_NET_RAW and CAP_NET_ADMIN: run as root, or once `sudo setcap cap_net_raw,cap_net_admin=eip $(which camhost)`"
}
