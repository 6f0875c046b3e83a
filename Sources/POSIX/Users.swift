#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The users and groups of the host: who camhost runs as, and names to numbers.
public enum Users {
    public static var realUserID: UserID { getuid() }
    public static var effectiveUserID: UserID { geteuid() }
    public static var isRoot: Bool { geteuid() == 0 }

    /// The login name of a user id (getpwuid), or nil.
    public static func name(of user: UserID) -> String? {
        guard let entry = getpwuid(user), let name = entry.pointee.pw_name else { return nil }
        return String(cString: name)
    }

    /// The user and primary group of a login name (getpwnam), or nil.
    public static func lookUp(_ name: String) -> (user: UserID, group: GroupID)? {
        guard let entry = getpwnam(name) else { return nil }
        return (entry.pointee.pw_uid, entry.pointee.pw_gid)
    }

    /// The number of a group name (getgrnam), or nil.
    public static func groupID(named name: String) -> GroupID? {
        guard let entry = getgrnam(name) else { return nil }
        return entry.pointee.gr_gid
    }

    /// This machine's host name (gethostname), "localhost" when it cannot be read.
    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
