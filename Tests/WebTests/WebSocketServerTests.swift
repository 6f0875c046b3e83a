import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Security
import Synchronization
import Testing
import TestSupport
@testable import Web

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
/// Debian's interpreter: the python3 first on PATH may lack python3-websockets (shared FACTS).
let debianPython = "/usr/bin/python3"

func runPython(_ script: String, _ arguments: [String], timeout: Duration = .seconds(60)) throws -> [String: Any] {
    let result = try TestProcess.run(debianPython, ["\(fixtures)/\(script)"] + arguments, timeout: timeout)
    guard result.status == 0 else { throw TestFailure("\(script) \(arguments) exited \(result.status): \(result.stderr)") }
    return try parseJSON(result.stdout)
}

func parseJSON(_ text: String) throws -> [String: Any] {
    guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
        throw TestFailure("not a JSON object: \(text)")
    }
    return object
}

func waitUntil(_ timeout: Duration = .seconds(10), _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}

/// Echoes every message; "close-me" closes with 4000 "bye"; "reader" and "slow" sort connections
/// into groups for the fan-out test. Records what happened, for the test thread to check.
final class EchoHandler: WebSocketHandler {
    struct Record {
        var opened = 0
        var closed: [UInt64: WebSocketCloseCode?] = [:]
        var readers: [WebSocketConnection] = []
        var slow: [WebSocketConnection] = []
        var all: [WebSocketConnection] = []
        /// The threads the callbacks ran on (pthread_self).
        var threads: Set<UInt> = []
    }
    let record = Mutex(Record())

    private func noteThread() {
        let thread = UInt(pthread_self())
        record.withLock { _ = $0.threads.insert(thread) }
    }

    func opened(_ connection: WebSocketConnection) {
        noteThread()
        record.withLock { $0.opened += 1; $0.all.append(connection) }
    }

    func received(_ message: WebSocketMessage, on connection: WebSocketConnection) {
        noteThread()
        switch message {
        case .text("close-me"): connection.close(WebSocketCloseCode(4000), reason: "bye")
        case .text("reader"): record.withLock { $0.readers.append(connection) }
        case .text("slow"): record.withLock { $0.slow.append(connection) }
        default: connection.send(message)
        }
    }

    func closed(_ connection: WebSocketConnection, code: WebSocketCloseCode?) {
        noteThread()
        record.withLock { $0.closed[connection.id] = code }
    }

    var closedCodes: [WebSocketCloseCode?] { record.withLock { Array($0.closed.values) } }
}

final class WebSocketServerFixture {
    let handler = EchoHandler()
    let fixture: ServerFixture

    init(options: WebSocketOptions = .init(), timeout: UInt32 = 30) throws {
        let handler = self.handler
        fixture = try ServerFixture(timeout: timeout) { request in
            switch request.path {
            case "/ws": return .webSocket(request, handler: handler, options: options)
            // The upgrade answered after async work, as a route that checks a session first would.
            case "/ws-later": return .later { .webSocket(request, handler: handler, options: options) }
            default: return .text("not here", status: 404)
            }
        }
    }

    var url: String { "wss://127.0.0.1:\(fixture.server.port)/ws" }
    var port: String { String(fixture.server.port) }
}

@Suite("WebSocket server against Python websockets over TLS", .serialized)
struct WebSocketServerTests {
    @Test func echoesTextBinaryFragmentsAndPingsAndClosesCleanly() throws {
        let server = try WebSocketServerFixture()
        let seen = try runPython("ws_client.py", [server.url, "echo"])
        #expect(seen["text"] as? String == "héllo ✓")
        #expect(seen["binary_equal"] as? Bool == true)
        #expect(seen["binary_length"] as? Int == 256_000)
        #expect(seen["fragmented_text"] as? String == "fragmented ✓")
        #expect(seen["fragmented_binary"] as? [Int] == [0, 1, 2, 3, 4])
        #expect(seen["pong"] as? Bool == true)
        // Our echo of the client's close frame carries its code.
        #expect(seen["close_code"] as? Int == 4001)
        #expect(waitUntil { server.handler.closedCodes.count == 1 })
        #expect(server.handler.closedCodes == [WebSocketCloseCode(4001)])
        #expect(waitUntil { server.fixture.server.openWebSockets == 0 })
        // Every callback came on the one event loop thread, not the test's.
        let threads = server.handler.record.withLock { $0.threads }
        #expect(threads.count == 1)
        #expect(!threads.contains(UInt(pthread_self())))
    }

