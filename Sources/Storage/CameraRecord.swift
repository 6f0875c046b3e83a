/// A row of the `cameras` table: what camhost knows of a camera without asking it (docs/storage.md).
public struct CameraRecord: Sendable, Hashable {
    public let id: String
    public let name: String
    /// The firmware profile's name; `unknown` for cameras registered by a recordings scan.
    public let profile: String
    /// The camera's address as entered (an IP address or a host name); empty when not known.
    public let address: String
}
