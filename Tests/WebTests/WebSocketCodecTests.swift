import Security
import Testing
@testable import Web

/// A client frame as a browser would send it: masked with `key`.
private func clientFrame(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true, rsv: UInt8 = 0, key: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]) -> [UInt8] {
    var frame: [UInt8] = [(fin ? 0x80 : 0) | rsv | opcode]
    if payload.count <= 125 {
        frame.append(0x80 | UInt8(payload.count))
    } else if payload.count <= 0xFFFF {
        frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
    } else {
        frame.append(0x80 | 127)
        for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8(truncatingIfNeeded: payload.count >> shift)) }
    }
    frame += key
    frame += payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
    return frame
}

private func parseAll(_ bytes: [UInt8], role: WebSocketRole = .server, limit: Int = 1 << 20) throws -> [WebSocketFrameEvent] {
    var parser = WebSocketFrameParser(role: role, maxMessageBytes: limit)
    parser.append(bytes)
    var events: [WebSocketFrameEvent] = []
    while let event = try parser.next() { events.append(event) }
    return events
}

private func violation(_ bytes: [UInt8], role: WebSocketRole = .server, limit: Int = 1 << 20) -> WebSocketError? {
    do {
        _ = try parseAll(bytes, role: role, limit: limit)
        return nil
    } catch let error as WebSocketError {
        return error
    } catch {
        return nil
    }
}

@Suite("WebSocket codec (RFC 6455 frames on bytes alone)")
struct WebSocketCodecTests {
    @Test func parsesTheRFCExamples() throws {
        // RFC 6455 section 5.7: a single-frame masked text message "Hello".
        let masked: [UInt8] = [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]
        #expect(try parseAll(masked) == [.message(.text("Hello"))])
        // An unmasked "Hello" in two fragments, read by a client.
        let fragments: [UInt8] = [0x01, 0x03, 0x48, 0x65, 0x6C, 0x80, 0x02, 0x6C, 0x6F]
        #expect(try parseAll(fragments, role: .client) == [.message(.text("Hello"))])
        // The unmasked ping of section 5.7, answered with its payload.
        #expect(try parseAll([0x89, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F], role: .client) == [.ping(Array("Hello".utf8))])
    }

    @Test func takesInputOneByteAtATime() throws {
        let big = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let stream = clientFrame(0x2, big) + clientFrame(0x1, Array("héllo".utf8)) + clientFrame(0x9, [1, 2])
            + clientFrame(0x2, Array(repeating: 9, count: 300))
        var parser = WebSocketFrameParser(role: .server, maxMessageBytes: 1 << 20)
        var events: [WebSocketFrameEvent] = []
        for byte in stream {
            parser.append([byte])
            while let event = try parser.next() { events.append(event) }
        }
        #expect(events == [.message(.binary(big)), .message(.text("héllo")), .ping([1, 2]), .message(.binary(Array(repeating: 9, count: 300)))])
        #expect(parser.bufferedBytes == 0)
    }

    @Test func readsSixteenAndSixtyFourBitLengths() throws {
        let medium = Array(repeating: UInt8(1), count: 126)
        #expect(try parseAll(clientFrame(0x2, medium)) == [.message(.binary(medium))])
        // 64-bit length encoding of a small payload (minimal encoding is not required).
        var frame: [UInt8] = [0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 7, 8, 9]
        #expect(try parseAll(frame) == [.message(.binary([7, 8, 9]))])
        frame[2] = 0x80
        #expect(violation(frame) == .protocolViolation(.protocolError, "64-bit payload length with its most significant bit set"))
    }

    @Test func appliesTheMaskingRuleOfEachRole() {
        let unmasked: [UInt8] = [0x81, 0x02, 0x68, 0x69]
        #expect(violation(unmasked, role: .server)?.closeCode == .protocolError)
        #expect(violation(clientFrame(0x1, [0x68]), role: .client)?.closeCode == .protocolError)
        #expect((try? parseAll(unmasked, role: .client)) == [.message(.text("hi"))])
    }

