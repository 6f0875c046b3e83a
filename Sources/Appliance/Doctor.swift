import Capture
import POSIX
import Security
import Storage

/// `camhost doctor`: everything that can be wrong on this host, each with the command that fixes
/// it. It reads the configuration, the files and the database; it changes nothing.
public struct Doctor: Sendable {
    public struct Check: Sendable, Equatable {
        public var name: String
        public var ok: Bool
        public var detail: String
        /// The command (or step) that fixes it; nil when all is well.
        public var fix: String?
    }

    public var checks: [Check]
    public var ok: Bool { checks.allSatisfy(\.ok) }

    public init(configuration: Configuration, now: Int64 = Clock.unixSeconds) {
        var checks: [Check] = []
        func add(_ name: String, _ ok: Bool, _ detail: String, fix: String? = nil) {
            checks.append(Check(name: name, ok: ok, detail: detail, fix: ok ? nil : fix))
        }

        // The TLS key and certificate.
        let keyPath = configuration.tlsKeyPath
        let group = configuration.keyGroup
        if FileSystem.exists(keyPath) {
            let audit = KeyPermissionAudit(keyPath: keyPath, group: group.flatMap(Users.groupID(named:)))
            add("tls key", !audit.refuseToStart, audit.findings.isEmpty ? "\(keyPath): readable by its owner only" : audit.findings.map(\.message).joined(separator: "; "),
                fix: group.map { "chgrp \($0) \(keyPath) && chmod 640 \(keyPath)" } ?? "chmod 600 \(keyPath)")
        } else {
            add("tls key", true, "\(keyPath) not made yet: serve makes a key and a self-signed certificate on first start")
        }
        let certificatePath = configuration.tlsCertificatePath
        if FileSystem.exists(certificatePath) {
            let warn = configuration[Settings.healthCertificateWarnDays]
            do {
                let certificate = try Certificate(pem: try FileSystem.readFile(certificatePath), source: certificatePath)
                let days = (Int64(certificate.notAfter) - now) / 86_400
                add("certificate", days >= warn, days >= 0 ? "\(certificatePath) expires in \(days) days" : "\(certificatePath) expired \(-days) days ago",
                    fix: "renew it (certbot renew runs scripts/certbot-deploy-hook.sh), or for camhost's own: mv \(certificatePath) \(certificatePath).old && systemctl restart camhost")
            } catch {
                add("certificate", false, "\(error)", fix: "restore the certificate, or mv \(certificatePath) \(certificatePath).bad && systemctl restart camhost to make a new one")
            }
        }

        // The HTTPS port: free, or held by camhost itself.
        let listen = configuration.listen
        if let holder = PortHolder.listening(onTCPPort: listen.port) {
            let isCamhost = holder.command.map { $0.split(separator: " ").first?.hasSuffix("camhost") == true } ?? false
            add("https port", isCamhost, isCamhost ? "camhost serve is running on port \(listen.port) (\(holder))" : "port \(listen.port) is held by \(holder)",
                fix: holder.pid.map { "stop pid \($0), or choose another port: server.listen = \"\(listen.host):\(listen.port == 5000 ? 5001 : 5000)\"" }
                    ?? "sudo ss -ltnp 'sport = :\(listen.port)' shows who holds it")
        } else {
            add("https port", true, "port \(listen.port) is free (camhost serve is not running)")
        }

        // The broker.
        if let url = configuration.brokerURL, let broker = BrokerURL(parsing: url) {
            do {
                try Sockets.probeConnection(host: NumericAddress.isValid(broker.host) ? broker.host : "127.0.0.1", port: UInt16(broker.port), timeout: .seconds(3))
                add("broker", true, "\(url) accepts connections")
            } catch {
                add("broker", false, "\(url): \(error)", fix: "check that the broker runs and that mqtt.broker names it (systemctl status mosquitto; camhost config show)")
            }
        } else {
            let mosquitto = configuration[Settings.mqttMosquitto]
            let port = UInt16(configuration[Settings.mqttManagedBrokerPort])
            if !FileSystem.isExecutable(mosquitto) {
                add("broker", false, "the managed broker \(mosquitto) is not installed", fix: "apt-get install mosquitto")
            } else if let holder = PortHolder.listening(onTCPPort: port), holder.command?.contains("mosquitto") != true {
                add("broker", false, "the managed broker's port \(port) is held by \(holder)",
                    fix: "set mqtt.managed_broker_port to a free port (CAMHOST_MQTT_MANAGED_BROKER_PORT), or stop that process")
            } else {
                add("broker", true, "managed Mosquitto (\(mosquitto)) on 127.0.0.1:\(port)")
            }
        }

        // CoTURN, when configured.
        if let coturn = HostPort(configuration[Settings.healthCoturn]) {
            let result = HealthSupervisor.Probe.stunProbe(host: coturn.host, port: coturn.port, timeout: .seconds(2))
            add("coturn", result.ok, result.detail, fix: "systemctl restart \(configuration[Settings.healthCoturnUnit]); check listening-port in /etc/turnserver.conf")
        }

        // Kurento, when it is the media engine: its JSON-RPC answers ping.
        if configuration.usesKurento {
            let url = configuration[Settings.mediaKurentoURL]
            let result = HealthSupervisor.Probe.kurentoProbe(url: url, timeout: .seconds(3))
            add("kurento", result.ok, result.detail,
                fix: "systemctl restart \(configuration[Settings.healthKurentoUnit]) (systemctl status \(configuration[Settings.healthKurentoUnit]) says why it stopped); or check media.kurento_url = \"\(url)\" (camhost config show)")
        }

        // Capturing packets (diagnose rtcp, the RTCP watch).
        do {
            let capture = try LiveCapture(interfaces: [configuration[Settings.diagnosticsWatchInterface]])
            capture.stop()
            add("capture", true, "this user may capture on \(configuration[Settings.diagnosticsWatchInterface])")
        } catch {
            add("capture", false, "\(error.message)", fix: "sudo setcap cap_net_raw,cap_net_admin=eip \"$(command -v camhost)\" (or run as root / under the unit, which grants CAP_NET_RAW)")
        }

        // What serve's supervisor last saw: the loopback trap, the database.
        let databasePath = configuration.databasePath
        if FileSystem.exists(databasePath), let store = try? Store.open(databasePath) {
            let history = HealthHistory(store: store)
            if let streams = (try? history.latest())?.first(where: { $0.check == "streams" }) {
                add("loopback trap", streams.ok, "as of \(streams.at): \(streams.detail)",
                    fix: "camhost diagnose rtcp --camera ADDRESS shows where feedback goes; the SDP offer's c= must name the camera (camhost sdp check OFFER)")
            } else {
                add("loopback trap", true, "no RTCP watch results yet (they come from a running serve)")
            }
            let check = (try? history.quickCheck()) ?? "unreadable"
            add("database", check == "ok", "\(databasePath): quick_check \(check)",
                fix: "stop camhost, back up \(databasePath), then sqlite3 \(databasePath) '.recover' > recovered.sql")
        }

        // Disk space of the recordings volume.
        let recordings = FileSystem.isDirectory(configuration.recordingsPath) ? configuration.recordingsPath : configuration.dataDirectory
        let floor = configuration[Settings.retentionFreeSpaceFloorPercent]
        if let space = FileSystem.space(FileSystem.isDirectory(recordings) ? recordings : "."), space.total > 0 {
            let percent = Int(space.available * 100 / space.total)
            add("disk", percent >= max(floor, 5), "\(percent) % free on the recordings volume (\(space.available >> 30) GiB of \(space.total >> 30) GiB)",
                fix: "camhost recordings cleanup --older-than 7d --dry-run, then without --dry-run; or lower retention.max_age_days")
        }

        // The clock.
        switch TimeSynchronization.isSynchronized() {
        case true?: add("clock", true, "synchronised")
        case false?: add("clock", false, "the system clock is not synchronised: recordings' times, certificates and log-ins depend on it",
                         fix: "apt-get install systemd-timesyncd && timedatectl set-ntp true (or chrony)")
        case nil: add("clock", true, "the kernel did not say whether the clock is synchronised")
        }
        self.checks = checks
    }
}
