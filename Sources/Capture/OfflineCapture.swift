import CPcap
import Wire

/// Reading a pcap or pcapng file through libpcap, on the calling thread.
public enum OfflineCapture {
    /// Reads every packet of `path`, calling `handler` with each event; RTCP frames are saved to
    /// `writePath` when given. Throws `.open` (unreadable, wrong magic), `.read` (truncated, damaged)
    /// or `.malformed` (a record with zero captured bytes).
    @discardableResult
    public static func read(path: String, ports: [UInt16] = [], writePath: String? = nil,
                            _ handler: (CaptureEvent) -> Void) throws(PcapError) -> CaptureStatistics {
        let handle = try PcapHandle.openOffline(path: path)
        let linkType = LinkType(rawValue: UInt32(bitPattern: handle.linkType))
        let writer = try writePath.map { path throws(PcapError) in try CaptureWriter(path: path, linkType: handle.linkType) }
        var classifier = PacketClassifier(linkType: linkType, device: nil, deviceIsLoopback: nil, ports: Set(ports))
        var statistics = CaptureStatistics()
        statistics.linkTypes = [linkType]
        statistics.interfaceKnown = classifier.linkTellsInterface
        let nano = handle.nanosecondTimestamps
        while true {
            guard case .packet(let header, let data) = try handle.next() else { break }
            statistics.frames += 1
            let caplen = Int(header.pointee.caplen)
            guard caplen > 0 else {
                throw PcapError(.malformed, "packet \(statistics.frames) has zero captured bytes: the file is damaged (a record header without data)", input: path)
            }
            let frame = UnsafeRawBufferPointer(start: data, count: caplen)
            let time = header.pointee.nanoseconds(precisionIsNano: nano)
            guard let event = classifier.classify(frame, time: time) else { continue }
            if case .rtcp = event {
                statistics.rtcpDatagrams += 1
                writer?.write(time: time, bytes: frame, originalLength: Int(header.pointee.len))
            }
            handler(event)
        }
        writer?.flush()
        return statistics
    }

    /// The link type the file announces (RAW shows as 12 on Linux).
    public static func linkType(path: String) throws(PcapError) -> LinkType {
        LinkType(rawValue: UInt32(bitPattern: try PcapHandle.openOffline(path: path).linkType))
    }
}
