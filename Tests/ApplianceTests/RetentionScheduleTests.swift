import Appliance
import Storage
import Testing
import TestSupport

@Suite struct RetentionScheduleTests {
    @Test func runsAtStartAndStopsCleanly() throws {
        let directory = try TemporaryDirectory(prefix: "retention-schedule")
        let root = directory.file("recordings")
        let made = try TestProcess.run("/bin/sh", ["-c", """
            mkdir -p '\(root)/cam1' && echo old > '\(root)/cam1/old.webm' && touch -d '40 days ago' '\(root)/cam1/old.webm' \
            && echo new > '\(root)/cam1/new.webm' && touch -d '2 days ago' '\(root)/cam1/new.webm'
            """])
        #expect(made.status == 0)
        let store = try Store.open(directory.file("camhost.db"))
        let schedule = RetentionSchedule(store: store, recordingsRoot: root,
                                         policy: RetentionPolicy(maxAgeDays: 30, safetyMaxSharePercent: 100), intervalHours: 24)
        schedule.start()
        let deadline = ContinuousClock.now + .seconds(10)
        while schedule.lastReport.withLock({ $0 == nil }) && ContinuousClock.now < deadline {
            _ = try TestProcess.run("/bin/sleep", ["0.05"])
        }
        schedule.stop()
        let report = try #require(schedule.lastReport.withLock { $0 })
        #expect(report.deleted[.age] == 1)
        #expect(try RecordingIndex(store: store, root: root).list().map { RecordingPath.display($0.path) } == ["cam1/new.webm"])
        #expect(try AuditLog(store: store).recent(limit: 1).first?.action == "retention.cleanup")
    }

    @Test func retentionKeysAreDocumentedWithDefaults() {
        let policy = Configuration().retentionPolicy
        #expect(policy.maxAgeDays == 30 && policy.safetyMaxSharePercent == 50 && policy.freeSpaceFloorPercent == 10)
        #expect(ConfigSchema.key("retention.schedule_interval_hours")?.defaultValue == .integer(24))
    }
}
