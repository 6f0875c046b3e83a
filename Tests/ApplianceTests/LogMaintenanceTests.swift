import Foundation
import POSIX
import Testing
import TestSupport
@testable import Appliance

@Suite("Log maintenance")
struct LogMaintenanceTests {
    /// A tree of many ages and sizes, and a writer appending numbered lines the whole time (as
    /// Mosquitto or Kurento do, with O_APPEND, never reopening): old files go, large ones are
    /// rotated again and again, and every line the writer wrote is in exactly one place, in order.
    @Test func rotatesWhileAWriterWritesWithoutLosingALine() throws {
        let directory = try TemporaryDirectory()
        let logs = directory.file("logs")
        let other = directory.file("kurento")
        try FileSystem.makeDirectories(logs)
        try FileSystem.makeDirectories(other)
        let now = Clock.unixSeconds
        for (name, ageDays) in [("old.log", 20), ("older.log.20260101-030000", 40), ("recent.log", 2)] {
            try writeFile(logs + "/" + name, "some line\n")
            try FileSystem.setModificationTime(logs + "/" + name, seconds: now - Int64(ageDays) * 86_400)
        }
        try writeFile(other + "/kms-old.log", "x\n")
        try FileSystem.setModificationTime(other + "/kms-old.log", seconds: now - 16 * 86_400)

        let lines = 120_000
        let writer = try TestProcess("/usr/bin/python3", ["-c", """
            import os, sys, time
            fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
            for i in range(\(lines)):
                os.write(fd, b"line %07d of the writer, padded to look like a log line ...........\\n" % i)
                if i % 2000 == 0: time.sleep(0.01)
            """, logs + "/busy.log"], environment: TestEnvironment.clean)
        let maintenance = LogMaintenance(directories: [logs, other], keepDays: 15, maxBytes: 64 * 1024)
        var rotations = 0
        var first: LogMaintenance.Report?
        while writer.isRunning {
            let report = maintenance.run(now: now)
            if first == nil { first = report }
            rotations += report.rotated.count
            #expect(report.errors.isEmpty, "\(report.errors)")
            #expect(report.lossyRotations.isEmpty, "this file system should collapse ranges (ext4)")
            usleep(50_000)
        }
        #expect(writer.wait() == 0)
        rotations += maintenance.run(now: now).rotated.count
        #expect(rotations >= 3, "only \(rotations) rotations happened while the writer wrote")
        #expect(Set(first?.deleted ?? []) == [logs + "/old.log", logs + "/older.log.20260101-030000", other + "/kms-old.log"])
        #expect(fileExists(logs + "/recent.log"))

        // Every line, once, in order: the rotated pieces (by name) and then the live file.
        var pieces: [String] = []
        try Directory.forEachEntry(at: logs) { name, _ in
            let text = String(decoding: name, as: UTF8.self)
            if text.hasPrefix("busy.log.") { pieces.append(text) }
        }
        var all = ""
        // busy.log.STAMP sorts by time; a -NN suffix (several in one second) after its stamp.
        for piece in pieces.sorted() { all += try readFile(logs + "/" + piece) }
        all += try readFile(logs + "/busy.log")
        let numbers = all.split(separator: "\n").map { Int($0.dropFirst(5).prefix(7)) }
        #expect(numbers.count == lines, "\(numbers.count) lines found of \(lines)")
        #expect(numbers == (0..<lines).map { Optional($0) }, "lines lost, duplicated or out of order")
    }

    @Test func rotatedNamesAreRecognised() {
        #expect(LogMaintenance.isRotated("camhost.log.20261204-030000"))
        #expect(LogMaintenance.isRotated("camhost.log.20261204-030000-02"))
        #expect(!LogMaintenance.isRotated("camhost.log"))
        #expect(!LogMaintenance.isRotated("kms.2026-12-04.log"))
    }

    @Test func schedulesFireOnceAtTheirTimeAcrossMidnight() {
        let schedules = DailySchedules(tasks: [
            .init(name: "logs", times: [DailyTime(hour: 3, minute: 0)], run: {}),
            .init(name: "kurento", times: [DailyTime("00:00")!, DailyTime("08:00")!, DailyTime("16:00")!], run: {}),
        ])
        #expect(schedules.due(from: 3 * 3600 - 1, to: 3 * 3600).map(\.name) == ["logs"])
        #expect(schedules.due(from: 3 * 3600, to: 3 * 3600 + 1).isEmpty)
        #expect(schedules.due(from: 86_399, to: 0).map(\.name) == ["kurento"])
        #expect(schedules.due(from: 86_398, to: 1).map(\.name) == ["kurento"])
        #expect(schedules.due(from: 100, to: 200).isEmpty)
        #expect(ScheduledRestart("kurento-media-server.service@16:00, 00:00,08:00")?.times.map(\.description) == ["00:00", "08:00", "16:00"])
        #expect(ScheduledRestart("no-times@") == nil)
        #expect(ScheduledRestart("unit@25:00") == nil)
        #expect(DailyTime("3:00")?.description == "03:00")
        #expect(DailyTime("03:0") == nil)
        #expect(DailyTime(hour: 3, minute: 0).secondsUntilNext(fromSecondOfDay: 3 * 3600) == 86_400)
        #expect(DailyTime(hour: 3, minute: 0).secondsUntilNext(fromSecondOfDay: 2 * 3600) == 3600)
    }
}
