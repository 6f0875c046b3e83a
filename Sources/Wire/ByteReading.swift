// Bounds-checked big-endian loads over captured bytes. Every decoder in Wire reads through
// these, so malformed input yields nil (and then a typed error), never a trap.

extension UnsafeRawBufferPointer {
    @inline(__always)
    func u8(at offset: Int) -> UInt8? {
        guard offset >= 0, offset < count else { return nil }
        return self[offset]
    }

    @inline(__always)
    func u16(at offset: Int) -> UInt16? {
        guard offset >= 0, offset <= count - 2 else { return nil }
        return UInt16(self[offset]) << 8 | UInt16(self[offset + 1])
    }

    @inline(__always)
    func u24(at offset: Int) -> UInt32? {
        guard offset >= 0, offset <= count - 3 else { return nil }
        return UInt32(self[offset]) << 16 | UInt32(self[offset + 1]) << 8 | UInt32(self[offset + 2])
    }

    @inline(__always)
    func u32(at offset: Int) -> UInt32? {
        guard offset >= 0, offset <= count - 4 else { return nil }
        return UInt32(self[offset]) << 24 | UInt32(self[offset + 1]) << 16
            | UInt32(self[offset + 2]) << 8 | UInt32(self[offset + 3])
    }

    @inline(__always)
    func u64(at offset: Int) -> UInt64? {
        guard let high = u32(at: offset), let low = u32(at: offset + 4) else { return nil }
        return UInt64(high) << 32 | UInt64(low)
    }

    /// Little-endian 32-bit load, for BSD loopback headers written in host order.
    @inline(__always)
    func u32LittleEndian(at offset: Int) -> UInt32? {
        guard let value = u32(at: offset) else { return nil }
        return value.byteSwapped
    }

    /// The bytes in `range`, re-indexed from zero, or nil when the range is not inside.
    @inline(__always)
    func slice(_ range: Range<Int>) -> UnsafeRawBufferPointer? {
        guard range.lowerBound >= 0, range.upperBound <= count else { return nil }
        return UnsafeRawBufferPointer(rebasing: self[range])
    }
}
