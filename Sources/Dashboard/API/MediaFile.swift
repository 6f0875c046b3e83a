import POSIX
import Web

/// What the API adds to Web's `FileResponse` (ETag, Range/206/416, If-Range, If-None-Match,
/// the body sent by libmicrohttpd from the file) for recordings and thumbnails.
enum MediaFile {
    /// Recordings do not change once indexed; browsers may keep them an hour.
    static let cacheControl = "private, max-age=3600"

    /// JPEG, PNG or SVG by the first bytes (demo thumbnails are SVG in `.jpg` files).
    static func imageType(_ path: String) -> String {
        guard let fd = try? FileDescriptor.open(path, .readOnly, options: .noFollow) else { return "image/jpeg" }
        defer { fd.close() }
        let head = (try? fd.read(upTo: 8)) ?? []
        let count = head.count
        if count >= 4, head[0] == 0x89, head[1] == 0x50 { return "image/png" }
        if count >= 4, head[0] == UInt8(ascii: "<") { return "image/svg+xml" }
        return "image/jpeg"
    }
}
