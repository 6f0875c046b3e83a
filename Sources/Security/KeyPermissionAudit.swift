#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Checks a private key file's type, owner and mode before the server uses it, collecting every
/// finding so the command line can print them all at once.
public struct KeyPermissionAudit: Sendable {
    public struct Finding: Sendable, Equatable, CustomStringConvertible {
        public enum Severity: Sendable, Equatable, Comparable {
            /// Worth knowing; the server starts.
            case notice
            /// Probably a mistake; the server starts.
            case warning
            /// Unsafe; the server refuses to start.
            case refuse
        }

        public let severity: Severity
        public let message: String

        public var description: String { "\(severity): \(message)" }
    }

    public let keyPath: String
    public let findings: [Finding]

    /// Whether any finding makes the key unsafe to use.
    public var refuseToStart: Bool { findings.contains { $0.severity == .refuse } }

    /// Audits the key at `keyPath`. `group` is the TLS group from the configuration, if any: only
    /// then may the group read the key.
    public init(keyPath: String, group: gid_t? = nil) {
        self.keyPath = keyPath
        self.findings = Self.inspect(keyPath: keyPath, group: group)
    }

    private static func inspect(keyPath: String, group: gid_t?) -> [Finding] {
        var findings: [Finding] = []
        func add(_ severity: Finding.Severity, _ message: String) { findings.append(Finding(severity: severity, message: message)) }

        let link: FileStatus?
        do {
            link = try FileSystem.status(keyPath)
        } catch {
            add(.refuse, "\(error)")
            return findings
        }
        guard let link else {
            add(.refuse, "private key \(keyPath) does not exist. Fix: restore it, or remove the certificate too and "
                + "restart camhost to make a new pair")
            return findings
        }
        var target = link
        if link.isSymbolicLink {
            let destination = FileSystem.linkTarget(keyPath) ?? "?"
            guard let followed = try? FileSystem.status(keyPath, followingLinks: true) else {
                add(.refuse, "private key \(keyPath) is a symbolic link to \(destination), which does not exist. "
                    + "Fix: point the link at the key file or replace it with the key")
                return findings
            }
            let sameDirectory = !destination.contains("/")
            add(sameDirectory ? .notice : .warning,
                "private key \(keyPath) is a symbolic link to \(destination); checking the file it points to. "
                + "Fix: keep the key itself at \(keyPath) unless the link is intended")
            target = followed
        }
        guard target.isRegularFile else {
            add(.refuse, "private key \(keyPath) is not a regular file but a \(target.kindName). "
                + "Fix: point the configuration at the PEM key file")
            return findings
        }

        let mode = target.permissions
        let tightMode = group == nil ? "600" : "640"
        if mode & 0o007 != 0 {
            add(.refuse, "private key \(keyPath) has mode \(octal(mode)): other users can "
                + (mode & 0o002 != 0 ? "write" : "read") + " it. Fix: chmod \(tightMode) \(keyPath)")
        }
        if mode & 0o020 != 0 {
            add(.refuse, "private key \(keyPath) has mode \(octal(mode)): its group can write it. "
                + "Fix: chmod \(tightMode) \(keyPath)")
        }
        if mode & 0o040 != 0 && group == nil {
            add(.refuse, "private key \(keyPath) has mode \(octal(mode)): its group (gid \(target.group)) can read it "
                + "but no TLS group is configured. Fix: chmod 600 \(keyPath), or configure the group that needs it")
        }
        if let group, target.group != group {
            add(.warning, "private key \(keyPath) belongs to group \(target.group), not the configured TLS group \(group). "
                + "Fix: chgrp \(group) \(keyPath)")
        }
        if mode & 0o7000 != 0 || mode & 0o111 != 0 {
            add(.warning, "private key \(keyPath) has mode \(octal(mode)) with execute or special bits. "
                + "Fix: chmod \(tightMode) \(keyPath)")
        }
        let me = FileSystem.userID
        if target.owner != me && target.owner != 0 {
            add(.warning, "private key \(keyPath) is owned by uid \(target.owner), but camhost runs as uid \(me); "
                + "that user can change its mode. Fix: chown \(me) \(keyPath)")
        }

        let directory = FileSystem.parentDirectory(of: keyPath)
        if let parent = try? FileSystem.status(directory, followingLinks: true),
           parent.permissions & 0o002 != 0, parent.permissions & 0o1000 == 0 {
            add(.refuse, "directory \(directory) holding private key \(keyPath) has mode \(octal(parent.permissions)): "
                + "any user can replace the key. Fix: chmod 700 \(directory)")
        }
        inspectPath(keyPath: keyPath, parent: directory, group: group, add)
        return findings
    }

    /// The folders above the key: none may let others (or the key group) replace what is below
    /// it, and with a key group each must let the group through, or the 0640 key is no use to it.
    private static func inspectPath(keyPath: String, parent: String, group: gid_t?,
                                    _ add: (Finding.Severity, String) -> Void) {
        guard let canonicalParent = FileSystem.canonical(parent) else { return }
        var folder = canonicalParent
        var blocking: [String] = []
        while true {
            if let status = try? FileSystem.status(folder), status.isDirectory {
                let mode = status.permissions, sticky = mode & 0o1000 != 0
                // The key's own folder has its own finding above.
                if folder != canonicalParent, mode & 0o002 != 0, !sticky {
                    add(.refuse, "directory \(folder) above private key \(keyPath) has mode \(octal(mode)): any user can "
                        + "replace the folders below it. Fix: chmod o-w \(folder)")
                }
                if let group {
                    if status.group == group, mode & 0o020 != 0, !sticky {
                        add(.refuse, "directory \(folder) on the way to private key \(keyPath) has mode \(octal(mode)) and belongs to "
                            + "the TLS group \(group): the group can replace the key. Fix: chmod g-w \(folder)")
                    }
                    let passes = mode & 0o001 != 0 || (status.group == group && mode & 0o010 != 0)
                    if !passes { blocking.append("\(folder) (mode \(octal(mode)), uid \(status.owner), gid \(status.group))") }
                }
            }
            if folder == "/" { break }
            folder = FileSystem.parentDirectory(of: folder)
        }
        if let group, !blocking.isEmpty {
            add(.warning, "the TLS group \(group) cannot reach private key \(keyPath): it may not enter "
                + blocking.reversed().joined(separator: ", ")
                + ". Fix: chgrp \(group) and chmod 750 each of them (camhost does so itself from the data directory down)")
        }
    }
}
