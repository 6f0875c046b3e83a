import CPcap
import POSIX
import Synchronization
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// Live capture of RTCP on one or more interfaces: one libpcap handle and one OS thread per
/// interface (the blocking read must not sit on the two-thread Swift pool), events handed to a
/// Sendable handler, RTCP frames optionally saved to one pcap file.
public final class LiveCapture: Sendable {
    /// Fits any UDP datagram on Ethernet-sized and loopback (64 KiB MTU) links.
    public static let snapshotLength: Int32 = 65_600
    /// Only what can carry RTCP, or an ICMP error quoting it (counted as nothing, but cheap to see).
    public static func filter(ports: [UInt16]) -> String {
        guard !ports.isEmpty else { return "udp or icmp or icmp6" }
        let list = ports.map { "port \($0)" }.joined(separator: " or ")
        return "(udp and (\(list))) or icmp or icmp6"
    }

    private struct Device: @unchecked Sendable {
        let handle: PcapHandle
        let isLoopback: Bool?
    }

    private let devices: [Device]
    private let ports: Set<UInt16>
    /// Guarded by `writerLock`: capture threads append to it, `stop()` closes it.
    private nonisolated(unsafe) var writer: CaptureWriter?
    private let writerLock = Mutex(())
    private let threads = Mutex<[pthread_t]>([])
    private let stopping = Atomic<Bool>(false)
    private let frames = Atomic<Int>(0)
    private let rtcp = Atomic<Int>(0)
    private let firstFailure = Mutex<PcapError?>(nil)
    public let coverage: CaptureCoverage
    public let interfaces: [String]

    /// Opens every interface (`any` for all), sets the filter, and opens `writePath` when given.
    public init(interfaces: [String], ports: [UInt16] = [], writePath: String? = nil) throws(PcapError) {
        let names = interfaces.isEmpty ? ["any"] : interfaces
        var devices: [Device] = []
        let filter = Self.filter(ports: ports)
        for name in names {
            let handle = try PcapHandle.openLive(device: name, snapshotLength: Self.snapshotLength, bufferBytes: 4 << 20, timeoutMilliseconds: 100)
            try handle.setFilter(filter)
            let loopback: Bool? = name == "any" ? nil : (PcapHandle.isLoopbackInterface(name) ?? (name == "lo"))
            devices.append(Device(handle: handle, isLoopback: loopback))
        }
        var coverage = CaptureCoverage(loopback: false, network: false)
        for device in devices {
            switch device.isLoopback {
            case nil: coverage = .everything
            case true?: coverage.loopback = true
            case false?: coverage.network = true
            }
        }
        var writer: CaptureWriter?
        if let writePath {
            let types = Set(devices.map(\.handle.linkType))
            guard types.count == 1, let type = types.first else {
                throw PcapError(.usage, "these interfaces have different link types (\(types.sorted().map { LinkType(rawValue: UInt32($0)).description }.joined(separator: ", "))) and one pcap file holds one: capture on `any` to save them together", input: names.joined(separator: ","))
            }
            writer = try CaptureWriter(path: writePath, linkType: type)
        }
        self.devices = devices
        self.ports = Set(ports)
        self.writer = writer
        self.coverage = coverage
        self.interfaces = names
    }

    /// Starts one capture thread per interface; `handler` is called on those threads.
    public func start(_ handler: @escaping @Sendable (CaptureEvent) -> Void) {
        for device in devices {
            let thread = startThread { [self] in self.run(device, handler) }
            threads.withLock { $0.append(thread) }
        }
    }

    private func run(_ device: Device, _ handler: @Sendable (CaptureEvent) -> Void) {
        let handle = device.handle
        var classifier = PacketClassifier(
            linkType: LinkType(rawValue: UInt32(bitPattern: handle.linkType)), device: handle.input,
            deviceIsLoopback: device.isLoopback, ports: ports)
        let nano = handle.nanosecondTimestamps
        while !stopping.load(ordering: .relaxed) {
            let next: PcapHandle.Next
            do { next = try handle.next() } catch {
                firstFailure.withLock { if $0 == nil { $0 = error } }
                return
            }
            guard case .packet(let header, let data) = next else {
                if case .end = next { return }
                continue
            }
            frames.add(1, ordering: .relaxed)
            let caplen = Int(header.pointee.caplen)
            guard caplen > 0 else { continue }
            let frame = UnsafeRawBufferPointer(start: data, count: caplen)
            let time = header.pointee.nanoseconds(precisionIsNano: nano)
            _ = classifier.classify(frame, time: time) { event in
                if case .rtcp = event {
                    rtcp.add(1, ordering: .relaxed)
                    writerLock.withLock { _ in writer?.write(time: time, bytes: frame, originalLength: Int(header.pointee.len)) }
                }
                handler(event)
            }
        }
    }

    /// Counts so far.
    public var statistics: CaptureStatistics {
        var statistics = CaptureStatistics()
        statistics.frames = frames.load(ordering: .relaxed)
        statistics.rtcpDatagrams = rtcp.load(ordering: .relaxed)
        for device in devices {
            let type = LinkType(rawValue: UInt32(bitPattern: device.handle.linkType))
            if !statistics.linkTypes.contains(type) { statistics.linkTypes.append(type) }
            if device.isLoopback == nil && !PacketClassifier.linkTellsInterface(type) { statistics.interfaceKnown = false }
        }
        for device in devices {
            var stats = pcap_stat()
            if pcap_stats(device.handle.pointer, &stats) == 0 { statistics.dropped += Int(stats.ps_drop) }
        }
        return statistics
    }

    /// A read error that ended a capture thread, if any.
    public var failure: PcapError? { firstFailure.withLock { $0 } }

    /// Stops every capture thread, waits for them, and closes the export file. Safe to call twice.
    public func stop() {
        stopping.store(true, ordering: .relaxed)
        for device in devices { device.handle.breakLoop() }
        let started = threads.withLock { list in
            let copy = list
            list.removeAll()
            return copy
        }
        for thread in started { joinThread(thread) }
        writerLock.withLock { _ in
            writer?.flush()
            writer = nil
        }
    }

    deinit { stop() }
}
