#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A name a certificate is valid for (RFC 5280 section 4.2.1.6): a DNS name or an IP address.
public enum SubjectAlternativeName: Hashable, Sendable, CustomStringConvertible {
    case dnsName(String)
    /// An IPv4 or IPv6 address in text form ("127.0.0.1", "::1"); normalised by `inet_ntop`.
    case ipAddress(String)

    /// Classifies `text`: an address when `inet_pton` parses it, otherwise a DNS name.
    public init(_ text: String) {
        if let bytes = Self.addressBytes(text) {
            self = .ipAddress(Self.addressText(bytes) ?? text)
        } else {
            self = .dnsName(text)
        }
    }

    public var description: String {
        switch self {
        case .dnsName(let name): "DNS:\(name)"
        case .ipAddress(let address): "IP:\(address)"
        }
    }

    /// The 4 or 16 address bytes for an IP address text, nil if it is not one.
    static func addressBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    /// Text form of 4 or 16 address bytes.
    static func addressText(_ bytes: [UInt8]) -> String? {
        let family: Int32
        switch bytes.count {
        case 4: family = AF_INET
        case 16: family = AF_INET6
        default: return nil
        }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let ok = bytes.withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil
        }
        guard ok else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
