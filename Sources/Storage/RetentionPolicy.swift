/// What retention keeps and what it may delete: age limits, a per-camera byte quota and a
/// free-space floor, with global values here and per-camera overrides in the `cameras` table.
public struct RetentionPolicy: Sendable, Equatable {
    /// Recordings whose end is older than this are deleted (reason `age`); 0: no age limit.
    public var maxAgeDays: Int
    /// A free-space purge never deletes recordings younger than this unless forced.
    public var minAgeDays: Int
    /// Per-camera byte quota (sum of `recordings.bytes`); 0: none.
    public var cameraQuotaBytes: Int64
    /// Keep at least this share of the recordings volume free (reason `free_space`); 0: off.
    public var freeSpaceFloorPercent: Int
    /// Refuse a run that would delete more than this share of all recordings, unless forced.
    public var safetyMaxSharePercent: Int
    /// Files without a row are deleted only when older than this.
    public var orphanGraceMinutes: Int
    /// Files modified more recently than this are still being written: not registered, not deleted.
    public var settleSeconds: Int

    public init(maxAgeDays: Int = 30, minAgeDays: Int = 1, cameraQuotaBytes: Int64 = 0, freeSpaceFloorPercent: Int = 10,
                safetyMaxSharePercent: Int = 50, orphanGraceMinutes: Int = 60, settleSeconds: Int = 60) {
        self.maxAgeDays = maxAgeDays
        self.minAgeDays = minAgeDays
        self.cameraQuotaBytes = cameraQuotaBytes
        self.freeSpaceFloorPercent = freeSpaceFloorPercent
        self.safetyMaxSharePercent = safetyMaxSharePercent
        self.orphanGraceMinutes = orphanGraceMinutes
        self.settleSeconds = settleSeconds
    }
}

/// One camera's overrides of the global policy; nil fields use the global value.
public struct CameraRetention: Sendable, Equatable {
    public var cameraID: String
    public var maxAgeDays: Int?
    public var minAgeDays: Int?
    public var quotaBytes: Int64?

    public init(cameraID: String, maxAgeDays: Int? = nil, minAgeDays: Int? = nil, quotaBytes: Int64? = nil) {
        self.cameraID = cameraID
        self.maxAgeDays = maxAgeDays
        self.minAgeDays = minAgeDays
        self.quotaBytes = quotaBytes
    }

    /// Every camera's overrides, by id.
    public static func all(in store: Store) throws -> [CameraRetention] {
        try store.read { db in
            try db.query("SELECT id, retention_max_age_days, retention_min_age_days, retention_quota_bytes FROM cameras ORDER BY id")
                .map { row in
                    CameraRetention(cameraID: try row.get(0), maxAgeDays: try row.get(1), minAgeDays: try row.get(2), quotaBytes: try row.get(3))
                }
        }
    }

    /// Stores these overrides (nil clears one); creates the camera row if it does not exist yet.
    public func save(in store: Store) throws {
        try store.write { db in
            try db.execute("INSERT OR IGNORE INTO cameras (id, name, profile, address) VALUES (?, ?, 'unknown', '')", cameraID, cameraID)
            try db.execute("""
                UPDATE cameras SET retention_max_age_days = ?, retention_min_age_days = ?, retention_quota_bytes = ? WHERE id = ?
                """, maxAgeDays, minAgeDays, quotaBytes, cameraID)
        }
    }
}
