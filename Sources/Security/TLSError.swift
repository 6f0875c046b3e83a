import CGnuTLS

/// A failed GnuTLS call: the library's raw code and message, what we were doing, and the input
/// (usually a file path) that caused it, so `catch` sites can match on `code` and people can read
/// `description`.
public struct TLSError: Error, Equatable, CustomStringConvertible {
    /// The GnuTLS error code (negative, e.g. `GNUTLS_E_BASE64_DECODING_ERROR` = -34).
    public let code: Int32
    /// `gnutls_strerror(code)`.
    public let message: String
    /// What camhost was doing, e.g. "import private key".
    public let operation: String
    /// The file or value that caused the failure, when there is one.
    public var input: String?
    /// How to fix it, when camhost knows.
    public var fix: String?

    init(code: Int32, operation: String, input: String? = nil, fix: String? = nil) {
        self.code = code
        self.message = gnutls_strerror(code).map { String(cString: $0) } ?? "unknown GnuTLS error"
        self.operation = operation
        self.input = input
        self.fix = fix
    }

    /// The same error, naming the file that caused it and how to fix it.
    func naming(_ input: String, fix: String? = nil) -> TLSError {
        var copy = self
        copy.input = input
        if let fix { copy.fix = fix }
        return copy
    }

    public var description: String {
        var text = "\(operation) failed"
        if let input { text += " for \(input)" }
        text += ": \(message) (GnuTLS error \(code))"
        if let fix { text += ". Fix: \(fix)" }
        return text
    }
}

/// Turns a GnuTLS return value into a thrown `TLSError`; non-negative values pass through.
@discardableResult
func check(_ result: Int32, _ operation: @autoclosure () -> String, input: String? = nil) throws(TLSError) -> Int32 {
    guard result >= 0 else { throw TLSError(code: result, operation: operation(), input: input) }
    return result
}
