import Wire

/// Accumulates capture events for one camera and decides whether its RTCP feedback reaches it
/// or falls into the loopback trap. Pure Swift; memory is bounded whatever the capture's size.
public struct TrapAnalyser: Sendable {
    public let camera: IPAddress
    public var coverage: CaptureCoverage

    /// One direction of RTCP between two endpoints, as evidence.
    public struct Flow: Sendable {
        public var route: FeedbackRoute
        public var source: Endpoint
        public var destination: Endpoint
        public var interface: String?
        public var counts = RTCPKindCounts()
        /// Referenced media SSRCs (first few).
        public var referencedSSRCs: [UInt32] = []
        public var firstTime: Int64
        public var lastTime: Int64
    }

    struct FlowKey: Hashable, Sendable {
        var route: FeedbackRoute
        var source: Endpoint
        var destination: Endpoint
        var interface: String?
    }

    /// The largest gap between consecutive datagrams of one route, and the REMB estimates seen.
    public struct Cadence: Sendable {
        public var datagrams = 0
        public var firstTime: Int64 = 0
        public var lastTime: Int64 = 0
        public var largestGap: Int64 = 0
        public var rembCount = 0
        public var rembMinimum: UInt64 = .max
        public var rembMaximum: UInt64 = 0
        public var rembLast: UInt64 = 0

        mutating func add(time: Int64, rembs: [UInt64]) {
            if datagrams == 0 {
                firstTime = time
                lastTime = time
            } else if time > lastTime {
                largestGap = max(largestGap, time - lastTime)
                lastTime = time
            }
            datagrams += 1
            for bitrate in rembs {
                rembCount += 1
                rembMinimum = min(rembMinimum, bitrate)
                rembMaximum = max(rembMaximum, bitrate)
                rembLast = bitrate
            }
        }
    }

    static let flowLimit = 64
    static let ssrcLimit = 256

    public private(set) var counts: [FeedbackRoute: RTCPKindCounts] = [:]
    public private(set) var cadence: [FeedbackRoute: Cadence] = [:]
    /// SSRCs the camera sends with (its RTCP senders and its RTP sources).
    public private(set) var cameraSSRCs: [UInt32] = []
    /// Where the camera sends its RTP, by datagram count of first sightings: the host address it reaches.
    public private(set) var cameraMediaDestinations: [Endpoint] = []
    private var flows: [FlowKey: Flow] = [:]
    private var flowOrder: [FlowKey] = []
    public private(set) var flowsDropped = 0
    public private(set) var firstTime: Int64?
    public private(set) var lastTime: Int64?

    public init(camera: IPAddress, coverage: CaptureCoverage = .everything) {
        self.camera = camera
        self.coverage = coverage
    }

    public mutating func add(_ event: CaptureEvent) {
        switch event {
        case .mediaSource(let media):
            if media.source.address == camera, cameraSSRCs.count < Self.ssrcLimit, !cameraSSRCs.contains(media.ssrc) {
                cameraSSRCs.append(media.ssrc)
            }
        case .rtcp(let observation):
            add(observation)
        }
    }

    /// Records where the camera's RTP goes (from the classifier's first sighting of each source is not enough:
    /// the destination is in the RTCP from the camera, or given by the caller from a route lookup).
    public mutating func noteCameraMediaDestination(_ endpoint: Endpoint) {
        if !cameraMediaDestinations.contains(endpoint), cameraMediaDestinations.count < 8 { cameraMediaDestinations.append(endpoint) }
    }

    public mutating func add(_ observation: RTCPObservation) {
        if firstTime == nil { firstTime = observation.time }
        firstTime = min(firstTime!, observation.time)
        lastTime = max(lastTime ?? observation.time, observation.time)
        let route = FeedbackRoute.of(observation, camera: camera)
        counts[route, default: RTCPKindCounts()].add(observation.counts)
        cadence[route, default: Cadence()].add(time: observation.time, rembs: observation.rembBitrates)
        if route == .fromCamera {
            for ssrc in observation.senderSSRCs where cameraSSRCs.count < Self.ssrcLimit && !cameraSSRCs.contains(ssrc) {
                cameraSSRCs.append(ssrc)
            }
            if !observation.destination.address.isLoopback { noteCameraMediaDestination(observation.destination) }
        }
        let key = FlowKey(route: route, source: observation.source, destination: observation.destination, interface: observation.interface)
        if flows[key] == nil {
            guard flows.count < Self.flowLimit else {
                flowsDropped += 1
                return
            }
            flows[key] = Flow(route: route, source: observation.source, destination: observation.destination,
                              interface: observation.interface, firstTime: observation.time, lastTime: observation.time)
            flowOrder.append(key)
        }
        flows[key]!.counts.add(observation.counts)
        flows[key]!.lastTime = max(flows[key]!.lastTime, observation.time)
        for ssrc in observation.referencedSSRCs where flows[key]!.referencedSSRCs.count < 16 && !flows[key]!.referencedSSRCs.contains(ssrc) {
            flows[key]!.referencedSSRCs.append(ssrc)
        }
    }

