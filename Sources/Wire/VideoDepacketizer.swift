/// Why the depacketizer dropped a packet's payload (RFC 6184, RFC 7798); the stream goes on.
public enum VideoPayloadError: Error, Hashable, Sendable {
    /// An empty payload, or an aggregation/fragmentation unit shorter than its own header.
    case truncated(available: Int)
    /// The forbidden_zero_bit (H.264) or F bit (H.265) is set (RFC 6184 section 5.3, RFC 7798 section 1.1.4).
    case forbiddenBit
    /// H.264 STAP-B, MTAP16/24, FU-B (interleaved mode) or a reserved type 0/30/31; H.265 PACI
    /// (50) or a reserved type 51...63: not decoded.
    case unsupportedType(UInt8)
    /// An aggregated unit's size (STAP-A, AP) runs past the payload, or is zero.
    case aggregationOverrun(offset: Int)
    /// A fragment arrived without its start (lost, or a fragmented unit that never began).
    case fragmentWithoutStart
    /// A NAL unit or a picture grew past the depacketizer's limits (a fragment storm).
    case tooLarge(bytes: Int)
}

/// Reassembles NAL units from RTP payloads and groups them into pictures: H.264 (RFC 6184
/// non-interleaved mode: single NAL unit packets, STAP-A, FU-A) and H.265 (RFC 7798 without DONL:
/// single NAL unit packets, AP, FU). A picture ends at the marker bit or when the timestamp
/// changes (RFC 6184 section 5.1, RFC 7798 section 4.1). Feed it packets in sequence order, saying
/// when packets were lost before this one; a picture that lost a packet is not handed on, and
/// pictures after it are held back until the next keyframe (a decoder cannot use them).
public struct VideoDepacketizer: Sendable {
    public let codec: VideoCodec
    /// Largest NAL unit and largest picture kept; beyond that they are dropped (not grown without bound).
    public var maxNALUnitBytes = 4 << 20
    public var maxAccessUnitBytes = 8 << 20

    /// The parameter sets in force: from `sprop-parameter-sets` first, replaced by those seen in band.
    public private(set) var parameterSets: ParameterSets?
    /// Whether a keyframe must come before the next picture is handed on.
    public private(set) var needsKeyframe = true

    /// Pictures handed on, keyframes among them, pictures dropped (damaged by loss or waiting for a keyframe).
    public private(set) var frames = 0
    public private(set) var keyframes = 0
    public private(set) var droppedFrames = 0

    private var units: [[UInt8]] = []
    private var unitBytes = 0
    private var timestamp: Int64? = nil
    private var damaged = false
    private var fragment: [UInt8] = []
    private var inFragment = false
    private var pendingVPS: [UInt8]? = nil
    private var pendingSPS: [UInt8]? = nil
    private var pendingPPS: [UInt8]? = nil

    public init(codec: VideoCodec = .h264, parameterSets: ParameterSets? = nil) {
        self.codec = codec
        self.parameterSets = parameterSets
        pendingVPS = parameterSets?.vps
        pendingSPS = parameterSets?.sps
        pendingPPS = parameterSets?.pps
    }

    /// Takes one RTP payload. `timestamp` is the packet's extended RTP timestamp, `marker` its
    /// marker bit, `lossBefore` whether packets were lost between the previous payload and this one.
    /// Completed pictures go to `emit`. A payload that cannot be decoded marks the picture damaged and throws.
    public mutating func push(payload: UnsafeRawBufferPointer, timestamp: Int64, marker: Bool, lossBefore: Bool,
                              emit: (AccessUnit) -> Void) throws(VideoPayloadError) {
        if let current = self.timestamp, current != timestamp {
            // The previous picture's last packet (marker) was lost, or the sender sets no marker.
            // A loss here may have been either picture's: both count as damaged.
            if lossBefore { damaged = true }
            finishPicture(emit: emit)
        }
        if self.timestamp == nil { self.timestamp = timestamp }
        if lossBefore {
            damaged = true
            inFragment = false
            fragment.removeAll(keepingCapacity: true)
        }
        do throws(VideoPayloadError) {
            try decode(payload)
        } catch {
            damaged = true
            if marker { finishPicture(emit: emit) }
            throw error
        }
        if marker { finishPicture(emit: emit) }
    }

