// libFuzzer entry point for Wire: every decoder and every view over arbitrary bytes, and the SDP
// parser over the same bytes as text (with the round trip parse(render(x)) == x checked).
// Built by scripts/fuzz-wire.sh together with Sources/Wire/*.swift as one module (no import).
// Any trap (bounds, overflow, ASan report) is a bug: Wire must turn all malformed input into errors.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let raw = UnsafeRawBufferPointer(start: data, count: size)
    var sink = 0
    let linkTypes: [LinkType] = [.null, .ethernet, .rawLinux, .rawBSD, .raw, .loop, .linuxSLL, .ipv4, .ipv6, .linuxSLL2]
    for linkType in linkTypes {
        guard let packet = try? CapturedPacket(decoding: raw, linkType: linkType) else { continue }
        sink &+= packet.ip.source.description.utf8.count
        if let range = packet.udpPayloadRange {
            sink &+= exerciseRTCP(UnsafeRawBufferPointer(rebasing: raw[range]))
        }
    }
    if let ip = try? IPPacket(decoding: raw) { sink &+= ip.payloadRange.count }
    if let udp = try? UDPDatagram(decoding: raw) { sink &+= udp.payloadRange.count }
    if let icmp = try? ICMPMessage(decoding: raw, isICMPv6: false) { sink &+= icmp.bodyRange.count }
    sink &+= exerciseRTCP(raw)
    sink &+= exerciseRTP(raw)
    if let sps = try? H264SPS(Array(raw)) { sink &+= sps.width &+ sps.height &+ sps.codecString.utf8.count }
    sink &+= exerciseSDP(raw)
    if size < 64, let address = IPAddress(String(decoding: raw, as: UTF8.self)) {
        // Whatever parses must print and parse back to itself.
        if IPAddress(address.description) != address { fatalError("IPAddress round trip failed for \(address)") }
    }
    sink &+= exerciseMP4(Array(raw))
    return sink == Int.min ? 1 : 0
}

/// The SPS readers and the fragment reader of the fMP4 writer (a damaged recording is arbitrary bytes).
func exerciseMP4(_ bytes: [UInt8]) -> Int {
    var sink = 0
    if let sps = try? H264SPS([0x67] + bytes) { sink &+= sps.width &+ sps.height &+ sps.codecString.utf8.count }
    if let sps = try? H265SPS([0x42, 0x01] + bytes) { sink &+= sps.width &+ sps.height &+ sps.codecString.utf8.count }
    let read: (Int, Int) throws -> [UInt8] = { offset, count in Array(bytes[offset..<min(bytes.count, offset + count)]) }
    if let whole = try? MP4FragmentReader.whole(size: bytes.count, read: read) { sink &+= whole.wholeLength &+ whole.samples }
    return sink
}

func exerciseRTCP(_ raw: UnsafeRawBufferPointer) -> Int {
    var sink = RTCPCompoundPacket.isLikelyRTCP(raw) ? 1 : 0
    guard let compound = try? RTCPCompoundPacket(validating: raw) else { return sink }
    for packet in compound {
        sink &+= Int(packet.senderSSRC ?? 0) &+ packet.kind.description.utf8.count &+ (packet.kind.isReceptionFeedback ? 1 : 0)
        for ssrc in packet.referencedSSRCs { sink &+= Int(ssrc) }
        switch packet.message {
        case .senderReport(let sr):
            sink &+= Int(truncatingIfNeeded: sr.ntpTimestamp) &+ Int(sr.octetCount)
            for block in sr.reportBlocks { sink &+= Int(block.cumulativePacketsLost) }
        case .receiverReport(let rr):
            for block in rr.reportBlocks { sink &+= Int(block.delaySinceLastSenderReport) }
        case .sourceDescription(let sdes):
            sink &+= sdes.canonicalName?.utf8.count ?? 0
            for chunk in sdes { for item in chunk.items { sink &+= item.text.utf8.count } }
        case .goodbye(let bye):
            sink &+= bye.ssrcs.count &+ (bye.reason?.utf8.count ?? 0)
        case .application(let app):
            sink &+= app.data.count &+ app.name.utf8.count &+ Int(app.subtype)
        case .transportFeedback(let fb):
            switch fb.kind {
            case .nack(let entries): for entry in entries { sink &+= entry.lostPacketCount &+ (entry.contains(7) ? 1 : 0) }
            case .transportWideCC(let twcc): sink &+= Int(twcc.referenceTime) &+ twcc.statusAndDeltas.count &+ Int(twcc.feedbackPacketCount)
            case .other(let format): sink &+= Int(format)
            }
        case .payloadFeedback(let fb):
            switch fb.kind {
            case .fullIntraRequest(let entries): for entry in entries { sink &+= Int(entry.ssrc) }
            case .receiverEstimatedMaximumBitrate(let remb): sink &+= Int(truncatingIfNeeded: remb.bitrate) &+ remb.ssrcs.count
            case .pictureLossIndication, .applicationLayer: sink &+= 1
            case .other(let format): sink &+= Int(format)
            }
        case .unknown(let type): sink &+= Int(type.rawValue)
        }
    }
    return sink
}

