/// Where a segment lives under the recordings root and what its name says:
/// `<camera>/<YYYY-MM-DD>/<camera>-<YYYYMMDD>T<HHMMSS>.<mmm>Z.mp4`, the UTC date and time of its
/// first picture. The name carries the start so a segment recovered after a crash (whose
/// writer is gone) is registered with the right time.
enum SegmentName {
    static let partSuffix = ".part"

    /// The day directory and file name for a segment starting at `milliseconds` since 1970;
    /// `attempt` > 1 adds `-N` (two segments in one millisecond, a name already taken).
    static func make(camera: String, startMilliseconds: Int64, attempt: Int = 1) -> (day: String, file: String) {
        let time = CivilTime(milliseconds: startMilliseconds)
        let day = "\(pad(time.year, 4))-\(pad(time.month, 2))-\(pad(time.day, 2))"
        var file = camera + "-" + stamp(time)
        if attempt > 1 { file += "-\(attempt)" }
        return (day, file + ".mp4")
    }

    static func stamp(_ t: CivilTime) -> String {
        "\(pad(t.year, 4))\(pad(t.month, 2))\(pad(t.day, 2))T\(pad(t.hour, 2))\(pad(t.minute, 2))\(pad(t.second, 2)).\(pad(t.millisecond, 3))Z"
    }

    /// The start time a name carries (its last `YYYYMMDDTHHMMSS.mmmZ`), or nil.
    static func startMilliseconds(of name: String) -> Int64? {
        let bytes = Array(name.utf8)
        let length = 20   // YYYYMMDDTHHMMSS.mmmZ
        guard bytes.count >= length else { return nil }
        for start in stride(from: bytes.count - length, through: 0, by: -1) {
            let s = bytes[start..<(start + length)]
            func digits(_ from: Int, _ count: Int) -> Int? {
                var value = 0
                for byte in s.dropFirst(from).prefix(count) {
                    guard byte >= 0x30 && byte <= 0x39 else { return nil }
                    value = value * 10 + Int(byte - 0x30)
                }
                return value
            }
            guard s[start + 8] == 0x54, s[start + 15] == 0x2E, s[start + 19] == 0x5A,
                  let year = digits(0, 4), let month = digits(4, 2), let day = digits(6, 2), let hour = digits(9, 2),
                  let minute = digits(11, 2), let second = digits(13, 2), let millisecond = digits(16, 3),
                  (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { continue }
            return CivilTime(year: year, month: month, day: day, hour: hour, minute: minute, second: second, millisecond: millisecond).milliseconds
        }
        return nil
    }

    /// Why a camera id cannot be a directory name under the root, or nil when it can.
    static func problem(camera: String) -> String? {
        if camera.isEmpty { return "empty camera id" }
        if camera.utf8.count > 200 { return "camera id longer than 200 bytes" }
        if camera.hasPrefix(".") { return "camera id starts with '.' (hidden and reserved names such as .thumbnails)" }
        if camera.utf8.contains(where: { $0 == 0x2F || $0 < 0x20 || $0 == 0x7F }) { return "camera id contains '/' or a control character" }
        return nil
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}

/// A UTC date and time from milliseconds since 1970 and back, without Foundation (H. Hinnant's
/// days-from-civil algorithms, proleptic Gregorian calendar).
struct CivilTime: Equatable {
    var year, month, day, hour, minute, second, millisecond: Int

    init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, millisecond: Int) {
        (self.year, self.month, self.day, self.hour, self.minute, self.second, self.millisecond) = (year, month, day, hour, minute, second, millisecond)
    }

    init(milliseconds: Int64) {
        let ms = Int(milliseconds)
        var days = ms >= 0 ? ms / 86_400_000 : (ms - 86_399_999) / 86_400_000
        let inDay = ms - days * 86_400_000
        hour = inDay / 3_600_000
        minute = inDay / 60_000 % 60
        second = inDay / 1000 % 60
        millisecond = inDay % 1000
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthPrime = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * monthPrime + 2) / 5 + 1
        month = monthPrime < 10 ? monthPrime + 3 : monthPrime - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }

    var milliseconds: Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return Int64(days) * 86_400_000 + Int64(hour * 3_600_000 + minute * 60_000 + second * 1000 + millisecond)
    }
}