    /// Forgets the picture in progress and waits for a keyframe (a new source, a camera restart).
    public mutating func reset() {
        units.removeAll()
        unitBytes = 0
        timestamp = nil
        damaged = false
        inFragment = false
        fragment.removeAll(keepingCapacity: true)
        needsKeyframe = true
    }

    private mutating func decode(_ payload: UnsafeRawBufferPointer) throws(VideoPayloadError) {
        switch codec {
        case .h264: try decodeH264(payload)
        case .h265: try decodeH265(payload)
        }
    }

    /// RFC 7798 section 4.4: a 2-byte payload header (F, type, layer id, TID), then by type a NAL
    /// unit (0...47), an aggregation packet (48: 16-bit size, NAL unit, repeated) or a
    /// fragmentation unit (49: S, E, FuType, fragment).
    private mutating func decodeH265(_ payload: UnsafeRawBufferPointer) throws(VideoPayloadError) {
        guard let first = payload.u8(at: 0), let second = payload.u8(at: 1) else { throw .truncated(available: payload.count) }
        guard first & 0x80 == 0 else { throw .forbiddenBit }
        let type = first >> 1 & 0x3F
        switch type {
        case 0...47:
            inFragment = false
            try append(payload)
        case 48:
            inFragment = false
            var offset = 2
            guard payload.count > 4 else { throw .truncated(available: payload.count) }
            while offset < payload.count {
                guard let size = payload.u16(at: offset), size >= 2, let unit = payload.slice((offset + 2)..<(offset + 2 + Int(size))) else {
                    throw .aggregationOverrun(offset: offset)
                }
                guard let unitFirst = unit.u8(at: 0), unitFirst & 0x80 == 0 else { throw .forbiddenBit }
                try append(unit)
                offset += 2 + Int(size)
            }
        case 49:
            guard let fuHeader = payload.u8(at: 2) else { throw .truncated(available: payload.count) }
            if fuHeader & 0x80 != 0 {
                fragment.removeAll(keepingCapacity: true)
                // The NAL unit header: the payload header with FuType in place of 49.
                fragment.append(first & 0x81 | (fuHeader & 0x3F) << 1)
                fragment.append(second)
                inFragment = true
            } else if !inFragment {
                throw .fragmentWithoutStart
            }
            try continueFragment(payload, headerBytes: 3, end: fuHeader & 0x40 != 0)
        default:
            throw .unsupportedType(type)
        }
    }

    private mutating func continueFragment(_ payload: UnsafeRawBufferPointer, headerBytes: Int, end: Bool) throws(VideoPayloadError) {
        guard fragment.count + payload.count - headerBytes <= maxNALUnitBytes else {
            inFragment = false
            let size = fragment.count + payload.count - headerBytes
            fragment.removeAll()
            throw .tooLarge(bytes: size)
        }
        fragment.append(contentsOf: UnsafeRawBufferPointer(rebasing: payload[headerBytes...]))
        if end {
            inFragment = false
            let unit = fragment
            fragment.removeAll(keepingCapacity: true)
            try append(owned: unit)
        }
    }

    private mutating func decodeH264(_ payload: UnsafeRawBufferPointer) throws(VideoPayloadError) {
        guard let header = payload.u8(at: 0) else { throw .truncated(available: 0) }
        guard header & 0x80 == 0 else { throw .forbiddenBit }
        let type = header & 0x1F
        switch type {
        case 1...23:
            inFragment = false
            try append(payload)
        case 24:  // STAP-A (RFC 6184 section 5.7.1): 16-bit size, NAL unit, repeated.
            inFragment = false
            var offset = 1
            guard payload.count > 3 else { throw .truncated(available: payload.count) }
            while offset < payload.count {
                guard let size = payload.u16(at: offset), size > 0, let unit = payload.slice((offset + 2)..<(offset + 2 + Int(size))) else {
                    throw .aggregationOverrun(offset: offset)
                }
                guard let first = unit.u8(at: 0), first & 0x80 == 0 else { throw .forbiddenBit }
                try append(unit)
                offset += 2 + Int(size)
            }
        case 28:  // FU-A (RFC 6184 section 5.8): indicator, header (S, E, R, type), fragment.
            guard let fuHeader = payload.u8(at: 1) else { throw .truncated(available: payload.count) }
            let start = fuHeader & 0x80 != 0
            let end = fuHeader & 0x40 != 0
            if start {
                fragment.removeAll(keepingCapacity: true)
                fragment.append(header & 0xE0 | fuHeader & 0x1F)
                inFragment = true
            } else if !inFragment {
                throw .fragmentWithoutStart
            }
            try continueFragment(payload, headerBytes: 2, end: end)
        default:
            throw .unsupportedType(type)
        }
    }

