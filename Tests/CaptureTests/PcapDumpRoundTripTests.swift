import CPcap
import Capture
import Testing
import TestSupport

@Suite("libpcap reads back what pcap_dump wrote")
struct PcapDumpRoundTripTests {
    /// An Ethernet frame carrying IPv4/UDP with `payload`.
    func frame(payload: [UInt8]) -> [UInt8] {
        let udpLength = 8 + payload.count
        let ipLength = 20 + udpLength
        var bytes: [UInt8] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00]
        bytes += [0x45, 0, UInt8(ipLength >> 8), UInt8(ipLength & 0xff), 0, 0, 0x40, 0, 64, 17, 0, 0,
                  127, 0, 0, 1, 127, 0, 0, 1]
        bytes += [0x13, 0x89, 0x13, 0x8a, UInt8(udpLength >> 8), UInt8(udpLength & 0xff), 0, 0]
        return bytes + payload
    }

    @Test func readsEveryPacketWithItsTimeAndBytes() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("written.pcap")
        let dead = try #require(pcap_open_dead(DLT_EN10MB, 65535))
        let dumper = try #require(pcap_dump_open(dead, path))
        var written: [[UInt8]] = []
        for index in 0..<3 {
            let bytes = frame(payload: [0x81, 0xc9, 0x00, 0x01] + [UInt8](repeating: UInt8(index), count: 4))
            var header = pcap_pkthdr()
            header.ts.tv_sec = 1_700_000_000 + index
            header.ts.tv_usec = 250_000
            header.caplen = UInt32(bytes.count)
            header.len = UInt32(bytes.count)
            bytes.withUnsafeBufferPointer { buffer in
                withUnsafePointer(to: &header) { pcap_dump(UnsafeMutableRawPointer(dumper).assumingMemoryBound(to: UInt8.self), $0, buffer.baseAddress) }
            }
            written.append(bytes)
        }
        pcap_dump_close(dumper)
        pcap_close(dead)

        let file = try CaptureFile(path: path)
        #expect(file.linkType == DLT_EN10MB)
        var read: [[UInt8]] = []
        var times: [Int64] = []
        try file.forEachPacket { time, bytes in
            read.append(Array(bytes))
            times.append(time)
            return true
        }
        #expect(read == written)
        #expect(times == [1_700_000_000_250_000_000, 1_700_000_001_250_000_000, 1_700_000_002_250_000_000])
    }

    @Test func aFileThatIsNotACaptureIsAClearError() throws {
        let directory = try TemporaryDirectory()
        try writeFile(directory.file("notes.txt"), "this is not a capture file, just text long enough for a header\n")
        #expect {
            _ = try CaptureFile(path: directory.file("notes.txt"))
        } throws: { error in
            (error as? PcapError)?.code == .open && "\(error)".contains("notes.txt")
        }
    }
}
