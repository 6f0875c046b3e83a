import POSIX
import Storage
import Testing
import TestSupport
import Wire
@testable import Media

/// The stream manager in-process with real parts: a GStreamer camera in the stream lab's
/// namespace, real sockets, the real recorder into a real database; segments checked by ffprobe.
@Suite(.serialized) struct StreamManagerLabTests {
    static func manager(_ spec: StreamSpec, root: String, store: Store?, segmentSeconds: Int = 2, timing: StreamManager.Timing = .init()) -> StreamManager {
        StreamManager(settings: .init(portRange: 20_000...29_999, recordingsRoot: root, segmentSeconds: segmentSeconds, timing: timing),
                      configured: [spec], cameras: nil, store: store)
    }

    /// Whether a UDP port can be bound now (nobody holds it).
    static func isFree(_ port: UInt16) -> Bool {
        (try? UDPSocket(bindingTo: UDPAddress(host: .v4(0), port: port))) != nil
    }

    /// Every finished segment under `root/camera`, by ffprobe.
    static func probeSegments(root: String, camera: String) throws -> [ProbeResult] {
        let listing = try TestProcess.run("find", [root + "/" + camera, "-name", "*.mp4", "-type", "f"]).stdout
        return try listing.split(separator: "\n").map(String.init).sorted().map { try ProbeResult($0) }
    }

    @Test(.timeLimit(.minutes(1))) func aConfiguredStreamReceivesRecordsAndStopReleasesItsPorts() throws {
        let lab = try StreamLab()
        defer { lab.tearDown() }
        let directory = try TemporaryDirectory(prefix: "manager")
        let root = directory.file("recordings")
        try FileSystem.makeDirectories(root)
        let store = try Store.open(directory.file("camhost.db"))
        var spec = StreamSpec(camera: "lab", source: IPAddress(lab.cameraAddress)!, port: lab.rtpPort, record: true, origin: .configured)
        spec.feedback = [.nack, .pli]
        var timing = StreamManager.Timing()
        timing.stallAfter = .seconds(1)
        timing.restartAfter = .seconds(30)
        let manager = Self.manager(spec, root: root, store: store, timing: timing)
        manager.run()
        defer { manager.shutDown() }
        #expect(Loopback.waitUntil(timeout: .seconds(5)) { manager.status(camera: "lab")?.port == lab.rtpPort })
        #expect(manager.status(camera: "lab")?.state == "starting")
        #expect(!Self.isFree(lab.rtpPort) && !Self.isFree(lab.rtpPort + 1))
        let camera = try lab.startCamera(frames: 125)
        #expect(Loopback.waitUntil(timeout: .seconds(10)) { manager.status(camera: "lab")?.state == "receiving" })
        #expect((manager.status(camera: "lab")?.report?.packets ?? 0) > 0)
        camera.wait(timeout: .seconds(25))
        // The camera ended: no RTP, so the stream stalls (not restarted: restartAfter is 30 s).
        #expect(Loopback.waitUntil(timeout: .seconds(5)) { manager.status(camera: "lab")?.state == "stalled" })
        let before = try #require(manager.status(camera: "lab"))
        #expect(before.report?.frames == 125 && before.report?.lost == 0, "\(String(describing: before.report))")
        #expect(before.lastKeyframe != nil)
        #expect(before.report?.rtcpTo == "\(lab.cameraAddress):\(lab.cameraRTCPPort)")

        try manager.stop(camera: "lab")
        let stopped = try #require(manager.status(camera: "lab"))
        #expect(stopped.state == "stopped" && stopped.port == nil)
        #expect(Self.isFree(lab.rtpPort) && Self.isFree(lab.rtpPort + 1), "stop releases both ports")
        // 5 s cut at the keyframe after each 2 s: every picture is in a segment ffprobe reads.
        let segments = try Self.probeSegments(root: root, camera: "lab")
        #expect(segments.count >= 2)
        #expect(stopped.segmentsWritten == segments.count)
        #expect(segments.reduce(0) { $0 + $1.frames } == 125)
        #expect(segments.allSatisfy { $0.codec == "h264" && $0.width == 640 && $0.height == 360 })
        let rows = try store.read { db in try db.query("SELECT count(*) FROM recordings WHERE camera_id = 'lab'") }
        #expect(try rows.first?.get(0, as: Int.self) == segments.count, "each segment registered in Storage at once")
        // A person's stop holds: the manager does not reopen it on its own.
        Clock.sleep(milliseconds: 600)
        #expect(manager.status(camera: "lab")?.state == "stopped")
        try manager.start(camera: "lab")
        #expect(Loopback.waitUntil(timeout: .seconds(5)) { manager.status(camera: "lab")?.port == lab.rtpPort })
        #expect(throws: StreamManagerError.self) { try manager.start(camera: "nobody") }
    }

