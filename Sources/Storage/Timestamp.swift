/// Times as the tables store them: UTC ISO 8601 with milliseconds, `2025-11-25T13:19:02.123Z`
/// (sorts as text; SQLite's `strftime('%Y-%m-%dT%H:%M:%fZ')`). Plain arithmetic, no calendar
/// library: the proleptic Gregorian calendar in UTC has no time zones or leap seconds to know.
public enum Timestamp {
    /// The stored form of a moment, milliseconds since 1970 (negative: before).
    public static func iso8601(unixMilliseconds: Int64) -> String {
        let (seconds, milliseconds) = floorDivision(unixMilliseconds, 1000)
        let (days, secondOfDay) = floorDivision(seconds, 86_400)
        let (year, month, day) = civil(fromDays: days)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(width - text.count, 0)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):"
            + "\(pad(secondOfDay % 60, 2)).\(pad(milliseconds, 3))Z"
    }

    /// The stored form of the moment `seconds` before now (the real-time clock).
    public static func iso8601(secondsAgo seconds: Int64) -> String {
        iso8601(unixMilliseconds: (FileOps.now() - seconds) * 1000)
    }

    private static func floorDivision(_ a: Int64, _ b: Int64) -> (quotient: Int64, remainder: Int64) {
        let q = a / b, r = a % b
        return r < 0 ? (q - 1, r + b) : (q, r)
    }

    /// Year, month, day of a day number (days since 1970-01-01), after Howard Hinnant's
    /// `civil_from_days` (https://howardhinnant.github.io/date_algorithms.html#civil_from_days).
    static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
