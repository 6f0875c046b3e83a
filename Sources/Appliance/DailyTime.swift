import POSIX

/// A time of day, HH:MM in local time, for the schedules inside the process (log maintenance at
/// 03:00, restarts of named units): the old platform's cron lines, without cron.
public struct DailyTime: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var hour: Int
    public var minute: Int

    /// "03:00", "8:05"; nil for anything else.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...2).contains(parts[0].count), parts[1].count == 2,
              let hour = Int(parts[0]), let minute = Int(parts[1]), (0...23).contains(hour), (0...59).contains(minute) else { return nil }
        self.hour = hour
        self.minute = minute
    }

    public init(hour: Int, minute: Int) {
        self.hour = hour
        self.minute = minute
    }

    public var minutesOfDay: Int { hour * 60 + minute }
    public var description: String { (hour < 10 ? "0" : "") + "\(hour):" + (minute < 10 ? "0" : "") + "\(minute)" }
    public static func < (lhs: DailyTime, rhs: DailyTime) -> Bool { lhs.minutesOfDay < rhs.minutesOfDay }

    /// Seconds from a local time of day (`now`, seconds since local midnight) to the next time
    /// this one comes round: 0 < result <= 86,400.
    public func secondsUntilNext(fromSecondOfDay now: Int) -> Int {
        let target = minutesOfDay * 60
        let wait = (target - now + 86_400) % 86_400
        return wait == 0 ? 86_400 : wait
    }
}

/// A unit restarted at set times: `UNIT@HH:MM[,HH:MM...]` (schedule.restarts).
public struct ScheduledRestart: Hashable, Sendable {
    public var unit: String
    public var times: [DailyTime]

    public init?(_ text: String) {
        let parts = text.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[0].contains(" ") else { return nil }
        let times = parts[1].split(separator: ",", omittingEmptySubsequences: false).map { DailyTime($0.trimmingSpaces()) }
        guard !times.isEmpty, times.allSatisfy({ $0 != nil }) else { return nil }
        unit = String(parts[0])
        self.times = times.compactMap { $0 }.sorted()
    }
}

/// A numeric HOST:PORT ([v6]:port for IPv6), as health.coturn takes it.
public struct HostPort: Hashable, Sendable {
    public var host: String
    public var port: UInt16

    public init?(_ text: String) {
        let host: Substring, port: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            port = rest.dropFirst()
        } else {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2 else { return nil }
            host = parts[0]
            port = parts[1]
        }
        guard NumericAddress.isValid(String(host)), let number = UInt16(port), number > 0 else { return nil }
        self.host = String(host)
        self.port = number
    }
}
