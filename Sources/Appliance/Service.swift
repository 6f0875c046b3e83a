import Dashboard
import Logging
import Media
import Security
import Storage
import Synchronization
import Web
import POSIX

/// `camhost serve`: the long-running appliance. Prepares the data directory, TLS credentials,
/// database and broker, serves HTTPS, and stops in order on SIGTERM or SIGINT.
public final class Service: Sendable {
    public struct Options: Sendable {
        public var environment: [String: String]
        /// `serve --demo`: simulated cameras on the managed broker and sample recordings.
        public var demo: Bool
        /// Reads the configuration again from the same file, environment and flags (SIGHUP);
        /// throws a description of its problems when it has errors.
        public var reloadConfiguration: (@Sendable () throws -> Configuration)?
        public init(environment: [String: String], demo: Bool = false, reloadConfiguration: (@Sendable () throws -> Configuration)? = nil) {
            self.environment = environment
            self.demo = demo
            self.reloadConfiguration = reloadConfiguration
        }
    }

    private let configuration: Configuration
    private let options: Options
    private let logger = Logger(label: "camhost")
    private let startedAt = ContinuousClock.now
    private let health = Mutex(HealthReport.starting(version: VersionInfo.camhost))

    public init(configuration: Configuration, options: Options) {
        self.configuration = configuration
        self.options = options
    }

    /// Blocks SIGTERM, SIGINT and SIGHUP in every thread started after this call, so that the
    /// main thread can wait for them with sigwait and stop in order. Call first thing.
    private static let stopSignals: [Signal] = [.terminate, .interrupt, .hangUp]

    public static func blockStopSignals() {
        Signals.block(stopSignals)
        // The database will hold password hashes and the logs client addresses: not for others.
        FileSystem.setCreationMask(0o027)
    }

    /// Whether the stream manager may receive video: `[[media.streams]]` entries, or cameras
    /// started from their firmware profiles (with camera control on).
    private var mayReceiveStreams: Bool {
        !configuration.mediaStreams.isEmpty || configuration[Settings.mediaStreamCameras]
    }

