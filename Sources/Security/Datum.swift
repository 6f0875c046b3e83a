import CGnuTLS

// gnutls_datum_t in and out. GnuTLS takes a mutable pointer even for input it only reads, so the
// bytes are copied into a local array first.

/// Calls `body` with a datum that borrows `bytes` for the duration of the call.
func withDatum<R>(_ bytes: [UInt8], _ body: (UnsafePointer<gnutls_datum_t>) throws -> R) rethrows -> R {
    var storage = bytes
    return try storage.withUnsafeMutableBufferPointer { buffer in
        var datum = gnutls_datum_t(data: buffer.baseAddress, size: UInt32(buffer.count))
        return try body(&datum)
    }
}

/// Copies a datum that GnuTLS allocated into Swift and frees it with `gnutls_free`.
func takeDatum(_ datum: gnutls_datum_t) -> [UInt8] {
    defer { cgnutls_free(datum.data) }
    guard let data = datum.data else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: Int(datum.size)))
}
