import POSIX
import Storage
import Wire

/// At a recorder's start: every `.mp4.part` under `<root>/<camera>/` (and its day directories)
/// that no process is writing is trimmed to its last whole fragment, fsynced, renamed to its
/// `.mp4` name and registered. One without a single whole fragment holds no picture and is
/// removed. docs/recordings.md, "Crash recovery", has the procedure and why each step is safe.
struct SegmentRecovery {
    let root: Directory
    let cameraDirectory: Directory
    let camera: String
    let index: RecordingIndex?
    let media: MediaTools?

    func run() -> (segments: [SegmentRecorder.Segment], notes: [String]) {
        var segments: [SegmentRecorder.Segment] = [], notes: [String] = []
        let entries: [(name: String, kind: Directory.EntryKind)]
        do { entries = try cameraDirectory.entries() } catch {
            return ([], ["recovery: cannot list \(camera): \(error)"])
        }
        func visit(_ directory: Directory, _ relative: String, _ entries: [(name: String, kind: Directory.EntryKind)]) {
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
            guard let directory = try? cameraDirectory.open(entry.name) else { continue }
            defer { directory.close() }
            do { visit(directory, relative, try directory.entries()) } catch {
                notes.append("recovery: cannot list \(relative): \(error)")
            }
        }
        return (segments, notes)
    }

    enum Outcome { case kept(SegmentRecorder.Segment, note: String?), skipped(String) }

    func recover(_ partName: String, in directory: Directory, relative: String) -> Outcome {
        let partPath = relative + "/" + partName
        let file: FileDescriptor
        do { file = try FileDescriptor.openForUpdate(in: directory, partName) } catch {
            return .skipped("recovery: cannot open \(partPath): \(error)")
        }
        defer { file.close() }
        do { try file.lockExclusively() } catch {
            return .skipped("recovery: \(partPath) is being written by another process; left alone")
        }
        let size: Int, modified: Int64
        do { (size, modified) = try file.status() } catch { return .skipped("recovery: cannot stat \(partPath): \(error)") }
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
                try directory.rename(partName, to: finalName)
                break
            } catch .exists where attempt < 100 {
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

    private func discard(_ partName: String, in directory: Directory, _ partPath: String, because reason: String) -> Outcome {
        do {
            try directory.remove(partName)
            try? directory.sync()
        } catch {
            return .skipped("recovery: \(partPath) holds no picture (\(reason)) and could not be removed: \(error)")
        }
        return .skipped("recovery: removed \(partPath): it holds no picture (\(reason))")
    }
}