    /// Runs until a stop signal; returns normally after a clean stop.
    public func run() throws(ServiceError) {
        // Each HTTPS connection holds a 32 KiB libmicrohttpd pool plus GnuTLS buffers. With
        // glibc's sliding mmap threshold they end up on the heap after the first frees, and a
        // burst of connections then leaves RSS up for good (measured: +28 % after 200
        // connections, kept after they closed). A fixed threshold keeps blocks of 32 KiB and
        // more in their own mappings, returned when freed (+11 % right after the same load).
        // A host that receives video allocates and frees pictures of tens of KiB many times a
        // second per stream; mapping each costs page faults and TLB shoot-downs across every
        // thread: there blocks up to 256 KiB come from the heap (bench-streams.sh, 50 streams in
        // serve: 0.34 % of a core and 783 KB per stream, against 0.44 % and 548 KB at 32 KiB).
        Memory.setMapThreshold(mayReceiveStreams ? 256 * 1024 : 32 * 1024)
        let dataDirectory = configuration.dataDirectory
        try prepareDirectory(dataDirectory, what: "data directory", key: "storage.data_dir")
        try prepareDirectory(configuration.logDirectory, what: "log directory", key: "log.dir")
        do { try LogSink.shared.openFile(joinPath(configuration.logDirectory, "camhost.log")) } catch {
            throw ServiceError(.cannotCreate, "cannot write the log file: \(error)")
        }
        logger.info("camhost \(VersionInfo.camhost) starting", metadata: ["data_dir": "\(FileSystem.absolute(dataDirectory))", "pid": "\(currentProcessID)"])

        let credentials = try prepareTLS()
        let store = try openDatabase()
        // Accounts, sessions, tokens, lock-outs and rate limits for every dashboard route.
        let security = DashboardSecurity(configuration: configuration, store: store)

        var broker: ManagedBroker?
        if configuration.brokerURL == nil {
            let managed = ManagedBroker(
                executable: configuration[Settings.mqttMosquitto], port: configuration[Settings.mqttManagedBrokerPort],
                dataDirectory: dataDirectory, logDirectory: configuration.logDirectory, logger: Logger(label: "camhost.broker"))
            if let conflict = managed.portConflict() {
                throw ServiceError(.unavailable, "the managed MQTT broker cannot listen: \(conflict) (another camhost serve on this host?). "
                    + "Set mqtt.managed_broker_port (CAMHOST_MQTT_MANAGED_BROKER_PORT) to a free port, or mqtt.broker to use a running broker")
            }
            do { try managed.start() } catch {
                throw ServiceError(.unavailable, "cannot start the managed MQTT broker: \(error). Install it with `apt-get install mosquitto`, set mqtt.mosquitto to its path, or set mqtt.broker to an existing broker")
            }
            broker = managed
        }
        // Camera control, after the managed broker so that its first connect usually just works,
        // and before HTTPS so that the first /healthz already shows the MQTT connection.
        let (control, mqttHealth) = startControl(store: store)
        let demo = options.demo ? DemoMode(configuration: configuration, store: store, control: control, logger: Logger(label: "camhost.demo")) : nil
        demo?.start()
        // After a broker restart: the demo's cameras first (they must be subscribed before
        // commands reach them), then camera control; each would otherwise wait out its back-off.
        broker?.whenRestarted { [demo, control] in
            demo?.reconnectNow()
            control?.reconnectNow()
        }

        // Streams (issue 12): [[media.streams]] and the cameras whose profile streams, after camera
        // control (start-stream goes over it) and before the dashboard (which shows them).
        // The RTCP watch's alarms go to the dashboard; the Kurento engine asks it to confirm feedback.
        let rtcpWatch = RTCPWatch(
            cameras: RTCPWatch.cameras(configuration: configuration, store: store, logger: Logger(label: "camhost.rtcp")),
            interface: configuration[Settings.diagnosticsWatchInterface])
        // kurento: media.engine = "kurento" drives Kurento Media Server instead of the builtin receiver.
        let engine = MediaEngineWiring.engine(configuration: configuration, store: store, watch: rtcpWatch)
        // live: each stream's pictures also go to its camera's live fan-out (browsers over WebSocket);
        // a new viewer's keyframe request goes back through the manager to the camera.
        let live = LiveRegistry(options: LiveFanout.Options(configuration: configuration))
        let streams = StreamManager.forService(configuration: configuration, store: store, control: control, demo: demo != nil, engine: engine,
                                               sinks: { live.sinks(for: $0) })
        live.connect(keyframeRequests: { [weak streams] camera in streams?.requestKeyframe(camera: camera) })
        streams.run()

        // The dashboard: accounts and sessions, the RTCP watch's alarms, camera control, /metrics.
        let dashboard = Dashboard(environment: {
            var environment = DashboardEnvironment(
                store: store, recordingsRoot: configuration.recordingsPath, auth: AuthenticatorAuth(security.authenticator),
                cameras: control.map { ControlCameras(service: $0) },
                rtcpWatch: { rtcpWatch.dashboardEntries() + (demo?.alarms() ?? []) },
                health: { [self] in health.withLock { $0 } },
                retentionPolicy: configuration.retentionPolicy, certificateExpiry: Int64(credentials.certificateExpiry),
                metricsAccess: MetricsAccess(allow: configuration[Settings.metricsAllow], token: configuration[Settings.metricsToken]))
            environment.rateLimiter = security.rateLimiter
            environment.streams = streams
            environment.live = live
            return environment
        }())

        let listen = configuration.listen
        let server: HTTPSServer
        do {
            server = try HTTPSServer(
                configuration: .init(
                    host: listen.host, port: listen.port, keyPEM: credentials.keyPEM, certificatePEM: credentials.certPEM,
                    priorities: TLSPolicy.serverPriorities,
                    connectionTimeoutSeconds: UInt32(configuration[Settings.serverConnectionTimeoutSeconds]),
                    maximumBodyBytes: configuration[Settings.serverMaxBodyBytes],
                    threads: UInt32(configuration[Settings.serverThreads])),
                handler: { request in dashboard.handle(request) },
                onCompleted: { request, status, duration in dashboard.completed(request, status: status, duration: duration) },
                // The connections' TLS record buffers and per-request blocks come from the server
                // threads' malloc arenas; one small block left allocated above them (a cache entry made during
                // the burst) keeps all that freed space in the arena for good: after 200
                // connections closed, 0.6 MB was in use and 8 MB held. malloc_trim returns the
                // free pages of every arena; it runs only when the last connection has closed.
                onIdle: { Memory.trim() })
        } catch {
            streams.shutDown()
            control?.stop()
            broker?.stop()
            throw ServiceError(.unavailable, error.message)
        }

        if let pidFile = configuration.pidFile {
            do { try FileSystem.writeAtomically(Array("\(currentProcessID)\n".utf8), to: pidFile) } catch {
                server.stop(grace: .zero)
                streams.shutDown()
                control?.stop()
                broker?.stop()
                throw ServiceError(.cannotCreate, "cannot write the pid file: \(error)")
            }
        }

        // Retention: a run now (finishing any interrupted deletion), then on schedule and on low disk.
        let retention = RetentionSchedule(store: store, configuration: configuration)
        retention.start()
        rtcpWatch.start()
        let checker = HealthChecker(store: store, broker: broker, certificateExpiry: Int(credentials.certificateExpiry), mqtt: mqttHealth)
        updateHealth(checker)
        // The health supervisor: neighbours and own resources probed on schedule, failing
        // neighbours restarted with back-off and a budget, every result in health_history.
        let supervisor = HealthSupervisor.forService(configuration: configuration, store: store) {
            rtcpWatch.snapshot().filter { $0.state == .trap }.map { "\($0.camera)" }
        }
        supervisor.start()
        // Log maintenance and scheduled restarts, inside the process (no cron).
        let schedules = DailySchedules.forService(configuration: configuration, logger: Logger(label: "camhost.schedule"))
        schedules.start()
        let notifier = SystemdNotifier(environment: options.environment)
        let stopping = Atomic<Bool>(false)
        let url = listen.url
        // What camhost itself needs to work: the database answers and HTTPS accepts connections.
        // The watchdog is pinged only while these pass (a neighbour's failure is the supervisor's
        // business, not a reason for systemd to restart camhost).
        let ownHost = listen.host == "0.0.0.0" ? "127.0.0.1" : (listen.host == "::" ? "::1" : listen.host)
        let ownChecksPass: @Sendable () -> Bool = { [self] in
            let database = health.withLock { $0.checks["database"]?.ok } ?? false
            let https = (try? Sockets.probeConnection(host: ownHost, port: listen.port, timeout: .seconds(2))) != nil
            return database && https
        }
        let statusLine: @Sendable () -> String = { [self] in
            let mqtt = mqttHealth()
            return "serving \(url); MQTT \(mqtt.ok ? "connected" : "not connected"); health: \(supervisor.statusSummary)"
                + (health.withLock { $0.status } == "ok" ? "" : " (degraded: see /healthz)")
        }
        let healthThread = startThread { [self] in
            var lastWatchdog = ContinuousClock.now
            var lastCheck = ContinuousClock.now
            var ownOK = true
            var lastStatus = ""
            while !stopping.load(ordering: .relaxed) {
                Clock.sleep(milliseconds: 100)
                if ContinuousClock.now - lastCheck >= .seconds(2) {
                    updateHealth(checker, supervisor: supervisor)
                    ownOK = ownChecksPass()
                    if !ownOK { logger.error("own checks fail (database or HTTPS): the systemd watchdog is no longer pinged") }
                    let status = statusLine()
                    if status != lastStatus, notifier.isActive {
                        notifier.notify("STATUS=\(status)")
                        lastStatus = status
                    }
                    lastCheck = ContinuousClock.now
                }
                if ownOK, let interval = notifier.watchdogInterval, ContinuousClock.now - lastWatchdog >= interval / 2 {
                    notifier.notify("WATCHDOG=1")
                    lastWatchdog = ContinuousClock.now
                }
            }
        }

        logger.info("serving HTTPS", metadata: ["url": "\(url)", "tls": "\(credentials.generated ? "self-signed certificate made now" : "existing certificate")"])
        // READY=1 once the database, HTTPS and MQTT are up; MQTT gets health.ready_timeout_seconds,
        // then camhost says it is ready anyway (a broker that is down must not keep the dashboard
        // from serving) and its status says why.
        if control != nil {
            let deadline = ContinuousClock.now + .seconds(configuration[Settings.healthReadyTimeoutSeconds])
            while !mqttHealth().ok && ContinuousClock.now < deadline { Clock.sleep(milliseconds: 50) }
            if !mqttHealth().ok { logger.warning("MQTT is not connected yet; reporting ready anyway", metadata: ["detail": "\(mqttHealth().detail)"]) }
        }
        notifier.notify("READY=1\nSTATUS=\(statusLine())\nMAINPID=\(currentProcessID)")
        var setupURL: String?
        do { setupURL = try security.setupURL(base: url) } catch { logger.error("cannot prepare the first-start set-up token: \(error)") }
        printBanner(url: listen, credentials: credentials, broker: broker, setupURL: setupURL, demo: demo != nil)
        if let setupURL {
            Logger(label: "camhost.setup").notice("no dashboard users yet: open this link once to create the admin (or run `camhost user add NAME --role admin`)", metadata: ["url": "\(setupURL)"])
        }

        let signal = waitForStopSignal { [self] in
            reload(server: server, notifier: notifier, status: statusLine())
        }
        logger.info("received \(signal); stopping")
        notifier.notify("STOPPING=1")
        stopping.store(true, ordering: .relaxed)
        server.stop(grace: .seconds(10))
        joinThread(healthThread)
        supervisor.stop()
        schedules.stop()
        retention.stop()
        rtcpWatch.stop()
        streams.shutDown()
        (engine as? KurentoEngine)?.close()
        demo?.stop()
        control?.stop()
        broker?.stop()
        if let pidFile = configuration.pidFile { try? FileSystem.remove(pidFile) }
        logger.info("stopped")
    }

