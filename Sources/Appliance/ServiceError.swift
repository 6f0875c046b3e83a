import POSIX

/// Why `camhost serve` could not start or keep running, with the exit code scripts rely on
/// (sysexits.h values, documented in the README).
public struct ServiceError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Int32, Sendable {
        case configuration = 78   // EX_CONFIG
        case permission = 77      // EX_NOPERM
        case cannotCreate = 73    // EX_CANTCREAT
        case io = 74              // EX_IOERR
        case unavailable = 69     // EX_UNAVAILABLE
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var exitCode: Int32 { kind.rawValue }
    public var description: String { message }
}

/// A system call that failed on a path (the POSIX layer's error, named here for Appliance's callers).
public typealias SystemError = POSIX.SystemError
