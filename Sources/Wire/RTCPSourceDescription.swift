/// A source description packet, SDES (RFC 3550 section 6.5): chunks of items per SSRC or CSRC.
public struct RTCPSourceDescription: Sequence {
    let bytes: UnsafeRawBufferPointer
    let sourceCount: UInt8

    public var chunkCount: Int { Int(sourceCount) }

    /// The first CNAME item's text (RFC 3550 section 6.5.1), if any.
    public var canonicalName: String? {
        for chunk in self {
            for item in chunk.items where item.type == RTCPSDESItem.cname {
                return item.text
            }
        }
        return nil
    }

    public func makeIterator() -> Iterator { Iterator(bytes: bytes, offset: 4, remaining: Int(sourceCount)) }

    /// Walks the chunks; stops early on malformed data.
    public struct Iterator: IteratorProtocol {
        let bytes: UnsafeRawBufferPointer
        var offset: Int
        var remaining: Int

        public mutating func next() -> RTCPSDESChunk? {
            guard remaining > 0, let (chunk, next) = Self.chunk(in: bytes, at: offset) else { return nil }
            remaining -= 1
            offset = next
            return chunk
        }

        /// The chunk at `offset` and the offset after it, or nil when it overruns the packet.
        static func chunk(in bytes: UnsafeRawBufferPointer, at offset: Int) -> (RTCPSDESChunk, Int)? {
            guard let ssrc = bytes.u32(at: offset) else { return nil }
            var position = offset + 4
            while true {
                guard let type = bytes.u8(at: position) else { return nil }
                if type == 0 {
                    // The list ends with a null item, then zero padding to the next 32-bit boundary.
                    let end = (position + 1 + 3) & ~3
                    guard end <= bytes.count else { return nil }
                    let items = RTCPSDESItems(bytes: bytes, range: (offset + 4)..<position)
                    return (RTCPSDESChunk(ssrc: ssrc, items: items), end)
                }
                guard let length = bytes.u8(at: position + 1), position + 2 + Int(length) <= bytes.count else {
                    return nil
                }
                position += 2 + Int(length)
            }
        }
    }
}

/// One SDES chunk: a source and its items.
public struct RTCPSDESChunk {
    public var ssrc: UInt32
    public var items: RTCPSDESItems
}

/// The items of one SDES chunk, borrowed from the packet bytes.
public struct RTCPSDESItems: Sequence {
    let bytes: UnsafeRawBufferPointer
    let range: Range<Int>

    public func makeIterator() -> Iterator { Iterator(bytes: bytes, offset: range.lowerBound, end: range.upperBound) }

    public struct Iterator: IteratorProtocol {
        let bytes: UnsafeRawBufferPointer
        var offset: Int
        let end: Int

        public mutating func next() -> RTCPSDESItem? {
            guard offset < end, let type = bytes.u8(at: offset), let length = bytes.u8(at: offset + 1),
                  let value = bytes.slice((offset + 2)..<(offset + 2 + Int(length)))
            else { return nil }
            offset += 2 + Int(length)
            return RTCPSDESItem(type: type, value: value)
        }
    }
}

/// One SDES item: a type and its UTF-8 value (RFC 3550 section 6.5).
public struct RTCPSDESItem {
    public static let cname: UInt8 = 1
    public static let name: UInt8 = 2
    public static let email: UInt8 = 3
    public static let phone: UInt8 = 4
    public static let location: UInt8 = 5
    public static let tool: UInt8 = 6
    public static let note: UInt8 = 7
    public static let privateExtension: UInt8 = 8

    public var type: UInt8
    /// The raw value bytes, borrowed.
    public var value: UnsafeRawBufferPointer
    /// The value as text (invalid UTF-8 is repaired).
    public var text: String { String(decoding: value, as: UTF8.self) }
}