    private mutating func append(_ unit: UnsafeRawBufferPointer) throws(VideoPayloadError) {
        try append(owned: [UInt8](unit))
    }

    private mutating func append(owned bytes: [UInt8]) throws(VideoPayloadError) {
        guard unitBytes + bytes.count <= maxAccessUnitBytes else { throw .tooLarge(bytes: unitBytes + bytes.count) }
        switch NALKind(codec, bytes) {
        case .vps: pendingVPS = bytes
        case .sps: pendingSPS = bytes
        case .pps: pendingPPS = bytes
        default: break
        }
        units.append(bytes)
        unitBytes += bytes.count
    }

    private mutating func finishPicture(emit: (AccessUnit) -> Void) {
        defer {
            units.removeAll(keepingCapacity: true)
            unitBytes = 0
            timestamp = nil
            damaged = false
        }
        guard let timestamp else { return }
        if inFragment {
            // The picture ended inside a fragmented unit: its end was lost.
            damaged = true
            inFragment = false
            fragment.removeAll(keepingCapacity: true)
        }
        if let sps = pendingSPS, let pps = pendingPPS, !damaged, codec == .h264 || pendingVPS != nil,
           parameterSets?.sps != sps || parameterSets?.pps != pps || parameterSets?.vps != pendingVPS {
            parameterSets = ParameterSets(vps: codec == .h265 ? pendingVPS : nil, sps: sps, pps: pps)
        }
        if damaged {
            // Even with no whole NAL unit left: the picture that was lost is one a decoder needed.
            droppedFrames += 1
            needsKeyframe = true
            return
        }
        let isKeyframe = units.contains { NALKind(codec, $0) == .keyframe }
        let hasPicture = units.contains { let kind = NALKind(codec, $0); return kind == .keyframe || kind == .picture }
        guard hasPicture else { return }  // parameter sets or SEI alone, sent ahead of a picture
        if needsKeyframe && !isKeyframe {
            droppedFrames += 1
            return
        }
        guard parameterSets != nil else {
            droppedFrames += 1
            return
        }
        needsKeyframe = false
        frames += 1
        if isKeyframe { keyframes += 1 }
        emit(AccessUnit(codec: codec, nalUnits: units, timestamp: timestamp, isKeyframe: isKeyframe))
    }
}

/// What a NAL unit is, as far as grouping pictures goes (ITU-T H.264 table 7-1, H.265 table 7-1).
enum NALKind: Equatable {
    /// A slice of a picture a decoder can start from: H.264 IDR (5), H.265 IRAP (16...23).
    case keyframe
    /// Any other slice: H.264 1...4, H.265 VCL types 0...15 and 24...31.
    case picture
    case vps, sps, pps
    case other

    init(_ codec: VideoCodec, _ unit: [UInt8]) {
        switch codec {
        case .h264:
            switch unit[0] & 0x1F {
            case 5: self = .keyframe
            case 1...4: self = .picture
            case 7: self = .sps
            case 8: self = .pps
            default: self = .other
            }
        case .h265:
            switch unit[0] >> 1 & 0x3F {
            case 16...23: self = .keyframe
            case 0...31: self = .picture
            case 32: self = .vps
            case 33: self = .sps
            case 34: self = .pps
            default: self = .other
            }
        }
    }
}