/// The RTP parser, then the H.264 and H.265 depacketizers over the input cut into RTP packets: each chunk is
/// a 2-byte length, then that many bytes parsed as RTP (or, when it does not parse, used as a payload).
func exerciseRTP(_ raw: UnsafeRawBufferPointer) -> Int {
    var sink = 0
    if let packet = try? RTPPacket(parsing: raw) {
        sink &+= packet.payload.count &+ packet.csrcs.count &+ packet.extensionBytes.count &+ Int(packet.sequenceNumber)
    }
    for codec in VideoCodec.allCases {
        var depacketizer = VideoDepacketizer(codec: codec)
        depacketizer.maxNALUnitBytes = 4096
        depacketizer.maxAccessUnitBytes = 8192
        var offset = 0
        var timestamp: Int64 = 0
        while let length = raw.u16(at: offset) {
            let end = min(raw.count, offset + 2 + Int(length & 0x7FF))
            let chunk = UnsafeRawBufferPointer(rebasing: raw[(offset + 2)..<end])
            offset = end
            let emit: (AccessUnit) -> Void = { unit in sink &+= unit.nalUnits.count &+ (unit.isKeyframe ? 1 : 0) }
            if let packet = try? RTPPacket(parsing: chunk) {
                timestamp &+= Int64(packet.timestamp & 0xFFFF)
                try? depacketizer.push(payload: packet.payload, timestamp: timestamp, marker: packet.marker,
                                       lossBefore: packet.sequenceNumber & 7 == 0, emit: emit)
            } else {
                try? depacketizer.push(payload: chunk, timestamp: timestamp, marker: length & 0x8000 != 0, lossBefore: false, emit: emit)
            }
        }
        sink &+= depacketizer.frames &+ depacketizer.droppedFrames
    }
    return sink
}

func exerciseSDP(_ raw: UnsafeRawBufferPointer) -> Int {
    let text = String(decoding: raw, as: UTF8.self)
    let parsed: SessionDescription
    do {
        parsed = try SessionDescription(parsing: text)
    } catch {
        // The error names a line that exists (or line 1 of an empty text).
        if error.line < 1 || error.description.isEmpty { fatalError("SDP error without a line: \(error)") }
        return error.line
    }
    let rendered = parsed.text
    guard let again = try? SessionDescription(parsing: rendered), again == parsed, again.text == rendered else {
        fatalError("SDP round trip failed for \(text.debugDescription)")
    }
    var sink = parsed.lines.count &+ (parsed.connection?.ipAddress?.isMulticast == true ? 1 : 0)
    for (i, media) in parsed.media.enumerated() {
        sink &+= parsed.lineNumber(media: i, line: media.lines.count - 1) &+ Int(media.media.port)
        sink &+= media.rtpMaps.count &+ media.rtcpFeedback.count &+ Int(media.rtcp?.port ?? 0)
        sink &+= (media.isRTCPMultiplexed ? 1 : 0) &+ (media.direction == .sendonly ? 1 : 0) &+ (media.connectionDirection == .active ? 1 : 0)
        sink &+= media.connection?.ipAddress?.description.utf8.count ?? 0
        if let format = media.media.formats.first { sink &+= media.formatParameters(for: format)?.utf8.count ?? 0 }
    }
    return sink
}