    /// Whether a loopback flow is about this camera's stream (issue 3's rule: its SSRC referenced;
    /// when no SSRC of the camera is known, any loopback RTCP counts).
    func refersToCamera(_ flow: Flow) -> Bool {
        cameraSSRCs.isEmpty || flow.referencedSSRCs.contains(where: cameraSSRCs.contains)
    }

    /// The verdict with its evidence. `localAddress` is this host's address toward the camera
    /// (from a route lookup), used for the fix when the capture does not show it.
    public func diagnosis(localAddress: IPAddress? = nil) -> RTCPDiagnosis {
        let allFlows = flowOrder.compactMap { flows[$0] }
        let toCamera = counts[.toCamera]?.datagrams ?? 0
        let trapFlows = allFlows.filter { $0.route == .onLoopback && refersToCamera($0) }
        var verdict: Verdict
        var notes: [String] = []
        if toCamera > 0 {
            verdict = .healthy
        } else if !trapFlows.isEmpty {
            verdict = .trap
        } else {
            verdict = .noRTCP
            if !coverage.loopback {
                verdict = .indeterminate
                notes.append("no loopback interface was captured, so feedback misrouted over lo could not be seen; capture on `any` (or add --interface lo)")
            } else if !coverage.network {
                verdict = .indeterminate
                notes.append("only loopback was captured, so feedback that does reach the camera could not be seen; capture on `any` (or add the interface that routes to the camera)")
            }
        }
        let loopbackOthers = allFlows.filter { $0.route == .onLoopback && !refersToCamera($0) }
        if verdict != .trap && !loopbackOthers.isEmpty {
            notes.append("RTCP on loopback refers to SSRCs other than the camera's (\(Self.hex(cameraSSRCs))): another stream's feedback, not counted against this camera")
        }
        if flowsDropped > 0 { notes.append("\(flowsDropped) datagrams belonged to flows beyond the first \(Self.flowLimit); they are counted but not listed") }

        // Evidence: the flows that decide the verdict first.
        func rank(_ flow: Flow) -> Int {
            switch flow.route {
            case .onLoopback: refersToCamera(flow) ? 0 : 3
            case .toCamera: 1
            case .fromCamera: 2
            case .other: 4
            }
        }
        let evidence = allFlows.enumerated().sorted { (rank($0.element), $0.offset) < (rank($1.element), $1.offset) }.map(\.element)
            .prefix(12).map { flow in
                RTCPDiagnosis.Evidence(
                    route: flow.route, source: flow.source, destination: flow.destination, interface: flow.interface,
                    counts: flow.counts, referencedSSRCs: flow.referencedSSRCs,
                    refersToCamera: flow.route == .onLoopback ? refersToCamera(flow) : nil,
                    firstSeconds: Self.seconds(flow.firstTime - (firstTime ?? flow.firstTime)),
                    lastSeconds: Self.seconds(flow.lastTime - (firstTime ?? flow.firstTime)))
            }
        let fixAddress = cameraMediaDestinations.first { !$0.address.isLoopback && !$0.address.isUnspecified }?.address ?? localAddress
        return RTCPDiagnosis(
            verdict: verdict, camera: camera, counts: counts, cadence: cadence, cameraSSRCs: cameraSSRCs,
            evidence: Array(evidence), trapDestinations: Array(Set(trapFlows.map(\.destination))).sorted { $0.description < $1.description },
            hostAddress: fixAddress, notes: notes,
            spanSeconds: Self.seconds((lastTime ?? 0) - (firstTime ?? 0)))
    }

    static func seconds(_ nanoseconds: Int64) -> Double { Double(nanoseconds) / 1e9 }
    static func hex(_ ssrcs: [UInt32]) -> String {
        ssrcs.isEmpty ? "none seen" : ssrcs.prefix(8).map { RTCPDiagnosis.hex($0) }.joined(separator: ", ")
    }
}
