/// A libpcap failure: what was attempted, the library's own message, and the input.
public struct PcapError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Equatable {
        case open
        case permission
        case noSuchDevice
        case filter
        case read
        case write
    }

    public let code: Code
    public let message: String
    public let input: String

    public init(_ code: Code, _ message: String, input: String) {
        self.code = code
        self.message = message
        self.input = input
    }

    public var description: String { "\(input): \(message)" }
}
