import Control
import Media
import Storage
import Synchronization
import Web

/// live: `GET /api/v1/cameras/{camera}/live`, the WebSocket a browser (or a script with a `read`
/// token) watches a camera on: status JSON as text messages, then fMP4 as binary ones (init
/// segment, then one `moof` + `mdat` per picture from a keyframe). docs/live.md.
///
/// Refused before the upgrade, as JSON errors: 401 without a session or token, 403 for a session
/// whose `Origin` is missing or not this site (a WebSocket is not covered by CORS: without the
/// check any page could watch with the user's cookie), 404 for a camera camhost does not know,
/// 409 for a known camera that is not streaming now. A plain GET (no upgrade) of a streaming
/// camera gets 400 from the handshake, so a player can GET the URL to learn why its socket failed.
extension API {
    func live(_ call: RouteCall) throws -> HTTPResponse {
        let camera = call.parameter
        if call.user.isSession {
            let host = call.request.header("host") ?? ""
            guard let origin = call.request.header("origin") else {
                throw APIError.forbidden("a live view with a session cookie needs the browser's Origin header (scripts use Authorization: Bearer)")
            }
            guard !host.isEmpty, origin == "https://\(host)" else {
                throw APIError.forbidden("Origin \(origin) is not this site (https://\(host)): live views are same-origin only")
            }
        }
        guard knowsCamera(camera) else { throw APIError.notFound("no camera \(camera): not in the cameras table, on the broker or in [[media.streams]]") }
        guard let live = environment.live, let fanout = live.fanout(for: camera), live.isStreaming(camera) else {
            throw APIError(409, "not-streaming", "camera \(camera) is not streaming now; start its stream (cameras page or POST /api/v1/streams/\(camera)/start) and try again")
        }
        return HTTPResponse.webSocket(call.request, handler: LiveViewHandler(fanout: fanout))
    }

    /// A camera camhost knows: on the broker, in the cameras table, or with a stream or fan-out.
    func knowsCamera(_ camera: String) -> Bool {
        if environment.live?.fanout(for: camera) != nil { return true }
        if environment.streams?.status(camera: camera) != nil { return true }
        if environment.cameras?.snapshot().contains(where: { $0.id.rawValue == camera }) == true { return true }
        return ((try? CameraTable(store: environment.store).find(camera)) ?? nil) != nil
    }
}

/// One viewer's socket: attached to the camera's fan-out when it opens, detached when it closes.
/// Called on the web server's event loop: nothing here blocks (the fan-out only queues).
final class LiveViewHandler: WebSocketHandler {
    let fanout: LiveFanout
    private let viewer = Mutex<WebSocketViewer?>(nil)

    init(fanout: LiveFanout) { self.fanout = fanout }

    func opened(_ connection: WebSocketConnection) {
        let adapted = WebSocketViewer(connection)
        viewer.withLock { $0 = adapted }
        fanout.attach(adapted)
    }

    /// Viewers have nothing to say; what they send is ignored (pings are answered by Web).
    func received(_ message: WebSocketMessage, on connection: WebSocketConnection) {}

    func closed(_ connection: WebSocketConnection, code: WebSocketCloseCode?) {
        if let gone = viewer.withLock({ v -> WebSocketViewer? in defer { v = nil }; return v }) { fanout.detach(gone) }
    }
}

/// A WebSocket connection as Media's `LiveViewer`: the same bytes go out as one binary message
/// (`[UInt8]` is shared, not copied, per viewer).
final class WebSocketViewer: LiveViewer {
    let connection: WebSocketConnection

    init(_ connection: WebSocketConnection) { self.connection = connection }

    func send(_ bytes: [UInt8], ifQueuedBelow limit: Int) -> Bool { connection.send(.binary(bytes), ifQueuedBelow: limit) }
    func send(_ text: String, ifQueuedBelow limit: Int) -> Bool { connection.send(.text(text), ifQueuedBelow: limit) }
    func close(code: UInt16, reason: String) { connection.close(WebSocketCloseCode(rawValue: code), reason: reason) }
}
