/// The `kurento_objects` table: the Kurento media pipelines camhost created and has not released
/// yet. Kurento keeps a pipeline until someone releases it (or its session's client stays away
/// for its garbage-collection delay), so after a crash or restart `serve` releases every pipeline
/// listed here before it creates new ones: camhost never leaves a pipeline it no longer owns
/// behind, and never touches one another application made (docs/kurento.md).
public struct KurentoObjects: Sendable {
    public let store: Store

    public init(store: Store) { self.store = store }

    static let migrationName = "kurento objects"
    static let migrationSQL = """
        CREATE TABLE kurento_objects (
            object_id TEXT PRIMARY KEY NOT NULL,
            camera TEXT NOT NULL,
            kurento_url TEXT NOT NULL,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        ) STRICT;
        """

    /// One pipeline camhost owns.
    public struct Entry: Sendable, Equatable {
        public var objectID: String
        public var camera: String
        public var kurentoURL: String
    }

    public func add(objectID: String, camera: String, kurentoURL: String) throws {
        try store.write { db in
            try db.execute("INSERT OR REPLACE INTO kurento_objects (object_id, camera, kurento_url) VALUES (?, ?, ?)", objectID, camera, kurentoURL)
        }
    }

    public func remove(objectID: String) throws {
        try store.write { db in try db.execute("DELETE FROM kurento_objects WHERE object_id = ?", objectID) }
    }

    /// Every pipeline owned at `kurentoURL`, oldest first.
    public func all(kurentoURL: String) throws -> [Entry] {
        try store.read { db in
            try db.query("SELECT object_id, camera, kurento_url FROM kurento_objects WHERE kurento_url = ? ORDER BY created_at, object_id", kurentoURL).map {
                Entry(objectID: try $0.get(0), camera: try $0.get(1), kurentoURL: try $0.get(2))
            }
        }
    }
}
