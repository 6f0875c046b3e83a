/// A system call that failed on a path: what was attempted, where, and the error number. The
/// POSIX layer's operations on paths throw it; `Errno` alone is thrown where the caller names
/// the path itself.
public struct SystemError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was attempted, for people ("create directory") and for `catch` sites
    /// (`error.operation == .changeGroup`).
    public struct Operation: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { rawValue = value }

        public static let open: Operation = "open"
        public static let read: Operation = "read"
        public static let create: Operation = "create"
        public static let write: Operation = "write"
        public static let sync: Operation = "flush"
        public static let close: Operation = "close"
        public static let rename: Operation = "rename to"
        public static let inspect: Operation = "inspect"
        public static let makeDirectory: Operation = "create directory"
        public static let notDirectory: Operation = "not a directory:"
        public static let changeGroup: Operation = "give to group"
        public static let setPermissions: Operation = "set mode of"
        public static let start: Operation = "start"
    }

    public let operation: Operation
    public let path: String
    public let errno: Errno

    public init(operation: Operation, path: String, errno: Errno) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    public var description: String { "\(operation.rawValue) \(path): \(errno)" }
}