    @Test(.timeLimit(.minutes(1))) func noRTPRestartsWithBackOffVisibleInTheState() throws {
        let lab = try StreamLab()
        defer { lab.tearDown() }
        let directory = try TemporaryDirectory(prefix: "manager-backoff")
        let spec = StreamSpec(camera: "silent", source: IPAddress(lab.cameraAddress)!, port: lab.rtpPort, record: false, origin: .configured)
        var timing = StreamManager.Timing()
        timing.stallAfter = .milliseconds(500)
        timing.restartAfter = .seconds(1)
        timing.backoffInitial = .milliseconds(500)
        let manager = Self.manager(spec, root: directory.path, store: nil, timing: timing)
        manager.run()
        defer { manager.shutDown() }
        var seen: [String] = []
        let restarted = Loopback.waitUntil(timeout: .seconds(15)) {
            guard let status = manager.status(camera: "silent") else { return false }
            if let detail = status.detail, seen.last != detail { seen.append(detail) }
            return status.restarts >= 3
        }
        #expect(restarted, "\(seen)")
        // Each restart waits twice as long as the one before.
        #expect(seen.contains { $0.contains("restart 1, next attempt in 0.5 s") }, "\(seen)")
        #expect(seen.contains { $0.contains("restart 2, next attempt in 1 s") }, "\(seen)")
        #expect(seen.contains { $0.contains("restart 3, next attempt in 2 s") }, "\(seen)")
        let status = try #require(manager.status(camera: "silent"))
        #expect(status.state == "stalled" || status.state == "starting")
        #expect(status.report?.packets ?? 0 == 0)
    }

