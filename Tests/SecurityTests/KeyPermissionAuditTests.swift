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
