import Synchronization
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// Runs one loopback-trap diagnosis end to end: capture (live or from a file), analyse, report.
public enum TrapDiagnosis {
    /// What to diagnose and where to look.
    public struct Request: Sendable {
        public var camera: IPAddress
        /// Interfaces for live capture; empty means `any`.
        public var interfaces: [String] = []
        public var duration: Duration = .seconds(15)
        /// A pcap or pcapng file to read instead of capturing.
        public var readPath: String?
        /// Where to save the RTCP datagrams seen, as pcap.
        public var writePath: String?
        public var ports: [UInt16] = []
        /// Polled during a live capture; returning true ends it early (Ctrl-C) with a report of what was seen.
        public var shouldStop: @Sendable () -> Bool = { false }

        public init(camera: IPAddress) { self.camera = camera }
    }

    /// Reads `request.readPath`, or captures live for `request.duration`; `progress` is called
    /// about every 250 ms of a live capture with the time elapsed and the counts so far.
    public static func run(_ request: Request, progress: (@Sendable (Duration, CaptureStatistics, [FeedbackRoute: RTCPKindCounts]) -> Void)? = nil) throws(PcapError) -> RTCPDiagnosis {
        if let path = request.readPath {
            var analyser = TrapAnalyser(camera: request.camera, coverage: .everything)
            let statistics = try OfflineCapture.read(path: path, ports: request.ports, writePath: request.writePath) { analyser.add($0) }
            var diagnosis = analyser.diagnosis()
            diagnosis.source = "file \(path)"
            diagnosis.statistics = statistics
            return diagnosis
        }
        let capture = try LiveCapture(interfaces: request.interfaces, ports: request.ports, writePath: request.writePath)
        let analyser = Mutex(TrapAnalyser(camera: request.camera, coverage: capture.coverage))
        let started = ContinuousClock.now
        capture.start { event in analyser.withLock { $0.add(event) } }
        let deadline = started.advanced(by: request.duration)
        while ContinuousClock.now < deadline, capture.failure == nil, !request.shouldStop() {
            let left = deadline - ContinuousClock.now
            let step = min(left, .milliseconds(250))
            if step > .zero { usleep(UInt32(step.components.attoseconds / 1_000_000_000_000 + step.components.seconds * 1_000_000)) }
            if let progress {
                let counts = analyser.withLock { $0.counts }
                progress(ContinuousClock.now - started, capture.statistics, counts)
            }
        }
        capture.stop()
        if let failure = capture.failure { throw failure }
        var diagnosis = analyser.withLock { $0.diagnosis(localAddress: LocalRoute.sourceAddress(toward: request.camera)) }
        let elapsed = ContinuousClock.now - started
        diagnosis.source = "live on \(capture.interfaces.joined(separator: ", ")) for \(RTCPDiagnosis.number(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)) s"
        diagnosis.statistics = capture.statistics
        return diagnosis
    }
}
