/// A goodbye packet, BYE (RFC 3550 section 6.6): sources leaving, with an optional reason.
public struct RTCPGoodbye {
    let bytes: UnsafeRawBufferPointer
    let sourceCount: UInt8

    /// The sources that are leaving.
    public var ssrcs: SSRCList { SSRCList(bytes: bytes, start: 4, stride: 4, count: Int(sourceCount)) }

    /// The reason-for-leaving bytes, borrowed; nil when absent.
    public var reasonBytes: UnsafeRawBufferPointer? {
        let at = 4 + 4 * Int(sourceCount)
        guard let length = bytes.u8(at: at) else { return nil }
        return bytes.slice((at + 1)..<(at + 1 + Int(length)))
    }

    public var reason: String? { reasonBytes.map { String(decoding: $0, as: UTF8.self) } }
}
