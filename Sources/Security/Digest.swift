import CGnuTLS

/// Message digests (`gnutls_hash_fast`).
public enum Digest {
    /// SHA-256 of `bytes` (32 bytes), e.g. for storing API tokens hashed.
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { sha256($0) }
    }

    /// SHA-256 of the bytes in `input`.
    public static func sha256(_ input: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        let result = gnutls_hash_fast(GNUTLS_DIG_SHA256, input.baseAddress, input.count, &out)
        // SHA-256 is always compiled in; failure means a broken library, not bad input.
        precondition(result >= 0, "\(TLSError(code: result, operation: "gnutls_hash_fast(SHA-256)"))")
        return out
    }

    /// SHA-1 of the UTF-8 bytes of `text` (20 bytes). Broken for signatures; used only where a
    /// protocol fixes it, e.g. the WebSocket handshake's Sec-WebSocket-Accept (RFC 6455 section 4.2.2).
    public static func sha1(_ text: String) -> [UInt8] {
        var text = text
        return text.withUTF8 { bytes in
            var out = [UInt8](repeating: 0, count: 20)
            let result = gnutls_hash_fast(GNUTLS_DIG_SHA1, bytes.baseAddress, bytes.count, &out)
            precondition(result >= 0, "\(TLSError(code: result, operation: "gnutls_hash_fast(SHA-1)"))")
            return out
        }
    }

    /// SHA-256 of the UTF-8 bytes of `text`.
    public static func sha256(_ text: String) -> [UInt8] {
        var text = text
        return text.withUTF8 { sha256(UnsafeRawBufferPointer($0)) }
    }

    /// SHA-256 of the UTF-8 bytes of `text` (a token cut from a header), without copying them
    /// when they are contiguous. Not generic: this runs on every API request, and a generic
    /// call across modules went through witness tables for each step.
    public static func sha256(_ text: Substring) -> [UInt8] {
        var base = text.base
        let utf8 = base.utf8
        let start = utf8.distance(from: utf8.startIndex, to: text.startIndex)
        let end = utf8.distance(from: utf8.startIndex, to: text.endIndex)
        return base.withUTF8 { sha256(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: $0[start..<end]))) }
    }
}

/// Compares two byte strings in time that depends only on their lengths, not on where they
/// differ, so secrets (password hashes, token hashes) cannot be guessed byte by byte.
public func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for i in a.indices {
        difference |= a[i] ^ b[i]
    }
    return difference == 0
}