    @Test func upgradesAfterADeferredAnswer() throws {
        let server = try WebSocketServerFixture()
        let seen = try runPython("ws_client.py", [server.url + "-later", "server-close"])
        #expect(seen["close_code"] as? Int == 4000)
        #expect(seen["close_reason"] as? String == "bye")
    }

    @Test func givesTheTLSPumpOfLibmicrohttpd0975RealBuffers() throws {
        // Without them every 4 bytes of a frame were a TLS record of their own (UpgradePumpBuffers).
        let server = try WebSocketServerFixture()
        let client = try TestProcess(debianPython, ["\(fixtures)/ws_client.py", server.url, "quiet", "1"])
        #expect(waitUntil { server.handler.record.withLock { $0.opened } == 1 })
        if HTTPSServer.libraryVersion == UpgradePumpBuffers.layoutVersion {
            #expect(server.fixture.server.upgradesWithPumpBuffers == 1)
        }
        #expect(client.wait(timeout: .seconds(20)) == 0)
        #expect(try parseJSON(client.output())["echo"] as? String == "still here")
        // Freed when libmicrohttpd reports the connection closed.
        #expect(waitUntil { server.fixture.server.upgradesWithPumpBuffers == 0 })
    }

    @Test func closesWithItsOwnCodeAndReason() throws {
        let server = try WebSocketServerFixture()
        let seen = try runPython("ws_client.py", [server.url, "server-close"])
        #expect(seen["closed"] as? Bool == true)
        #expect(seen["close_code"] as? Int == 4000)
        #expect(seen["close_reason"] as? String == "bye")
        #expect(seen["handshake"] as? Bool == true)
        #expect(waitUntil { server.handler.closedCodes == [WebSocketCloseCode(4000)] })
    }

    @Test func refusesAnOversizedMessageWith1009() throws {
        let server = try WebSocketServerFixture(options: WebSocketOptions(maxMessageBytes: 1024))
        let seen = try runPython("ws_client.py", [server.url, "oversized"])
        #expect(seen["close_code"] as? Int == 1009)
        #expect(seen["close_reason"] as? String == "frame of 2000 bytes over the 1024-byte limit")
    }

    @Test func refusesAnUnmaskedClientFrameWith1002() throws {
        let server = try WebSocketServerFixture()
        let seen = try runPython("ws_raw.py", [server.port, "unmasked"])
        #expect(seen["opcode"] as? Int == 8)
        #expect(seen["code"] as? Int == 1002)
        #expect((seen["reason"] as? String)?.contains("not masked") == true)
    }

    @Test func refusesTextThatIsNotUTF8With1007() throws {
        let server = try WebSocketServerFixture()
        let seen = try runPython("ws_raw.py", [server.port, "bad-utf8"])
        #expect(seen["code"] as? Int == 1007)
    }

    @Test func readsFramesSentTogetherWithTheUpgradeRequest() throws {
        // libmicrohttpd hands over the bytes it read past the headers (extra_in).
        let server = try WebSocketServerFixture()
        let seen = try runPython("ws_raw.py", [server.port, "pipelined"])
        #expect((seen["status"] as? String)?.hasPrefix("HTTP/1.1 101") == true)
        #expect(seen["opcode"] as? Int == 1)
        #expect(seen["echo"] as? String == "early")
    }

    @Test func reportsAConnectionThatEndsWithoutCloseFrame() throws {
        let server = try WebSocketServerFixture()
        _ = try runPython("ws_raw.py", [server.port, "abrupt"])
        #expect(waitUntil { server.handler.record.withLock { $0.closed.count } == 1 })
        #expect(server.handler.closedCodes == [nil])
        #expect(waitUntil { server.fixture.server.openWebSockets == 0 })
    }

