import Control
import Dashboard
import Logging
import Storage
import Synchronization
import POSIX

/// `camhost serve --demo`: three simulated cameras on the broker and a few sample recordings
/// with thumbnails, so every dashboard page has something to show on a fresh machine.
///
/// Sample videos are made with ffmpeg or GStreamer when either is installed; otherwise the
/// files are clearly labelled placeholders (the player then offers the download).
final class DemoMode: Sendable {
    static let cameraCount = 3
    static let prefix = "demo-cam-"

    private let configuration: Configuration
    private let store: Store
    private let control: ControlService?
    private let logger: Logger
    private let simulator = Mutex<CameraSimulator?>(nil)

    init(configuration: Configuration, store: Store, control: ControlService?, logger: Logger) {
        self.configuration = configuration
        self.store = store
        self.control = control
        self.logger = logger
    }

    func start() {
        // The recordings directory now, before serve starts its retention schedule: its first run
        // (at start) then finds the store and shows in the audit log, instead of racing this
        // thread and skipping with "no recordings yet" now and then.
        try? FileSystem.makeDirectories(configuration.recordingsPath)
        // Rendering sample videos takes seconds: on its own thread, so serve answers at once.
        startDetachedThread { [self] in makeRecordings() }
        guard let control else {
            logger.warning("demo: camera control is off, so no simulated cameras")
            return
        }
        // Real H.264 for the simulated cameras' streams (made once with ffmpeg): serve's stream
        // manager receives and records it, so the cameras page shows live streams and the
        // recordings grow. Without ffmpeg the log says so and the streams carry no pictures.
        var video: SimulatorVideo?
        do {
            video = try SimulatorVideoMaker.video(at: joinPath(configuration.dataDirectory, "demo/testsrc-640x360-25.h264"),
                                                  ffmpeg: configuration[Settings.mediaFfmpeg])
        } catch {
            logger.error("demo: \(error); the simulated cameras send dummy RTP, so no recordings grow")
        }
        let simulator = CameraSimulator(configuration: .init(
            count: Self.cameraCount, profile: control.control.defaultProfile, broker: control.control.settings.options,
            idPrefix: Self.prefix, ackDelay: .milliseconds(40), failureRate: 0.1, video: video))
        self.simulator.withLock { $0 = simulator }
        let logger = logger
        Task {
            var delay = Duration.milliseconds(100)
            for _ in 0..<50 {
                do {
                    try await simulator.start()
                    logger.notice("demo: \(Self.cameraCount) simulated cameras on the broker (\(Self.prefix)1…)")
                    return
                } catch {
                    try? await Task.sleep(for: delay)
                    delay = min(delay * 2, .seconds(2))
                }
            }
            logger.error("demo: the simulated cameras could not connect to the broker")
        }
    }

    func stop() {
        guard let simulator = simulator.withLock({ $0 }) else { return }
        let done = Atomic<Bool>(false)
        Task { await simulator.stop(); done.store(true, ordering: .releasing) }
        let deadline = ContinuousClock.now + .seconds(2)
        while !done.load(ordering: .acquiring) && ContinuousClock.now < deadline { Clock.sleep(milliseconds: 10) }
    }

    /// After the managed broker restarted: the simulated cameras reconnect now, and this
    /// returns once they are back (or after `limit`), so that camera control, reconnected
    /// next, finds them subscribed instead of publishing commands nobody receives.
    func reconnectNow(limit: Duration = .milliseconds(500)) {
        guard let simulator = simulator.withLock({ $0 }) else { return }
        simulator.reconnectNow()
        let deadline = ContinuousClock.now + limit
        while !simulator.allConnected && ContinuousClock.now < deadline { Clock.sleep(milliseconds: 5) }
    }

    /// A sample alarm, so the overview shows what a loopback trap looks like.
    func alarms() -> [RTCPWatchEntry] {
        [RTCPWatchEntry(camera: "192.0.2.13 (demo)", state: "trap", since: nil, feedbackToCamera: 0, misroutedFeedback: 42, misroutedTo: "127.0.0.1:5005")]
    }

    // MARK: Sample recordings