    @Test func refusesRSVBitsAndUnknownOpcodes() {
        #expect(violation(clientFrame(0x1, [0x41], rsv: 0x40))?.closeCode == .protocolError)
        #expect(violation(clientFrame(0x1, [0x41], rsv: 0x10))?.closeCode == .protocolError)
        for opcode: UInt8 in [0x3, 0x7, 0xB, 0xF] {
            #expect(violation(clientFrame(opcode, [])) == .protocolViolation(.protocolError, "unknown opcode 0x\(String(opcode, radix: 16))"))
        }
    }

    @Test func refusesLongOrFragmentedControlFrames() {
        #expect(violation(clientFrame(0x9, Array(repeating: 0, count: 126)))?.closeCode == .protocolError)
        #expect(violation(clientFrame(0x9, [1], fin: false))?.closeCode == .protocolError)
        #expect((try? parseAll(clientFrame(0x9, Array(repeating: 0, count: 125))))?.count == 1)
    }

    @Test func assemblesFragmentsWithControlFramesBetween() throws {
        let stream = clientFrame(0x2, [1, 2], fin: false) + clientFrame(0x9, [7]) + clientFrame(0x0, [3], fin: false)
            + clientFrame(0xA, []) + clientFrame(0x0, [4, 5])
        #expect(try parseAll(stream) == [.ping([7]), .pong([]), .message(.binary([1, 2, 3, 4, 5]))])
        // Text split inside a multi-byte character is valid once whole.
        let text = Array("€uro".utf8)
        #expect(try parseAll(clientFrame(0x1, Array(text[0..<1]), fin: false) + clientFrame(0x0, Array(text[1...]))) == [.message(.text("€uro"))])
    }

    @Test func refusesContinuationWithoutMessageAndInterleavedMessages() {
        #expect(violation(clientFrame(0x0, [1])) == .protocolViolation(.protocolError, "continuation frame without a message to continue"))
        #expect(violation(clientFrame(0x1, [0x41], fin: false) + clientFrame(0x2, [1]))?.closeCode == .protocolError)
    }

    @Test func refusesTextThatIsNotUTF8() {
        #expect(violation(clientFrame(0x1, [0xFF, 0xFE]))?.closeCode == .invalidPayload)
        #expect(violation(clientFrame(0x1, [0xCE], fin: false) + clientFrame(0x0, [0x41]))?.closeCode == .invalidPayload)
        // Binary messages are never checked.
        #expect((try? parseAll(clientFrame(0x2, [0xFF, 0xFE]))) == [.message(.binary([0xFF, 0xFE]))])
    }

    @Test func refusesAnOversizedMessageAsSoonAsTheHeaderAnnouncesIt() {
        // Only the header of a 2,000,000-byte frame: refused before any payload arrives.
        var header: [UInt8] = [0x82, 0x80 | 127]
        for shift in stride(from: 56, through: 0, by: -8) { header.append(UInt8(truncatingIfNeeded: 2_000_000 >> shift)) }
        #expect(violation(header) == .protocolViolation(.messageTooBig, "frame of 2000000 bytes over the 1048576-byte limit"))
        // Fragments that add up to more than the limit.
        let fragments = clientFrame(0x2, Array(repeating: 0, count: 600), fin: false) + clientFrame(0x0, Array(repeating: 0, count: 600))
        #expect(violation(fragments, limit: 1000) == .protocolViolation(.messageTooBig, "message of 1200 bytes over the 1000-byte limit"))
        #expect(WebSocketError.protocolViolation(.messageTooBig, "x").closeCode.rawValue == 1009)
    }

