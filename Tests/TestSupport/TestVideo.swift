/// Real H.264 made at test time by ffmpeg (libx264), split from Annex B into NAL units and
/// access units the way a depacketizer hands them on, and ffprobe's view of a written file.
public struct TestVideo: Sendable {
    /// One picture: its NAL units (no start codes) in decoding order and whether it is an IDR.
    public struct Picture: Sendable {
        public var nalUnits: [[UInt8]]
        public var isKeyframe: Bool
    }

    public let pictures: [Picture]
    public let sps: [UInt8]
    public let pps: [UInt8]
    public let width: Int
    public let height: Int
    public let rate: Int
    /// The Annex B file the pictures came from.
    public let path: String

    /// `seconds` of testsrc at `width`×`height`, `rate` frames/s, a keyframe every `gop` frames,
    /// no B-frames (cameras send pictures in presentation order; RTP timestamps are presentation
    /// times). `bitrate` in kbit/s when set.
    public init(seconds: Int = 4, width: Int = 640, height: Int = 360, rate: Int = 25, gop: Int = 25,
                bitrate: Int? = nil, in directory: TemporaryDirectory) throws {
        let output = directory.file("video-\(width)x\(height)-\(rate)-\(gop).h264")
        var arguments = ["-y", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=\(width)x\(height):rate=\(rate)", "-t", "\(seconds)",
                         "-c:v", "libx264", "-bf", "0", "-g", "\(gop)", "-keyint_min", "\(gop)", "-pix_fmt", "yuv420p"]
        if let bitrate { arguments += ["-b:v", "\(bitrate)k", "-maxrate", "\(bitrate)k", "-bufsize", "\(bitrate)k"] }
        arguments += ["-bsf:v", "h264_mp4toannexb", "-f", "h264", output]
        let run = try TestProcess.run("ffmpeg", arguments, timeout: .seconds(120))
        guard run.status == 0 else { throw TestFailure("ffmpeg could not make test video: \(run.stderr)") }
        try self.init(annexB: output, width: width, height: height, rate: rate)
    }

    /// Pictures of an H.264 Annex B file (one made by the initializer above, in a child process).
    public init(annexB path: String, width: Int, height: Int, rate: Int) throws {
        let nals = Self.splitAnnexB(try readBytes(path))
        var pictures: [Picture] = [], sps: [UInt8] = [], pps: [UInt8] = []
        var current: [[UInt8]] = []
        var currentHasSlice = false
        for nal in nals {
            let type = nal[0] & 0x1F
            let startsPicture = type == 9 || type == 7 || type == 8 || type == 6
                || ((type == 1 || type == 5) && nal.count > 1 && nal[1] & 0x80 != 0)   // first_mb_in_slice == 0
            if startsPicture && currentHasSlice {
                pictures.append(Picture(nalUnits: current, isKeyframe: current.contains { $0[0] & 0x1F == 5 }))
                current = []
                currentHasSlice = false
            }
            if type == 7 && sps.isEmpty { sps = nal }
            if type == 8 && pps.isEmpty { pps = nal }
            current.append(nal)
            if type == 1 || type == 5 { currentHasSlice = true }
        }
        if currentHasSlice { pictures.append(Picture(nalUnits: current, isKeyframe: current.contains { $0[0] & 0x1F == 5 })) }
        self.pictures = pictures
        self.sps = sps
        self.pps = pps
        self.width = width
        self.height = height
        self.rate = rate
        self.path = path
    }

    /// NAL units of an Annex B byte stream (start codes 00 00 01 or 00 00 00 01 removed).
    public static func splitAnnexB(_ bytes: [UInt8]) -> [[UInt8]] {
        var starts: [(code: Int, nal: Int)] = []
        var i = 0
        while i + 2 < bytes.count {
            if bytes[i] == 0, bytes[i + 1] == 0, bytes[i + 2] == 1 {
                let code = i > 0 && bytes[i - 1] == 0 ? i - 1 : i
                starts.append((code, i + 3))
                i += 3
            } else {
                i += 1
            }
        }
        var nals: [[UInt8]] = []
        for (index, start) in starts.enumerated() {
            let end = index + 1 < starts.count ? starts[index + 1].code : bytes.count
            if end > start.nal { nals.append(Array(bytes[start.nal..<end])) }
        }
        return nals
    }
}

/// What ffprobe says about a file's first video stream (frames counted by decoding).
public struct ProbeResult: Sendable {
    public var codec: String
    public var width: Int
    public var height: Int
    public var frames: Int
    public var durationSeconds: Double
    public var errors: String

    public init(_ path: String) throws {
        let run = try TestProcess.run("ffprobe", ["-v", "error", "-count_frames", "-select_streams", "v:0",
                                                  "-show_entries", "stream=codec_name,width,height,nb_read_frames:format=duration",
                                                  "-of", "default=noprint_wrappers=1", path])
        guard run.status == 0 else { throw TestFailure("ffprobe \(path) failed: \(run.stderr)") }
        var fields: [String: String] = [:]
        for line in run.stdout.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        codec = fields["codec_name"] ?? ""
        width = Int(fields["width"] ?? "") ?? 0
        height = Int(fields["height"] ?? "") ?? 0
        frames = Int(fields["nb_read_frames"] ?? "") ?? -1
        durationSeconds = Double(fields["duration"] ?? "") ?? -1
        errors = run.stderr
    }

    /// Decodes the whole file with ffmpeg; returns what it printed on error level (empty: clean).
    public static func decodeErrors(_ path: String) throws -> String {
        let run = try TestProcess.run("ffmpeg", ["-v", "error", "-xerror", "-i", path, "-f", "null", "-"], timeout: .seconds(120))
        return run.status == 0 ? run.stderr : "exit \(run.status): \(run.stderr)"
    }
}
