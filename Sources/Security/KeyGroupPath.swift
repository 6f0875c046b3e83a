#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The folders on the way to the TLS key that a key group (`tls.key_group`, e.g. `ssl-cert` for
/// CoTURN) must pass: a key of mode 0640 is no use to the group behind a folder it cannot enter.
///
/// The old set-up script's rule, kept: folders 0750 and the key 0640, both the group's. What the
/// group may then reach is only what it needs: the folders' other entries lose the bits that
/// would now let it in (docs/security.md, "Key group").
public enum KeyGroupPath {
    /// Gives `group` every folder from `top` down to the key's own folder, group bits r-x (it may
    /// enter and list, never write; no set-group-ID bit, so new files keep camhost's group).
    /// Everything else in those folders, apart from the next folder on the way, the key and the
    /// certificate, loses the bits for others (harmless while only the owner could enter) and,
    /// where it belongs to `group`, the group bits. Folders above `top` are not camhost's to
    /// change, nor is a key's folder outside `top` (e.g. /etc/ssl/private, shared with other
    /// services' keys): nothing is changed there, and `KeyPermissionAudit` reports what blocks.
    ///
    /// Returns one line per change made, for the log; nothing on a second run.
    public static func open(keyPath: String, certificatePath: String, top: String, group: gid_t) throws -> [String] {
        let keyDirectory = FileSystem.parentDirectory(of: keyPath)
        guard let keyFolder = FileSystem.canonical(keyDirectory) else {
            throw CredentialError.system(errno, "cannot resolve the folder of the TLS key", path: keyDirectory,
                                         fix: "create it, or check the path in tls.key")
        }
        guard let top = FileSystem.canonical(top), keyFolder == top || keyFolder.hasPrefix(top + "/") else { return [] }
        var folders = [keyFolder]
        var folder = keyFolder
        while folder != top {
            folder = FileSystem.parentDirectory(of: folder)
            folders.append(folder)
        }
        let certificate = FileSystem.canonical(certificatePath)
        var changes: [String] = []
        var next: String?  // the folder below, on the way to the key
        for folder in folders {
            guard let status = try FileSystem.status(folder) else { continue }
            let mode = (status.permissions & 0o1707) | 0o050
            if status.group != group || status.permissions != mode {
                try FileSystem.setGroupAndMode(folder, group: group, mode: mode)
                changes.append("gave \(folder) to group \(group) with mode \(octal(mode)) (was \(octal(status.permissions)), gid \(status.group)) so the key group can reach the key")
            }
            for name in try FileSystem.entries(of: folder) {
                let path = folder + "/" + name
                if path == next || (folder == keyFolder && (name == FileSystem.fileName(of: keyPath) || path == certificate)) { continue }
                guard let entry = try FileSystem.status(path), !entry.isSymbolicLink else { continue }
                var tight = entry.permissions & ~0o007
                if entry.group == group { tight &= ~0o070 }
                if tight != entry.permissions {
                    try FileSystem.setMode(path, tight)
                    changes.append("set \(path) to mode \(octal(tight)) (was \(octal(entry.permissions))): the key group passes \(folder) and must not read it")
                }
            }
            next = folder
        }
        return changes
    }
}
