import Web
#if canImport(Glibc)
import Glibc
#endif

/// A recording or thumbnail file as an HTTP response: `ETag`, `Range` (one range, RFC 9110
/// §14.2), `If-Range` (§13.1.5), `If-None-Match`; the body is sent by libmicrohttpd from the
/// file without copying.
enum MediaFile {
    static func response(path: String, contentType: String, request: HTTPRequest) -> HTTPResponse {
        // O_NOFOLLOW: a link planted at the last component is not followed.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return APIError.notFound("the recording's file is gone").response }
        var info = stat()
        let ok = fstat(fd, &info) == 0
        close(fd)
        guard ok, (info.st_mode & S_IFMT) == S_IFREG else { return APIError.forbidden("not a regular file").response }
        let size = UInt64(info.st_size)
        let etag = "\"\(String(UInt64(info.st_ino), radix: 16))-\(String(size, radix: 16))-\(String(info.st_mtim.tv_sec, radix: 16))\""
        var headers: [(name: String, value: String)] = [
            ("Content-Type", contentType), ("ETag", etag), ("Accept-Ranges", "bytes"), ("Cache-Control", "private, max-age=3600"),
        ]
        if let match = request.header("if-none-match"), match == etag || match == "*" {
            return HTTPResponse(status: 304, headers: headers.filter { $0.name != "Content-Type" })
        }
        var rangeHeader = request.header("range")
        if let ifRange = request.header("if-range"), ifRange != etag { rangeHeader = nil }
        guard let rangeHeader else {
            return HTTPResponse(status: 200, headers: headers, body: .file(path: path, offset: 0, length: size))
        }
        guard let range = parse(rangeHeader, size: size) else {
            headers.append(("Content-Range", "bytes */\(size)"))
            headers.removeAll { $0.name == "Content-Type" }
            var response = APIError(416, "range-not-satisfiable", "the file has \(size) bytes").response
            for header in headers { response.setHeader(header.name, header.value) }
            return response
        }
        headers.append(("Content-Range", "bytes \(range.lowerBound)-\(range.upperBound)/\(size)"))
        return HTTPResponse(status: 206, headers: headers, body: .file(path: path, offset: range.lowerBound, length: range.upperBound - range.lowerBound + 1))
    }

    /// `bytes=A-B`, `bytes=A-`, `bytes=-N`; nil when unsatisfiable or malformed. Several
    /// ranges are answered with the first one only.
    static func parse(_ header: String, size: UInt64) -> ClosedRange<UInt64>? {
        guard header.hasPrefix("bytes="), size > 0 else { return nil }
        let first = header.dropFirst(6).split(separator: ",").first.map { $0.trimmingSpaces } ?? ""
        let parts = first.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        if parts[0].isEmpty {
            guard let suffix = UInt64(parts[1]), suffix > 0 else { return nil }
            return (size - min(suffix, size))...(size - 1)
        }
        guard let start = UInt64(parts[0]), start < size else { return nil }
        if parts[1].isEmpty { return start...(size - 1) }
        guard let end = UInt64(parts[1]), end >= start else { return nil }
        return start...min(end, size - 1)
    }

    /// JPEG, PNG or SVG by the first bytes (demo thumbnails are SVG in `.jpg` files).
    static func imageType(_ path: String) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return "image/jpeg" }
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: 8)
        let count = head.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count >= 4, head[0] == 0x89, head[1] == 0x50 { return "image/png" }
        if count >= 4, head[0] == UInt8(ascii: "<") { return "image/svg+xml" }
        return "image/jpeg"
    }

    /// A file name for Content-Disposition: no quotes, backslashes or control characters.
    static func safeName(_ name: String) -> String {
        String(name.unicodeScalars.map { $0.value < 0x20 || $0 == "\"" || $0 == "\\" || $0.value > 0x7E ? "_" : Character($0) })
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var text = self
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return text
    }
}
