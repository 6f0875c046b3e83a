import Foundation
import Testing
import TestSupport
@testable import Web

/// ws_server.py (Python websockets) on a random port, killed when the test ends.
final class PythonWebSocketServer {
    let process: TestProcess
    let port: String

    init() throws {
        let process = try TestProcess(debianPython, ["\(fixtures)/ws_server.py"])
        self.process = process
        var port = ""
        _ = waitUntil(.seconds(15)) {
            port = process.output().trimmingCharacters(in: .whitespacesAndNewlines)
            return !port.isEmpty
        }
        guard !port.isEmpty else { throw TestFailure("ws_server.py printed no port: \(process.errors())") }
        self.port = port
    }

    var url: String { "ws://127.0.0.1:\(port)/" }
    deinit { process.kill() }
}

@Suite("WebSocketClient against a Python websockets server", .serialized)
struct WebSocketClientTests {
    @Test func echoesAndReadsFragmentedServerMessages() throws {
        let server = try PythonWebSocketServer()
        let client = try WebSocketClient.connect(url: server.url, timeout: .seconds(5))
        try client.send(.text("echo:héllo ✓"))
        #expect(try client.receive(timeout: .seconds(5)) == .text("héllo ✓"))
        let binary = (0..<100_000).map { UInt8(truncatingIfNeeded: $0) }
        try client.send(.binary(binary))
        #expect(try client.receive(timeout: .seconds(5)) == .binary(binary))
        try client.send(.text("fragments"))
        #expect(try client.receive(timeout: .seconds(5)) == .text("one two three ✓"))
        try client.send(.text("binary-fragments"))
        #expect(try client.receive(timeout: .seconds(5)) == .binary([1, 2] + [UInt8](repeating: 0, count: 70_000) + [3]))
        #expect(try client.receive(timeout: .milliseconds(100)) == nil)
        client.close()
        #expect(throws: WebSocketError.self) { try client.send(.text("echo:after close")) }
    }

    @Test func answersTheServersPing() throws {
        let server = try PythonWebSocketServer()
        let client = try WebSocketClient.connect(url: server.url, timeout: .seconds(5))
        try client.send(.text("ping"))
        // The server sends this only after our pong reached it.
        #expect(try client.receive(timeout: .seconds(6)) == .text("pong-received"))
    }

    @Test func reportsTheServersClose() throws {
        let server = try PythonWebSocketServer()
        let client = try WebSocketClient.connect(url: server.url, timeout: .seconds(5))
        try client.send(.text("close"))
        #expect(throws: WebSocketError.closed(WebSocketCloseCode(4002), "server says bye")) { try client.receive(timeout: .seconds(5)) }
        #expect(throws: WebSocketError.closed(WebSocketCloseCode(4002), "server says bye")) { try client.receive(timeout: .seconds(1)) }
    }

    @Test func explainsConnectionsThatCannotBeMade() throws {
        // A port nobody listens on (bound, never listening).
        #expect {
            try WebSocketClient.connect(url: "ws://127.0.0.1:1/", timeout: .seconds(2))
        } throws: { error in
            (error as? WebSocketError).map { "\($0)".contains("cannot connect to 127.0.0.1:1") } ?? false
        }
        #expect(throws: WebSocketError.invalidURL("wss://127.0.0.1:8888/kurento: wss:// (WebSocket over TLS) is not supported by camhost's client; use ws:// (Kurento listens on ws://127.0.0.1:8888/kurento)")) {
            try WebSocketClient.connect(url: "wss://127.0.0.1:8888/kurento", timeout: .seconds(1))
        }
    }

    @Test func refusesAServerThatDoesNotUpgrade() throws {
        // Our own HTTPS server's plain-HTTP side is not reachable over ws://; use a TCP server
        // that answers 404 to everything: Python's http.server.
        let process = try TestProcess(debianPython, ["-c", """
            import http.server, socketserver
            class H(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    self.send_response(404); self.end_headers()
            s = socketserver.TCPServer(("127.0.0.1", 0), H)
            print(s.server_address[1], flush=True)
            s.serve_forever()
            """])
        defer { process.kill() }
        var port = ""
        _ = waitUntil(.seconds(10)) { port = process.output().trimmingCharacters(in: .whitespacesAndNewlines); return !port.isEmpty }
        #expect {
            try WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/kurento", timeout: .seconds(5))
        } throws: { error in
            guard case .handshakeFailed(let reason)? = error as? WebSocketError else { return false }
            return reason.contains("404") && reason.contains("instead of 101")
        }
    }
}
