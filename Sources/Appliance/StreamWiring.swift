import Control
import Logging
import Media
import Storage
import Wire

/// The stream manager's view of the cameras inside `serve`: the cameras online on the broker
/// (camera control's registry) with their firmware profile, their address from the cameras
/// table, and start-stream / stop-stream sent through the audited command path.
struct ControlStreamCameras: StreamCameras {
    let control: ControlService
    let store: Store
    let record: Bool
    /// serve --demo: the simulated cameras run on this host, at 127.0.0.1.
    let demoPrefix: String?
    static let actor = "camhost:streams"

    func streamingCameras() -> [StreamSpec] {
        let table = CameraTable(store: store)
        var specs: [StreamSpec] = []
        for camera in control.snapshot() where camera.online {
            guard let profile = control.control.profiles[camera.profile] else { continue }
            let id = camera.id.rawValue
            var address: IPAddress?
            var local = false
            if let demoPrefix, id.hasPrefix(demoPrefix) {
                address = IPAddress("127.0.0.1")
                local = true
            } else if let text = (try? table.find(id))??.address {
                address = IPAddress(text)
            }
            var spec = StreamSpec(camera: id, address: address, profile: profile, record: record)
            if local {
                // A simulated camera listens for RTCP where its own RTCP comes from, not at the
                // profile's fixed port (three of them share this host).
                spec.localCamera = true
                spec.cameraRTCPPort = nil
            }
            specs.append(spec)
        }
        return specs
    }

    func startStream(camera: String, destination: StreamDestination) async throws {
        try await send(.startStream(destination), camera)
    }

    func stopStream(camera: String) async throws {
        try await send(.stopStream, camera)
    }

    private func send(_ command: CameraCommand, _ camera: String) async throws {
        guard let id = CameraID(camera) else { throw StreamManagerError("camera id \(camera) is not valid") }
        let result = try await control.send(command, to: id, actor: Self.actor)
        guard result.outcome.isSuccess else { throw StreamManagerError("\(command.kind.rawValue) to \(camera): \(result.outcome.name)") }
    }
}

extension StreamManager {
    /// The manager `serve` runs: `[[media.streams]]`, and with camera control the cameras whose
    /// profile streams (`media.stream_cameras`).
    static func forService(configuration: Configuration, store: Store, control: ControlService?, demo: Bool,
                           engine: any MediaEngine = BuiltinEngine(),
                           sinks: @escaping @Sendable (String) -> [any AccessUnitSink] = { _ in [] }) -> StreamManager {
        var timing = Timing()
        timing.restartAfter = .seconds(configuration[Appliance.Settings.mediaRestartAfterSeconds])
        timing.stallAfter = min(.seconds(2), timing.restartAfter)
        let settings = Settings(portRange: configuration.mediaPortRange, recordingsRoot: configuration.recordingsPath,
                                segmentSeconds: configuration[Appliance.Settings.mediaSegmentSeconds], timing: timing)
        let cameras = configuration[Appliance.Settings.mediaStreamCameras] ? control.map {
            ControlStreamCameras(control: $0, store: store, record: configuration[Appliance.Settings.mediaRecordCameras],
                                 demoPrefix: demo ? DemoMode.prefix : nil)
        } : nil
        return StreamManager(engine: engine, settings: settings, configured: configuration.streamSpecs, cameras: cameras,
                             store: store, media: configuration.mediaTools, logger: Logger(label: "camhost.streams"), sinks: sinks)
    }
}

extension Configuration {
    /// The `[[media.streams]]` entries as the manager takes them (checked at load).
    public var streamSpecs: [StreamSpec] {
        mediaStreams.compactMap { entry in
            guard let source = IPAddress(entry.source), let port = UInt16(exactly: entry.port) else { return nil }
            return StreamSpec(camera: entry.camera, source: source, port: port, cameraRTCPPort: entry.cameraRTCPPort.flatMap { UInt16(exactly: $0) },
                              codec: VideoCodec(rawValue: entry.codec) ?? .h264, record: entry.record, origin: .configured)
        }
    }
}
