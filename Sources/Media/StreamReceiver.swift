import POSIX
import Synchronization
import Wire

/// One camera's stream received by camhost itself: RTP in on its own UDP socket pair, put back in
/// order, depacketized into pictures for the sinks; RTCP feedback (receiver reports, REMB, and the
/// NACK/PLI/FIR the camera honours) back to the address the camera's packets came from, so the
/// loopback trap cannot happen. The loop runs on its own thread (never on the concurrency pool).
public final class StreamReceiver: @unchecked Sendable {
    public let configuration: StreamConfiguration
    private let rtpSocket: UDPSocket
    private let rtcpSocket: UDPSocket?
    private let sinks: [any AccessUnitSink]
    private let stopRequested = Atomic<Bool>(false)
    private let keyframeWanted = Atomic<Bool>(false)
    private let published: Mutex<StreamReport>
    private var thread: ThreadHandle?

    // Loop state: touched only by the loop thread (and by `stop()` after joining it).
    private var report: StreamReport
    private var buffer: ReorderBuffer
    private var statistics: ReceptionStatistics
    private var estimate: LossBasedEstimate
    private var depacketizer: VideoDepacketizer
    private var writer = RTCPWriter()
    private let ourSSRC: UInt32
    private let cname: String
    private var ssrc: UInt32?
    private var rtpSource: UDPAddress?
    private var cameraRTCPSource: UDPAddress?
    private var candidate: (ssrc: UInt32, count: Int, stash: [[UInt8]])? = nil
    private var timestampBase: Int64 = 0
    private var timestampHighest: Int64? = nil
    private var lastOutputTimestamp: Int64? = nil
    private var lastPacketAt: ContinuousClock.Instant? = nil
    private var lossBefore = false
    private var nextReport: ContinuousClock.Instant? = nil
    private var lastKeyframeRequest: ContinuousClock.Instant? = nil
    private var firSequence: UInt8 = 0
    private var firstPacketAt: ContinuousClock.Instant? = nil
    private var lastSenderReport: (middle: UInt32, arrival: ContinuousClock.Instant)? = nil
    private var intervalBytes = 0
    private var intervalStart = ContinuousClock.now
    private var lostBeforeSource = 0
    private var nackList: [UInt16] = []
    private var nackEntries: [RTCPNACKEntry] = []
    /// One datagram as read from a socket: larger than any UDP payload, allocated once.
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 8)
    private var emitted: [AccessUnit] = []
    private var lastFraction: UInt8 = 0
    private var lateStreak = 0
    /// The last RTP packet read did not carry the marker bit: its picture's other packets follow.
    private var pictureOpen = false

    deinit { scratch.deallocate() }

    /// Binds the stream's sockets (the caller sees a port in use at once) without receiving yet.
    public init(_ configuration: StreamConfiguration, sinks: [any AccessUnitSink] = []) throws(StreamError) {
        if !configuration.allowsLocalSource { try StreamError.checkDestination(configuration.source) }
        self.configuration = configuration
        self.sinks = sinks
        let any: UDPAddress.Host = configuration.source.isIPv4 ? .v4(0) : .v6(high: 0, low: 0)
        func bind(_ port: UInt16) throws(StreamError) -> UDPSocket {
            do {
                return try UDPSocket(bindingTo: UDPAddress(host: any, port: port), receiveBufferBytes: 1 << 20)
            } catch {
                throw error.isAddressInUse ? .portInUse(port, error) : .socket(error)
            }
        }
        rtpSocket = try bind(configuration.port)
        if configuration.rtcpMux {
            rtcpSocket = nil
        } else {
            guard configuration.port < UInt16.max else {
                throw .socket(SocketError(errno: .invalidArgument, operation: "bind", address: "port \(configuration.port) + 1 for RTCP"))
            }
            rtcpSocket = try bind(configuration.port + 1)
        }
        report = StreamReport(camera: configuration.camera)
        published = Mutex(report)
        buffer = ReorderBuffer(capacity: 256, maxWait: configuration.reorderWait)
        statistics = ReceptionStatistics(clockRate: configuration.clockRate)
        estimate = LossBasedEstimate(maximum: configuration.maxBitrate)
        depacketizer = VideoDepacketizer(codec: configuration.codec, parameterSets: configuration.parameterSets)
        var random = SystemRandomNumberGenerator()
        ourSSRC = random.next()
        cname = "camhost-" + String(ourSSRC, radix: 16)
    }

    /// The local RTP port (the configured one, or the kernel's choice for port 0).
    public var rtpPort: UInt16 { rtpSocket.localAddress.port }

    /// Starts receiving on a thread of its own.
    public func start() {
        precondition(thread == nil, "a stream starts once")
        thread = startThread { [self] in run() }
    }

    /// Stops the loop, hands on what the reorder buffer still holds, and returns the final report.
    @discardableResult
    public func stop() -> StreamReport {
        stopRequested.store(true, ordering: .relaxed)
        if let thread { joinThread(thread) }
        thread = nil
        return published.withLock { $0 }
    }

    /// The counters as of the last report interval (or the end).
    public var snapshot: StreamReport { published.withLock { $0 } }

    /// Asks the camera for a keyframe (a new segment, a new viewer), when its firmware honours PLI or FIR.
    public func requestKeyframe() { keyframeWanted.store(true, ordering: .relaxed) }

    // MARK: The loop

    private func run() {
        var poller = ReadinessPoller(descriptors: [rtpSocket.descriptor] + (rtcpSocket.map { [$0.descriptor] } ?? []))
        while !stopRequested.load(ordering: .relaxed) {
            let now = ContinuousClock.now
            var wait = Self.longestWait
            if let deadline = buffer.deadline { wait = min(wait, max(.zero, now.duration(to: deadline))) }
            if let nextReport { wait = min(wait, max(.zero, now.duration(to: nextReport))) }
            let (seconds, attoseconds) = wait.components
            do {
                try poller.wait(milliseconds: Int32(seconds * 1000 + attoseconds / 1_000_000_000_000_000) + 1)
                if poller.isReadable(0) {
                    try drain(rtpSocket, isRTCPSocket: false)
                    // A camera sends a picture's packets back to back: when the last one read did
                    // not end its picture, the rest is on its way. Taking them in one round after
                    // a millisecond instead of one wake-up per packet cuts the loop's CPU (thread
                    // switches were most of it) and delays the picture by at most that millisecond.
                    if pictureOpen && !stopRequested.load(ordering: .relaxed) {
                        POSIX.Clock.sleep(milliseconds: 1)
                        try drain(rtpSocket, isRTCPSocket: false)
                    }
                }
                if let rtcpSocket, poller.isReadable(1) { try drain(rtcpSocket, isRTCPSocket: true) }
            } catch {
                // A failing poll or read ends nothing: the next round tries again.
            }
            let after = ContinuousClock.now
            buffer.release(now: after) { bytes, lost in deliver(bytes, lost: lost) }
            sendFeedback(now: after)
        }
        buffer.release(now: .now, flushing: true) { bytes, lost in deliver(bytes, lost: lost) }
        finishReport()
        published.withLock { $0 = report }
    }

    /// The longest the loop sleeps without a packet or a deadline: how long `stop()` may take.
    static let longestWait = Duration.milliseconds(200)

    /// Reads every waiting datagram of one socket.
    private func drain(_ socket: UDPSocket, isRTCPSocket: Bool) throws(SocketError) {
        for _ in 0..<256 {
            guard let (length, from) = try socket.receive(into: scratch) else { return }
            guard IPAddress(from.host) == configuration.source else {
                report.foreignPackets += 1
                continue
            }
            guard length <= scratch.count else {
                report.malformed += 1  // cut by the buffer: larger than any UDP payload over IPv4
                continue
            }
            let datagram = UnsafeRawBufferPointer(rebasing: scratch[0..<length])
            if isRTCPSocket || (configuration.rtcpMux && RTCPCompoundPacket.isLikelyRTCP(datagram)) {
                receiveRTCP(datagram, from: from)
            } else {
                receiveRTP(datagram, from: from)
            }
        }
    }

    private func receiveRTCP(_ datagram: UnsafeRawBufferPointer, from: UDPAddress) {
        guard let compound = try? RTCPCompoundPacket(validating: datagram) else {
            report.malformed += 1
            return
        }
        report.rtcpReceived += 1
        if !configuration.rtcpMux { cameraRTCPSource = from }
        for packet in compound {
            if case .senderReport(let sr) = packet.message, sr.senderSSRC == ssrc {
                // RFC 3550 section 6.4.1: LSR is the middle 32 bits of the SR's NTP timestamp.
                lastSenderReport = (UInt32(truncatingIfNeeded: sr.ntpTimestamp >> 16), .now)
            }
        }
    }

    private func receiveRTP(_ datagram: UnsafeRawBufferPointer, from: UDPAddress) {
        guard let packet = try? RTPPacket(parsing: datagram) else {
            report.malformed += 1
            return
        }
        let now = ContinuousClock.now
        if ssrc != packet.ssrc {
            guard adoptSource(packet, datagram: datagram, from: from, now: now) else { return }
        }
        rtpSource = from
        pictureOpen = !packet.marker
        placeRTP(packet, datagram: datagram, now: now)
    }

    /// A packet from a source other than the current one: the first source, or a camera that
    /// restarted with a new SSRC. RFC 3550 appendix A.1 waits for two packets in sequence before
    /// believing a new source; its first packets are kept and replayed.
    private func adoptSource(_ packet: RTPPacket, datagram: UnsafeRawBufferPointer, from: UDPAddress, now: ContinuousClock.Instant) -> Bool {
        if ssrc != nil {
            if candidate?.ssrc == packet.ssrc, let c = candidate, c.count < 8 {
                candidate = (c.ssrc, c.count + 1, c.stash + [Array(datagram)])
            } else {
                candidate = (packet.ssrc, 1, [Array(datagram)])
            }
            guard let c = candidate, c.count >= 2 else { return false }
            // The old source's held packets go first; its losses stay counted.
            buffer.release(now: now, flushing: true) { bytes, lost in deliver(bytes, lost: lost) }
            lostBeforeSource += Int(statistics.lost)
            report.ssrcChanges += 1
            candidate = nil
            switchSource(to: packet.ssrc, now: now)
            for stashed in c.stash.dropLast() {
                stashed.withUnsafeBytes { raw in
                    if let earlier = try? RTPPacket(parsing: raw) { placeRTP(earlier, datagram: raw, now: now) }
                }
            }
            return true
        }
        switchSource(to: packet.ssrc, now: now)
        return true
    }

    private func switchSource(to newSSRC: UInt32, now: ContinuousClock.Instant) {
        ssrc = newSSRC
        buffer.reset()
        statistics = ReceptionStatistics(clockRate: configuration.clockRate)
        depacketizer.reset()
        timestampHighest = nil
        lastSenderReport = nil
        // Pictures keep one timeline across a restart: the new source's first picture follows the
        // last one by the wall-clock time that passed (so a recording series stays in order).
        if let last = lastOutputTimestamp, let lastPacketAt {
            let (seconds, attoseconds) = lastPacketAt.duration(to: now).components
            let gap = seconds * Int64(configuration.clockRate) + attoseconds / (1_000_000_000_000_000_000 / Int64(configuration.clockRate))
            timestampBase = last + max(1, gap)
        }
    }

    private func placeRTP(_ packet: RTPPacket, datagram: UnsafeRawBufferPointer, now: ContinuousClock.Instant) {
        if firstPacketAt == nil {
            firstPacketAt = now
            nextReport = now  // the first report goes out at once: the camera hears us from the start
        }
        lastPacketAt = now
        let sequence = buffer.extend(packet.sequenceNumber)
        if buffer.isBeyondWindow(sequence) {
            // A jump the window cannot bridge: what is held goes, and the stream resumes there.
            buffer.release(now: now, flushing: true) { bytes, lost in deliver(bytes, lost: lost) }
            lostBeforeSource += Int(statistics.lost)
            statistics = ReceptionStatistics(clockRate: configuration.clockRate)
            buffer.reset()
            lossBefore = true
        }
        let resolved = buffer.extend(packet.sequenceNumber)
        let highestBefore = buffer.highest
        switch buffer.insert(datagram, sequence: resolved, arrival: now) {
        case .deliverNow:
            count(packet, sequence: resolved, arrival: now, highestBefore: highestBefore)
            process(packet)
        case .held(let missing):
            count(packet, sequence: resolved, arrival: now, highestBefore: highestBefore)
            if configuration.feedback.contains(.nack) {
                for lost in missing.prefix(64) { nackList.append(UInt16(truncatingIfNeeded: lost)) }
            }
        case .late, .duplicate:
            report.late += 1
            lateStreak += 1
            // RFC 3550 appendix A.1: a source that went back for good (a restart keeping its
            // SSRC) is followed there once its packets keep coming.
            if lateStreak >= 16 {
                lateStreak = 0
                buffer.release(now: now, flushing: true) { bytes, lost in deliver(bytes, lost: lost) }
                lostBeforeSource += Int(statistics.lost)
                switchSource(to: packet.ssrc, now: now)
            }
            return
        }
        lateStreak = 0
    }

    private func count(_ packet: RTPPacket, sequence: Int64, arrival: ContinuousClock.Instant, highestBefore: Int64) {
        if statistics.baseSequence != nil && sequence < highestBefore { report.reordered += 1 }
        statistics.record(sequence: sequence, timestamp: packet.timestamp, arrival: arrival)
        report.packets += 1
        report.bytes += packet.bytes.count
        intervalBytes += packet.bytes.count
    }

    /// A packet handed on in order by the reorder buffer.
    private func deliver(_ bytes: UnsafeRawBufferPointer, lost: Int) {
        guard let packet = try? RTPPacket(parsing: bytes) else { return }
        if lost > 0 { lossBefore = true }
        process(packet)
    }

    private func process(_ packet: RTPPacket) {
        let timestamp = extendTimestamp(packet.timestamp)
        let loss = lossBefore
        lossBefore = false
        do throws(VideoPayloadError) {
            try depacketizer.push(payload: packet.payload, timestamp: timestamp, marker: packet.marker, lossBefore: loss) { unit in
                emitted.append(unit)
            }
        } catch {
            report.malformed += 1
        }
        guard !emitted.isEmpty else { return }
        if let sets = depacketizer.parameterSets {
            for unit in emitted {
                lastOutputTimestamp = unit.timestamp
                for sink in sinks { sink.receive(unit, parameterSets: sets) }
            }
        }
        emitted.removeAll(keepingCapacity: true)
    }

    /// RTP timestamps wrap at 2^32: extend them (RFC 3550 section 5.1) onto this stream's timeline.
    private func extendTimestamp(_ timestamp: UInt32) -> Int64 {
        guard let highest = timestampHighest else {
            timestampHighest = Int64(timestamp)
            timestampBase -= Int64(timestamp)
            return timestampBase + Int64(timestamp)
        }
        let delta = Int32(bitPattern: timestamp &- UInt32(truncatingIfNeeded: highest))
        let extended = highest + Int64(delta)
        timestampHighest = max(highest, extended)
        return timestampBase + extended
    }

    // MARK: Feedback

    /// Where feedback goes: the camera's address as seen on its packets, at its RTCP port.
    private var destination: UDPAddress? {
        let host = configuration.source.udpHost
        if let port = configuration.cameraRTCPPort { return UDPAddress(host: host, port: port) }
        if configuration.rtcpMux { return rtpSource }
        if let cameraRTCPSource { return cameraRTCPSource }
        if let rtpSource, rtpSource.port < UInt16.max { return UDPAddress(host: host, port: rtpSource.port + 1) }
        return nil
    }

    private func sendFeedback(now: ContinuousClock.Instant) {
        guard let destination, let ssrc else { return }
        let needsKeyframe = keyframeWanted.exchange(false, ordering: .relaxed)
            || depacketizer.needsKeyframe && (firstPacketAt.map { $0.duration(to: now) > .milliseconds(500) } ?? false)
        let keyframeKinds = configuration.feedback.intersection([.pli, .fir])
        let askKeyframe = needsKeyframe && !keyframeKinds.isEmpty
            && (lastKeyframeRequest.map { $0.duration(to: now) >= .seconds(1) } ?? true)
        let reportDue = nextReport.map { now >= $0 } ?? false
        guard reportDue || askKeyframe || !nackList.isEmpty else { return }

        writer.reset()
        // The fraction lost covers one report interval; NACK and PLI datagrams in between repeat it.
        if reportDue { lastFraction = statistics.takeFractionLost() }
        let fraction = lastFraction
        if reportDue {
            estimate.update(fractionLost: fraction)
            finishInterval(now: now)
            nextReport = now.advanced(by: configuration.reportInterval)
        }
        writer.receiverReport(ssrc: ourSSRC, block: reportBlock(ssrc: ssrc, fractionLost: fraction, now: now))
        try? writer.sourceDescription(ssrc: ourSSRC, cname: cname)
        if reportDue {
            writer.receiverEstimatedMaximumBitrate(senderSSRC: ourSSRC, bitrate: estimate.bitrate, ssrc: ssrc)
            report.rembBitrate = estimate.bitrate
        }
        if !nackList.isEmpty {
            nackEntries.removeAll(keepingCapacity: true)
            RTCPNACKEntry.entries(lost: nackList, into: &nackEntries)
            nackList.removeAll(keepingCapacity: true)
            if (try? writer.nack(senderSSRC: ourSSRC, mediaSSRC: ssrc, entries: nackEntries)) != nil { report.nacksSent += 1 }
        }
        if askKeyframe {
            if keyframeKinds.contains(.pli) { writer.pictureLossIndication(senderSSRC: ourSSRC, mediaSSRC: ssrc) }
            if keyframeKinds.contains(.fir) {
                firSequence &+= 1
                writer.fullIntraRequest(senderSSRC: ourSSRC, mediaSSRC: ssrc, sequenceNumber: firSequence)
            }
            lastKeyframeRequest = now
            report.keyframeRequests += 1
        }
        let sendingSocket = rtcpSocket ?? rtpSocket
        let sent = writer.bytes.withUnsafeBytes { raw in Result { () throws(SocketError) in try sendingSocket.send(raw, to: destination) } }
        if case .success = sent {
            report.rtcpSent += 1
            report.rtcpTo = destination.text
        }
        // Otherwise unreachable right now (no route, ICMP): the next report tries again.
    }

    /// The report block (RFC 3550 section 6.4.1) on the camera's stream. Note: the fraction is
    /// taken once per datagram, so an extra NACK/PLI datagram starts a new interval.
    private func reportBlock(ssrc: UInt32, fractionLost: UInt8, now: ContinuousClock.Instant) -> RTCPReportBlock {
        var lsr: UInt32 = 0, dlsr: UInt32 = 0
        if let sr = lastSenderReport {
            lsr = sr.middle
            let (seconds, attoseconds) = sr.arrival.duration(to: now).components
            dlsr = UInt32(clamping: seconds * 65536 + attoseconds / (1_000_000_000_000_000_000 / 65536))
        }
        return RTCPReportBlock(
            ssrc: ssrc, fractionLost: fractionLost, cumulativePacketsLost: Int32(clamping: statistics.lost),
            extendedHighestSequenceNumber: UInt32(truncatingIfNeeded: statistics.highestSequence),
            interarrivalJitter: statistics.jitter, lastSenderReport: lsr, delaySinceLastSenderReport: dlsr)
    }

    private func finishInterval(now: ContinuousClock.Instant) {
        let elapsed = intervalStart.duration(to: now)
        let (seconds, attoseconds) = elapsed.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        if milliseconds > 0 { report.bitrate = UInt64(intervalBytes) * 8000 / UInt64(milliseconds) }
        intervalBytes = 0
        intervalStart = now
        finishReport()
        published.withLock { $0 = report }
    }

    private func finishReport() {
        report.lost = lostBeforeSource + Int(statistics.lost)
        report.frames = depacketizer.frames  // its counters survive its resets
        report.keyframes = depacketizer.keyframes
        report.droppedFrames = depacketizer.droppedFrames
        report.jitterMilliseconds = Double(statistics.jitter) * 1000 / Double(configuration.clockRate)
        if let rtpSource { report.source = rtpSource.text }
    }
}
