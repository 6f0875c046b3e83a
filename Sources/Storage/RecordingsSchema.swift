/// Migration 2: recordings, per-camera retention overrides, the deletion ledger and cleanup runs.
/// Explained in docs/recordings.md. Shipped: append a new migration instead of editing this one.
public enum RecordingsSchema {
    public static let migrationName = "recordings and retention"

    static let migrationSQL = """
        ALTER TABLE cameras ADD COLUMN retention_max_age_days INTEGER CHECK (retention_max_age_days >= 0);
        ALTER TABLE cameras ADD COLUMN retention_min_age_days INTEGER CHECK (retention_min_age_days >= 0);
        ALTER TABLE cameras ADD COLUMN retention_quota_bytes INTEGER CHECK (retention_quota_bytes >= 0);

        CREATE TABLE recordings (
            id INTEGER PRIMARY KEY,
            camera_id TEXT NOT NULL REFERENCES cameras(id) ON DELETE RESTRICT,
            path BLOB NOT NULL UNIQUE,
            start_at TEXT NOT NULL,
            end_at TEXT NOT NULL,
            duration_ms INTEGER CHECK (duration_ms >= 0),
            bytes INTEGER NOT NULL CHECK (bytes >= 0),
            codec TEXT,
            thumbnail BLOB UNIQUE,
            protected INTEGER NOT NULL DEFAULT 0 CHECK (protected IN (0, 1)),
            added_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        ) STRICT;
        CREATE INDEX recordings_camera_end ON recordings (camera_id, end_at);
        CREATE INDEX recordings_end ON recordings (end_at);

        CREATE TABLE deletion_ledger (
            id INTEGER PRIMARY KEY,
            recording_id INTEGER,
            path BLOB NOT NULL,
            thumbnail BLOB,
            reason TEXT NOT NULL CHECK (reason IN ('age', 'quota', 'free_space', 'orphan', 'orphan_file', 'dangling')),
            bytes INTEGER NOT NULL DEFAULT 0,
            added_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        ) STRICT;
        CREATE INDEX deletion_ledger_recording ON deletion_ledger (recording_id);

        CREATE TABLE cleanup_runs (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            finished_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            actor TEXT NOT NULL,
            dry_run INTEGER NOT NULL CHECK (dry_run IN (0, 1)),
            report TEXT NOT NULL
        ) STRICT;
        CREATE INDEX cleanup_runs_started ON cleanup_runs (started_at);
        """
}
