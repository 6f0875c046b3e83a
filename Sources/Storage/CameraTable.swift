/// The `cameras` table: the cameras this host serves (ids, names, firmware profiles, addresses).
public struct CameraTable: Sendable {
    public let store: Store

    public init(store: Store) { self.store = store }

    /// Every camera's `address` column as stored (an IP address or a host name), by camera id.
    public func addresses() throws -> [String] {
        try store.read { db in try db.query("SELECT address FROM cameras ORDER BY id").map { try $0.get(0, as: String.self) } }
    }

    /// The camera with this id, or nil.
    public func find(_ id: String) throws -> CameraRecord? {
        try store.read { db in
            guard let row = try db.query("SELECT id, name, profile, address FROM cameras WHERE id = ?", id).first else { return nil }
            return CameraRecord(id: try row.get("id"), name: try row.get("name"), profile: try row.get("profile"), address: try row.get("address"))
        }
    }
}
