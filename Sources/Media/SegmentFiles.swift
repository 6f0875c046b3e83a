import POSIX

/// The few file-system steps the recorder and its recovery share, on POSIX's descriptors:
/// every path component below the root opened relative to its parent with `O_NOFOLLOW`.
enum SegmentFiles {
    /// Opens directory `name` inside `parent`, making it (0755) when it is missing.
    static func openOrMakeDirectory(_ name: String, in parent: FileDescriptor) throws(Errno) -> FileDescriptor {
        do { return try FileDescriptor.open(name, .readOnly, options: [.directory, .noFollow], in: parent) } catch .noSuchFileOrDirectory {}
        do { try Directory.make(name, in: parent) } catch .fileExists {}
        return try FileDescriptor.open(name, .readOnly, options: [.directory, .noFollow], in: parent)
    }

    /// Whether an entry called `name` exists in `directory` (links not followed).
    static func exists(_ name: String, in directory: FileDescriptor) -> Bool {
        (try? FileStatus(name, in: directory)) != nil
    }

    /// Renames inside one directory, refusing to replace `target` (renameat alone would): a
    /// recording is never overwritten. The check and the rename are two steps; the directory's
    /// names belong to the camera's one recorder.
    static func rename(_ source: String, to target: String, in directory: FileDescriptor) throws(Errno) {
        if exists(target, in: directory) { throw .fileExists }
        try Directory.rename(source, to: target, in: directory)
    }

    /// The entries of a directory with their kind (fstatat when readdir does not say).
    static func entries(of directory: FileDescriptor) throws(Errno) -> [(name: String, kind: FileStatus.Kind)] {
        var found: [(name: String, kind: FileStatus.Kind)] = []
        try Directory.forEachEntry(in: directory) { name, kind in
            let text = String(decoding: name, as: UTF8.self)
            found.append((text, kind ?? (try? FileStatus(text, in: directory))?.kind ?? .other))
        }
        return found
    }

    /// Wall-clock milliseconds since 1970.
    static func wallMilliseconds() -> Int64 {
        let now = Clock.now()
        return now.seconds * 1000 + now.nanoseconds / 1_000_000
    }
}