    /// Starts camera control; without it (no profiles, bad URL) serve still runs and /healthz says why.
    private func startControl(store: Store) -> (ControlService?, @Sendable () -> (ok: Bool, detail: String)) {
        do {
            let control = try ControlService(configuration: configuration, store: store)
            control.start()
            return (control, { control.health })
        } catch {
            logger.error("camera control is off: \(error)")
            let detail = "camera control is off: \(error)"
            return (nil, { (false, detail) })
        }
    }

    /// /healthz from the checks made every 2 s, plus the supervisor's latest probes as
    /// `probe_NAME` (so the health page and /metrics show them; a failing probe makes the status
    /// "degraded").
    private func updateHealth(_ checker: HealthChecker, supervisor: HealthSupervisor? = nil) {
        let uptime = ContinuousClock.now - startedAt
        var report = checker.check(uptimeSeconds: Int(uptime.components.seconds))
        let probes = supervisor?.latest ?? [:]
        if !probes.isEmpty {
            var checks = report.checks
            for (name, result) in probes { checks["probe_" + name] = .init(ok: result.ok, detail: result.detail) }
            let ok = checks.values.allSatisfy(\.ok)
            report = HealthReport(status: ok ? report.status : "degraded", version: report.version, uptimeSeconds: report.uptimeSeconds, checks: checks)
        }
        health.withLock { $0 = report }
    }

