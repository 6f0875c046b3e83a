import Capture
import Logging
import POSIX
import Storage
import Synchronization
import Wire

/// Watches, inside `serve`, where the known cameras' RTCP feedback goes: raises a per-camera
/// alarm on the first feedback about a camera's stream that goes over loopback while none reaches
/// the camera (the loopback trap, docs/diagnostics.md), and clears it when feedback reaches the
/// camera again. Capture runs on its own OS threads (LiveCapture, immediate mode), so an alarm
/// is raised within milliseconds of the packet. Without permission to capture it logs once and stays off.
public final class RTCPWatch: Sendable {
    /// What the watch knows of one camera's feedback.
    public enum State: String, Sendable {
        /// No feedback for this camera seen yet.
        case waiting
        /// Feedback reaches the camera.
        case healthy
        /// Alarm: feedback about the camera's stream goes over loopback and none reaches it.
        case trap
    }

    /// One camera's state for the dashboard and metrics.
    public struct CameraStatus: Sendable {
        public var camera: IPAddress
        public var state: State
        /// Capture time (ns since the epoch) of the packet that set the state; nil while waiting.
        public var since: Int64?
        /// RTCP datagrams and packet types per route since the watch started.
        public var counts: [FeedbackRoute: RTCPKindCounts]
        /// The camera's SSRCs, from its RTP and its SR/SDES.
        public var cameraSSRCs: [UInt32]
        /// Where misrouted feedback went last (loopback destination), when in `trap`.
        public var misroutedTo: String?
        /// Datagrams of feedback addressed to the camera / about it on loopback.
        public var feedbackToCamera: Int { counts[.toCamera]?.datagrams ?? 0 }
        public var misroutedFeedback: Int { counts[.onLoopback]?.datagrams ?? 0 }
        public var fromCamera: Int { counts[.fromCamera]?.datagrams ?? 0 }
    }

    private struct Entry: Sendable {
        var status: CameraStatus
        var lastFeedbackToCamera: Int64?
    }

    private let cameras: [IPAddress]
    private let interface: String
    private let logger: Logger
    private let entries: Mutex<[IPAddress: Entry]>
    private let capture = Mutex<LiveCapture?>(nil)
    /// Whether the watch captures; false when there is nothing to watch or no permission.
    public var isCapturing: Bool { capture.withLock { $0 != nil } }

    public init(cameras: [IPAddress], interface: String = "any", logger: Logger = Logger(label: "camhost.rtcp")) {
        var unique: [IPAddress] = []
        for camera in cameras where !unique.contains(camera) { unique.append(camera) }
        self.cameras = unique
        self.interface = interface
        self.logger = logger
        entries = Mutex(Dictionary(uniqueKeysWithValues: unique.map {
            ($0, Entry(status: CameraStatus(camera: $0, state: .waiting, since: nil, counts: [:], cameraSSRCs: [], misroutedTo: nil)))
        }))
    }

    /// The cameras to watch: `diagnostics.watch_cameras` plus the `address` column of the cameras table
    /// (entries that are not IP addresses, such as host names, are skipped with a note in the log).
    public static func cameras(configuration: Configuration, store: Store?, logger: Logger) -> [IPAddress] {
        var texts = configuration[Settings.diagnosticsWatchCameras]
        // The cameras camhost itself streams from: their feedback is watched on the wire too.
        texts += configuration.mediaStreams.map(\.source).filter { !texts.contains($0) }
        if let store, let addresses = try? CameraTable(store: store).addresses() { texts += addresses }
        var cameras: [IPAddress] = []
        for text in texts {
            if let address = IPAddress(text) { cameras.append(address) } else {
                logger.debug("the RTCP watch skips a camera address that is not an IP address", metadata: ["address": "\(text)"])
            }
        }
        return cameras
    }

