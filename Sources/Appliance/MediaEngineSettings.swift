/// The settings of the media engine choice and of Kurento (issue 14), and the Kurento neighbour of
/// the health supervisor (issue 15). Listed in `ConfigSchema.keys` with the others.
extension Settings {
    public static let mediaEngine = Setting<String>("media", "engine", "builtin",
        "Who receives the cameras' RTP: `builtin` (camhost's own receiver and recorder) or `kurento` (Kurento Media Server at media.kurento_url, driven over JSON-RPC; see docs/kurento.md).",
        choices: ["builtin", "kurento"])
    public static let mediaKurentoURL = Setting<String>("media", "kurento_url", "ws://127.0.0.1:8888/kurento",
        "Kurento's JSON-RPC WebSocket, ws://HOST:PORT/PATH (used when media.engine = \"kurento\"; probed by the health supervisor and `camhost doctor`).")
    public static let mediaAddress = Setting<String>("media", "address", "",
        "The address cameras send RTP to. Empty: the address in Kurento's SDP answer (its first interface, which may be a Docker bridge). Set it when that is not the cameras' side.",
        addresses: .address)
    public static let healthKurentoUnit = Setting<String>("health", "kurento_unit", "kurento-media-server.service",
        "Kurento's unit, restarted when its `ping` probe fails (only with media.engine = \"kurento\").")

    static let mediaEngineKeys: [ConfigKey] = [mediaEngine.key, mediaKurentoURL.key, mediaAddress.key, healthKurentoUnit.key]
}

/// A Kurento URL as media.kurento_url accepts it: ws://HOST[:PORT][/PATH] (no TLS: Kurento on this host or the LAN).
public struct KurentoURL: Sendable, Equatable {
    public var host: String
    public var port: UInt16
    public var path: String

    public init?(_ text: String) {
        guard text.hasPrefix("ws://") else { return nil }
        let rest = text.dropFirst(5)
        let authority = rest.prefix { $0 != "/" }
        path = rest.count > authority.count ? String(rest.dropFirst(authority.count)) : "/"
        let hostPort: (Substring, Substring?)
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            let after = authority[authority.index(after: close)...]
            hostPort = (authority[authority.index(after: authority.startIndex)..<close], after.hasPrefix(":") ? after.dropFirst() : nil)
            if !after.isEmpty && !after.hasPrefix(":") { return nil }
        } else {
            let parts = authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            hostPort = (parts[0], parts.count > 1 ? parts[1] : nil)
        }
        guard !hostPort.0.isEmpty else { return nil }
        host = String(hostPort.0)
        if let p = hostPort.1 {
            guard let port = UInt16(p), port > 0 else { return nil }
            self.port = port
        } else {
            port = 80
        }
    }
}