    private func waitForStopSignal(onReload: () -> Void) -> String {
        while true {
            let received = Signals.wait(for: Self.stopSignals)
            switch received {
            case .terminate, .interrupt: return received.description
            default: onReload()
            }
        }
    }

    /// SIGHUP (`systemctl reload camhost`, the certbot deploy hook): the configuration is read
    /// again (the log level applies at once; other changed keys are named, they apply at the next
    /// start) and the TLS key and certificate are loaded again and served to new connections at
    /// once, without closing the listening socket or the requests in flight.
    private func reload(server: HTTPSServer, notifier: SystemdNotifier, status: String) {
        notifier.notify("RELOADING=1\nMONOTONIC_USEC=\(Clock.monotonicMilliseconds * 1000)")
        defer { notifier.notify("READY=1\nSTATUS=\(status)") }
        logger.notice("SIGHUP: reloading the configuration and the TLS certificate")
        var current = configuration
        if let reloadConfiguration = options.reloadConfiguration {
            do {
                let fresh = try reloadConfiguration()
                let changed = ConfigSchema.keys.map(\.path).filter { fresh.values[$0] != configuration.values[$0] }
                if let level = Logger.Level(rawValue: fresh[Settings.logLevel]) { LogSink.shared.logLevel = level }
                let later = changed.filter { $0 != "log.level" }
                if !later.isEmpty {
                    logger.notice("changed settings that apply at the next start (systemctl restart camhost)", metadata: ["keys": "\(later.joined(separator: ", "))"])
                }
                current = fresh
            } catch {
                logger.error("the configuration has errors; keeping the running one", metadata: ["errors": "\(error)"])
            }
        }
        do {
            let credentials = try TLSCredentials.ensure(keyPath: current.tlsKeyPath, certPath: current.tlsCertificatePath,
                                                        group: current.keyGroup.flatMap(Users.groupID(named:)))
            try server.reload(keyPEM: credentials.keyPEM, certificatePEM: credentials.certPEM)
            logger.notice("TLS certificate reloaded; new connections get it now", metadata: ["certificate": "\(current.tlsCertificatePath)"])
        } catch {
            logger.error("cannot reload the TLS key and certificate; the old ones stay in use", metadata: ["error": "\(error)"])
        }
    }

    private func prepareDirectory(_ path: String, what: String, key: String) throws(ServiceError) {
        if FileSystem.isDirectory(path) {
            guard FileSystem.isWritableDirectory(path) else {
                throw ServiceError(.cannotCreate, "the \(what) \(path) is not writable by this user (uid \(Users.realUserID)): fix its owner or mode (chown/chmod), or choose another with --data-dir or \(key)")
            }
            return
        }
        if FileSystem.exists(path) {
            throw ServiceError(.cannotCreate, "the \(what) \(path) exists but is not a directory; move it away or choose another with --data-dir or \(key)")
        }
        do { try FileSystem.makeDirectories(path) } catch {
            throw ServiceError(.cannotCreate, "cannot create the \(what): \(error); create it by hand or choose another with --data-dir or \(key)")
        }
    }

