/// A failure to start or run the HTTPS server, with what was asked and how to fix it.
public struct MHDError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Equatable {
        case addressInUse
        case permissionDenied
        case badAddress
        case socket(errno: Int32)
        case daemonStart
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
