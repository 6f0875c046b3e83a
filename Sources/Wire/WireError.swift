/// Why a link-layer, IP, UDP or ICMP decoder rejected a buffer; offsets are relative to the decoder's input.
public enum WireError: Error, Hashable, Sendable {
    /// The buffer ends before `needed` bytes of `layer` could be read at `offset`.
    case truncated(layer: WireLayer, offset: Int, needed: Int, available: Int)
    /// libpcap link type that Wire does not decode.
    case unsupportedLinkType(UInt32)
    /// The link layer carries something other than IPv4 or IPv6 (EtherType or address family).
    case notIP(linkProtocol: UInt32)
    /// The IP version nibble is not the one the header claims (or neither 4 nor 6).
    case badIPVersion(UInt8)
    /// IPv4 IHL below 5, or a total length smaller than the header (RFC 791 section 3.1).
    case badIPv4HeaderLength(ihl: UInt8, totalLength: UInt16)
    /// IPv6 payload length 0: a jumbogram (RFC 2675), which Wire does not decode.
    case ipv6Jumbogram
    /// UDP length below 8 or beyond the IP payload (RFC 768).
    case badUDPLength(UInt16, available: Int)
}

/// The protocol layer a `WireError` refers to.
public enum WireLayer: Hashable, Sendable {
    case link, ipv4, ipv6, ipv6ExtensionHeader, udp, icmp
}
