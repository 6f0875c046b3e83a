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
        let classifier = PacketClassifier(linkType: linkType, device: nil, deviceIsLoopback: nil, ports: Set(ports))
        var statistics = CaptureStatistics()
        statistics.linkTypes = [linkType]
        statistics.interfaceKnown = classifier.linkTellsInterface
        let nano = handle.nanosecondTimestamps
        let (frames, rtcpDatagrams, damaged) = try withoutActuallyEscaping(handler) { handler throws(PcapError) in
            var reader = Reader(classifier: classifier, writer: writer, nano: nano, handler: handler)
            try handle.forEachPacket(&reader)
            return (reader.frames, reader.rtcpDatagrams, reader.damaged)
        }
        if damaged {
            throw PcapError(.malformed, "packet \(frames) has zero captured bytes: the file is damaged (a record header without data)", input: path)
        }
        writer?.flush()
        statistics.frames = frames
        statistics.rtcpDatagrams = rtcpDatagrams
        return statistics
    }

    /// Classifies each packet of the file as libpcap hands it over, saves RTCP frames, counts.
    private struct Reader: PacketConsumer {
        var classifier: PacketClassifier
        let writer: CaptureWriter?
        let nano: Bool
        /// The caller's handler, for the duration of the read.
        let handler: (CaptureEvent) -> Void
        var frames = 0
        var rtcpDatagrams = 0
        /// A record with zero captured bytes was met; reading stopped there.
        var damaged = false

        mutating func consume(_ header: UnsafePointer<pcap_pkthdr>, _ bytes: UnsafePointer<UInt8>) -> Bool {
            frames += 1
            let caplen = Int(header.pointee.caplen)
            guard caplen > 0 else {
                damaged = true
                return false
            }
            let frame = UnsafeRawBufferPointer(start: bytes, count: caplen)
            let time = header.pointee.nanoseconds(precisionIsNano: nano)
            if classifier.classify(frame, time: time, report: handler) {
                rtcpDatagrams += 1
                writer?.write(time: time, bytes: frame, originalLength: Int(header.pointee.len))
            }
            return true
        }
    }

    /// The link type the file announces (RAW shows as 12 on Linux).
    public static func linkType(path: String) throws(PcapError) -> LinkType {
        LinkType(rawValue: UInt32(bitPattern: try PcapHandle.openOffline(path: path).linkType))
    }
}
