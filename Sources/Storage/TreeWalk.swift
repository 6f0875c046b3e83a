/// The one walk of the recordings tree, shared by a scan (`IndexScan`) and a cleanup's plan
/// (`RecordingIndex.walk`). It lists one directory at a time, hands the listing to the caller,
/// then goes into the subdirectories in name order. It touches no database: callers write what
/// they learnt in short transactions of their own, so the walk (seconds on a slow disk) holds
/// no lock.
///
/// Symbolic links and special files are reported in the `ScanReport`, never followed; an
/// unreadable directory is reported and the walk goes on; an entry that vanishes while listed
/// is skipped. Nothing below the root is reached through a symbolic link (each directory is
/// opened with `O_NOFOLLOW` relative to its parent).
struct TreeWalk {
    /// A regular file in a listing.
    struct File {
        var name: [UInt8]
        /// From `fstatat`, or nil when the walk did not need to stat the file (see `statEveryFile`).
        var size: Int64?
        /// Nanoseconds since 1970, or nil like `size`.
        var modified: Int64?
    }

    /// One directory as the walk saw it.
    struct Listing {
        /// Relative to the root; empty for the root itself.
        var path: [UInt8]
        /// The open directory, valid during the visit.
        var fd: Int32
        /// Whether this is `.thumbnails` or below it.
        var inThumbnails: Bool
        /// Its modification time, nanoseconds since 1970.
        var modified: Int64
        /// Regular files, by name.
        var files: [File] = []
        /// Subdirectory names, in the order the walk enters them.
        var subdirectories: [[UInt8]] = []
        /// Entries of every kind that still existed when listed (files, directories, links, others).
        var entries = 0
    }

    let rootFD: Int32
    /// Stat every regular file (a cleanup needs sizes and times of all of them); when false,
    /// only recording files outside `.thumbnails` (what a scan registers) and entries whose
    /// type `readdir` did not say.
    var statEveryFile: Bool

    /// Walks everything below the root, calling `visit` once per directory (the root first,
    /// then depth-first in name order). Counts files and directories and records path problems
    /// in `report`. Stops at the first error `visit` throws and rethrows it.
    func run(report: inout ScanReport, visit: (Listing) throws -> Void) throws {
        let modified = (try? FileOps.status(rootFD).get().modified) ?? 0
        try walk(rootFD, [], inThumbnails: false, modified: modified, report: &report, visit: visit)
    }

    private func walk(_ fd: Int32, _ path: [UInt8], inThumbnails: Bool, modified: Int64,
                      report: inout ScanReport, visit: (Listing) throws -> Void) throws {
        var listing = Listing(path: path, fd: fd, inThumbnails: inThumbnails, modified: modified)
        let code = FileOps.entries(fd) { name, hinted in
            listing.entries += 1
            let child = RecordingPath.join(path, name)
            var kind = hinted
            var status: FileOps.Status?
            if kind == nil || (kind == .file && (statEveryFile || (!inThumbnails && RecordingIndex.isMedia(name)))) {
                switch FileOps.status(fd, name) {
                case .success(let s): status = s; kind = s.kind
                case .failure(.noEntry): listing.entries -= 1; return
                case .failure(let code):
                    report.errors.append(PathError(FileError(operation: "stat", path: child, errno: code.code)))
                    return
                }
            }
            switch kind {
            case .file:
                report.filesSeen += 1
                listing.files.append(File(name: name, size: status?.size, modified: status?.modified))
            case .directory:
                listing.subdirectories.append(name)
            case .symlink:
                report.errors.append(.symbolicLink(child))
            default:
                report.errors.append(.notRegular(child))
            }
        }
        if let code {
            report.errors.append(PathError(FileError(operation: "read directory", path: path, errno: code.code)))
        }
        listing.files.sort { $0.name.lexicographicallyPrecedes($1.name) }
        listing.subdirectories.sort { $0.lexicographicallyPrecedes($1) }
        try visit(listing)
        for name in listing.subdirectories {
            let child = RecordingPath.join(path, name)
            let childFD: Int32
            switch FileOps.openDirectory(fd, name) {
            case .success(let opened): childFD = opened
            case .failure(let code):
                report.errors.append(PathError(FileError(operation: "open directory", path: child, errno: code.code)))
                continue
            }
            defer { FileOps.close(childFD) }
            report.directoriesSeen += 1
            let childModified = (try? FileOps.status(childFD).get().modified) ?? 0
            try walk(childFD, child, inThumbnails: inThumbnails || (path.isEmpty && name == RecordingIndex.thumbnailDirectory),
                     modified: childModified, report: &report, visit: visit)
        }
    }
}
