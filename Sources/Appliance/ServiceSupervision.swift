import Logging
import POSIX
import Storage

/// How `serve` builds its health supervisor from the configuration, and what it tells systemd.
extension HealthSupervisor {
    /// The probes for this configuration: the broker (a round trip; restarted through
    /// health.broker_unit when set, the managed broker restarts itself), CoTURN when
    /// health.coturn names it, Kurento (a JSON-RPC ping) when media.engine is kurento, the recordings volume, the database, the certificate, the key,
    /// and the streams the RTCP watch follows.
    /// health.restart_command is split on spaces; a word `{unit}` becomes the neighbour's unit.
    static func forService(configuration: Configuration, store: Store, trapped: @escaping @Sendable () -> [String]) -> HealthSupervisor {
        let template = configuration[Settings.healthRestartCommand].split(separator: " ").map(String.init)
        func neighbour(_ name: String, unit: String) -> Neighbour? {
            guard !template.isEmpty, !unit.isEmpty, configuration[Settings.healthRestartBudgetPerHour] > 0 else { return nil }
            return Neighbour(name: name, restartCommand: template.map { $0 == "{unit}" ? unit : $0 })
        }
        var probes: [Probe] = []
        if let control = try? ControlSettings(configuration: configuration) {
            probes.append(.mqttBroker(options: control.options, neighbour: configuration.brokerURL == nil ? nil : neighbour("broker", unit: configuration[Settings.healthBrokerUnit])))
        }
        if let coturn = HostPort(configuration[Settings.healthCoturn]) {
            probes.append(.stun(host: coturn.host, port: coturn.port, neighbour: neighbour("coturn", unit: configuration[Settings.healthCoturnUnit])))
        }
        // kurento: probed (and restarted through health.kurento_unit) only when it is the media engine.
        if configuration.usesKurento {
            probes.append(.kurento(url: configuration[Settings.mediaKurentoURL], neighbour: neighbour("kurento", unit: configuration[Settings.healthKurentoUnit])))
        }
        probes.append(.disk(path: FileSystem.isDirectory(configuration.recordingsPath) ? configuration.recordingsPath : configuration.dataDirectory,
                            floorPercent: configuration[Settings.retentionFreeSpaceFloorPercent]))
        probes.append(.database(HealthHistory(store: store)))
        probes.append(.certificate(path: configuration.tlsCertificatePath, warnDays: configuration[Settings.healthCertificateWarnDays]))
        probes.append(.keyPermissions(path: configuration.tlsKeyPath, group: configuration.keyGroup.flatMap(Users.groupID(named:))))
        probes.append(.streams(trapped))

        var settings = Options()
        settings.interval = .seconds(configuration[Settings.healthIntervalMinutes] * 60)
        settings.retryInterval = .seconds(configuration[Settings.healthRetrySeconds])
        settings.policy = RestartPolicy(initialDelay: .seconds(configuration[Settings.healthRestartBackoffSeconds]), maximumDelay: .seconds(600),
                                        budget: configuration[Settings.healthRestartBudgetPerHour], budgetWindow: .seconds(3600))
        return HealthSupervisor(probes: probes, options: settings, history: HealthHistory(store: store))
    }

    /// One line for systemd's STATUS=: what is failing, or that all probes pass.
    var statusSummary: String {
        let failing = latest.filter { !$0.value.ok }.keys.sorted()
        if latest.isEmpty { return "probes pending" }
        return failing.isEmpty ? "all \(latest.count) probes pass" : "failing: " + failing.joined(separator: ", ")
    }
}

extension DailySchedules {
    /// Log maintenance daily at log.maintenance_time over camhost's log folder and log.dirs, and
    /// the restarts of schedule.restarts through health.restart_command.
    static func forService(configuration: Configuration, logger: Logger) -> DailySchedules {
        var tasks: [Task] = []
        let maintenance = LogMaintenance(directories: [configuration.logDirectory] + configuration[Settings.logDirs],
                                         keepDays: configuration[Settings.logKeepDays], maxBytes: Int64(configuration[Settings.logMaxBytes]))
        if let time = DailyTime(configuration[Settings.logMaintenanceTime]) {
            tasks.append(Task(name: "log maintenance", times: [time]) {
                let report = maintenance.run()
                logger.notice("log maintenance", metadata: [
                    "deleted": "\(report.deleted.count)", "rotated": "\(report.rotated.count)", "bytes_freed": "\(report.bytesFreed)",
                    "errors": "\(report.errors.joined(separator: "; "))",
                ])
                for path in report.lossyRotations {
                    logger.warning("rotated by copy and truncate (this file system cannot collapse a range): lines written during the copy may be lost", metadata: ["file": "\(path)"])
                }
            })
        }
        let template = configuration[Settings.healthRestartCommand].split(separator: " ").map(String.init)
        for entry in configuration[Settings.scheduleRestarts] {
            guard let restart = ScheduledRestart(entry), !template.isEmpty else { continue }
            let command = template.map { $0 == "{unit}" ? restart.unit : $0 }
            tasks.append(Task(name: "restart \(restart.unit)", times: restart.times) {
                let outcome = HealthSupervisor.runCommand(command, timeout: .seconds(120))
                logger.notice("scheduled restart", metadata: ["unit": "\(restart.unit)", "command": "\(command.joined(separator: " "))", "outcome": "\(outcome.detail)"])
            })
        }
        return DailySchedules(tasks: tasks)
    }
}
