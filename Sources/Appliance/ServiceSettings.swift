/// The settings of the boot-time service: the health supervisor (`[health]`) and log
/// maintenance (`[log]`). Listed in `ConfigSchema.keys` with the others.
extension Settings {
    public static let healthIntervalMinutes = Setting<Int>("health", "interval_minutes", 12,
        "How often the health supervisor probes the broker, CoTURN, the disk, the database, the certificate, the key and the streams.", range: 1...1440)
    public static let healthRetrySeconds = Setting<Int>("health", "retry_seconds", 30,
        "After a failed probe, probe again this soon (until everything passes).", range: 5...3600)
    public static let healthRestartCommand = Setting<String>("health", "restart_command", "systemctl restart {unit}",
        "How a failing neighbour is restarted; {unit} is replaced by its unit. Empty: never restart, only report.")
    public static let healthRestartBudgetPerHour = Setting<Int>("health", "restart_budget_per_hour", 6,
        "Most restarts of one neighbour in any hour; then the supervisor only reports (no restart storm).", range: 0...100)
    public static let healthRestartBackoffSeconds = Setting<Int>("health", "restart_backoff_seconds", 10,
        "The wait after a restart that did not help; doubled after each one, up to 10 minutes.", range: 1...3600)
    public static let healthBrokerUnit = Setting<String>("health", "broker_unit", "",
        "The broker's unit when it runs on this host under systemd (e.g. mosquitto.service), to restart it when its probe fails. Empty: not restarted by camhost (the managed broker restarts itself).")
    public static let healthCoturn = Setting<String>("health", "coturn", "",
        "CoTURN's STUN address to probe, HOST:PORT (e.g. 127.0.0.1:3478). Empty: not probed.")
    public static let healthCoturnUnit = Setting<String>("health", "coturn_unit", "coturn.service",
        "CoTURN's unit, restarted when its probe fails.")
    public static let healthCertificateWarnDays = Setting<Int>("health", "certificate_warn_days", 14,
        "The certificate probe fails when the certificate expires within this many days.", range: 0...365)
    public static let healthReadyTimeoutSeconds = Setting<Int>("health", "ready_timeout_seconds", 20,
        "At start, how long `serve` waits for the MQTT connection before it tells systemd it is ready anyway (and says why in its status).", range: 0...300)

    public static let logKeepDays = Setting<Int>("log", "keep_days", 15,
        "Log maintenance deletes log files older than this, in the log folder and in log.dirs.", range: 1...3650)
    public static let logMaxBytes = Setting<Int>("log", "max_bytes", 50 << 20,
        "Log maintenance rotates a log file larger than this (copy, then truncate in place: a writer loses no line).", range: 4096...Int.max)
    public static let logDirs = Setting<[String]>("log", "dirs", [],
        "Other folders whose logs are maintained the same way (e.g. Kurento's /var/log/kurento-media-server).")
    public static let logMaintenanceTime = Setting<String>("log", "maintenance_time", "03:00",
        "When log maintenance runs each day, HH:MM in local time.")
    public static let scheduleRestarts = Setting<[String]>("schedule", "restarts", [],
        "Units to restart at set times, each \"UNIT@HH:MM[,HH:MM...]\" (e.g. \"kurento-media-server.service@00:00,08:00,16:00\"), through health.restart_command.")

    static let serviceKeys: [ConfigKey] = [
        healthIntervalMinutes.key, healthRetrySeconds.key, healthRestartCommand.key, healthRestartBudgetPerHour.key,
        healthRestartBackoffSeconds.key, healthBrokerUnit.key, healthCoturn.key, healthCoturnUnit.key,
        healthCertificateWarnDays.key, healthReadyTimeoutSeconds.key,
        logKeepDays.key, logMaxBytes.key, logDirs.key, logMaintenanceTime.key, scheduleRestarts.key,
    ]
}
