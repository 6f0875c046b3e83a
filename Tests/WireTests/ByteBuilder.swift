// Builds real wire layouts byte by byte for the tests.
@testable import Wire

struct ByteBuilder {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { bytes += [UInt8(v >> 8), UInt8(v & 0xFF)] }
    mutating func u24(_ v: UInt32) { bytes += [UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    mutating func u32(_ v: UInt32) { u16(UInt16(v >> 16)); u16(UInt16(v & 0xFFFF)) }
    mutating func u64(_ v: UInt64) { u32(UInt32(v >> 32)); u32(UInt32(v & 0xFFFF_FFFF)) }
    mutating func append(_ more: [UInt8]) { bytes += more }
    mutating func ascii(_ text: String) { bytes += Array(text.utf8) }
}

enum Layouts {
    static func udp(sourcePort: UInt16, destinationPort: UInt16, payload: [UInt8]) -> [UInt8] {
        var b = ByteBuilder()
        b.u16(sourcePort); b.u16(destinationPort); b.u16(UInt16(8 + payload.count)); b.u16(0)
        b.append(payload)
        return b.bytes
    }

    static func ipv4(
        source: IPAddress, destination: IPAddress, protocol proto: UInt8 = 17, options: [UInt8] = [],
        flagsAndOffset: UInt16 = 0x4000, payload: [UInt8]
    ) -> [UInt8] {
        precondition(options.count % 4 == 0)
        var b = ByteBuilder()
        let headerLength = 20 + options.count
        b.u8(0x40 | UInt8(headerLength / 4)); b.u8(0)
        b.u16(UInt16(headerLength + payload.count)); b.u16(0x1234); b.u16(flagsAndOffset)
        b.u8(64); b.u8(proto); b.u16(0)
        b.u32(source.ipv4Value!); b.u32(destination.ipv4Value!)
        b.append(options); b.append(payload)
        return b.bytes
    }

    /// `extensions` are (type, body) pairs; each body is padded to make its header a multiple of 8 bytes.
    static func ipv6(
        source: IPAddress, destination: IPAddress, protocol proto: UInt8 = 17,
        extensions: [(UInt8, [UInt8])] = [], payload: [UInt8]
    ) -> [UInt8] {
        var chain: [UInt8] = []
        let types = extensions.map(\.0) + [proto]
        for (i, (type, body)) in extensions.enumerated() {
            var header = [types[i + 1], 0] + body
            if type == 44 {
                precondition(header.count == 8)  // the fragment header is fixed-size
            } else {
                while header.count % 8 != 0 { header.append(0) }
                header[1] = UInt8(header.count / 8 - 1)
            }
            chain += header
        }
        var b = ByteBuilder()
        b.u32(0x6000_0000); b.u16(UInt16(chain.count + payload.count))
        b.u8(extensions.first?.0 ?? proto); b.u8(64)
        guard case .v6(let sh, let sl) = source.storage, case .v6(let dh, let dl) = destination.storage else {
            fatalError("IPv6 addresses expected")
        }
        b.u64(sh); b.u64(sl); b.u64(dh); b.u64(dl)
        b.append(chain); b.append(payload)
        return b.bytes
    }

    static func ethernet(etherType: UInt16, vlans: [(UInt16, UInt16)] = [], payload: [UInt8]) -> [UInt8] {
        var b = ByteBuilder()
        b.append([0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB])
        for (tpid, tci) in vlans { b.u16(tpid); b.u16(tci) }
        b.u16(etherType)
        b.append(payload)
        return b.bytes
    }
}

/// RTCP packet layouts (RFC 3550 section 6, RFC 4585, RFC 5104, REMB and TWCC drafts).
enum RTCPLayouts {
    static func header(_ b: inout ByteBuilder, padding: Bool = false, count: UInt8, type: UInt8, words: Int) {
        b.u8(0x80 | (padding ? 0x20 : 0) | count); b.u8(type); b.u16(UInt16(words - 1))
    }

    static func reportBlock(_ b: inout ByteBuilder, ssrc: UInt32, fraction: UInt8 = 0, lost: Int32 = 0) {
        b.u32(ssrc)
        b.u8(fraction); b.u24(UInt32(bitPattern: lost) & 0xFF_FFFF)
        b.u32(0x0001_0203); b.u32(77); b.u32(0xAABB_CCDD); b.u32(65536)
    }

    static func senderReport(ssrc: UInt32, blocks: [UInt32]) -> [UInt8] {
        var b = ByteBuilder()
        header(&b, count: UInt8(blocks.count), type: 200, words: 7 + 6 * blocks.count)
        b.u32(ssrc); b.u64(0xE000_0000_8000_0000); b.u32(90_000); b.u32(10); b.u32(1000)
        for s in blocks { reportBlock(&b, ssrc: s, fraction: 25, lost: -3) }
        return b.bytes
    }

    static func receiverReport(ssrc: UInt32, blocks: [UInt32]) -> [UInt8] {
        var b = ByteBuilder()
        header(&b, count: UInt8(blocks.count), type: 201, words: 2 + 6 * blocks.count)
        b.u32(ssrc)
        for s in blocks { reportBlock(&b, ssrc: s, fraction: 64, lost: 5) }
        return b.bytes
    }

    static func sdes(ssrc: UInt32, cname: String, name: String? = nil) -> [UInt8] {
        var body = ByteBuilder()
        body.u32(ssrc)
        body.u8(1); body.u8(UInt8(cname.utf8.count)); body.ascii(cname)
        if let name { body.u8(2); body.u8(UInt8(name.utf8.count)); body.ascii(name) }
        body.u8(0)
        while body.bytes.count % 4 != 0 { body.u8(0) }
        var b = ByteBuilder()
        header(&b, count: 1, type: 202, words: 1 + body.bytes.count / 4)
        b.append(body.bytes)
        return b.bytes
    }

    static func bye(ssrcs: [UInt32], reason: String?) -> [UInt8] {
        var body = ByteBuilder()
        for s in ssrcs { body.u32(s) }
        if let reason { body.u8(UInt8(reason.utf8.count)); body.ascii(reason) }
        while body.bytes.count % 4 != 0 { body.u8(0) }
        var b = ByteBuilder()
        header(&b, count: UInt8(ssrcs.count), type: 203, words: 1 + body.bytes.count / 4)
        b.append(body.bytes)
        return b.bytes
    }

    static func feedback(type: UInt8, format: UInt8, sender: UInt32, media: UInt32, fci: [UInt8]) -> [UInt8] {
        var b = ByteBuilder()
        header(&b, count: format, type: type, words: 3 + fci.count / 4)
        b.u32(sender); b.u32(media); b.append(fci)
        return b.bytes
    }

    static func remb(sender: UInt32, exponent: UInt8, mantissa: UInt32, ssrcs: [UInt32]) -> [UInt8] {
        var fci = ByteBuilder()
        fci.ascii("REMB"); fci.u8(UInt8(ssrcs.count))
        fci.u24(UInt32(exponent) << 18 | mantissa)
        for s in ssrcs { fci.u32(s) }
        return feedback(type: 206, format: 15, sender: sender, media: 0, fci: fci.bytes)
    }
}

extension Array where Element == UInt8 {
    /// Runs `body` over the array's bytes, as a capture callback would see them.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(body)
    }
}
