import POSIX
import Wire

/// Why the segment recorder could not do something: what it tried, on which file (relative to
/// the recordings root) and why. The stream goes on; the recorder waits for the next keyframe.
public struct RecorderError: Error, Sendable, Hashable, CustomStringConvertible {
    public let operation: String
    /// Relative to the recordings root; empty when no file is involved.
    public let path: String
    public let reason: String

    public init(_ operation: String, path: String = "", _ reason: String) {
        self.operation = operation
        self.path = path
        self.reason = reason
    }

    init(_ operation: String, path: String = "", _ errno: Errno) {
        self.init(operation, path: path, errno.description)
    }

    public var description: String { path.isEmpty ? "\(operation): \(reason)" : "\(operation) \(path): \(reason)" }
}
