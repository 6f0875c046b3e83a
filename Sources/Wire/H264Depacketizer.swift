/// Why the H.264 depacketizer dropped a packet's payload (RFC 6184); the stream goes on.
public enum H264PacketError: Error, Hashable, Sendable {
    /// An empty payload, or an aggregation/fragmentation unit shorter than its own header.
    case truncated(available: Int)
    /// The forbidden_zero_bit is set (RFC 6184 section 5.3).
    case forbiddenBit
    /// STAP-B, MTAP16/24, FU-B (interleaved mode) or a reserved type 0/30/31: not decoded.
    case unsupportedType(UInt8)
    /// A STAP-A unit's size runs past the payload, or is zero.
    case aggregationOverrun(offset: Int)
    /// A fragment arrived without its start (lost, or a fragmented unit that never began).
    case fragmentWithoutStart
    /// A NAL unit or a picture grew past the depacketizer's limits (a fragment storm).
    case tooLarge(bytes: Int)
}

/// Reassembles H.264 NAL units from RTP payloads (RFC 6184 non-interleaved mode: single NAL unit
/// packets, STAP-A, FU-A) and groups them into pictures: a picture ends at the marker bit or when
/// the timestamp changes (RFC 6184 section 5.1). Feed it packets in sequence order, saying when
/// packets were lost before this one; a picture that lost a packet is not handed on, and pictures
/// after it are held back until the next keyframe (a decoder cannot use them).
public struct H264Depacketizer: Sendable {
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
    private var pendingSPS: [UInt8]? = nil
    private var pendingPPS: [UInt8]? = nil

    public init(parameterSets: ParameterSets? = nil) {
        self.parameterSets = parameterSets
        pendingSPS = parameterSets?.sps
        pendingPPS = parameterSets?.pps
    }

    /// Takes one RTP payload. `timestamp` is the packet's extended RTP timestamp, `marker` its
    /// marker bit, `lossBefore` whether packets were lost between the previous payload and this one.
    /// Completed pictures go to `emit`. A payload that cannot be decoded marks the picture damaged and throws.
    public mutating func push(payload: UnsafeRawBufferPointer, timestamp: Int64, marker: Bool, lossBefore: Bool,
                              emit: (AccessUnit) -> Void) throws(H264PacketError) {
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
        do throws(H264PacketError) {
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

    private mutating func decode(_ payload: UnsafeRawBufferPointer) throws(H264PacketError) {
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
            guard fragment.count + payload.count - 2 <= maxNALUnitBytes else {
                inFragment = false
                let size = fragment.count + payload.count - 2
                fragment.removeAll()
                throw .tooLarge(bytes: size)
            }
            fragment.append(contentsOf: UnsafeRawBufferPointer(rebasing: payload[2...]))
            if end {
                inFragment = false
                let unit = fragment
                fragment.removeAll(keepingCapacity: true)
                try append(owned: unit)
            }
        default:
            throw .unsupportedType(type)
        }
    }

    private mutating func append(_ unit: UnsafeRawBufferPointer) throws(H264PacketError) {
        try append(owned: [UInt8](unit))
    }

    private mutating func append(owned bytes: [UInt8]) throws(H264PacketError) {
        guard unitBytes + bytes.count <= maxAccessUnitBytes else { throw .tooLarge(bytes: unitBytes + bytes.count) }
        switch bytes[0] & 0x1F {
        case 7: pendingSPS = bytes
        case 8: pendingPPS = bytes
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
        if let sps = pendingSPS, let pps = pendingPPS, !damaged,
           parameterSets?.sps != sps || parameterSets?.pps != pps {
            parameterSets = ParameterSets(sps: sps, pps: pps)
        }
        if damaged {
            // Even with no whole NAL unit left: the picture that was lost is one a decoder needed.
            droppedFrames += 1
            needsKeyframe = true
            return
        }
        let isKeyframe = units.contains { $0[0] & 0x1F == 5 }
        let hasPicture = units.contains { (1...5).contains($0[0] & 0x1F) }
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
        emit(AccessUnit(codec: .h264, nalUnits: units, timestamp: timestamp, isKeyframe: isKeyframe))
    }
}
