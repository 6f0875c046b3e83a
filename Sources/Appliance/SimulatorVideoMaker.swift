import Control
import POSIX
import Storage

/// The H.264 the simulated cameras stream (`simulate cameras`, `serve --demo`): a 10-second
/// libx264 test pattern (lavfi testsrc, 640x360, 25 frames/s, a keyframe every 2 s, no
/// B-frames, as cameras send) made once with ffmpeg and kept, so a fresh machine needs only
/// ffmpeg, and nothing of a few hundred KB is shipped in the repository.
public enum SimulatorVideoMaker {
    public static let frameRate = 25

    /// The video at `path`, made now when missing. Throws a message for people (ffmpeg missing or failing).
    public static func video(at path: String, ffmpeg configured: String = "") throws(SimulatorVideoError) -> SimulatorVideo {
        if !FileSystem.exists(path) {
            let tools = MediaToolsLookup.ffmpeg(configured)
            guard let ffmpeg = tools.path else {
                throw SimulatorVideoError(problem: "ffmpeg is \(tools.problem): the simulated cameras cannot stream real video. Install it (apt-get install ffmpeg) or give --video FILE (H.264 Annex B)")
            }
            try? FileSystem.makeDirectories(parentDirectory(path))
            let partial = path + ".part"
            let arguments = ["-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=\(frameRate)", "-t", "10",
                             "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-bf", "0", "-g", "50", "-keyint_min", "50",
                             "-pix_fmt", "yuv420p", "-b:v", "500k", "-maxrate", "500k", "-bufsize", "500k",
                             "-bsf:v", "h264_mp4toannexb", "-f", "h264", partial]
            let outcome: String
            do {
                outcome = try ChildProcess(executable: ffmpeg, arguments: arguments, outputPath: nil, dieWithParent: true).wait()
            } catch {
                throw SimulatorVideoError(problem: "cannot run \(ffmpeg): \(error)")
            }
            guard outcome == "exited with status 0", (try? FileSystem.rename(partial, to: path)) != nil else {
                try? FileSystem.remove(partial)
                throw SimulatorVideoError(problem: "\(ffmpeg) could not make the simulator's video (\(outcome)); is it built with libx264? Or give --video FILE")
            }
        }
        return try SimulatorVideo(annexB: path, frameRate: frameRate)
    }
}

/// ffmpeg as `media.ffmpeg` names it (empty: on PATH).
enum MediaToolsLookup {
    static func ffmpeg(_ configured: String) -> (path: String?, problem: String) {
        let tools = MediaTools.resolve(ffprobe: "off", ffmpeg: configured, concurrency: 1, timeoutSeconds: 30)
        return (tools.ffmpeg, tools.ffmpegProblem ?? "missing")
    }
}
