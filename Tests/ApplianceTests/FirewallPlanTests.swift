import Testing
@testable import Appliance

@Suite struct FirewallPlanTests {
    let routes = """
        Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
        eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
        eth0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0
        wg0\t00004D0A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
        docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
        eth0\tbroken
        """

    @Test func connectedNetworksComeFromTheRoutes() {
        #expect(FirewallPlan.Inputs.connectedNetworks(procNetRoute: routes) == ["192.168.1.0/24", "10.77.0.0/16", "172.17.0.0/16"])
    }

    /// A camera host serving the LAN with CoTURN beside it: the full set of rules, in order.
    @Test func aSiteWithTURN() {
        let plan = FirewallPlan(.init(sshPort: 2222, httpsHost: "0.0.0.0", httpsPort: 5000, mqttPort: 8883, mediaPorts: 5000...5050,
                                      turn: .init(), localNetworks: ["192.168.1.0/24"]))
        #expect(plan.commands == [
            "ufw default deny incoming",
            "ufw default allow outgoing",
            "ufw limit 2222/tcp comment 'camhost: SSH'",
            "ufw allow 5000/tcp comment 'camhost: HTTPS dashboard and API'",
            "ufw allow from 192.168.1.0/24 to any port 8883 proto tcp comment 'camhost: MQTT for cameras (LAN only)'",
            "ufw allow from 192.168.1.0/24 to any port 5000:5050 proto udp comment 'camhost: RTP/RTCP from cameras (LAN only)'",
            "ufw allow 3478/udp comment 'CoTURN: STUN/TURN'",
            "ufw allow 3478/tcp comment 'CoTURN: STUN/TURN over TCP'",
            "ufw allow 5349/tcp comment 'CoTURN: TURN over TLS'",
            "ufw allow 49152:65535/udp comment 'CoTURN: relay ports'",
            "ufw --force enable",
        ])
        #expect(plan.notes.isEmpty)
    }

    /// The embedded defaults: dashboard on loopback, no TURN, no LAN found: SSH only, and notes that say why.
    @Test func theEmbeddedDefaults() {
        let plan = FirewallPlan(.init(httpsHost: "127.0.0.1", httpsPort: 5000, mediaPorts: 5000...5050, localNetworks: []))
        #expect(plan.rules.map(\.command) == ["ufw limit 22/tcp comment 'camhost: SSH'"])
        #expect(plan.notes.count == 2)
        #expect(plan.notes[0].contains("loopback"))
    }

    /// SSH comes before `enable` whatever else the plan holds: applying it never cuts the session.
    @Test func sshIsAllowedBeforeTheFirewallIsEnabled() throws {
        let plan = FirewallPlan(.init(sshPort: 22, httpsHost: "10.0.0.5", httpsPort: 443, localNetworks: ["10.0.0.0/24", "10.1.0.0/24"]))
        let ssh = try #require(plan.commands.firstIndex { $0.hasPrefix("ufw limit 22/tcp") })
        let enable = try #require(plan.commands.firstIndex(of: "ufw --force enable"))
        #expect(ssh < enable)
    }

    @Test func inputsFromTheHost() {
        #expect(FirewallPlan.Inputs.sshPort(sshConnection: "192.168.1.9 51234 192.168.1.2 2222") == 2222)
        #expect(FirewallPlan.Inputs.sshPort(sshConnection: nil) == nil)
        #expect(FirewallPlan.Inputs.sshPort(sshConnection: "garbage") == nil)
        let turn = FirewallPlan.Inputs.turn(turnserverConf: """
            # coturn
            listening-port=3479
            tls-listening-port = 5350 # TLS
            min-port=40000
            max-port=40100
            bogus-line
            """)
        #expect(turn == .init(port: 3479, tlsPort: 5350, relay: 40000...40100))
    }
}