    private func prepareTLS() throws(ServiceError) -> TLSCredentials {
        let keyPath = configuration.tlsKeyPath
        let group = configuration.keyGroup.flatMap(Users.groupID(named:))
        let keyExisted = FileSystem.exists(keyPath)
        let certificatePath = configuration.tlsCertificatePath
        for directory in [parentDirectory(keyPath), parentDirectory(certificatePath)] where !FileSystem.isDirectory(directory) {
            do { try FileSystem.makeDirectories(directory, permissions: 0o700) } catch {
                throw ServiceError(.cannotCreate, "cannot create the TLS directory: \(error)")
            }
        }
        if let group {
            // The key group (e.g. CoTURN's ssl-cert) must pass the folders on the way to the key.
            do {
                let changes = try KeyGroupPath.open(keyPath: keyPath, certificatePath: certificatePath,
                                                    top: configuration.dataDirectory, group: group)
                for change in changes { logger.notice("tls.key_group: \(change)") }
            } catch {
                throw ServiceError(.permission, "cannot let tls.key_group = \"\(configuration.keyGroup ?? "")\" reach the TLS key: \(error)")
            }
        }
        if keyExisted {
            let audit = KeyPermissionAudit(keyPath: keyPath, group: group)
            for finding in audit.findings { logger.warning("\(finding.message)") }
            if audit.refuseToStart {
                throw ServiceError(.permission, "refusing to start: the TLS private key \(keyPath) is not protected:\n" + audit.findings.map { "  - \($0.message)" }.joined(separator: "\n"))
            }
        }
        do {
            let names = TLSCredentials.defaultHostNames() + configuration[Settings.tlsHostNames].filter { !NumericAddress.isValid($0) }
            let addresses = TLSCredentials.defaultIPAddresses + configuration[Settings.tlsHostNames].filter(NumericAddress.isValid)
            let credentials = try TLSCredentials.ensure(
                keyPath: keyPath, certPath: certificatePath, hostNames: names, ipAddresses: addresses, group: group,
                validityDays: configuration[Settings.tlsCertificateDays])
            if credentials.generated {
                logger.notice("made a TLS key and self-signed certificate", metadata: ["key": "\(keyPath)", "certificate": "\(certificatePath)"])
            }
            if !keyExisted, group != nil {
                // A new key: the audit has not seen its path yet (a folder above the data directory may block the group).
                for finding in KeyPermissionAudit(keyPath: keyPath, group: group).findings { logger.warning("\(finding.message)") }
            }
            return credentials
        } catch {
            throw ServiceError(.configuration, "TLS: \(error)")
        }
    }

    private func openDatabase() throws(ServiceError) -> Store {
        do {
            return try configuration.openStore()
        } catch {
            throw ServiceError(.io, "cannot open the database: \(error)")
        }
    }

    private func printBanner(url: ListenAddress, credentials: TLSCredentials, broker: ManagedBroker?, setupURL: String?, demo: Bool) {
        var lines = [
            "",
            "camhost \(VersionInfo.camhost) is serving \(url.url)/",
            "  health:   \(url.url)/healthz",
            "  data:     \(FileSystem.absolute(configuration.dataDirectory))",
            "  TLS:      \(credentials.generated ? "a self-signed certificate was made now" : "certificate") at \(configuration.tlsCertificatePath)",
            "            (browsers warn about self-signed certificates; curl needs --cacert \(configuration.tlsCertificatePath) or -k)",
        ]
        if let broker { lines.append("  MQTT:     managed broker on \(broker.url)") } else if let url = configuration.brokerURL { lines.append("  MQTT:     \(url)") }
        if let setupURL {
            lines.append("  set up:   \(setupURL)")
            lines.append("            (first visit creates the admin; or `camhost user add NAME --role admin`)")
        } else {
            lines.append("  log in:   \(url.url)/login (accounts: `camhost user add`; API tokens: `camhost token create`)")
        }
        if demo { lines.append("  demo:     simulated cameras and sample recordings (serve --demo)") }
        lines.append("  stop:     Ctrl-C or SIGTERM")
        lines.append("")
        let text = lines.joined(separator: "\n") + "\n"
        FileDescriptor.standardOutput.write(text)
    }
}

func parentDirectory(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}

