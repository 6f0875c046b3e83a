/// Deleting chosen recordings (the dashboard's "delete selected"), through the same ledger as
/// retention, so a crash half-way is finished by the next cleanup.
extension Cleanup {
    /// Deletes the recordings with these ids unless protected; returns the report (reason
    /// `age` in the ledger: its CHECK constraint predates user deletions) and the ids refused
    /// because they are protected or unknown.
    public func delete(ids: [Int64], actor: String) throws -> (report: CleanupReport, skipped: [Int64]) {
        let started = FileOps.monotonicMilliseconds()
        var report = CleanupReport(dryRun: false)
        let lockPath = store.path + ".cleanup-lock"
        let hold = try CleanupHold(lockPath: lockPath, root: index.root)
        defer { hold.release() }
        let rootFD = hold.rootFD
        report.databaseBytesBefore = try store.sizeInBytes()
        let wanted = Array(Set(ids)).sorted()
        let queued = try store.write { db -> [Int64] in
            let insert = try db.prepare("""
                INSERT INTO deletion_ledger (recording_id, path, thumbnail, reason, bytes)
                SELECT id, path, thumbnail, 'age', bytes FROM recordings WHERE id = ? AND protected = 0
                  AND id NOT IN (SELECT recording_id FROM deletion_ledger WHERE recording_id IS NOT NULL)
                """)
            var queued: [Int64] = []
            for id in wanted {
                try insert.execute([.integer(id)])
                if db.changes == 1 { queued.append(id) }
            }
            return queued
        }
        let cursor = DirectoryCursor(rootFD: rootFD)
        var options = CleanupOptions()
        options.actor = actor
        report.ledgerFinished = try drain(cursor: cursor, options: options, report: &report)
        cursor.closeAll()
        report.databaseBytesAfter = try store.sizeInBytes()
        report.durationMilliseconds = FileOps.monotonicMilliseconds() - started
        let skipped = wanted.filter { !queued.contains($0) }
        _ = try store.write { db in
            try AuditLog.append(in: db, actor: actor, action: "recordings.delete", target: queued.map(String.init).joined(separator: ","),
                                detail: "deleted \(report.recordingsDeleted) recording(s), \(report.bytesFreed) bytes" + (skipped.isEmpty ? "" : "; skipped (protected or unknown): \(skipped.map(String.init).joined(separator: ","))"),
                                outcome: report.errors.isEmpty ? .success : .failure)
        }
        return (report, skipped)
    }
}
