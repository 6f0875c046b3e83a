import JSONText
/// Command round trips measured against many cameras (simulated ones: `camhost simulate
/// cameras`): set-mode commands alternating two modes, at most `concurrency` in flight and never
/// two to one camera; the report has the percentiles and the rate (`camhost camera bench`).
public struct CommandBenchmark: Sendable {
    public var count: Int
    public var cameras: [CameraID]
    public var concurrency: Int
    /// The two modes the commands alternate between.
    public var modes: (String, String)

    public init(count: Int, cameras: [CameraID], concurrency: Int, modes: (String, String)) {
        precondition(count > 0 && !cameras.isEmpty && concurrency > 0, "a benchmark needs commands, cameras and workers")
        self.count = count
        self.cameras = cameras
        self.concurrency = min(concurrency, cameras.count)
        self.modes = modes
    }

    /// Sends every command through `send` and measures.
    public func run(send: @escaping @Sendable (CameraCommand, CameraID) async throws -> CommandResult) async throws -> BenchReport {
        let started = ContinuousClock.now
        let (count, concurrency, ids) = (self.count, self.concurrency, self.cameras)
        let modes = [self.modes.0, self.modes.1]
        // Worker w sends to cameras w, w+concurrency, …: never two in flight to one camera.
        let results = try await withThrowingTaskGroup(of: [CommandResult].self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var mine: [CommandResult] = []
                    var n = worker
                    while n < count {
                        mine.append(try await send(.setMode(modes[(n / ids.count) % 2]), ids[n % ids.count]))
                        n += concurrency
                    }
                    return mine
                }
            }
            var all: [CommandResult] = []
            for try await part in group { all += part }
            return all
        }
        return BenchReport(results: results, cameras: ids.count, concurrency: concurrency, elapsed: ContinuousClock.now - started)
    }
}

/// What `camera bench --json` prints (field names are the JSON contract).
public struct BenchReport: Sendable {
    public var commands: Int
    public var cameras: Int
    public var concurrency: Int
    public var ok: Int
    public var failed: Int
    public var timed_out: Int
    public var seconds: Double
    public var commands_per_second: Double
    public var p50_ms: Double
    public var p90_ms: Double
    public var p99_ms: Double
    public var max_ms: Double

    public init(results: [CommandResult], cameras: Int, concurrency: Int, elapsed: Duration) {
        let latencies = results.map(\.latencyMilliseconds).sorted()
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int((p * Double(latencies.count)).rounded(.up)) - 1)]
        }
        commands = results.count
        self.cameras = cameras
        self.concurrency = concurrency
        ok = results.filter { $0.outcome.isSuccess }.count
        failed = results.filter { if case .failed = $0.outcome { true } else { false } }.count
        timed_out = results.filter { $0.outcome == .timedOut }.count
        seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        commands_per_second = seconds > 0 ? Double(commands) / seconds : 0
        p50_ms = percentile(0.50)
        p90_ms = percentile(0.90)
        p99_ms = percentile(0.99)
        max_ms = latencies.last ?? 0
    }

    /// `--json`: the fields above under their own names.
    public var json: String {
        var w = JSONWriter(capacity: 256)
        w.object { w in
            w.field("commands", commands); w.field("cameras", cameras); w.field("concurrency", concurrency)
            w.field("ok", ok); w.field("failed", failed); w.field("timed_out", timed_out)
            w.field("seconds", seconds); w.field("commands_per_second", commands_per_second)
            w.field("p50_ms", p50_ms); w.field("p90_ms", p90_ms); w.field("p99_ms", p99_ms); w.field("max_ms", max_ms)
        }
        return w.text
    }
}
