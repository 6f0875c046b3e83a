import Foundation
import POSIX
import Synchronization
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The POSIX layer's file operations, on real files in a fresh directory.
@Suite struct FileSystemTests {
    let scratch: TemporaryDirectory
    var directory: String { scratch.path }

    init() throws { scratch = try TemporaryDirectory(prefix: "posix-tests") }

    func mode(_ path: String) throws -> FileMode { try FileStatus(path).permissions }

    @Test func errnoHasSwiftNamesAndTheCLibrarysText() {
        #expect(Errno.noSuchFileOrDirectory.rawValue == ENOENT)
        #expect(Errno(ENOENT) == .noSuchFileOrDirectory)
        #expect(Errno.noSuchFileOrDirectory.description == "No such file or directory")
        let error = SystemError(operation: .makeDirectory, path: "/x/y", errno: .permissionDenied)
        #expect(error.description == "create directory /x/y: Permission denied")
    }

    @Test func atomicWriteSetsTheExactModeReplacesAndLeavesNoTemporaryFile() throws {
        let path = directory + "/file.txt"
        let oldMask = FileSystem.setCreationMask(0o077)  // the mode must not depend on the umask
        defer { FileSystem.setCreationMask(oldMask) }
        try FileSystem.writeAtomically(Array("first\n".utf8), to: path, permissions: 0o640)
        #expect(try mode(path) == 0o640)
        try FileSystem.writeAtomically(Array("second\n".utf8), to: path, permissions: 0o600)
        #expect(try FileSystem.readText(path) == "second\n")
        #expect(try mode(path) == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["file.txt"])
    }

    @Test func atomicWriteIntoAMissingDirectoryNamesTheStep() throws {
        let error = #expect(throws: SystemError.self) {
            try FileSystem.writeAtomically([1, 2, 3], to: directory + "/missing/file")
        }
        #expect(error?.operation == .create)
        #expect(error?.errno == .noSuchFileOrDirectory)
    }

    @Test func makeDirectoriesCreatesEveryMissingParentAndRefusesAFileInTheWay() throws {
        let deep = directory + "/a/b/c"
        try FileSystem.makeDirectories(deep, permissions: 0o710, exactPermissions: true)
        #expect(FileSystem.isDirectory(deep))
        #expect(try mode(directory + "/a") == 0o710 && mode(deep) == 0o710)
        try FileSystem.makeDirectories(deep)  // already there: nothing to do
        try FileSystem.writeAtomically([0], to: directory + "/plain")
        let error = #expect(throws: SystemError.self) { try FileSystem.makeDirectories(directory + "/plain/sub") }
        #expect(error?.errno == .notDirectory, "\(String(describing: error))")
    }

    @Test func readFileStopsAtItsLimit() throws {
        let path = directory + "/big"
        try FileSystem.writeAtomically([UInt8](repeating: 7, count: 10_000), to: path)
        #expect(try FileSystem.readFile(path, limit: 10_000).count == 10_000)
        let error = #expect(throws: SystemError.self) { try FileSystem.readFile(path, limit: 9_999) }
        #expect(error?.errno == .fileTooLarge && error?.operation == .read)
        let missing = #expect(throws: SystemError.self) { try FileSystem.readFile(directory + "/none") }
        #expect(missing?.operation == .open && missing?.errno == .noSuchFileOrDirectory)
    }

    @Test func directoryEntriesWithTheirKindsAndNeverThroughALink() throws {
        try FileSystem.makeDirectories(directory + "/d/sub")
        try FileSystem.writeAtomically([1], to: directory + "/d/f")
        #expect(symlink(directory + "/d/sub", directory + "/d/link") == 0)
        let fd = try FileDescriptor.open(directory + "/d", .readOnly, options: .directory)
        defer { fd.close() }
        var seen: [String: FileStatus.Kind?] = [:]
        try Directory.forEachEntry(in: fd) { name, kind in seen[String(decoding: name, as: UTF8.self)] = kind }
        #expect(Set(seen.keys) == ["sub", "f", "link"])
        #expect(try FileStatus("link", in: fd).kind == .symbolicLink)
        #expect(throws: Errno.tooManySymbolicLinkLevels) { _ = try FileDescriptor.open("link", .readOnly, options: .noFollow, in: fd) }
        // With O_DIRECTORY too, Linux refuses the link itself as not a directory.
        #expect(throws: Errno.notDirectory) { _ = try FileDescriptor.open("link", .readOnly, options: [.directory, .noFollow], in: fd) }
        try FileSystem.writeAtomically([2], to: directory + "/d/sub/inner")
        #expect(throws: Errno.directoryNotEmpty) { try Directory.removeDirectory(Array("sub".utf8), in: fd) }
        try Directory.unlink("link", in: fd)
        #expect(!FileSystem.exists(directory + "/d/link") && FileSystem.isDirectory(directory + "/d/sub"), "the link went, not what it pointed to")
    }
}

/// `writeAll(_ buffers:)`: writev of many buffers, short writes resumed where they stopped.
@Suite struct VectorWriteTests {
    @Test func buffersArriveWholeAndInOrderThroughAPipeThatTakesLessThanAsked() throws {
        // A pipe holds 64 KiB: writev of 300 KiB returns short and the rest must follow from
        // the right byte of the right buffer (the first one resumed mid-way, empty ones skipped).
        let buffers: [[UInt8]] = [Array(repeating: 1, count: 100_000), [], (0..<150_000).map { UInt8(truncatingIfNeeded: $0 * 7) },
                                  [9], [], Array(repeating: 3, count: 70_001)]
        let expected = buffers.flatMap { $0 }
        let (reader, writer) = try FileDescriptor.pipe()
        let received = Mutex<[UInt8]>([])
        let thread = startThread {
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                guard let n = try? chunk.withUnsafeMutableBytes({ raw throws(Errno) in try reader.read(into: raw) }), n > 0 else { break }
                received.withLock { $0 += chunk[0..<n] }
                usleep(100)   // slower than the writer: its writev calls come back short
            }
        }
        try writer.writeAll(buffers)
        writer.close()
        joinThread(thread)
        reader.close()
        let bytes = received.withLock { $0 }
        #expect(bytes.count == expected.count)
        #expect(bytes == expected)
    }

    @Test func writingToAClosedPipeIsAnErrorNotAHang() throws {
        let (reader, writer) = try FileDescriptor.pipe()
        reader.close()
        let previous = signal(SIGPIPE, SIG_IGN)
        defer { signal(SIGPIPE, previous) }
        #expect(throws: Errno.brokenPipe) { try writer.writeAll([[1, 2, 3], [4]]) }
        writer.close()
    }
}
