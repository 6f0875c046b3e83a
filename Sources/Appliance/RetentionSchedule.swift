import Logging
import Storage
import Synchronization
import POSIX

extension Configuration {
    /// The `[retention]` keys as a policy.
    public var retentionPolicy: RetentionPolicy {
        RetentionPolicy(
            maxAgeDays: self[Settings.retentionMaxAgeDays], minAgeDays: self[Settings.retentionMinAgeDays],
            cameraQuotaBytes: Int64(self[Settings.retentionCameraQuotaBytes]),
            freeSpaceFloorPercent: self[Settings.retentionFreeSpaceFloorPercent],
            safetyMaxSharePercent: self[Settings.retentionSafetyMaxSharePercent],
            orphanGraceMinutes: self[Settings.retentionOrphanGraceMinutes], settleSeconds: self[Settings.retentionSettleSeconds])
    }
}

extension Configuration {
    /// The `[media]` keys, with the tools looked up.
    public var mediaTools: MediaTools {
        MediaTools.resolve(ffprobe: self[Settings.mediaFfprobe], ffmpeg: self[Settings.mediaFfmpeg],
                           concurrency: self[Settings.mediaThumbnailConcurrency], timeoutSeconds: self[Settings.mediaTimeoutSeconds])
    }
}

/// Runs retention inside `serve`: once at start (which also finishes an interrupted run's
/// ledger), then every `retention.schedule_interval_hours`, and whenever free space on the
/// recordings volume drops below the floor. On its own OS thread, because `Store` blocks.
public final class RetentionSchedule: Sendable {
    private let cleanup: Cleanup
    private let policy: RetentionPolicy
    private let interval: Duration?
    private let checkEvery: Duration
    /// Recordings a run registers are probed with these (duration, codec, thumbnail), as
    /// `recordings scan` does; nil leaves them to a later scan.
    private let media: MediaTools?
    private let logger = Logger(label: "camhost.retention")
    private let stopping = Atomic<Bool>(false)
    private let thread = Mutex<ThreadHandle?>(nil)
    /// The last run's report, for the dashboard and metrics.
    public let lastReport = Mutex<CleanupReport?>(nil)

    public init(store: Store, recordingsRoot: String, policy: RetentionPolicy, intervalHours: Int,
                checkEvery: Duration = .seconds(60), media: MediaTools? = nil) {
        cleanup = Cleanup(index: RecordingIndex(store: store, root: recordingsRoot))
        self.media = media
        self.policy = policy
        interval = intervalHours > 0 ? .seconds(intervalHours * 3600) : nil
        self.checkEvery = checkEvery
    }

    public convenience init(store: Store, configuration: Configuration) {
        self.init(store: store, recordingsRoot: configuration.recordingsPath, policy: configuration.retentionPolicy,
                  intervalHours: configuration[Settings.retentionScheduleIntervalHours], media: configuration.mediaTools)
    }

    public func start() {
        guard interval != nil else {
            logger.info("retention schedule off (retention.schedule_interval_hours = 0)")
            return
        }
        let handle = startThread { [self] in loop() }
        thread.withLock { $0 = handle }
    }

    /// Stops after the current batch-free moment; a run in progress finishes first (it is
    /// crash-safe, but finishing keeps the report whole).
    public func stop() {
        stopping.store(true, ordering: .relaxed)
        if let handle = thread.withLock({ $0.take() }) { joinThread(handle) }
    }

    private func loop() {
        guard let interval else { return }
        var next = ContinuousClock.now
        var lastCheck = ContinuousClock.now
        while !stopping.load(ordering: .relaxed) {
            let now = ContinuousClock.now
            var reason: String?
            if now >= next {
                reason = "schedule"
            } else if now - lastCheck >= checkEvery {
                lastCheck = now
                if belowFloor() { reason = "free-space" }
            }
            if let reason {
                runOnce(reason: reason)
                next = ContinuousClock.now + interval
                lastCheck = ContinuousClock.now
            }
            Clock.sleep(milliseconds: 200)
        }
    }

    private func belowFloor() -> Bool {
        guard policy.freeSpaceFloorPercent > 0, let space = CleanupOptions(policy: policy).freeSpace(cleanup.index.root),
              space.total > 0 else { return false }
        return space.available < space.total / 100 * Int64(policy.freeSpaceFloorPercent)
    }

    /// One cleanup now; logs and keeps the report. Never throws: a failed run is logged and retried next time.
    public func runOnce(reason: String) {
        var options = CleanupOptions(policy: policy)
        options.actor = "schedule"
        do {
            let report = try cleanup.run(options)
            lastReport.withLock { $0 = report }
            let level: Logger.Level = report.refusal != nil || !report.errors.isEmpty ? .warning : .info
            logger.log(level: level, "retention (\(reason)): \(Cleanup.summary(report))")
            for error in report.errors.prefix(20) { logger.warning("retention: \(error.path): \(error.error)") }
            if report.registered > 0, let media {
                let probed = try cleanup.index.scan(settleSeconds: policy.settleSeconds, media: media)
                logger.info("retention (\(reason)): \(probed.probed) new recording(s) probed, \(probed.thumbnailsMade) thumbnail(s) made")
                for error in probed.errors.prefix(20) { logger.warning("retention: \(error.path): \(error.error)") }
            }
        } catch CleanupError.rootUnavailable(let error) where error.errno == Errno.noSuchFileOrDirectory.rawValue {
            logger.info("retention (\(reason)): no recordings yet (\(cleanup.index.root) does not exist)")
        } catch {
            logger.error("retention (\(reason)) could not run: \(error)")
        }
    }
}