    @Test func parsesCloseFramesAndRefusesInvalidCodes() throws {
        #expect(try parseAll(clientFrame(0x8, [])) == [.close(nil, "")])
        #expect(try parseAll(clientFrame(0x8, [0x03, 0xE8] + Array("bye ✓".utf8))) == [.close(.normal, "bye ✓")])
        #expect(try parseAll(clientFrame(0x8, [0x0F, 0xA0])) == [.close(WebSocketCloseCode(4000), "")])
        #expect(violation(clientFrame(0x8, [0x03]))?.closeCode == .protocolError)
        for code: UInt16 in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
            #expect(violation(clientFrame(0x8, [UInt8(code >> 8), UInt8(code & 0xFF)]))?.closeCode == .protocolError, "close code \(code)")
        }
        #expect(violation(clientFrame(0x8, [0x03, 0xE8, 0xFF]))?.closeCode == .invalidPayload)
    }

    @Test func writesServerFramesUnmaskedAndClientFramesMasked() throws {
        let server = WebSocketFrame.encode(.text, payload: Array("Hello".utf8), role: .server)
        #expect(server == [0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F])
        let payload = (0..<300).map { UInt8(truncatingIfNeeded: $0) }
        let client = WebSocketFrame.encode(.binary, payload: payload, role: .client)
        #expect(client[0] == 0x82 && client[1] == 0x80 | 126 && client.count == 4 + 4 + 300)
        #expect(try parseAll(client, role: .server) == [.message(.binary(payload))])
        // Two client frames of the same payload use different keys.
        #expect(WebSocketFrame.encode(.binary, payload: payload, role: .client) != client)
        let long = WebSocketFrameHeader(opcode: .binary, payloadLength: 70_000)
        #expect(long.bytes == [0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70])
        #expect(WebSocketFrame.closePayload(.goingAway, reason: String(repeating: "é", count: 100)).count == 124)
    }

    @Test func computesTheHandshakeAcceptOfRFC6455() {
        // RFC 6455 section 1.3's example.
        #expect(WebSocketHandshake.accept(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        #expect(Base64.decode(WebSocketHandshake.makeKey())?.count == 16)
    }

    @Test func validatesUpgradeRequests() {
        let good: [String: String] = ["upgrade": "websocket", "connection": "keep-alive, Upgrade",
                                      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13"]
        #expect(WebSocketHandshake.validate(HTTPRequest(method: "GET", path: "/", headers: good)) == .success("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
        func status(_ method: String = "GET", _ change: (inout [String: String]) -> Void) -> Int? {
            var headers = good
            change(&headers)
            if case .failure(let refusal) = WebSocketHandshake.validate(HTTPRequest(method: method, path: "/", headers: headers)) { return refusal.status }
            return nil
        }
        #expect(status("POST") { _ in } == 400)
        #expect(status { $0["upgrade"] = nil } == 400)
        #expect(status { $0["connection"] = "keep-alive" } == 400)
        #expect(status { $0["sec-websocket-key"] = nil } == 400)
        #expect(status { $0["sec-websocket-key"] = "c2hvcnQ=" } == 400)
        #expect(status { $0["sec-websocket-version"] = "12" } == 426)
        let refused = HTTPResponse.webSocket(HTTPRequest(method: "GET", path: "/", headers: good.merging(["sec-websocket-version": "8"]) { $1 }), handler: NullHandler())
        #expect(refused.status == 426)
        #expect(refused.header("Sec-WebSocket-Version") == "13")
        let accepted = HTTPResponse.webSocket(HTTPRequest(method: "GET", path: "/", headers: good), handler: NullHandler())
        #expect(accepted.status == 101)
        #expect(accepted.header("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test func readsWebSocketURLs() throws {
        let target = try WebSocketClient.Target("ws://127.0.0.1:8888/kurento")
        #expect(target.address == "127.0.0.1" && target.port == 8888 && target.path == "/kurento" && target.hostHeader == "127.0.0.1:8888")
        let v6 = try WebSocketClient.Target("ws://[::1]")
        #expect(v6.address == "::1" && v6.port == 80 && v6.path == "/" && v6.hostHeader == "[::1]")
        #expect(throws: WebSocketError.self) { try WebSocketClient.Target("wss://127.0.0.1/") }
        #expect(throws: WebSocketError.self) { try WebSocketClient.Target("http://127.0.0.1/") }
        #expect(throws: WebSocketError.self) { try WebSocketClient.Target("ws://example.com/") }
        #expect(throws: WebSocketError.self) { try WebSocketClient.Target("ws://127.0.0.1:0/") }
    }
}

final class NullHandler: WebSocketHandler {
    func opened(_ connection: WebSocketConnection) {}
    func received(_ message: WebSocketMessage, on connection: WebSocketConnection) {}
    func closed(_ connection: WebSocketConnection, code: WebSocketCloseCode?) {}
}