    @Test func refusesHandshakesWithoutKeyOrWithAnotherVersion() throws {
        let server = try WebSocketServerFixture()
        let version = try runPython("ws_raw.py", [server.port, "refusal-version"])
        #expect((version["status"] as? String)?.hasPrefix("HTTP/1.1 426") == true)
        #expect(version["version"] as? String == "13")
        let key = try runPython("ws_raw.py", [server.port, "refusal-key"])
        #expect((key["status"] as? String)?.hasPrefix("HTTP/1.1 400") == true)
        // curl sees the same refusal and its explanation.
        let curl = try server.fixture.curl(["-i", "--http1.1", "-H", "Upgrade: websocket", "-H", "Connection: Upgrade",
                                            "-H", "Sec-WebSocket-Version: 13", server.fixture.base + "/ws"])
        #expect(curl.stdout.hasPrefix("HTTP/1.1 400"))
        #expect(curl.stdout.contains("no Sec-WebSocket-Key header"))
        #expect(server.handler.record.withLock { $0.opened } == 0)
    }

    @Test func closesIdleConnectionsAndPingsQuietOnes() throws {
        // The Python client answers pings, so a ping interval below the idle time-out keeps it
        // open; here the interval is longer, so the idle time-out closes it with 1001.
        let server = try WebSocketServerFixture(options: WebSocketOptions(idleTimeout: .seconds(1), pingInterval: .seconds(30)))
        let seen = try runPython("ws_client.py", [server.url, "await-close"])
        #expect(seen["close_code"] as? Int == 1001)
        #expect((seen["close_reason"] as? String)?.hasPrefix("no frame received") == true)
    }

    @Test func keepsQuietConnectionsOpenWithPings() throws {
        // libmicrohttpd's own 1-second connection time-out does not apply to upgraded
        // connections; our pings (every 0.3 s, answered by the client) keep a silent peer within
        // the 1-second idle time-out.
        let server = try WebSocketServerFixture(options: WebSocketOptions(idleTimeout: .seconds(1), pingInterval: .milliseconds(300)), timeout: 1)
        let seen = try runPython("ws_client.py", [server.url, "quiet", "2.5"])
        #expect(seen["echo"] as? String == "still here")
    }

    @Test func keepsConnectionsAcrossAReloadUntilTheGraceEnds() throws {
        let server = try WebSocketServerFixture()
        let client = try TestProcess(debianPython, ["\(fixtures)/ws_client.py", server.url, "across-reload"])
        #expect(waitUntil { server.handler.record.withLock { $0.opened } == 1 })
        let credentials = try TLSCredentials.ensure(keyPath: server.fixture.directory.file("key.pem"), certPath: server.fixture.directory.file("cert.pem"))
        try server.fixture.server.reload(keyPEM: credentials.keyPEM, certificatePEM: credentials.certPEM, grace: .seconds(3))
        #expect(client.wait(timeout: .seconds(20)) == 0, "\(client.errors())")
        let seen = try parseJSON(client.output())
        #expect(seen["first"] as? String == "first")
        #expect(seen["second"] as? String == "second")
        #expect(seen["close_code"] as? Int == 1001)
        #expect(seen["close_reason"] as? String == "server certificate renewed")
        // New connections go to the new daemon meanwhile.
        #expect(try runPython("ws_client.py", [server.url, "server-close"])["close_code"] as? Int == 4000)
    }

    @Test func stopSendsGoingAwayToOpenConnections() throws {
        let server = try WebSocketServerFixture()
        let client = try TestProcess(debianPython, ["\(fixtures)/ws_client.py", server.url, "await-close"])
        #expect(waitUntil { server.handler.record.withLock { $0.opened } == 1 })
        server.fixture.server.stop(grace: .seconds(2))
        #expect(client.wait(timeout: .seconds(20)) == 0)
        let seen = try parseJSON(client.output())
        #expect(seen["close_code"] as? Int == 1001)
        #expect(server.handler.closedCodes.count == 1)
    }

