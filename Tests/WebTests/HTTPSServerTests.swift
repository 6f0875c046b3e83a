import Security
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import Testing
import TestSupport
@testable import Web

/// A server on a random loopback port with a fresh self-signed certificate.
final class ServerFixture {
    let directory: TemporaryDirectory
    let server: HTTPSServer
    let certificatePath: String

    init(maximumBodyBytes: Int = 1 << 20, timeout: UInt32 = 30, handler: @escaping HTTPHandler = { request in
        .json(#"{"path":"\#(request.path)","method":"\#(request.method)","body_bytes":\#(request.body.count)}"#)
    }) throws {
        directory = try TemporaryDirectory(prefix: "web")
        let credentials = try TLSCredentials.ensure(keyPath: directory.file("key.pem"), certPath: directory.file("cert.pem"))
        certificatePath = directory.file("cert.pem")
        server = try HTTPSServer(
            configuration: .init(host: "127.0.0.1", port: 0, keyPEM: credentials.keyPEM, certificatePEM: credentials.certPEM,
                                 priorities: TLSPolicy.serverPriorities, connectionTimeoutSeconds: timeout, maximumBodyBytes: maximumBodyBytes),
            handler: handler)
    }

    var base: String { "https://127.0.0.1:\(server.port)" }

    func curl(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try TestProcess.run("curl", ["-sS", "--cacert", certificatePath] + arguments)
    }

    deinit { server.stop(grace: .zero) }
}

@Suite("HTTPS server (real TLS handshakes with curl and gnutls-cli)")
struct HTTPSServerTests {
    @Test func answersOverTLSWithTheHandlersResponse() throws {
        let fixture = try ServerFixture()
        let result = try fixture.curl(["\(fixture.base)/hello?x=1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == #"{"path":"/hello","method":"GET","body_bytes":0}"#)
    }

    /// Headers (names lower-cased, ASCII only), query arguments and cookies, collected in one
    /// walk of libmicrohttpd's list, each in its own dictionary.
    @Test func handsTheHandlerHeadersQueryAndCookies() throws {
        let fixture = try ServerFixture { request in
            let fields = [request.headers["x-camera-name"], request.header("X-Camera-Name"), request.query["camera"], request.query["day"],
                          request.cookies["theme"], request.cookies["X-Camera-Name"], request.headers["X-Camera-Name"], request.headers["cookie"] == nil ? "no-cookie-header" : "cookie-header"]
            return .text(fields.map { $0 ?? "-" }.joined(separator: "|"))
        }
        let result = try fixture.curl(["-H", "X-Camera-NAME: Front Door", "-b", "theme=dark", "\(fixture.base)/r?camera=cam-1&day=2026-01-31"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "Front Door|Front Door|cam-1|2026-01-31|dark|-|-|cookie-header")
        #expect(lowercasedASCII("Content-TYPE") == "content-type")
        #expect(lowercasedASCII("X-\u{C9}t\u{C9}") == "x-\u{C9}t\u{C9}", "non-ASCII bytes are kept as they are")
    }

    /// The client address text written without inet_ntop agrees with it.
    @Test func formatsIPv4ClientAddressesLikeInetNtop() {
        var addresses: [UInt32] = [0, 0xFFFF_FFFF, 0x7F00_0001, 0x0A00_0009, 0xC0A8_0164, 0x0102_0304, 0x6463_0A00]
        var generator = SystemRandomNumberGenerator()
        addresses += (0..<200).map { _ in UInt32.random(in: .min ... .max, using: &generator) }
        for address in addresses {
            var addr = in_addr(s_addr: address.bigEndian)
            var buffer = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            let expected = String(cString: inet_ntop(AF_INET, &addr, &buffer, socklen_t(buffer.count))!)
            #expect(ListenSocket.dottedQuad(address) == expected)
        }
    }

    @Test func keepsTheConnectionAliveAcrossRequests() throws {
        let fixture = try ServerFixture()
        // curl reuses one connection for several URLs when the server keeps it; %{num_connects}
        // is the number of new connections each transfer needed.
        let urls = (1...5).map { "\(fixture.base)/r\($0)" }
        let result = try fixture.curl(["-w", "%{num_connects}\n"] + urls.flatMap { ["-o", "/dev/null", $0] })
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.split(separator: "\n") == ["1", "0", "0", "0", "0"])
    }

    /// Responses are corked while libmicrohttpd writes their TLS records and uncorked when the
    /// request completes. A response left corked would wait for the kernel's 200 ms ceiling:
    /// every size, and error answers, must arrive at once on a kept-alive connection.
    @Test func corkedResponsesArriveWithoutTheCorkDelay() throws {
        let fixture = try ServerFixture { request in
            switch request.path {
            case "/small": return .json(#"{"ok":true}"#)
            case "/big": return HTTPResponse(status: 200, contentType: "application/octet-stream", body: [UInt8](repeating: 0x61, count: 32 * 1024))
            case "/huge": return HTTPResponse(status: 200, contentType: "application/octet-stream", body: [UInt8](repeating: 0x62, count: 300 * 1024))
            default: return .json(#"{"error":"not found"}"#, status: 404)
            }
        }
        let paths = ["/small", "/big", "/small", "/huge", "/missing", "/big", "/small", "/missing"]
        let result = try fixture.curl(["-w", "%{http_code} %{size_download} %{num_connects} %{time_total}\n"]
                                      + paths.flatMap { ["-o", "/dev/null", "\(fixture.base)\($0)"] })
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map { $0.split(separator: " ") }
        try #require(lines.count == paths.count)
        #expect(lines.map { "\($0[0]) \($0[1])" } == ["200 11", "200 32768", "200 11", "200 307200", "404 21", "200 32768", "200 11", "404 21"])
        #expect(lines.dropFirst().allSatisfy { $0[2] == "0" }, "one kept-alive connection")
        let slowest = lines.compactMap { Double($0[3]) }.max() ?? 1
        #expect(slowest < 0.15, "a response waited \(slowest) s: left corked?")
    }

    @Test func refusesTLS11AndAcceptsTLS12And13() throws {
        let fixture = try ServerFixture()
        let old = try fixture.curl(["--tlsv1.1", "--tls-max", "1.1", "\(fixture.base)/"])
        #expect(old.status != 0, "TLS 1.1 must be refused")
        let twelve = try fixture.curl(["--tlsv1.2", "--tls-max", "1.2", "-o", "/dev/null", "-w", "%{http_code}", "\(fixture.base)/"])
        #expect(twelve.stdout == "200")
        let port = fixture.server.port
        let thirteen = try TestProcess.run("gnutls-cli", ["--x509cafile", fixture.certificatePath, "--port", "\(port)", "localhost"],
                                           stdin: "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        #expect(thirteen.stdout.contains("TLS1.3"), "\(thirteen.stdout)\n\(thirteen.stderr)")
        #expect(thirteen.stdout.contains("HTTP/1.1 200"))
    }

    @Test func collectsPostBodiesAndAnswers413WhenTooLarge() throws {
        let fixture = try ServerFixture(maximumBodyBytes: 4096)
        let directory = try TemporaryDirectory()
        try writeFile(directory.file("small"), String(repeating: "a", count: 3000))
        try writeFile(directory.file("big"), String(repeating: "b", count: 100_000))
        let small = try fixture.curl(["--data-binary", "@\(directory.file("small"))", "\(fixture.base)/upload"])
        #expect(small.stdout.contains(#""body_bytes":3000"#))
        // Sent along with the headers (curl only waits for 100 Continue past 1 MB): read and
        // dropped, then 413 — closing with it unread made the client see a reset now and then.
        for _ in 0..<20 {
            let big = try fixture.curl(["-o", "/dev/null", "-w", "%{http_code}", "--data-binary", "@\(directory.file("big"))", "\(fixture.base)/upload"])
            #expect(big.stdout == "413", "\(big.stderr)")
        }
        // Waiting for 100 Continue: refused before the body is sent.
        let waiting = try fixture.curl(["-o", "/dev/null", "-w", "%{http_code} %{size_upload}", "-H", "Expect: 100-continue",
                                        "--data-binary", "@\(directory.file("big"))", "\(fixture.base)/upload"])
        #expect(waiting.stdout == "413 0", "\(waiting.stderr)")
        // No length declared (chunked): over the limit mid-body, the same answer.
        let chunked = try fixture.curl(["-o", "/dev/null", "-w", "%{http_code}", "-H", "Transfer-Encoding: chunked",
                                        "--data-binary", "@\(directory.file("big"))", "\(fixture.base)/upload"])
        #expect(chunked.stdout == "413", "\(chunked.stderr)")
    }

    @Test func servesFilesAndReportsCompletedRequests() throws {
        let directory = try TemporaryDirectory()
        try writeFile(directory.file("clip.bin"), String(repeating: "0123456789", count: 1000))
        let completed = Mutex<[Int]>([])
        let credentials = try TLSCredentials.ensure(keyPath: directory.file("k.pem"), certPath: directory.file("c.pem"))
        let path = directory.file("clip.bin")
        let server = try HTTPSServer(
            configuration: .init(host: "127.0.0.1", port: 0, keyPEM: credentials.keyPEM, certificatePEM: credentials.certPEM, priorities: TLSPolicy.serverPriorities),
            handler: { _ in HTTPResponse(status: 206, headers: [("Content-Type", "application/octet-stream")], body: .file(path: path, offset: 10, length: 20)) },
            onCompleted: { _, status, _ in completed.withLock { $0.append(status) } })
        defer { server.stop() }
        let result = try TestProcess.run("curl", ["-sS", "--cacert", directory.file("c.pem"), "https://127.0.0.1:\(server.port)/clip"])
        #expect(result.stdout == "01234567890123456789")
        #expect(Loopback.waitUntil(timeout: .seconds(2)) { completed.withLock { $0 == [206] } })
    }

    @Test func explainsAPortInUse() throws {
        let fixture = try ServerFixture()
        let credentials = try TLSCredentials.ensure(keyPath: fixture.directory.file("key.pem"), certPath: fixture.directory.file("cert.pem"))
        #expect {
            _ = try HTTPSServer(configuration: .init(host: "127.0.0.1", port: fixture.server.port, keyPEM: credentials.keyPEM,
                                                     certificatePEM: credentials.certPEM, priorities: TLSPolicy.serverPriorities),
                                handler: { _ in .text("") })
        } throws: { error in
            guard let error = error as? MHDError else { return false }
            return error.code == .addressInUse && error.message.contains("already in use")
        }
    }

    @Test func rejectsANonNumericListenAddress() throws {
        #expect(throws: MHDError.self) {
            _ = try ListenSocket(host: "example.invalid", port: 0)
        }
    }

    @Test func letsInFlightRequestsFinishOnStop() throws {
        let started = Atomic<Bool>(false)
        let fixture = try ServerFixture { request in
            if request.path == "/slow" {
                started.store(true, ordering: .relaxed)
                usleep(700_000)
            }
            return .text("finished")
        }
        let client = try TestProcess("curl", ["-sS", "--cacert", fixture.certificatePath, "\(fixture.base)/slow"])
        #expect(Loopback.waitUntil(timeout: .seconds(5)) { started.load(ordering: .relaxed) })
        fixture.server.stop(grace: .seconds(5))
        #expect(client.wait(timeout: .seconds(10)) == 0)
        #expect(client.output() == "finished")
    }

    @Test func closesConnectionsOfClientsThatSendNothing() throws {
        let fixture = try ServerFixture(timeout: 1)
        // A TCP client that never starts the handshake must be dropped after the timeout.
        let start = ContinuousClock.now
        let result = try TestProcess.run("bash", ["-c", "exec 3<>/dev/tcp/127.0.0.1/\(fixture.server.port); cat <&3 >/dev/null; echo closed"], timeout: .seconds(20))
        #expect(result.stdout.contains("closed"))
        #expect(ContinuousClock.now - start < .seconds(15))
    }
}
