import POSIX
import Wire

/// The ufw rules that follow from camhost's configuration: what must be reachable (SSH, the
/// dashboard, cameras' media and MQTT, TURN) and from where (anywhere, or only the local networks
/// the routes show). `camhost firewall plan` prints it; scripts/configure-firewall.sh applies it.
public struct FirewallPlan: Sendable, Hashable {
    /// One allow (or rate-limited allow) rule.
    public struct Rule: Sendable, Hashable {
        public enum Action: String, Sendable { case allow, limit }
        public enum Proto: String, Sendable { case tcp, udp }
        public var action: Action
        /// One port, or a range written `low:high` as ufw takes it.
        public var port: String
        public var proto: Proto
        /// A network in CIDR notation, or nil for anywhere.
        public var from: String?
        public var comment: String

        /// The ufw command for this rule.
        public var command: String {
            let target = from.map { "from \($0) to any port \(port) proto \(proto.rawValue)" } ?? "\(port)/\(proto.rawValue)"
            return "ufw \(action.rawValue) \(target) comment '\(comment)'"
        }
    }

    /// What the plan is made from; `Inputs.from(...)` reads them from the configuration and the host.
    public struct Inputs: Sendable, Hashable {
        /// The port the SSH session that runs the plan came in on (SSH_CONNECTION), else 22.
        public var sshPort: UInt16 = 22
        /// The dashboard's listen address.
        public var httpsHost: String
        public var httpsPort: UInt16
        /// The MQTT port cameras use on this host, when the broker runs here for them (8883 for TLS).
        public var mqttPort: UInt16?
        /// RTP/RTCP from cameras: the media port range.
        public var mediaPorts: ClosedRange<UInt16>?
        /// CoTURN's ports, when it runs here: listening, TLS listening and the relay range.
        public var turn: Turn?
        /// The local networks (CIDR) the routing table shows connected; LAN-only rules use them.
        public var localNetworks: [String]

        public struct Turn: Sendable, Hashable {
            public var port: UInt16 = 3478
            public var tlsPort: UInt16 = 5349
            public var relay: ClosedRange<UInt16> = 49152...65535
            public init(port: UInt16 = 3478, tlsPort: UInt16 = 5349, relay: ClosedRange<UInt16> = 49152...65535) {
                self.port = port
                self.tlsPort = tlsPort
                self.relay = relay
            }
        }

        public init(sshPort: UInt16 = 22, httpsHost: String, httpsPort: UInt16, mqttPort: UInt16? = nil,
                    mediaPorts: ClosedRange<UInt16>? = nil, turn: Turn? = nil, localNetworks: [String]) {
            self.sshPort = sshPort
            self.httpsHost = httpsHost
            self.httpsPort = httpsPort
            self.mqttPort = mqttPort
            self.mediaPorts = mediaPorts
            self.turn = turn
            self.localNetworks = localNetworks
        }
    }

    public var inputs: Inputs
    public var rules: [Rule]
    /// Things the reader should know: a dashboard only on loopback, no local network found.
    public var notes: [String]

    /// Every command, in order: defaults first, the SSH rule before `enable`, so applying the plan
    /// never cuts the session that applies it.
    public var commands: [String] {
        ["ufw default deny incoming", "ufw default allow outgoing"] + rules.map(\.command) + ["ufw --force enable"]
    }

