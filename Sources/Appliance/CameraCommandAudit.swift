import Control
import POSIX
import Storage

/// Writes one audit row per camera command: who, which command to which camera, and how it
/// ended (result, latency, correlation id), so a person can later see who rebooted what.
public struct CameraCommandAudit: Sendable {
    public let log: AuditLog

    public init(store: Store) { log = AuditLog(store: store) }

    /// `camera.reboot`, `camera.set-mode`, …
    public static func action(_ command: CameraCommand) -> String { "camera.\(command.kind.rawValue)" }

    public func record(actor: String, result: CommandResult) throws {
        var detail = "result=\(result.outcome.name) latency_ms=\(formatMilliseconds(result.latencyMilliseconds)) correlation=\(result.correlationID)"
        if case .setMode(let mode) = result.command { detail = "mode=\(mode) " + detail }
        if case .failed(let reason) = result.outcome { detail += " reason=\(reason)" }
        try log.append(actor: actor, action: Self.action(result.command), target: result.camera.rawValue, detail: detail,
                       outcome: result.outcome.isSuccess ? .success : .failure)
    }

    /// A command that never reached the camera (broker unreachable, invalid for the profile).
    public func record(actor: String, command: CameraCommand, camera: String, error: String) throws {
        var detail = "result=not-sent error=\(error)"
        if case .setMode(let mode) = command { detail = "mode=\(mode) " + detail }
        try log.append(actor: actor, action: Self.action(command), target: camera, detail: detail, outcome: .failure)
    }
}

/// A command refused before it was sent because the broker never carried anything from the
/// camera: its firmware profile, and so the modes it allows, are unknown.
public struct UnknownCameraError: Error, Sendable, CustomStringConvertible {
    public let camera: CameraID
    public let broker: String
    public var description: String { "camera \(camera) has published no status or availability on \(broker)" }
}

extension CameraControl {
    /// Sends `command` on behalf of `actor` and writes its audit row: how it ended, or why it
    /// was not sent. The one audited send of the CLI and the service. `requireKnownCamera`:
    /// refuse (`UnknownCameraError`) a camera the registry has never seen, instead of sending
    /// into silence. An audit row that cannot be written goes to `auditFailed`; the command's
    /// outcome is returned (or thrown) either way.
    public func send(_ command: CameraCommand, to camera: CameraID, actor: String, audit: CameraCommandAudit,
                     timeout: Duration? = nil, requireKnownCamera: Bool = false,
                     auditFailed: @Sendable (any Error) -> Void) async throws -> CommandResult {
        do {
            if requireKnownCamera, self.camera(camera) == nil {
                throw UnknownCameraError(camera: camera, broker: settings.brokerURL)
            }
            let result = try await send(command, to: camera, timeout: timeout)
            do { try audit.record(actor: actor, result: result) } catch { auditFailed(error) }
            return result
        } catch let error as UnknownCameraError {
            do { try audit.record(actor: actor, command: command, camera: camera.rawValue, error: "unknown camera") } catch { auditFailed(error) }
            throw error
        } catch {
            do { try audit.record(actor: actor, command: command, camera: camera.rawValue, error: "\(error)") } catch { auditFailed(error) }
            throw error
        }
    }
}

/// `12.345`: milliseconds with three decimals, without Foundation's formatters.
public func formatMilliseconds(_ value: Double) -> String {
    let micro = Int((value * 1000).rounded())
    let fraction = String(micro % 1000)
    return "\(micro / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
}