    @Test func aReaderThatStopsDoesNotHoldUpFiftyOthers() throws {
        let server = try WebSocketServerFixture()
        let readers = 50, first = 20, second = 5
        let python = try TestProcess(debianPython, ["\(fixtures)/ws_many.py", server.url, String(readers), String(first + second)])
        let ready = waitUntil(.seconds(60)) {
            server.handler.record.withLock { $0.readers.count == readers && $0.slow.count == 1 }
        }
        try #require(ready, "\(python.errors())")
        let (fast, slow) = server.handler.record.withLock { ($0.readers, $0.slow[0]) }
        let chunk = [UInt8](repeating: 0x5A, count: 8 * 1024)
        let limit = 256 * 1024
        for _ in 0..<first {
            let accepted = fast.filter { $0.send(.binary(chunk), ifQueuedBelow: 4 << 20) }.count
            #expect(accepted == readers)
            slow.send(.binary(chunk), ifQueuedBelow: limit)
        }
        // The slow reader's queue fills once the socket buffers between us and it (TCP,
        // libmicrohttpd's TLS pump, the socketpair) are full; then sends to it are refused.
        func fill() -> (refused: Bool, attempts: Int) {
            var attempts = 0
            while attempts < 8000 {
                attempts += 1
                if !slow.send(.binary(chunk), ifQueuedBelow: limit) { return (true, attempts) }
                if attempts % 64 == 0 { usleep(2000) }
            }
            return (false, attempts)
        }
        let filled = fill()
        #expect(filled.refused, "\(filled.attempts) sends accepted, \(slow.queuedBytes) bytes queued")
        // Top up after a pause (buffers downstream may have taken a little more), so the checks
        // below start from a full queue; a reader that never reads frees nothing after that.
        usleep(200_000)
        _ = fill()
        #expect(slow.queuedBytes > limit - chunk.count - 14 && slow.queuedBytes <= limit)
        // A reader that never reads keeps its queue at the limit: a send to it is taken only
        // when the kernel moved bytes on (TCP's and the TLS pump's buffers grow under load, so
        // a few may be), and its queue never goes over the limit; the others get every message.
        for _ in 0..<second {
            let sent = fast.filter { $0.send(.binary(chunk), ifQueuedBelow: 4 << 20) }.count
            #expect(sent == readers)
            slow.send(.binary(chunk), ifQueuedBelow: limit)
            #expect(slow.queuedBytes <= limit)
        }
        #expect(python.wait(timeout: .seconds(90)) == 0, "\(python.errors())")
        let seen = try parseJSON(python.output())
        #expect(seen["counts"] as? [Int] == Array(repeating: first + second, count: readers))
    }
}

@Suite("HTTPS server metrics for upgraded requests", .serialized)
struct WebSocketCompletionTests {
    @Test func reportsTheUpgradeOnceWhenTheSocketIsHandedOver() throws {
        let handler = EchoHandler()
        let reported = Mutex<[(Int, Duration)]>([])
        let directory = try TemporaryDirectory(prefix: "web")
        let credentials = try TLSCredentials.ensure(keyPath: directory.file("key.pem"), certPath: directory.file("cert.pem"))
        let server = try HTTPSServer(
            configuration: .init(host: "127.0.0.1", port: 0, keyPEM: credentials.keyPEM, certificatePEM: credentials.certPEM,
                                 priorities: TLSPolicy.serverPriorities),
            handler: { .webSocket($0, handler: handler) },
            onCompleted: { _, status, duration in reported.withLock { $0.append((status, duration)) } })
        defer { server.stop(grace: .zero) }
        let client = try TestProcess(debianPython, ["\(fixtures)/ws_client.py", "wss://127.0.0.1:\(server.port)/ws", "quiet", "1"])
        #expect(waitUntil { handler.record.withLock { $0.opened } == 1 })
        // Reported at the upgrade, while the connection is still open.
        #expect(waitUntil { reported.withLock { $0.count } == 1 })
        #expect(client.wait(timeout: .seconds(20)) == 0)
        #expect(waitUntil { server.openWebSockets == 0 })
        usleep(300_000)
        let all = reported.withLock { $0 }
        #expect(all.count == 1)
        #expect(all.first?.0 == 101)
        #expect(all.first.map { $0.1 < .seconds(1) } == true)
    }
}
