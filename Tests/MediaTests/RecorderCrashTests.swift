import Glibc
@testable import Media
import Storage
import Testing
import TestSupport
import Wire

/// SIGKILL in the middle of a segment: a recorder in a child process (the test-only
/// `recorder-crash-child` target) is killed while writing; the next recorder for the camera
/// trims the `.part` to its last whole fragment, keeps it, and registers it exactly once.
@Suite(.serialized) struct RecorderCrashTests {
    /// The test-only executable built beside the test bundle.
    static var childBinary: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        var directory = n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        while let slash = directory.lastIndex(of: "/") {
            directory = String(directory[..<slash])
            if access(directory + "/recorder-crash-child", X_OK) == 0 { return directory + "/recorder-crash-child" }
        }
        return "recorder-crash-child"
    }

    @Test func sigkillMidSegmentKeepsTheWholeFragmentsAndRegistersThemOnce() throws {
        let lab = try SegmentRecorderTests.Lab()
        let video = SegmentRecorderTests.video   // 8 s, a keyframe every second
        let database = lab.directory.file("camhost.db")
        let child = try TestProcess(Self.childBinary, [lab.root, "cam1", database, video.path, "3"])
        defer { child.kill() }
        // 3 s segments, 1 s fragments, pictures at 25/s: after ~5 s the first segment is closed
        // and registered and the second one is half written.
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while !child.output().contains("fragments 5") && ContinuousClock.now < deadline && child.isRunning { usleep(20_000) }
        try #require(child.output().contains("fragments 5"), "child: \(child.output()) \(child.errors())")
        child.signal(SIGKILL)
        #expect(child.wait(timeout: .seconds(10)) == 128 + SIGKILL)
        #expect(!child.output().contains("fed"), "killed before the end of the video")

        let before = try lab.index.list(camera: "cam1")
        #expect(before.count == 1, "the child registered its first segment")
        let parts = lab.files("cam1").filter { $0.hasSuffix(".mp4.part") }
        try #require(parts.count == 1, "\(lab.files("cam1"))")
        var info = stat()
        #expect(stat(lab.full(parts[0]), &info) == 0 && info.st_size > 0)

        // The next start.
        let recorder = try SegmentRecorder(root: lab.root, camera: "cam1", segmentSeconds: 3, store: lab.store)
        _ = recorder.close()
        try #require(recorder.recovered.count == 1, "\(recorder.recoveryNotes)")
        let kept = recorder.recovered[0]
        #expect(kept.path == String(parts[0].dropLast(5)))
        #expect(kept.frames >= 25 && kept.frames % 25 == 0, "whole one-second fragments: \(kept.frames) frames")
        #expect(kept.durationMilliseconds == Int64(kept.frames) * 40)
        #expect(!lab.files("cam1").contains { $0.hasSuffix(".part") })
        let probe = try ProbeResult(lab.full(kept.path))
        #expect(probe.frames == kept.frames && abs(probe.durationSeconds * 1000 - Double(kept.durationMilliseconds)) <= 40)
        #expect(try ProbeResult.decodeErrors(lab.full(kept.path)) == "")

        // Registered once, beside the first segment; the second segment starts where the first ended.
        let rows = try lab.index.list(camera: "cam1")
        #expect(rows.count == 2)
        #expect(Set(rows.map { String(decoding: $0.path, as: UTF8.self) }).count == 2)
        #expect(rows.last.map { String(decoding: $0.path, as: UTF8.self) } == kept.path)
        #expect(rows[0].endAt == rows[1].startAt)
        let again = try SegmentRecorder(root: lab.root, camera: "cam1", store: lab.store)
        _ = again.close()
        #expect(again.recovered.isEmpty)
        #expect(try lab.index.scan(settleSeconds: 0, now: Int64.max / 2_000_000_000).registered == 0)
        #expect(try lab.index.list(camera: "cam1").count == 2)
    }
}
