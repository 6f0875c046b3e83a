/// Builds ISO BMFF boxes (ISO/IEC 14496-12 §4.2) big-endian into one byte array; a box's size is
/// patched in when its body is done, so nesting reads like the box tree.
struct MP4BoxWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { bytes.append(UInt8(v >> 8)); bytes.append(UInt8(v & 0xFF)) }
    mutating func u32(_ v: UInt32) {
        bytes.append(UInt8(v >> 24)); bytes.append(UInt8(v >> 16 & 0xFF))
        bytes.append(UInt8(v >> 8 & 0xFF)); bytes.append(UInt8(v & 0xFF))
    }
    mutating func u64(_ v: UInt64) { u32(UInt32(v >> 32)); u32(UInt32(v & 0xFFFF_FFFF)) }
    mutating func zeros(_ count: Int) { bytes.append(contentsOf: repeatElement(0, count: count)) }
    mutating func fourCC(_ code: StaticString) {
        precondition(code.utf8CodeUnitCount == 4)
        code.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }
    mutating func append(_ more: [UInt8]) { bytes.append(contentsOf: more) }

    /// A box: 32-bit size, type, then what `body` writes.
    mutating func box(_ type: StaticString, _ body: (inout MP4BoxWriter) -> Void) {
        let start = bytes.count
        u32(0)
        fourCC(type)
        body(&self)
        patchSize(at: start)
    }

    /// A FullBox (§4.2.2): a box whose body starts with version and 24-bit flags.
    mutating func fullBox(_ type: StaticString, version: UInt8 = 0, flags: UInt32 = 0, _ body: (inout MP4BoxWriter) -> Void) {
        box(type) { b in
            b.u32(UInt32(version) << 24 | flags & 0xFF_FFFF)
            body(&b)
        }
    }

    mutating func patchSize(at start: Int) {
        let size = UInt32(bytes.count - start)
        bytes[start] = UInt8(size >> 24); bytes[start + 1] = UInt8(size >> 16 & 0xFF)
        bytes[start + 2] = UInt8(size >> 8 & 0xFF); bytes[start + 3] = UInt8(size & 0xFF)
    }

    /// The unity transformation matrix of `mvhd` and `tkhd` (§8.2.2.3).
    mutating func unityMatrix() {
        for value: UInt32 in [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] { u32(value) }
    }
}
