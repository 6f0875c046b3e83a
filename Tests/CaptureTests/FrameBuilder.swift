import Capture
import Wire

/// Builds captured frames byte by byte: link headers, IPv4/UDP, and RTCP packets laid out as the RFCs draw them.
enum Frames {
    static func u16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
    static func u32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

    static func octets(_ text: String) -> [UInt8] { text.split(separator: ".").map { UInt8($0)! } }

    /// RTCP common header (RFC 3550 section 6.4.1); `body` must be a multiple of 4 bytes.
    static func rtcp(count: UInt8, type: UInt8, _ body: [UInt8]) -> [UInt8] {
        precondition(body.count % 4 == 0)
        return [0x80 | count, type] + u16(UInt16(body.count / 4)) + body
    }

    /// RR with one report block about `about` (RFC 3550 section 6.4.2), or none.
    static func receiverReport(sender: UInt32, about: UInt32?) -> [UInt8] {
        guard let about else { return rtcp(count: 0, type: 201, u32(sender)) }
        return rtcp(count: 1, type: 201, u32(sender) + u32(about) + [UInt8](repeating: 0, count: 20))
    }

    /// SR without report blocks (RFC 3550 section 6.4.1).
    static func senderReport(sender: UInt32) -> [UInt8] {
        rtcp(count: 0, type: 200, u32(sender) + [UInt8](repeating: 0, count: 20))
    }

    /// SDES with one CNAME item (RFC 3550 section 6.5), padded to 32 bits.
    static func sourceDescription(_ ssrc: UInt32, cname: String) -> [UInt8] {
        var chunk = u32(ssrc) + [1, UInt8(cname.utf8.count)] + Array(cname.utf8) + [0]
        while chunk.count % 4 != 0 { chunk.append(0) }
        return rtcp(count: 1, type: 202, chunk)
    }

    /// REMB (draft-alvestrand-rmcat-remb-03 section 2.2): bitrate = mantissa × 2^exponent.
    static func remb(sender: UInt32, exponent: UInt8, mantissa: UInt32, ssrcs: [UInt32]) -> [UInt8] {
        let packed = UInt32(exponent) << 18 | (mantissa & 0x3FFFF)
        var fci = Array("REMB".utf8) + [UInt8(ssrcs.count), UInt8(packed >> 16), UInt8(packed >> 8 & 0xFF), UInt8(packed & 0xFF)]
        for ssrc in ssrcs { fci += u32(ssrc) }
        return rtcp(count: 15, type: 206, u32(sender) + u32(0) + fci)
    }

    /// FIR (RFC 5104 section 4.3.1): media SSRC 0, one entry per SSRC.
    static func fir(sender: UInt32, ssrcs: [UInt32]) -> [UInt8] {
        var fci: [UInt8] = []
        for (n, ssrc) in ssrcs.enumerated() { fci += u32(ssrc) + [UInt8(n), 0, 0, 0] }
        return rtcp(count: 4, type: 206, u32(sender) + u32(0) + fci)
    }

    /// PLI (RFC 4585 section 6.3.1).
    static func pli(sender: UInt32, media: UInt32) -> [UInt8] { rtcp(count: 1, type: 206, u32(sender) + u32(media)) }

    /// Generic NACK (RFC 4585 section 6.2.1), one entry.
    static func nack(sender: UInt32, media: UInt32) -> [UInt8] { rtcp(count: 1, type: 205, u32(sender) + u32(media) + u16(100) + u16(0b101)) }

    /// Transport-wide CC feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01 section 3.1), one run-length chunk.
    static func twcc(sender: UInt32, media: UInt32) -> [UInt8] {
        rtcp(count: 15, type: 205, u32(sender) + u32(media) + u16(1) + u16(2) + [0, 0, 1, 7] + [0x20, 0x02, 4, 4])
    }

    /// RTP header (RFC 3550 section 5.1) with 20 bytes of payload.
    static func rtp(ssrc: UInt32, sequence: UInt16) -> [UInt8] {
        [0x80, 96] + u16(sequence) + u32(UInt32(sequence) * 160) + u32(ssrc) + [UInt8](repeating: 0xAB, count: 20)
    }

    /// IPv4 + UDP around `payload` (checksums zero: not checked by readers).
    static func ipv4UDP(from source: String, _ sourcePort: UInt16, to destination: String, _ destinationPort: UInt16, _ payload: [UInt8]) -> [UInt8] {
        let udp = u16(sourcePort) + u16(destinationPort) + u16(UInt16(8 + payload.count)) + u16(0) + payload
        let total = UInt16(20 + udp.count)
        return [0x45, 0] + u16(total) + u16(1) + u16(0x4000) + [64, 17] + u16(0) + octets(source) + octets(destination) + udp
    }

    /// ICMP port unreachable quoting `quoted` (an IPv4 packet), as Linux answers a datagram to a closed port.
    static func icmpPortUnreachable(from source: String, to destination: String, quoting quoted: [UInt8]) -> [UInt8] {
        let icmp: [UInt8] = [3, 3, 0, 0, 0, 0, 0, 0] + quoted
        let total = UInt16(20 + icmp.count)
        return [0x45, 0] + u16(total) + u16(2) + u16(0) + [64, 1] + u16(0) + octets(source) + octets(destination) + icmp
    }

    /// The link layers Wire decodes, wrapped around an IPv4 packet.
    enum Link: CaseIterable {
        case ethernet, linuxSLL, linuxSLL2, raw, null, loop

        var dlt: Int32 {
            switch self {
            case .ethernet: 1
            case .linuxSLL: 113
            case .linuxSLL2: 276
            case .raw: 12
            case .null: 0
            case .loop: 108
            }
        }

        func wrap(_ ip: [UInt8], loopback: Bool) -> [UInt8] {
            let arphrd: UInt16 = loopback ? 772 : 1
            switch self {
            case .ethernet:
                return [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2] + u16(0x0800) + ip
            case .linuxSLL:
                return u16(0) + u16(arphrd) + u16(6) + [0, 0, 0, 0, 0, 1, 0, 0] + u16(0x0800) + ip
            case .linuxSLL2:
                return u16(0x0800) + u16(0) + u32(loopback ? 1 : 7) + u16(arphrd) + [0, 6] + [0, 0, 0, 0, 0, 1, 0, 0] + ip
            case .raw:
                return ip
            case .null:
                return [2, 0, 0, 0] + ip  // AF_INET in host order (little-endian)
            case .loop:
                return [0, 0, 0, 2] + ip  // AF_INET in network order (OpenBSD)
            }
        }
    }

    /// Writes frames to a pcap file through libpcap's pcap_dump (Capture's writer).
    static func writePcap(_ path: String, link: Link, _ frames: [(time: Int64, bytes: [UInt8])]) throws {
        let writer = try CaptureWriter(path: path, linkType: link.dlt)
        for frame in frames { frame.bytes.withUnsafeBytes { writer.write(time: frame.time, bytes: $0) } }
        writer.flush()
    }
}
