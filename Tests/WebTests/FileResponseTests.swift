import Security
import Synchronization
import Testing
import TestSupport
@testable import Web
#if canImport(Glibc)
import Glibc
#endif

/// Files, ranges and validators through real HTTPS with curl, the way a browser's video player seeks.
@Suite("File responses over HTTPS (Range, ETag, If-Range, 304, 416)")
struct FileResponseTests {
    final class Site {
        let directory: TemporaryDirectory
        let fixture: ServerFixture
        let file: String

        init() throws {
            let directory = try TemporaryDirectory(prefix: "files")
            let file = directory.file("clip.webm")
            try writeFile(file, String(repeating: "0123456789", count: 1000))
            self.directory = directory
            self.file = file
            let handler: HTTPHandler = { request in
                switch request.path {
                case "/clip": FileResponse.make(path: file, request: request, contentType: "video/webm")
                case "/download": FileResponse.make(path: file, request: request, contentType: "video/webm", downloadName: "gate 2025-11-01 \"x\".webm")
                case "/link": FileResponse.make(path: directory.file("link.webm"), request: request, contentType: "video/webm")
                default: FileResponse.make(path: directory.file("none"), request: request, contentType: "video/webm")
                }
            }
            fixture = try ServerFixture(handler: handler)
        }

        /// Runs curl with `-D -` (headers on stdout before the body).
        func get(_ path: String, _ extra: [String] = []) throws -> (status: Int, headers: [String: String], body: String) {
            let result = try fixture.curl(["-D", "-"] + extra + ["\(fixture.base)\(path)"])
            guard result.status == 0 else { throw TestFailure("curl: \(result.stderr)") }
            let parts = result.stdout.split(separator: "\r\n\r\n", maxSplits: 1, omittingEmptySubsequences: false)
            let lines = parts[0].split(separator: "\r\n")
            let status = Int(lines[0].split(separator: " ")[1]) ?? 0
            var headers: [String: String] = [:]
            for line in lines.dropFirst() {
                if let colon = line.firstIndex(of: ":") {
                    headers[line[..<colon].lowercased()] = String(line[line.index(after: colon)...].drop { $0 == " " })
                }
            }
            return (status, headers, parts.count > 1 ? String(parts[1]) : "")
        }
    }

    @Test func servesTheWholeFileWithValidators() throws {
        let site = try Site()
        let full = try site.get("/clip")
        #expect(full.status == 200)
        #expect(full.body.count == 10_000)
        #expect(full.headers["accept-ranges"] == "bytes")
        #expect(full.headers["content-length"] == "10000")
        #expect(full.headers["etag"]?.hasPrefix("\"2710-") == true)
        #expect(full.headers["last-modified"]?.hasSuffix(" GMT") == true)
    }

    @Test func answersOneRangeWith206() throws {
        let site = try Site()
        let part = try site.get("/clip", ["-H", "Range: bytes=10-29"])
        #expect(part.status == 206)
        #expect(part.body == "01234567890123456789")
        #expect(part.headers["content-range"] == "bytes 10-29/10000")
        #expect(part.headers["content-length"] == "20")
        let tail = try site.get("/clip", ["-H", "Range: bytes=-5"])
        #expect(tail.status == 206 && tail.body == "56789")
        let open = try site.get("/clip", ["-H", "Range: bytes=9995-"])
        #expect(open.status == 206 && open.body == "56789")
    }

    @Test func answers416ForUnsatisfiableRanges() throws {
        let site = try Site()
        let result = try site.get("/clip", ["-H", "Range: bytes=10000-"])
        #expect(result.status == 416)
        #expect(result.headers["content-range"] == "bytes */10000")
        #expect(result.body.contains(#""code":"range-not-satisfiable""#))
    }

    @Test func answers304WhenTheETagMatches() throws {
        let site = try Site()
        let etag = try #require(try site.get("/clip").headers["etag"])
        let cached = try site.get("/clip", ["-H", "If-None-Match: \"other\", \(etag)"])
        #expect(cached.status == 304)
        #expect(cached.body.isEmpty)
        #expect(cached.headers["etag"] == etag)
        #expect(try site.get("/clip", ["-H", "If-None-Match: \"other\""]).status == 200)
    }

    @Test func ifRangeSendsTheWholeFileWhenItChanged() throws {
        let site = try Site()
        let first = try site.get("/clip")
        let etag = try #require(first.headers["etag"])
        let lastModified = try #require(first.headers["last-modified"])
        #expect(try site.get("/clip", ["-H", "Range: bytes=0-3", "-H", "If-Range: \(etag)"]).status == 206)
        #expect(try site.get("/clip", ["-H", "Range: bytes=0-3", "-H", "If-Range: \(lastModified)"]).status == 206)
        // The file changes: the old validator no longer matches, so the full new file comes back.
        try writeFile(site.file, String(repeating: "x", count: 50))
        let changed = try site.get("/clip", ["-H", "Range: bytes=0-3", "-H", "If-Range: \(etag)"])
        #expect(changed.status == 200)
        #expect(changed.body == String(repeating: "x", count: 50))
        #expect(changed.headers["etag"] != etag)
    }

    @Test func downloadsCarryContentDispositionAndMissingFilesAre404() throws {
        let site = try Site()
        let download = try site.get("/download")
        #expect(download.headers["content-disposition"] == #"attachment; filename="gate 2025-11-01 _x_.webm"; filename*=UTF-8''gate%202025-11-01%20%22x%22.webm"#)
        let missing = try site.get("/missing")
        #expect(missing.status == 404)
        #expect(missing.body.contains(#""code":"not-found""#))
        // A symbolic link is not followed, even to a file that may be served.
        #expect(symlink(site.file, site.directory.file("link.webm")) == 0)
        let link = try site.get("/link")
        #expect(link.status == 403)
        #expect(link.body.contains(#""code":"forbidden""#) && !link.body.contains("0123456789"))
    }

    @Test func deferredAnswersDoNotHoldAServerThread() async throws {
        // One server thread: while ten slow async answers wait, a quick request still gets through.
        let handler: HTTPHandler = { request in
            guard request.path == "/slow" else { return .text("fast") }
            return .later {
                try? await Task.sleep(for: .milliseconds(800))
                return .text("slow done")
            }
        }
        let directory = try TemporaryDirectory(prefix: "defer")
        let credentials = try TLSCredentials.ensure(keyPath: directory.file("k.pem"), certPath: directory.file("c.pem"))
        let server = try HTTPSServer(
            configuration: .init(host: "127.0.0.1", port: 0, keyPEM: credentials.keyPEM, certificatePEM: credentials.certPEM,
                                 priorities: TLSPolicy.serverPriorities, threads: 1),
            handler: handler)
        defer { server.stop(grace: .seconds(2)) }
        let base = "https://127.0.0.1:\(server.port)"
        let slow = try (0..<10).map { _ in try TestProcess("curl", ["-sS", "--cacert", directory.file("c.pem"), "\(base)/slow"]) }
        usleep(200_000)
        let start = ContinuousClock.now
        let fast = try TestProcess.run("curl", ["-sS", "--cacert", directory.file("c.pem"), "\(base)/fast"])
        #expect(fast.stdout == "fast")
        #expect(ContinuousClock.now - start < .milliseconds(600))
        // Wait without holding a thread of the two-thread concurrency pool: the deferred answers
        // run there, and a blocking wait here (with another test holding the other thread) starved them.
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        for process in slow {
            while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(process.wait(timeout: .zero) == 0)
            #expect(process.output() == "slow done")
        }
    }
}
