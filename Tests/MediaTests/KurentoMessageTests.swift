import JSONText
import Media
import Testing

/// Kurento's JSON-RPC layer on bytes: the requests camhost sends (checked as parsed JSON, since
/// key order is free) and the documented shapes of what Kurento answers.
@Suite struct KurentoMessageTests {
    func parsed(_ text: String) throws -> JSONValue { try JSONValue(parsing: Array(text.utf8)) }

    @Test func requestsAreNumberedAndCarryTheSessionOnceKnown() throws {
        var session = KurentoSession()
        let create = session.encode(.mediaPipeline())
        #expect(create.id == 1)
        #expect(try parsed(create.text) == parsed(#"{"jsonrpc":"2.0","id":1,"method":"create","params":{"type":"MediaPipeline","constructorParams":{},"properties":{}}}"#))
        // Kurento answers with the pipeline's id and the session id.
        let answer = try KurentoMessage(parsing: Array(#"{"id":1,"result":{"value":"6ba9067f-cdcf-4ea6-a6ee-d74519585acd_kurento.MediaPipeline","sessionId":"bd4d6227-0463-4d52-b1c3-c71f0be68466"},"jsonrpc":"2.0"}"#.utf8))
        #expect(answer == .result(id: 1, value: .string("6ba9067f-cdcf-4ea6-a6ee-d74519585acd_kurento.MediaPipeline"), sessionID: "bd4d6227-0463-4d52-b1c3-c71f0be68466"))
        session.note(answer)
        #expect(session.sessionID == "bd4d6227-0463-4d52-b1c3-c71f0be68466")
        let rtp = session.encode(.rtpEndpoint(pipeline: "P"))
        #expect(rtp.id == 2)
        #expect(try parsed(rtp.text) == parsed(#"{"jsonrpc":"2.0","id":2,"method":"create","params":{"type":"RtpEndpoint","constructorParams":{"mediaPipeline":"P"},"properties":{},"sessionId":"bd4d6227-0463-4d52-b1c3-c71f0be68466"}}"#))
        let offer = session.encode(.processOffer(endpoint: "E", offer: "v=0\r\n"))
        #expect(try parsed(offer.text)["params"] == parsed(#"{"object":"E","operation":"processOffer","operationParams":{"offer":"v=0\r\n"},"sessionId":"bd4d6227-0463-4d52-b1c3-c71f0be68466"}"#))
        let ping = session.encode(.ping(intervalMilliseconds: 240_000))
        #expect(try parsed(ping.text)["params"] == parsed(#"{"interval":240000}"#))  // ping carries no session
        for (request, method) in [(KurentoRequest.subscribe(object: "E", type: "MediaFlowInStateChanged"), "subscribe"), (.release(object: "P"), "release"),
                                  (.connect, "connect"), (.unsubscribe(object: "E", subscription: "S"), "unsubscribe"),
                                  (.connect(source: "E", sink: "R"), "invoke"), (.recorderEndpoint(pipeline: "P", uri: "file:///r/a.mp4"), "create")] {
            let message = try parsed(session.encode(request).text)
            #expect(message["method"]?.stringValue == method)
            #expect(message["params"]?["sessionId"]?.stringValue == "bd4d6227-0463-4d52-b1c3-c71f0be68466")
        }
        #expect(session.nextID == 11)
    }

    @Test func errorsAndEventsAreRead() throws {
        let unknownEvent = try KurentoMessage(parsing: Array(#"{"id":5,"error":{"code":40106,"message":"Unknown event type MediaFlowInStateChanged","data":{"type":"UNKNOWN_EVENT"}},"jsonrpc":"2.0"}"#.utf8))
        #expect(unknownEvent == .error(id: 5, code: KurentoErrorCode.unknownEventType, message: "Unknown event type MediaFlowInStateChanged", data: .object(["type": .string("UNKNOWN_EVENT")])))
        let gone = try KurentoMessage(parsing: Array(#"{"id":null,"error":{"code":40007,"message":"Invalid session"},"jsonrpc":"2.0"}"#.utf8))
        #expect(gone == .error(id: nil, code: KurentoErrorCode.sessionNotFound, message: "Invalid session", data: nil))
        let event = try KurentoMessage(parsing: Array(#"{"jsonrpc":"2.0","method":"onEvent","params":{"value":{"data":{"source":"E","state":"FLOWING","mediaType":"VIDEO","tags":[],"timestamp":"1733318400","type":"MediaFlowInStateChanged"},"object":"E","type":"MediaFlowInStateChanged"}}}"#.utf8))
        guard case .event(let type, let object, let data) = event else { Issue.record("not an event: \(event)"); return }
        #expect(type == "MediaFlowInStateChanged" && object == "E" && data["state"]?.stringValue == "FLOWING")
        let pong = try KurentoMessage(parsing: Array(#"{"id":3,"result":{"value":"pong"},"jsonrpc":"2.0"}"#.utf8))
        #expect(pong == .result(id: 3, value: .string("pong"), sessionID: nil))
    }

    @Test func whatIsNotKurentoJSONRPCIsRefusedWithAReason() {
        let cases: [(String, String)] = [
            ("", "invalid JSON"), ("[1]", "not a JSON object"), (#"{"id":1,"result":{}}"#, "jsonrpc"),
            (#"{"jsonrpc":"2.0","result":{"value":"x"}}"#, "numeric id"), (#"{"jsonrpc":"2.0","id":1}"#, "neither result nor error"),
            (#"{"jsonrpc":"2.0","id":1,"result":"x"}"#, "result is not an object"), (#"{"jsonrpc":"2.0","id":1,"error":{"code":"x"}}"#, "numeric code"),
            (#"{"jsonrpc":"2.0","method":"onEvent","params":{}}"#, "params.value.type"), (#"{"jsonrpc":"2.0","method":"shutdown"}"#, "unknown server request"),
        ]
        for (text, words) in cases {
            let error = #expect(throws: KurentoMessageError.self) { _ = try KurentoMessage(parsing: Array(text.utf8)) }
            #expect(error?.description.hasPrefix("not a Kurento JSON-RPC message: ") == true && error?.description.contains(words) == true,
                    "\(text): \(String(describing: error))")
        }
    }
}
