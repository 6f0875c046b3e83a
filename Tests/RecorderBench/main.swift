// Benchmark driver for scripts/bench-recorder.sh (not part of the camhost binary): records an
// H.264 Annex B file through a SegmentRecorder as fast as it takes pictures, registering the
// segments in a real SQLite store, and prints what it did as one JSON line.
//
//   recorder-bench ROOT DATABASE VIDEO.h264 SEGMENT_SECONDS RATE
import Glibc
import Media
import Storage
import TestSupport
import Wire

let arguments = CommandLine.arguments
guard arguments.count == 6, let segmentSeconds = Int(arguments[4]), let rate = Int(arguments[5]) else {
    print("usage: recorder-bench ROOT DATABASE VIDEO.h264 SEGMENT_SECONDS RATE")
    exit(64)
}
let video = try TestVideo(annexB: arguments[3], width: 0, height: 0, rate: rate)
let store = try Store(path: arguments[2], migrator: CamhostSchema.migrator)
let recorder = try SegmentRecorder(root: arguments[1], camera: "bench", segmentSeconds: segmentSeconds, store: store,
                                   queueLimitBytes: 1 << 30)
let sets = ParameterSets(sps: video.sps, pps: video.pps)
let step = Int64(90_000 / rate)
var inputBytes = 0
for (index, picture) in video.pictures.enumerated() {
    inputBytes += picture.nalUnits.reduce(0) { $0 + $1.count }
    recorder.receive(AccessUnit(codec: .h264, nalUnits: picture.nalUnits, timestamp: Int64(index) * step, isKeyframe: picture.isKeyframe),
                     parameterSets: sets)
}
let segments = recorder.close()
let statistics = recorder.statistics
print("{\"frames\": \(video.pictures.count), \"frames_written\": \(statistics.framesWritten), \"skipped\": \(statistics.framesSkipped), "
      + "\"segments\": \(segments.count), \"nal_bytes\": \(inputBytes), \"bytes_written\": \(segments.reduce(0) { $0 + $1.bytes }), "
      + "\"errors\": \(statistics.errors.count)}")
