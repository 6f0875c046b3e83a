// Test-only: a segment recorder in a process of its own, for the SIGKILL test
// (Tests/MediaTests/RecorderCrashTests.swift). Not part of the camhost binary.
//
//   recorder-crash-child ROOT CAMERA DATABASE VIDEO.h264 SEGMENT_SECONDS
//
// Feeds the video's pictures at their real rate (25 frames/s) to a SegmentRecorder registering
// in DATABASE, printing `fragments N` on standard output each time the recorder's written
// bytes grow, and `fed` when the video is done; then waits to be killed.
import Glibc
import Media
import POSIX
import Storage
import TestSupport
import Wire

/// One line on standard output at once (a file the test reads: stdio would buffer it).
func say(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
}

let arguments = CommandLine.arguments
guard arguments.count == 6, let segmentSeconds = Int(arguments[5]) else {
    say("usage: recorder-crash-child ROOT CAMERA DATABASE VIDEO.h264 SEGMENT_SECONDS")
    exit(64)
}
let video = try TestVideo(annexB: arguments[4], width: 320, height: 240, rate: 25)
let store = try Store(path: arguments[3], migrator: CamhostSchema.migrator)
let recorder = try SegmentRecorder(root: arguments[1], camera: arguments[2], segmentSeconds: segmentSeconds, store: store)
let sets = ParameterSets(sps: video.sps, pps: video.pps)
var lastBytes: Int64 = 0, fragments = 0
for (index, picture) in video.pictures.enumerated() {
    recorder.receive(AccessUnit(codec: .h264, nalUnits: picture.nalUnits, timestamp: Int64(index) * 3600, isKeyframe: picture.isKeyframe),
                     parameterSets: sets)
    let written = recorder.statistics.bytesWritten
    if written > lastBytes {
        lastBytes = written
        fragments += 1
        say("fragments \(fragments)")
    }
    usleep(40_000)
}
say("fed")
while true { usleep(100_000) }
