#if canImport(Glibc)
import Glibc
#endif

/// Where the scan finds ffprobe (durations, codecs) and ffmpeg (thumbnails), how many may run
/// at once and for how long: the `[media]` section of the configuration.
public struct MediaTools: Sendable, Equatable {
    /// Absolute path of each tool, nil when it is not available.
    public var ffprobe: String?
    public var ffmpeg: String?
    /// Why a tool is not available, for the scan's note ("not found on PATH", "off").
    public var ffprobeProblem: String?
    public var ffmpegProblem: String?
    /// Child processes at a time (the box has two cores and records meanwhile).
    public var concurrency: Int
    /// A probe or thumbnail still running after this long is killed and reported.
    public var timeoutSeconds: Int

    public init(ffprobe: String?, ffmpeg: String?, concurrency: Int = 2, timeoutSeconds: Int = 30) {
        self.ffprobe = ffprobe
        self.ffmpeg = ffmpeg
        self.concurrency = max(1, concurrency)
        self.timeoutSeconds = max(1, timeoutSeconds)
    }

    /// Resolves configured values: empty looks the tool up on `PATH`, `off` disables it, anything
    /// else is the tool's path and must be executable.
    public static func resolve(ffprobe: String, ffmpeg: String, concurrency: Int, timeoutSeconds: Int,
                               searchPath: String? = nil) -> MediaTools {
        let path = searchPath ?? (getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin")
        func find(_ setting: String, _ name: String, key: String) -> (String?, String?) {
            if setting == "off" { return (nil, "off (media.\(key) = \"off\")") }
            if !setting.isEmpty {
                return access(setting, X_OK) == 0 ? (setting, nil) : (nil, "not found at \(setting) (media.\(key))")
            }
            for directory in path.split(separator: ":") where !directory.isEmpty {
                let candidate = directory + "/" + name
                if access(candidate, X_OK) == 0 { return (candidate, nil) }
            }
            return (nil, "not installed (no \(name) on PATH; install ffmpeg or set media.\(key))")
        }
        let probe = find(ffprobe, "ffprobe", key: "ffprobe")
        let thumbnails = find(ffmpeg, "ffmpeg", key: "ffmpeg")
        var tools = MediaTools(ffprobe: probe.0, ffmpeg: thumbnails.0, concurrency: concurrency, timeoutSeconds: timeoutSeconds)
        tools.ffprobeProblem = probe.1
        tools.ffmpegProblem = thumbnails.1
        return tools
    }
}
