/// An H.264 Annex-B byte stream (ITU-T H.264 Annex B: NAL units after 00 00 01 or 00 00 00 01
/// start codes) cut into access units, as a camera's encoder hands them out: what the simulator
/// streams. Pure code on bytes.
public enum AnnexB {
    /// The NAL units of `bytes`, without start codes (trailing zero bytes belong to the next
    /// start code). Bytes before the first start code are skipped.
    public static func nalUnits(_ bytes: [UInt8]) -> [[UInt8]] {
        var units: [[UInt8]] = []
        var start: Int? = nil
        var index = 0
        while index + 2 < bytes.count {
            if bytes[index] == 0, bytes[index + 1] == 0, bytes[index + 2] == 1 {
                if let start {
                    var end = index
                    while end > start, bytes[end - 1] == 0 { end -= 1 }
                    if end > start { units.append(Array(bytes[start..<end])) }
                }
                index += 3
                start = index
            } else {
                index += 1
            }
        }
        if let start, start < bytes.count { units.append(Array(bytes[start...])) }
        return units
    }

    /// Groups NAL units into access units (H.264 section 7.4.1.2.3): a new one begins at an
    /// access unit delimiter, SEI, SPS or PPS after a picture's slices, or at a slice whose
    /// first_mb_in_slice is 0 (the first bit of its header after the NAL byte is 1: ue(v) 0).
    public static func accessUnits(_ nalUnits: [[UInt8]]) -> [[[UInt8]]] {
        var units: [[[UInt8]]] = []
        var current: [[UInt8]] = []
        var sawSlice = false
        for nal in nalUnits where !nal.isEmpty {
            let type = nal[0] & 0x1F
            let isSlice = type == 1 || type == 5
            let startsNew = sawSlice && ((6...9).contains(type) || (isSlice && nal.count > 1 && nal[1] & 0x80 != 0))
            if startsNew {
                units.append(current)
                current = []
                sawSlice = false
            }
            current.append(nal)
            if isSlice { sawSlice = true }
        }
        if !current.isEmpty { units.append(current) }
        return units
    }

    /// Whether an access unit holds an IDR slice (a keyframe).
    public static func isKeyframe(_ unit: [[UInt8]]) -> Bool { unit.contains { !$0.isEmpty && $0[0] & 0x1F == 5 } }
}

/// Cuts H.264 access units into RTP payloads per RFC 6184 non-interleaved mode: a NAL unit that
/// fits is sent as it is (single NAL unit packet, section 5.6); a larger one is split into FU-A
/// fragments (section 5.8). The marker bit goes on the access unit's last packet (section 5.1).
public struct H264Packetizer: Sendable {
    /// Largest RTP payload: 1200 bytes keeps a packet under any usual path MTU with headers.
    public var maxPayloadBytes: Int

    public init(maxPayloadBytes: Int = 1200) {
        precondition(maxPayloadBytes > 2, "an FU-A needs room for its two header bytes and data")
        self.maxPayloadBytes = maxPayloadBytes
    }

    /// The payloads for one access unit, in order, each with its marker bit.
    public func payloads(_ accessUnit: [[UInt8]]) -> [(payload: [UInt8], marker: Bool)] {
        var out: [(payload: [UInt8], marker: Bool)] = []
        let units = accessUnit.filter { !$0.isEmpty }
        for (index, nal) in units.enumerated() {
            let last = index == units.count - 1
            if nal.count <= maxPayloadBytes {
                out.append((nal, last))
                continue
            }
            // FU indicator: F and NRI of the NAL unit, type 28; FU header: S, E, the NAL type.
            let indicator = nal[0] & 0xE0 | 28
            let type = nal[0] & 0x1F
            let chunk = maxPayloadBytes - 2
            var offset = 1
            while offset < nal.count {
                let end = min(offset + chunk, nal.count)
                var header = type
                if offset == 1 { header |= 0x80 }
                if end == nal.count { header |= 0x40 }
                out.append(([indicator, header] + nal[offset..<end], last && end == nal.count))
                offset = end
            }
        }
        return out
    }

    /// An RTP packet (RFC 3550 section 5.1: version 2, no padding, extension or CSRC).
    public static func rtpPacket(payload: [UInt8], marker: Bool, payloadType: UInt8, sequenceNumber: UInt16,
                                 timestamp: UInt32, ssrc: UInt32) -> [UInt8] {
        var packet: [UInt8] = [0x80, (marker ? 0x80 : 0) | payloadType & 0x7F, UInt8(sequenceNumber >> 8), UInt8(sequenceNumber & 0xFF)]
        packet.reserveCapacity(12 + payload.count)
        for shift in stride(from: 24, through: 0, by: -8) { packet.append(UInt8(truncatingIfNeeded: timestamp >> UInt32(shift))) }
        for shift in stride(from: 24, through: 0, by: -8) { packet.append(UInt8(truncatingIfNeeded: ssrc >> UInt32(shift))) }
        packet += payload
        return packet
    }
}