    /// Eight recordings over the last days for the demo cameras, then a scan to index them.
    private func makeRecordings() {
        let root = configuration.recordingsPath
        let tool = Self.videoTool()
        var made = 0
        var rendered: [Int: (video: String, thumbnail: String)] = [:]
        for index in 0..<8 {
            let camera = Self.prefix + String(index % Self.cameraCount + 1)
            let relative = "\(camera)/demo-\(index + 1).webm"
            let path = root + "/" + relative
            let thumbnail = root + "/.thumbnails/" + relative + ".jpg"
            guard !FileSystem.exists(path) else { continue }
            try? FileSystem.makeDirectories(parentDirectory(path))
            try? FileSystem.makeDirectories(parentDirectory(thumbnail))
            let hue = ["#2563eb", "#16a34a", "#d97706"][index % 3]
            // One rendering per camera; later samples of the same camera are copies.
            if let first = rendered[index % 3], Self.copy(first.video, to: path), Self.copy(first.thumbnail, to: thumbnail) {
                // copied
            } else if tool.map({ Self.render(tool: $0, video: path, thumbnail: thumbnail, pattern: index) }) ?? false {
                rendered[index % 3] = (path, thumbnail)
            } else {
                try? FileSystem.writeAtomically(Array("camhost demo placeholder: install ffmpeg or GStreamer for a playable sample video\n".utf8), to: path)
                try? FileSystem.writeAtomically(Array(Self.placeholderThumbnail(camera: camera, number: index + 1, colour: hue).utf8), to: thumbnail)
            }
            // Spread over the last days (the settle time must have passed for the scan to take them).
            let age = Int64(index * 86_400 + index * 5_400 + 600)
            Self.setModificationTime(path, secondsAgo: age)
            Self.setModificationTime(thumbnail, secondsAgo: age)
            made += 1
        }
        do {
            // Probed like `recordings scan` does, so the recordings page shows lengths and codecs.
            let report = try RecordingIndex(store: store, root: root).scan(settleSeconds: 0, media: configuration.mediaTools)
            logger.notice("demo: \(made) sample recording(s) made in \(root) (\(tool ?? "placeholders: no ffmpeg or gst-launch-1.0")); \(report.registered) indexed")
        } catch {
            logger.error("demo: cannot index the sample recordings: \(error)")
        }
    }

    static func videoTool() -> String? {
        for candidate in ["/usr/bin/ffmpeg", "/usr/local/bin/ffmpeg", "/usr/bin/gst-launch-1.0"] where FileSystem.isExecutable(candidate) {
            return candidate
        }
        return nil
    }

    /// A 4-second 320×180 VP8 test pattern and a JPEG thumbnail.
    static func render(tool: String, video: String, thumbnail: String, pattern: Int) -> Bool {
        let runs: [[String]]
        if tool.hasSuffix("ffmpeg") {
            let source = ["testsrc2=size=320x180:rate=15", "smptebars=size=320x180:rate=15", "mandelbrot=size=320x180:rate=15"][pattern % 3]
            runs = [
                ["-loglevel", "error", "-y", "-f", "lavfi", "-i", source, "-t", "4", "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "200k", video],
                ["-loglevel", "error", "-y", "-f", "lavfi", "-i", source, "-frames:v", "1", thumbnail],
            ]
        } else {
            let pattern = ["smpte", "ball", "snow"][pattern % 3]
            runs = [
                ["-q", "videotestsrc", "pattern=\(pattern)", "num-buffers=60", "!", "video/x-raw,width=320,height=180,framerate=15/1", "!",
                 "vp8enc", "deadline=1", "!", "webmmux", "!", "filesink", "location=\(video)"],
                ["-q", "videotestsrc", "pattern=\(pattern)", "num-buffers=1", "!", "video/x-raw,width=320,height=180", "!", "jpegenc", "!",
                 "filesink", "location=\(thumbnail)"],
            ]
        }
        for arguments in runs {
            guard let child = try? ChildProcess(executable: tool, arguments: arguments, outputPath: nil, dieWithParent: true),
                  child.wait() == "exited with status 0" else { return false }
        }
        return FileSystem.isReadable(video) && FileSystem.isReadable(thumbnail)
    }

    static func copy(_ source: String, to destination: String) -> Bool {
        guard let bytes = try? FileSystem.readFile(source, limit: 1 << 30),
              (try? FileSystem.writeAtomically(bytes, to: destination)) != nil else { return false }
        return true
    }

    static func placeholderThumbnail(camera: String, number: Int, colour: String) -> String {
        """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 160 90"><rect width="160" height="90" fill="\(colour)"/>\
        <text x="80" y="40" font-family="sans-serif" font-size="12" fill="#fff" text-anchor="middle">\(camera) #\(number)</text>\
        <text x="80" y="60" font-family="sans-serif" font-size="9" fill="#fff" text-anchor="middle">demo placeholder</text></svg>
        """
    }

    static func setModificationTime(_ path: String, secondsAgo: Int64) {
        try? FileSystem.setModificationTime(path, seconds: Clock.unixSeconds - secondsAgo)
    }
}
