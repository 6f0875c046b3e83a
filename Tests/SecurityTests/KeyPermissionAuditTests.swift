#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Security

private func makeKey(in scratch: ScratchDirectory, mode: mode_t) throws -> String {
    let path = scratch.file("server.key")
    try FileSystem.writeAtomically(PrivateKey.generate().pemBytes(), to: path, mode: mode, group: nil, what: "key")
    return path
}

@Test func privateKeyFileIsAccepted() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let path = try makeKey(in: scratch, mode: 0o600)
    let audit = KeyPermissionAudit(keyPath: path)
    #expect(audit.findings == [])
    #expect(!audit.refuseToStart)
}

@Test func worldReadableKeyIsRefused() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let path = try makeKey(in: scratch, mode: 0o600)
    #expect(chmod(path, 0o644) == 0)
    let audit = KeyPermissionAudit(keyPath: path)
    #expect(audit.refuseToStart)
    let messages = audit.findings.map(\.message).joined(separator: "\n")
    #expect(messages.contains("chmod 600 \(path)"), "\(messages)")
    #expect(messages.contains("0644"))
    #expect(messages.contains(path))
}

@Test(arguments: [0o604 as mode_t, 0o602, 0o620, 0o640, 0o660])
func looseModesAreRefusedWithoutGroup(mode: mode_t) throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let path = try makeKey(in: scratch, mode: mode)
    let audit = KeyPermissionAudit(keyPath: path)
    #expect(audit.refuseToStart, "\(audit.findings)")
}

@Test func groupWritableIsRefusedEvenWithGroup() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let path = try makeKey(in: scratch, mode: 0o660)
    let audit = KeyPermissionAudit(keyPath: path, group: getegid())
    #expect(audit.refuseToStart)
    #expect(audit.findings.map(\.message).joined().contains("group can write"))
}

@Test func missingKeyAndSpecialFilesAreReported() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    #expect(KeyPermissionAudit(keyPath: scratch.file("absent.key")).refuseToStart)
    let directoryAudit = KeyPermissionAudit(keyPath: scratch.path)
    #expect(directoryAudit.refuseToStart)
    #expect(directoryAudit.findings.first?.message.contains("directory") == true)
}

@Test func symbolicLinksAreReportedAndFollowed() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let target = try makeKey(in: scratch, mode: 0o600)
    let link = scratch.file("link.key")
    #expect(symlink(target, link) == 0)
    let audit = KeyPermissionAudit(keyPath: link)
    #expect(!audit.refuseToStart)
    #expect(audit.findings.count == 1)
    #expect(audit.findings.first?.severity == .warning)
    #expect(audit.findings.first?.message.contains(target) == true)

    #expect(chmod(target, 0o644) == 0)
    #expect(KeyPermissionAudit(keyPath: link).refuseToStart)

    let dangling = scratch.file("dangling.key")
    #expect(symlink(scratch.file("nowhere"), dangling) == 0)
    #expect(KeyPermissionAudit(keyPath: dangling).refuseToStart)
}

@Test func worldWritableDirectoryIsRefused() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let path = try makeKey(in: scratch, mode: 0o600)
    #expect(chmod(scratch.path, 0o777) == 0)
    let audit = KeyPermissionAudit(keyPath: path)
    #expect(audit.refuseToStart)
    #expect(audit.findings.map(\.message).joined().contains("chmod 700 \(scratch.path)"))
}

@Test func aKeyGroupThatCannotPassAFolderIsReportedUntilThePathIsOpened() throws {
    let scratch = try ScratchDirectory()  // mkdtemp: 0700, the group cannot enter
    defer { scratch.remove() }
    let group: gid_t = 4242  // not ours: only the path may let it in
    #expect(mkdir(scratch.file("tls"), 0o700) == 0)
    let path = scratch.file("tls/server.key")
    try FileSystem.writeAtomically(PrivateKey.generate().pemBytes(), to: path, mode: 0o640, group: group, what: "key")
    try writeLines(scratch.file("notes.txt"), mode: 0o644)

    let blocked = KeyPermissionAudit(keyPath: path, group: group)
    #expect(!blocked.refuseToStart)
    let warning = try #require(blocked.findings.first { $0.message.contains("cannot reach private key") })
    #expect(warning.severity == .warning)
    #expect(warning.message.contains(scratch.path + " (mode 0700") && warning.message.contains(scratch.file("tls") + " (mode 0700"), "\(warning)")

    let changes = try KeyGroupPath.open(keyPath: path, certificatePath: scratch.file("tls/server.crt"), top: scratch.path, group: group)
    #expect(changes.count == 3, "\(changes)")  // two folders, and notes.txt loses its bits for others
    #expect(try statusOf(scratch.path).permissions == 0o750 && statusOf(scratch.path).group == group)
    #expect(try statusOf(scratch.file("tls")).permissions == 0o750)
    #expect(try statusOf(scratch.file("notes.txt")).permissions == 0o640)
    #expect(try statusOf(path).permissions == 0o640, "the key itself is left as it is")
    #expect(KeyPermissionAudit(keyPath: path, group: group).findings == [])
    #expect(try KeyGroupPath.open(keyPath: path, certificatePath: scratch.file("tls/server.crt"), top: scratch.path, group: group) == [],
            "a second run changes nothing")

    // A folder on the way that the group may write: it could replace the key.
    #expect(chmod(scratch.file("tls"), 0o770) == 0)
    #expect(KeyPermissionAudit(keyPath: path, group: group).refuseToStart)
}

private func writeLines(_ path: String, mode: mode_t) throws {
    try FileSystem.writeAtomically(Array("x\n".utf8), to: path, mode: mode, group: nil, what: "file")
}

private func statusOf(_ path: String) throws -> FileStatus {
    try #require(try FileSystem.status(path))
}

@Test func aKeyOutsideTheDataDirectoryIsLeftAsItIs() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let group: gid_t = 4242
    #expect(mkdir(scratch.file("shared"), 0o710) == 0)  // like /etc/ssl/private, with another service's key
    let path = scratch.file("shared/camhost.key")
    try FileSystem.writeAtomically(PrivateKey.generate().pemBytes(), to: path, mode: 0o640, group: group, what: "key")
    try FileSystem.writeAtomically(Array("other\n".utf8), to: scratch.file("shared/other.key"), mode: 0o640, group: group, what: "key")
    #expect(mkdir(scratch.file("data"), 0o750) == 0)
    let changes = try KeyGroupPath.open(keyPath: path, certificatePath: scratch.file("shared/camhost.crt"), top: scratch.file("data"), group: group)
    #expect(changes == [])
    #expect(try statusOf(scratch.file("shared/other.key")).permissions == 0o640, "another service's key keeps its group")
    #expect(try statusOf(scratch.file("shared")).permissions == 0o710)
}
