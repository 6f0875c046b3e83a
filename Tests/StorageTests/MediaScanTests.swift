import Glibc
@testable import Storage
import Testing

/// Real media made with ffmpeg (scripts/install-deps.sh installs it): durations, codecs and
/// thumbnails filled by the scan, a corrupt file listed, missing tools leaving the placeholder.
@Suite struct MediaScanning {
    static let tools = MediaTools.resolve(ffprobe: "", ffmpeg: "", concurrency: 2, timeoutSeconds: 30)

    /// A 2 s, 160x120, 10 fps test pattern at `path` (relative to the site's root), settled.
    func makeVideo(_ site: Site, _ path: String) throws {
        let ffmpeg = try #require(Self.tools.ffmpeg, "ffmpeg is not installed: run scripts/install-deps.sh")
        site.file(path, size: 0)
        let full = site.root + "/" + path
        let rc = system("'\(ffmpeg)' -y -v error -f lavfi -i testsrc=duration=2:size=160x120:rate=10 -pix_fmt yuv420p '\(full)' </dev/null")
        try #require(rc == 0, "ffmpeg could not make \(path)")
        site.setAge(Array(path.utf8), 2 * day)
    }

    func bytes(_ site: Site, _ path: [UInt8]) -> [UInt8] {
        let fd = Site.cString(Array(site.root.utf8) + [0x2F] + path) { open($0, O_RDONLY) }
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, 4) }
        return Array(buffer.prefix(max(0, n)))
    }

    @Test func durationCodecAndThumbnailFromRealFiles() throws {
        let site = try Site()
        try makeVideo(site, "cam1/day/a.webm")
        try makeVideo(site, "cam1/day/b.mp4")
        let report = try site.index.scan(now: site.now, media: Self.tools)
        #expect(report.errors.isEmpty, "\(report.errors)")
        #expect(report.notes.isEmpty)
        #expect(report.registered == 2)
        #expect(report.probed == 2)
        #expect(report.thumbnailsMade == 2)
        let recordings = try site.index.list()
        try #require(recordings.count == 2)
        for recording in recordings {
            let duration = try #require(recording.durationMilliseconds)
            #expect(abs(duration - 2000) <= 150, "duration \(duration) ms")
            let isWebM = recording.path.starts(with: Array("cam1/day/a.webm".utf8))
            #expect(isWebM ? ["vp8", "vp9", "av1"].contains(recording.codec ?? "") : ["h264", "mpeg4", "hevc"].contains(recording.codec ?? ""),
                    "codec \(recording.codec ?? "nil")")
            let thumbnail = try #require(recording.thumbnail)
            #expect(thumbnail == RecordingIndex.thumbnailPath(for: recording.path))
            #expect(bytes(site, thumbnail).starts(with: [0xFF, 0xD8]), "a JPEG")
            #expect(recording.startAt < recording.endAt, "start = end - duration")
        }
        // Nothing left to do on the next scan; no temporary files left behind.
        let again = try site.index.scan(now: site.now, media: Self.tools)
        #expect(again.probed == 0 && again.thumbnailsMade == 0 && again.errors.isEmpty)
        #expect(again.filesSeen == 4)
    }

    @Test func corruptFileIsListedAndTheScanCompletes() throws {
        let site = try Site()
        site.file("cam1/broken.webm", size: 4000, age: 2 * day)   // 4000 bytes of 0x07
        try makeVideo(site, "cam1/good.mp4")
        let report = try site.index.scan(now: site.now, media: Self.tools)
        #expect(report.registered == 2)
        #expect(report.errors.map(\.path) == ["cam1/broken.webm"], "\(report.errors)")
        #expect(report.probed == 1 && report.thumbnailsMade == 1)
        let broken = try #require(try site.index.list().first { $0.path == Array("cam1/broken.webm".utf8) })
        #expect(broken.durationMilliseconds == nil && broken.thumbnail == nil, "placeholder kept")
        #expect(!site.exists(".thumbnails/cam1/broken.webm.jpg"))
    }

    @Test func missingToolsLeaveThePlaceholderAndSaySoOnce() throws {
        let site = try Site()
        site.file("cam1/a.webm", size: 100, age: 2 * day)
        site.file("cam1/b.webm", size: 100, age: 2 * day)
        let tools = MediaTools.resolve(ffprobe: "/nonexistent/ffprobe", ffmpeg: "/nonexistent/ffmpeg", concurrency: 2, timeoutSeconds: 30)
        #expect(tools.ffmpeg == nil && tools.ffprobe == nil)
        let report = try site.index.scan(now: site.now, media: tools)
        #expect(report.registered == 2)
        #expect(report.errors.isEmpty)
        #expect(report.notes.count == 2, "\(report.notes)")
        #expect(report.notes.contains { $0.contains("ffmpeg not found at /nonexistent/ffmpeg") && $0.contains("2 recording(s) show the placeholder") })
        #expect(try site.index.list().allSatisfy { $0.thumbnail == nil && $0.durationMilliseconds == nil })
        let off = MediaTools.resolve(ffprobe: "off", ffmpeg: "off", concurrency: 2, timeoutSeconds: 30)
        #expect(off.ffmpeg == nil && off.ffmpegProblem?.contains("off") == true)
    }

    @Test func aHangingToolIsKilledAfterTheTimeout() throws {
        let site = try Site()
        site.file("cam1/a.webm", size: 100, age: 2 * day)
        let script = site.directory.file("slow-ffprobe")
        let fd = open(script, O_WRONLY | O_CREAT | O_CLOEXEC, 0o755)
        _ = Array("#!/bin/sh\nexec sleep 30\n".utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        let tools = MediaTools(ffprobe: script, ffmpeg: nil, concurrency: 1, timeoutSeconds: 1)
        let clock = ContinuousClock(), start = clock.now
        let report = try site.index.scan(now: site.now, media: tools)
        #expect(clock.now - start < .seconds(10))
        #expect(report.errors.count == 1 && report.errors[0].error.contains("timed out"), "\(report.errors)")
        #expect(report.registered == 1)
    }
}
