/// camhost's schema, as migrations. Append new migrations; never edit or reorder shipped ones.
/// Explained in docs/storage.md.
public enum CamhostSchema {
    public static let migrator: Migrator = {
        var migrator = Migrator()
        migrator.register("cameras, audit log, health history", sql: """
            CREATE TABLE cameras (
                id TEXT PRIMARY KEY NOT NULL,
                name TEXT NOT NULL,
                profile TEXT NOT NULL,
                address TEXT NOT NULL,
                created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
            ) STRICT;

            CREATE TABLE audit_log (
                id INTEGER PRIMARY KEY,
                at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
                actor TEXT NOT NULL,
                action TEXT NOT NULL,
                target TEXT,
                detail TEXT,
                outcome TEXT NOT NULL
            ) STRICT;
            CREATE INDEX audit_log_at ON audit_log (at);

            CREATE TABLE health_history (
                id INTEGER PRIMARY KEY,
                at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
                check_name TEXT NOT NULL,
                ok INTEGER NOT NULL CHECK (ok IN (0, 1)),
                detail TEXT
            ) STRICT;
            CREATE INDEX health_history_check_at ON health_history (check_name, at);
            """)
        migrator.register(RecordingsSchema.migrationName, sql: RecordingsSchema.migrationSQL)
        migrator.register(AccountsSchema.migrationName, sql: AccountsSchema.migrationSQL)
        migrator.register(KurentoObjects.migrationName, sql: KurentoObjects.migrationSQL)
        return migrator
    }()
}
