import POSIX
#if canImport(Glibc)
import Glibc
#endif

/// The Kurento protocol double (Tests/MediaTests/Fixtures/kurento_double.py, a python3-websockets
/// server written from Kurento's documented messages; not Kurento) on a random loopback port,
/// killed when released. `control` drives its test switches over plain HTTP on the same port.
public final class KurentoDouble: @unchecked Sendable {
    public let port: UInt16
    public let process: TestProcess

    /// The fixture, found from this file's place in the package.
    public static var script: String {
        let file = #filePath
        let tests = file[..<file.firstRange(of: "/TestSupport/")!.lowerBound]
        return tests + "/MediaTests/Fixtures/kurento_double.py"
    }

    /// `arguments`: e.g. ["--kms-version", "6"], ["--answer-address", "10.0.0.1"], ["--port", "N"].
    public init(_ arguments: [String] = []) throws {
        // Debian's python3-websockets lives under /usr/bin/python3 (FACTS.md).
        let process = try TestProcess("/usr/bin/python3", [Self.script] + (arguments.contains("--port") ? [] : ["--port", "0"]) + arguments)
        var found: UInt16?
        Loopback.waitUntil(timeout: .seconds(15)) {
            let out = process.output()
            if let line = out.split(separator: "\n").first(where: { $0.hasPrefix("LISTENING ") }) { found = UInt16(line.dropFirst(10)) }
            return found != nil || !process.isRunning
        }
        guard let found else {
            process.kill()
            throw TestFailure("the Kurento double did not start: \(process.errors())")
        }
        self.process = process
        port = found
    }

    public var url: String { "ws://127.0.0.1:\(port)/kurento" }

    /// GET /control/ACTION?QUERY; returns the body.
    @discardableResult
    public func control(_ action: String, _ query: String = "") throws -> String {
        let result = try TestProcess.run("curl", ["-sS", "--max-time", "10", "http://127.0.0.1:\(port)/control/\(action)" + (query.isEmpty ? "" : "?" + query)])
        guard result.status == 0 else { throw TestFailure("control \(action): curl exited \(result.status): \(result.stderr)") }
        return result.stdout
    }

    /// The methods (with the operation or type) the double received, in order, e.g.
    /// ["create MediaPipeline", "create RtpEndpoint", "invoke processOffer", "ping"].
    public func requests() throws -> [String] {
        try control("log").split(separator: "\n").map { line in
            let text = String(line)
            let method = Self.field("method", in: text) ?? "?"
            if let detail = Self.field("operation", in: text) ?? Self.field("type", in: text), method != "ping" { return method + " " + detail }
            return method
        }
    }

    /// The string value of the first `"key": "value"` in `json` (the log's lines are flat enough).
    static func field(_ key: String, in json: String) -> String? {
        guard let range = json.firstRange(of: "\"\(key)\": \"") else { return nil }
        let rest = json[range.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }

    public func kill() { process.kill() }
    deinit { process.kill() }
}
