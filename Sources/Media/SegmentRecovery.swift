import POSIX
import Storage
import Wire

/// At a recorder's start: every `.mp4.part` under `<root>/<camera>/` (and its day directories)
/// that no process is writing is trimmed to its last whole fragment, fsynced, renamed to its
/// `.mp4` name and registered. One without a single whole fragment holds no picture and is
/// removed. docs/recordings.md, "Crash recovery", has the procedure and why each step is safe.
struct SegmentRecovery {
    let root: FileDescriptor
    let cameraDirectory: FileDescriptor
    let camera: String
    let index: RecordingIndex?
    let media: MediaTools?

    func run() -> (segments: [SegmentRecorder.Segment], notes: [String]) {
        var segments: [SegmentRecorder.Segment] = [], notes: [String] = []
        let entries: [(name: String, kind: FileStatus.Kind)]
        do { entries = try SegmentFiles.entries(of: cameraDirectory) } catch {
            return ([], ["recovery: cannot list \(camera): \(error)"])
        }
        func visit(_ directory: FileDescriptor, _ relative: String, _ entries: [(name: String, kind: FileStatus.Kind)]) {
            for entry in entries.sorted(by: { $0.name < $1.name }) where entry.kind == .file && entry.name.hasSuffix(".mp4" + SegmentName.partSuffix) {
                switch recover(entry.name, in: directory, relative: relative) {
                case .kept(let segment, let note):
                    segments.append(segment)
                    if let note { notes.append(note) }
                case .skipped(let note): notes.append(note)
                }
            }
        }
        visit(cameraDirectory, camera, entries)
        for entry in entries.sorted(by: { $0.name < $1.name }) where entry.kind == .directory {
            let relative = camera + "/" + entry.name
            guard let directory = try? FileDescriptor.open(entry.name, .readOnly, options: [.directory, .noFollow], in: cameraDirectory) else { continue }
            defer { directory.close() }
            do { visit(directory, relative, try SegmentFiles.entries(of: directory)) } catch {
                notes.append("recovery: cannot list \(relative): \(error)")
            }
        }
        return (segments, notes)
    }

    enum Outcome { case kept(SegmentRecorder.Segment, note: String?), skipped(String) }

    func recover(_ partName: String, in directory: FileDescriptor, relative: String) -> Outcome {
        let partPath = relative + "/" + partName
        let file: FileDescriptor
        do { file = try FileDescriptor.open(partName, .readWrite, options: [.noFollow], in: directory) } catch {
            return .skipped("recovery: cannot open \(partPath): \(error)")
        }
        defer { file.close() }
        do { try file.tryLockExclusive() } catch {
            return .skipped("recovery: \(partPath) is being written by another process; left alone")
        }
        let size: Int, modified: Int64
        do {
            let status = try file.status()
            size = Int(status.size)
            modified = status.modifiedSeconds * 1000 + status.modifiedNanoseconds / 1_000_000
        } catch { return .skipped("recovery: cannot stat \(partPath): \(error)") }
        let whole: MP4FragmentReader.Whole
        do {
            whole = try MP4FragmentReader.whole(size: size) { offset, count in try file.read(at: offset, count: count) }
        } catch {
            return discard(partName, in: directory, partPath, because: "\(error)")
        }
        guard whole.fragments > 0, whole.samples > 0 else {
            return discard(partName, in: directory, partPath, because: "no whole fragment (\(size) bytes, the init segment is \(whole.initLength))")
        }
        var note: String?
        do {
            if whole.wholeLength < size {
                try file.truncate(to: whole.wholeLength)
                note = "recovery: \(partPath): cut \(size - whole.wholeLength) bytes after the last whole fragment (\(whole.stoppedBecause.map { "\($0)" } ?? "end"))"
            }
            try file.sync()
        } catch {
            return .skipped("recovery: cannot trim \(partPath): \(error); left as it is")
        }
        let finalBase = String(partName.dropLast(SegmentName.partSuffix.count))
        var finalName = finalBase
        var attempt = 1
        while true {
            do {
                try SegmentFiles.rename(partName, to: finalName, in: directory)
                break
            } catch .fileExists where attempt < 100 {
                attempt += 1
                finalName = String(finalBase.dropLast(4)) + "-r\(attempt).mp4"
            } catch {
                return .skipped("recovery: cannot rename \(partPath): \(error); left as .part")
            }
        }
        try? directory.sync()
        let durationMilliseconds = Int64(whole.duration * 1000 / UInt64(whole.timescale))
        var segment = SegmentRecorder.Segment(
            path: relative + "/" + finalName,
            startMilliseconds: SegmentName.startMilliseconds(of: finalBase) ?? modified - durationMilliseconds,
            durationMilliseconds: durationMilliseconds, bytes: Int64(whole.wholeLength), frames: whole.samples,
            codec: whole.codec, recordingID: nil, recovered: true)
        var problems: [String] = []
        segment.recordingID = SegmentWriter.register(segment, camera: camera, index: index, media: media) { problems.append("recovery: \($0)") }
        if !problems.isEmpty { note = ([note].compactMap { $0 } + problems).joined(separator: "; ") }
        return .kept(segment, note: note)
    }

    private func discard(_ partName: String, in directory: FileDescriptor, _ partPath: String, because reason: String) -> Outcome {
        do {
            try Directory.unlink(partName, in: directory)
            try? directory.sync()
        } catch {
            return .skipped("recovery: \(partPath) holds no picture (\(reason)) and could not be removed: \(error)")
        }
        return .skipped("recovery: removed \(partPath): it holds no picture (\(reason))")
    }
}