    public init(_ inputs: Inputs) {
        self.inputs = inputs
        var rules: [Rule] = []
        var notes: [String] = []
        let lan = inputs.localNetworks
        func lanOnly(_ port: String, _ proto: Rule.Proto, _ comment: String) {
            if lan.isEmpty { return }
            for network in lan { rules.append(Rule(action: .allow, port: port, proto: proto, from: network, comment: comment)) }
        }
        // SSH first, rate-limited (ufw: 6 connections in 30 s per address), from anywhere.
        rules.append(Rule(action: .limit, port: "\(inputs.sshPort)", proto: .tcp, from: nil, comment: "camhost: SSH"))

        let host = IPAddress(inputs.httpsHost)
        if host?.isLoopback == true {
            notes.append("the dashboard listens on \(inputs.httpsHost) (loopback): no rule needed; set server.listen to serve the LAN")
        } else {
            rules.append(Rule(action: .allow, port: "\(inputs.httpsPort)", proto: .tcp, from: nil, comment: "camhost: HTTPS dashboard and API"))
        }
        if let port = inputs.mqttPort { lanOnly("\(port)", .tcp, "camhost: MQTT for cameras (LAN only)") }
        if let media = inputs.mediaPorts {
            lanOnly(media.lowerBound == media.upperBound ? "\(media.lowerBound)" : "\(media.lowerBound):\(media.upperBound)", .udp,
                    "camhost: RTP/RTCP from cameras (LAN only)")
        }
        if let turn = inputs.turn {
            rules.append(Rule(action: .allow, port: "\(turn.port)", proto: .udp, from: nil, comment: "CoTURN: STUN/TURN"))
            rules.append(Rule(action: .allow, port: "\(turn.port)", proto: .tcp, from: nil, comment: "CoTURN: STUN/TURN over TCP"))
            rules.append(Rule(action: .allow, port: "\(turn.tlsPort)", proto: .tcp, from: nil, comment: "CoTURN: TURN over TLS"))
            rules.append(Rule(action: .allow, port: "\(turn.relay.lowerBound):\(turn.relay.upperBound)", proto: .udp, from: nil,
                              comment: "CoTURN: relay ports"))
        }
        if lan.isEmpty && (inputs.mqttPort != nil || inputs.mediaPorts != nil) {
            notes.append("no local network found in the routes: the LAN-only rules (MQTT, media) were left out")
        }
        self.rules = rules
        self.notes = notes
    }
}

extension FirewallPlan.Inputs {
    /// The directly connected IPv4 networks of `/proc/net/route` (gateway 0, not the default
    /// route, not loopback), as CIDR text. Lines that do not parse are skipped.
    public static func connectedNetworks(procNetRoute text: String) -> [String] {
        var networks: [String] = []
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 8, let destination = UInt32(fields[1], radix: 16), let gateway = UInt32(fields[2], radix: 16),
                  let mask = UInt32(fields[7], radix: 16), gateway == 0, mask != 0, fields[0] != "lo" else { continue }
            // /proc/net/route prints addresses in host (little-endian) byte order.
            let network = IPAddress(ipv4: destination.byteSwapped)
            let cidr = "\(network)/\(mask.nonzeroBitCount)"
            if !network.isLoopback && !networks.contains(cidr) { networks.append(cidr) }
        }
        return networks
    }

    /// The server port of `SSH_CONNECTION` ("client port server port"), when set.
    public static func sshPort(sshConnection: String?) -> UInt16? {
        guard let fields = sshConnection?.split(separator: " "), fields.count == 4 else { return nil }
        return UInt16(fields[3])
    }

    /// CoTURN's ports from its configuration file (`listening-port`, `tls-listening-port`,
    /// `min-port`, `max-port`), defaults where it does not say.
    public static func turn(turnserverConf text: String) -> Turn {
        var turn = Turn()
        for line in text.split(separator: "\n") {
            let trimmed = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let parts = trimmed.split(separator: "=", maxSplits: 1).map { $0.trimmingSpaces() }
            guard parts.count == 2, let value = UInt16(parts[1]) else { continue }
            switch parts[0] {
            case "listening-port": turn.port = value
            case "tls-listening-port": turn.tlsPort = value
            case "min-port": turn.relay = value...max(value, turn.relay.upperBound)
            case "max-port": turn.relay = min(turn.relay.lowerBound, value)...value
            default: break
            }
        }
        return turn
    }
}

extension FirewallPlan.Inputs {
    /// The inputs for this host: the dashboard from `server.listen`, the SSH port of the session
    /// (SSH_CONNECTION), the connected networks from /proc/net/route, CoTURN from its
    /// configuration file when it exists (or `turn`), and what the caller adds.
    public static func current(configuration: Configuration, environment: [String: String], mqttPort: UInt16?,
                               mediaPorts: ClosedRange<UInt16>?, turn: Turn? = nil,
                               turnserverConf: String = "/etc/turnserver.conf", routes: String = "/proc/net/route") -> Self {
        let listen = configuration.listen
        let turnSettings = turn ?? (try? FileSystem.readText(turnserverConf)).map { Self.turn(turnserverConf: $0) }
        let routeText = (try? FileSystem.readText(routes)) ?? ""
        return .init(sshPort: sshPort(sshConnection: environment["SSH_CONNECTION"]) ?? 22, httpsHost: listen.host, httpsPort: listen.port,
                     mqttPort: mqttPort, mediaPorts: mediaPorts, turn: turnSettings, localNetworks: connectedNetworks(procNetRoute: routeText))
    }
}
