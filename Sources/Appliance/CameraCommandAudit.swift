import Control
import POSIX
import Storage

/// Writes one audit row per camera command: who, which command to which camera, and how it
/// ended (result, latency, correlation id), so a person can later see who rebooted what.
public struct CameraCommandAudit: Sendable {
    public let log: AuditLog

    public init(store: Store) { log = AuditLog(store: store) }

    /// Opens the configured database (creating the data directory like `serve` does).
    public init(configuration: Configuration) throws(ServiceError) {
        let path = configuration.databasePath
        let directory = parentDirectory(path)
        do { try FileSystem.makeDirectories(directory) } catch {
            throw ServiceError(.cannotCreate, "cannot create the directory for the database \(path): \(error)")
        }
        do {
            log = AuditLog(store: try configuration.openStore())
        } catch {
            throw ServiceError(.io, "cannot open the database \(path): \(error)")
        }
    }

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

/// `12.345`: milliseconds with three decimals, without Foundation's formatters.
public func formatMilliseconds(_ value: Double) -> String {
    let micro = Int((value * 1000).rounded())
    let fraction = String(micro % 1000)
    return "\(micro / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
}
