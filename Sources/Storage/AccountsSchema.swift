/// Migration 3: dashboard users, sessions, API tokens, login failures and the first-start set-up
/// token. Secrets are stored only as hashes: passwords as PBKDF2 strings that carry their own
/// parameters (so the iteration count can be raised), session ids, tokens and the set-up token
/// as SHA-256. Times are Unix seconds (UTC). Shipped: append a new migration instead of editing.
public enum AccountsSchema {
    public static let migrationName = "users, sessions, API tokens, login failures"

    static let migrationSQL = """
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE,
            role TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
            password_hash TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            password_changed_at INTEGER NOT NULL,
            last_login_at INTEGER
        ) STRICT;

        CREATE TABLE sessions (
            id_hash BLOB PRIMARY KEY NOT NULL,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            csrf_token TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            last_seen_at INTEGER NOT NULL,
            client TEXT NOT NULL
        ) STRICT;
        CREATE INDEX sessions_user ON sessions (user_id);

        CREATE TABLE api_tokens (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            token_hash BLOB NOT NULL UNIQUE,
            scope TEXT NOT NULL CHECK (scope IN ('read', 'commands', 'admin')),
            created_by TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER,
            revoked_at INTEGER,
            last_used_at INTEGER
        ) STRICT;

        CREATE TABLE login_failures (
            kind TEXT NOT NULL CHECK (kind IN ('address', 'user')),
            subject TEXT NOT NULL,
            failures INTEGER NOT NULL,
            last_failure_at INTEGER NOT NULL,
            locked_until INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (kind, subject)
        ) STRICT;

        CREATE TABLE setup_tokens (
            token_hash BLOB PRIMARY KEY NOT NULL,
            created_at INTEGER NOT NULL
        ) STRICT;
        """
}