    /// Starts capturing. Returns false (after one log line) when there is nothing to watch or no permission.
    @discardableResult
    public func start() -> Bool {
        guard !cameras.isEmpty, !interface.isEmpty else {
            logger.debug("RTCP watch off: no cameras to watch")
            return false
        }
        let live: LiveCapture
        do {
            live = try LiveCapture(interfaces: [interface])
        } catch {
            if error.code == .permission {
                logger.warning("RTCP watch off: no permission to capture; \(PcapError.permissionHint)")
            } else {
                logger.warning("RTCP watch off: \(error)")
            }
            return false
        }
        live.start { [self] event in handle(event) }
        capture.withLock { $0 = live }
        logger.info("RTCP watch on", metadata: ["interface": "\(interface)", "cameras": "\(cameras.map(\.description).joined(separator: ", "))"])
        return true
    }

    /// Stops capturing and joins the capture threads. Safe to call twice.
    public func stop() {
        let live = capture.withLock { value in
            let current = value
            value = nil
            return current
        }
        live?.stop()
    }

    /// Every watched camera's state, in the order given.
    public func snapshot() -> [CameraStatus] {
        entries.withLock { entries in cameras.compactMap { entries[$0]?.status } }
    }

    private func handle(_ event: CaptureEvent) {
        switch event {
        case .mediaSource(let media):
            entries.withLock { entries in
                guard var entry = entries[media.source.address], !entry.status.cameraSSRCs.contains(media.ssrc),
                      entry.status.cameraSSRCs.count < 64 else { return }
                entry.status.cameraSSRCs.append(media.ssrc)
                entries[media.source.address] = entry
            }
        case .rtcp(let observation):
            var changes: [(IPAddress, State, State, String)] = []
            entries.withLock { entries in
                for camera in cameras {
                    guard var entry = entries[camera] else { continue }
                    let route = FeedbackRoute.of(observation, camera: camera)
                    let before = entry.status.state
                    switch route {
                    case .fromCamera:
                        for ssrc in observation.senderSSRCs where !entry.status.cameraSSRCs.contains(ssrc) && entry.status.cameraSSRCs.count < 64 {
                            entry.status.cameraSSRCs.append(ssrc)
                        }
                    case .toCamera:
                        entry.lastFeedbackToCamera = observation.time
                        if before != .healthy {
                            entry.status.state = .healthy
                            entry.status.since = observation.time
                            entry.status.misroutedTo = nil
                        }
                    case .onLoopback:
                        let ssrcs = entry.status.cameraSSRCs
                        // With SSRCs known, only feedback about them; with none known, any loopback
                        // feedback counts, but only when a single camera is watched.
                        let about = ssrcs.isEmpty ? cameras.count == 1 : observation.referencedSSRCs.contains(where: ssrcs.contains)
                        guard about else { continue }
                        // Raised at once, even if feedback reached the camera before: a stream
                        // re-offered with c=0.0.0.0 must alarm within 2 s, not after a window.
                        if before != .trap {
                            entry.status.state = .trap
                            entry.status.since = observation.time
                            entry.status.misroutedTo = observation.destination.description
                        }
                    case .other:
                        continue
                    }
                    entry.status.counts[route, default: RTCPKindCounts()].add(observation.counts)
                    if entry.status.state != before {
                        changes.append((camera, before, entry.status.state, observation.destination.description))
                    }
                    entries[camera] = entry
                }
            }
            for (camera, before, after, destination) in changes {
                switch after {
                case .trap:
                    logger.error("RTCP loopback trap: feedback for camera \(camera) goes to \(destination) over loopback and none reaches the camera; it will drop the stream. Fix the SDP offer's c= line (never 0.0.0.0): see `camhost diagnose rtcp --camera \(camera)`",
                                 metadata: ["camera": "\(camera)", "alarm": "rtcp-trap"])
                case .healthy where before == .trap:
                    logger.notice("RTCP feedback reaches camera \(camera) again; loopback trap alarm cleared", metadata: ["camera": "\(camera)", "alarm": "rtcp-trap"])
                case .healthy:
                    logger.info("RTCP feedback reaches camera \(camera)", metadata: ["camera": "\(camera)"])
                case .waiting:
                    break
                }
            }
        }
    }
}
