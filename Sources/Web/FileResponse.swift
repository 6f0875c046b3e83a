#if canImport(Glibc)
import Glibc
#endif

/// Files served with validators and byte ranges, so browsers can seek in recordings:
/// `ETag` from size and modification time, `If-None-Match` → 304, `Range` → 206 (one range),
/// unsatisfiable → 416, `If-Range` (RFC 9110 sections 8.8, 13.1 and 14).
public enum FileResponse {
    /// The response for `request` (GET or HEAD) to the regular file at `path`.
    ///
    /// `downloadName` adds `Content-Disposition: attachment` with that file name. The caller
    /// decides which path is allowed; this refuses a missing file (404) and anything but a
    /// regular file (403), a symbolic link planted at the last component included (it is not
    /// followed, here or when the server opens the file).
    public static func make(path: String, request: HTTPRequest, contentType: String,
                            downloadName: String? = nil, cacheControl: String = "private, no-cache") -> HTTPResponse {
        var info = stat()
        guard lstat(path, &info) == 0 else { return .error(404, code: "not-found", message: "the file is gone") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { return .error(403, code: "forbidden", message: "not a regular file") }
        let size = UInt64(info.st_size)
        let modifiedSeconds = Int64(info.st_mtim.tv_sec)
        let etag = "\"\(String(size, radix: 16))-\(String(modifiedSeconds, radix: 16))\(String(info.st_mtim.tv_nsec, radix: 16))\""
        let lastModified = HTTPDate.format(epochSeconds: modifiedSeconds)

        var common: [(name: String, value: String)] = [
            ("ETag", etag), ("Last-Modified", lastModified), ("Accept-Ranges", "bytes"), ("Cache-Control", cacheControl),
        ]
        if let downloadName { common.append(("Content-Disposition", contentDisposition(downloadName))) }

        if let inm = request.header("if-none-match"), matches(inm, etag, weak: true) {
            return HTTPResponse(status: 304, headers: common)
        }
        var headers = common
        headers.append(("Content-Type", contentType))

        if let rangeHeader = request.header("range"), rangeApplies(request.header("if-range"), etag: etag, lastModified: lastModified) {
            switch parseRange(rangeHeader, size: size) {
            case .none:
                break
            case .unsatisfiable:
                var response = HTTPResponse.error(416, code: "range-not-satisfiable", message: "the file has \(size) bytes")
                response.setHeader("Content-Range", "bytes */\(size)")
                response.setHeader("Accept-Ranges", "bytes")
                return response
            case .range(let first, let last):
                headers.append(("Content-Range", "bytes \(first)-\(last)/\(size)"))
                return HTTPResponse(status: 206, headers: headers, body: .file(path: path, offset: first, length: last - first + 1))
            }
        }
        return HTTPResponse(status: 200, headers: headers, body: .file(path: path, offset: 0, length: size))
    }

    /// A parsed `Range` header against a file of a known size.
    enum RangeRequest: Equatable {
        /// No usable range (absent, malformed, another unit, several ranges): send it all.
        case none
        case unsatisfiable
        /// Inclusive byte positions.
        case range(UInt64, UInt64)
    }

    /// `bytes=A-B`, `bytes=A-`, `bytes=-N` (RFC 9110 section 14.1.2). Several ranges are
    /// answered with the whole file, which the RFC allows.
    static func parseRange(_ header: String, size: UInt64) -> RangeRequest {
        let trimmed = header.filter { $0 != " " }
        guard trimmed.lowercased().hasPrefix("bytes=") else { return .none }
        let spec = trimmed.dropFirst(6)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return .none }
        let startText = spec[spec.startIndex..<dash]
        let endText = spec[spec.index(after: dash)...]
        guard startText.allSatisfy(\.isASCIIDigit), endText.allSatisfy(\.isASCIIDigit) else { return .none }
        if startText.isEmpty {
            guard let suffix = UInt64(endText) else { return endText.isEmpty ? .none : (size > 0 ? .range(0, size - 1) : .unsatisfiable) }
            guard suffix > 0, size > 0 else { return .unsatisfiable }
            return .range(size - min(suffix, size), size - 1)
        }
        guard let first = UInt64(startText) else { return .unsatisfiable }
        guard first < size else { return .unsatisfiable }
        if endText.isEmpty { return .range(first, size - 1) }
        guard let last = UInt64(endText) else { return .range(first, size - 1) }  // beyond UInt64: to the end
        guard last >= first else { return .none }  // invalid range-spec: ignore the header
        return .range(first, min(last, size - 1))
    }

    /// Whether `If-Range` lets the `Range` header apply: absent, the same strong ETag, or the
    /// exact Last-Modified date.
    static func rangeApplies(_ ifRange: String?, etag: String, lastModified: String) -> Bool {
        guard let ifRange = ifRange.map({ $0.trimmingSpaces }) else { return true }
        if ifRange.hasPrefix("\"") || ifRange.hasPrefix("W/") { return ifRange == etag }
        return ifRange == lastModified
    }

    /// `If-None-Match`: `*` or a list of entity tags; weak comparison ignores `W/`.
    static func matches(_ header: String, _ etag: String, weak: Bool) -> Bool {
        let value = header.trimmingSpaces
        if value == "*" { return true }
        let bare = { (tag: String) -> String in tag.hasPrefix("W/") ? String(tag.dropFirst(2)) : tag }
        return value.split(separator: ",").contains { candidate in
            let tag = String(candidate).trimmingSpaces
            return weak ? bare(tag) == bare(etag) : tag == etag
        }
    }

    /// `attachment; filename="..."` with an ASCII fallback and the UTF-8 name (RFC 6266 section 4).
    public static func contentDisposition(_ name: String) -> String {
        let base = name.split(separator: "/").last.map(String.init) ?? "download"
        let ascii = String(base.unicodeScalars.map { scalar -> Character in
            (scalar.value >= 0x20 && scalar.value < 0x7f && scalar != "\"" && scalar != "\\") ? Character(scalar) : "_"
        })
        return "attachment; filename=\"\(ascii)\"; filename*=UTF-8''\(FormData.encode(base))"
    }
}

/// IMF-fixdate (RFC 9110 section 5.6.7), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`, without Foundation.
public enum HTTPDate {
    public static func format(epochSeconds: Int64) -> String {
        let days = Int64((Double(epochSeconds) / 86400).rounded(.down))
        let secondsOfDay = epochSeconds - days * 86400
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        let weekday = Int((days % 7 + 11) % 7)  // 1970-01-01 was a Thursday
        let names = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(names[weekday]), \(two(day)) \(months[Int(month) - 1]) \(year) \(two(secondsOfDay / 3600)):\(two(secondsOfDay / 60 % 60)):\(two(secondsOfDay % 60)) GMT"
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

extension String {
    var trimmingSpaces: String {
        var slice = Substring(self)
        while slice.first == " " || slice.first == "\t" { slice = slice.dropFirst() }
        while slice.last == " " || slice.last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