    /// The issue's test: a camera that stops after 10 s without RTCP (a watchdog around a
    /// GStreamer x264enc pipeline, in the lab's namespace) streams for 60 s with camhost, and
    /// the recordings hold every picture: duration 60 s ±1 s, frames equal to those sent.
    @Test(.timeLimit(.minutes(3))) func aCameraThatNeedsRTCPStreams60SecondsAndEveryPictureIsRecorded() throws {
        let lab = try StreamLab()
        defer { lab.tearDown() }
        let directory = try TemporaryDirectory(prefix: "manager-60s")
        let root = directory.file("recordings")
        try FileSystem.makeDirectories(root)
        let store = try Store.open(directory.file("camhost.db"))
        let feedbackPort = lab.cameraRTCPPort + 2000
        let frames = 1500

        // Without anyone answering, the camera gives up after its 10 s.
        let alone = try lab.startPython(Self.watchdogCamera, [lab.hostAddress, "\(lab.rtpPort)", "\(feedbackPort)", "\(lab.cameraRTPPort)",
                                                             "\(lab.cameraRTCPPort)", "\(frames)"])
        _ = alone.wait(timeout: .seconds(25))
        #expect(alone.output().contains("stopped: no RTCP for 10 s"), "\(alone.output()) \(alone.errors())")

        var spec = StreamSpec(camera: "gst", source: IPAddress(lab.cameraAddress)!, port: lab.rtpPort, cameraRTCPPort: feedbackPort,
                              record: true, origin: .configured)
        spec.feedback = [.nack, .pli]
        var timing = StreamManager.Timing()
        timing.restartAfter = .seconds(120)
        let manager = Self.manager(spec, root: root, store: store, segmentSeconds: 20, timing: timing)
        manager.run()
        defer { manager.shutDown() }
        #expect(Loopback.waitUntil(timeout: .seconds(5)) { manager.status(camera: "gst")?.port == lab.rtpPort })
        let camera = try lab.startPython(Self.watchdogCamera, [lab.hostAddress, "\(lab.rtpPort)", "\(feedbackPort)", "\(lab.cameraRTPPort)",
                                                              "\(lab.cameraRTCPPort)", "\(frames)"], timeoutSeconds: 100)
        _ = camera.wait(timeout: .seconds(100))
        #expect(camera.output().contains("completed"), "\(camera.output()) \(camera.errors())")
        Clock.sleep(milliseconds: 1500)
        let status = try #require(manager.status(camera: "gst"))
        let report = try #require(status.report)
        #expect(report.frames == frames && report.lost == 0, "\(report)")
        try manager.stop(camera: "gst")
        let segments = try Self.probeSegments(root: root, camera: "gst")
        #expect(segments.count >= 3)
        let duration = segments.reduce(0) { $0 + $1.durationSeconds }
        #expect(abs(duration - 60) <= 1, "recorded \(duration) s in \(segments.count) segments")
        #expect(segments.reduce(0) { $0 + $1.frames } == frames)
    }

    /// argv: host rtp_port feedback_port camera_rtp_port camera_rtcp_port frames. Runs GStreamer
    /// (x264enc, rtpsession) sending RTP and SR to the host; the host's feedback arrives on
    /// feedback_port here and is handed to GStreamer's RTCP input. No RTCP for 10 s: the camera
    /// stops, as firmware does. Prints "completed" or "stopped: no RTCP for 10 s".
    static let watchdogCamera = #"""
    import os, signal, socket, subprocess, sys, time
    host, rtp, feedback, src_rtp, src_rtcp, frames = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    inner = feedback + 1
    gst = subprocess.Popen(["gst-launch-1.0", "-q", "rtpsession", "name=s", "rtcp-min-interval=1000000000",
        "videotestsrc", "num-buffers=%d" % frames, "is-live=true", "pattern=ball", "!", "video/x-raw,width=640,height=360,framerate=25/1", "!",
        "x264enc", "tune=zerolatency", "speed-preset=ultrafast", "key-int-max=25", "bitrate=800", "!",
        "rtph264pay", "config-interval=-1", "pt=96", "mtu=1200", "!", "s.send_rtp_sink",
        "s.send_rtp_src", "!", "udpsink", "host=%s" % host, "port=%d" % rtp, "bind-port=%d" % src_rtp,
        "s.send_rtcp_src", "!", "udpsink", "host=%s" % host, "port=%d" % (rtp + 1), "bind-port=%d" % src_rtcp, "sync=false", "async=false",
        "udpsrc", "port=%d" % inner, "!", "s.recv_rtcp_sink"], start_new_session=True, stdout=subprocess.DEVNULL)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", feedback))
    sock.settimeout(0.2)
    relay = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    started = last = time.monotonic()
    received = 0
    while gst.poll() is None:
        try:
            data, _ = sock.recvfrom(2048)
            last = time.monotonic()
            received += 1
            relay.sendto(data, ("127.0.0.1", inner))
        except socket.timeout:
            pass
        if time.monotonic() - last > 10:
            os.killpg(gst.pid, signal.SIGKILL)
            gst.wait()
            print("stopped: no RTCP for 10 s after %.1f s (%d RTCP received)" % (time.monotonic() - started, received), flush=True)
            sys.exit(0)
    print("completed after %.1f s (%d RTCP received, gst exit %d)" % (time.monotonic() - started, received, gst.returncode), flush=True)
    """#
}
