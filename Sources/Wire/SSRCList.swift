/// A view of SSRCs spaced at a fixed stride inside an RTCP packet (report blocks, FIR entries, REMB list, BYE list).
/// It borrows the packet bytes: use it only while they are alive.
public struct SSRCList: RandomAccessCollection {
    let bytes: UnsafeRawBufferPointer
    let start: Int
    let stride: Int
    public let count: Int

    init(bytes: UnsafeRawBufferPointer, start: Int, stride: Int, count: Int) {
        self.bytes = bytes
        self.start = start
        self.stride = stride
        // Never claim more entries than fit, so reading can never go out of bounds.
        let fitting = bytes.count >= start + 4 ? (bytes.count - start - 4) / stride + 1 : 0
        self.count = Swift.max(0, Swift.min(count, fitting))
    }

    static var empty: SSRCList { SSRCList(bytes: UnsafeRawBufferPointer(start: nil, count: 0), start: 0, stride: 4, count: 0) }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }
    public subscript(position: Int) -> UInt32 {
        bytes.u32(at: start + position * stride) ?? 0
    }
}
