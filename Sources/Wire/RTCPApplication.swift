/// An application-defined packet, APP (RFC 3550 section 6.7).
public struct RTCPApplication {
    let bytes: UnsafeRawBufferPointer

    public var subtype: UInt8 { (bytes.u8(at: 0) ?? 0) & 0x1F }
    public var ssrc: UInt32 { bytes.u32(at: 4) ?? 0 }
    /// The four ASCII name characters as one big-endian word.
    public var nameValue: UInt32 { bytes.u32(at: 8) ?? 0 }
    public var name: String { String(decoding: bytes.slice(8..<12) ?? UnsafeRawBufferPointer(start: nil, count: 0), as: UTF8.self) }
    /// Application-dependent data, borrowed.
    public var data: UnsafeRawBufferPointer { bytes.slice(12..<max(12, bytes.count)) ?? UnsafeRawBufferPointer(start: nil, count: 0) }
}
