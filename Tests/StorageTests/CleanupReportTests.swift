import JSONText
import Storage
import Testing

/// A cleanup report is stored as JSON (`cleanup_runs`) and read back as the same typed value,
/// so the dashboard's history shows every number, the error count included.
@Suite("Cleanup report JSON")
struct CleanupReportTests {
    @Test func storedJSONReadsBackAsTheSameReport() throws {
        var report = CleanupReport(dryRun: false)
        report.deleted = [.age: 7, .quota: 2, .freeSpace: 1, .orphan: 3]
        report.thumbnailsDeleted = 5
        report.orphanFiles = 4
        report.orphanDirectories = 2
        report.danglingRows = 1
        report.bytesFreed = 12_345_678_901
        report.databaseBytesBefore = 4096
        report.databaseBytesAfter = 2048
        report.errors = [PathError(path: "cam1/a.webm", error: "Permission denied"),
                         PathError(path: "cam1/<b>.webm", error: "refused: \"quoted\"\nnext line"),
                         PathError(path: "cam2/c.webm", error: "gone")]
        report.durationMilliseconds = 321
        report.registered = 9
        report.ledgerFinished = 6
        report.refusal = "would delete 80 % > 50 %"
        let json = report.json()
        #expect(json.hasPrefix(#"{"dry_run":false,"deleted":{"age":7,"quota":2,"free_space":1,"orphan":3},"thumbnails_deleted":5,"#))
        let back = try CleanupReport(json: Array(json.utf8))
        #expect(back == report)
        #expect(back.errors.count == 3)
        #expect(back.json() == json)
    }

    @Test func olderReportsAndBadTextAreHandled() throws {
        // A report written before `registered`, `ledger_finished` and `refusal` existed.
        let old = try CleanupReport(json: Array(#"{"dry_run":false,"deleted":{"age":1,"quota":0,"free_space":0,"orphan":0},"bytes_freed":10,"errors":[{"path":"x","error":"y"}]}"#.utf8))
        #expect(old.recordingsDeleted == 1 && old.bytesFreed == 10 && old.errors.count == 1 && old.registered == 0 && old.refusal == nil)
        #expect(throws: JSONParseError.self) { try CleanupReport(json: Array("{not json".utf8)) }
        #expect(throws: JSONParseError.self) { try CleanupReport(json: Array("[1]".utf8)) }
    }
}
