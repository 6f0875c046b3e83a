import Control
import POSIX

/// The MQTT and firmware-profile settings camera control runs with, read from the
/// configuration: which broker (the configured one, or the managed one on loopback), how to
/// authenticate, where the profiles are and which one is the default.
public struct ControlSettings: Sendable {
    /// `mqtt://…` or `mqtts://…`, as shown to people.
    public var brokerURL: String
    public var options: MQTTClient.Options
    public var profilesDirectory: String
    public var defaultProfile: String
    public var commandTimeout: Duration

    /// Where profiles are looked for when `control.profiles_dir` is relative and not found.
    public static let systemProfilesDirectory = "/usr/share/camhost/firmware-profiles"

    /// `brokerOverride` (a `--broker` flag) wins over `mqtt.broker`; with neither, the managed
    /// broker `mqtt://127.0.0.1:<mqtt.managed_broker_port>`.
    public init(configuration: Configuration, brokerOverride: String? = nil) throws(ControlSetupError) {
        let url = brokerOverride ?? configuration.brokerURL ?? "mqtt://127.0.0.1:\(configuration[Settings.mqttManagedBrokerPort])"
        var options: MQTTClient.Options
        do {
            options = try MQTTClient.Options(url: url)
        } catch {
            throw ControlSetupError(kind: .usage, message: error.description)
        }
        if options.username == nil, !configuration[Settings.mqttUsername].isEmpty {
            options.username = configuration[Settings.mqttUsername]
            options.password = configuration[Settings.mqttPassword].isEmpty ? nil : configuration[Settings.mqttPassword]
        }
        options.clientIDPrefix = configuration[Settings.mqttClientIdPrefix]
        options.keepAliveSeconds = configuration[Settings.mqttKeepaliveSeconds]
        if options.requiresTLS {
            let ca = configuration[Settings.mqttCaFile]
            guard !ca.isEmpty else {
                throw ControlSetupError(kind: .configuration, message: "\(url) is a TLS broker: set mqtt.ca_file to the CA certificate (PEM) that signed its certificate")
            }
            let certificate = configuration[Settings.mqttClientCertificate], key = configuration[Settings.mqttClientKey]
            options.tls = .init(caFile: ca, certificateFile: certificate.isEmpty ? nil : certificate, keyFile: key.isEmpty ? nil : key)
        }
        options.ackTimeout = .seconds(5)
        self.brokerURL = url
        self.options = options
        self.defaultProfile = configuration[Settings.controlDefaultProfile]
        self.commandTimeout = .seconds(configuration[Settings.controlCommandTimeoutSeconds])
        let configured = configuration[Settings.controlProfilesDir]
        if configured.hasPrefix("/") || FileSystem.isDirectory(configured) || !FileSystem.isDirectory(Self.systemProfilesDirectory) {
            profilesDirectory = configured
        } else {
            profilesDirectory = Self.systemProfilesDirectory
        }
    }

    /// Every profile in `profilesDirectory`, by name; the default profile must be among them.
    public func loadProfiles() throws(ControlSetupError) -> [String: FirmwareProfile] {
        let profiles: [String: FirmwareProfile]
        do {
            profiles = try FirmwareProfile.loadDirectory(profilesDirectory)
        } catch {
            throw ControlSetupError(kind: .configuration, message: "firmware profiles: \(error) (set control.profiles_dir)")
        }
        guard profiles[defaultProfile] != nil else {
            let known = profiles.keys.sorted().joined(separator: ", ")
            throw ControlSetupError(kind: .configuration, message: "no firmware profile named \"\(defaultProfile)\" in \(profilesDirectory) (control.default_profile); profiles there: \(known.isEmpty ? "none" : known)")
        }
        return profiles
    }
}

/// Camera control could not be set up: a bad broker URL or flag (usage), or a configuration
/// or profile problem.
public struct ControlSetupError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case usage, configuration }
    public let kind: Kind
    public let message: String
    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }
    public var description: String { message }
}
