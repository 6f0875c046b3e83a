import Control
import Media
import POSIX
import Security
import Storage
import Synchronization
import Wire

/// The probes the supervisor runs, each at the protocol level and bounded by a time-out.
extension HealthSupervisor.Probe {
    /// The broker: a fresh MQTT connection and a message round trip through it.
    public static func mqttBroker(options: MQTTClient.Options, timeout: Duration = .seconds(5), neighbour: HealthSupervisor.Neighbour?) -> Self {
        Self(name: "broker", neighbour: neighbour) {
            let outcome = Mutex<Swift.Result<Duration, any Error>?>(nil)
            let done = Semaphore()
            Task.detached {
                do {
                    let elapsed = try await MQTTProbe.roundTrip(options: options, timeout: timeout)
                    outcome.withLock { $0 = .success(elapsed) }
                } catch {
                    outcome.withLock { $0 = .failure(error) }
                }
                done.signal()
            }
            done.wait()
            switch outcome.withLock({ $0 }) {
            case .success(let elapsed)?:
                return .init(ok: true, detail: "round trip through \(options.host):\(options.port) in \(elapsed.milliseconds) ms")
            case .failure(let error)?:
                return .init(ok: false, detail: "\(options.host):\(options.port): \(error)")
            case nil:
                return .init(ok: false, detail: "the probe did not finish")
            }
        }
    }

    /// CoTURN (or any STUN server): a Binding Request (RFC 5389) whose answer must carry the same
    /// transaction id and an XOR-MAPPED-ADDRESS.
    public static func stun(host: String, port: UInt16, timeout: Duration = .seconds(2), neighbour: HealthSupervisor.Neighbour?) -> Self {
        Self(name: "coturn", neighbour: neighbour) { stunProbe(host: host, port: port, timeout: timeout) }
    }

    static func stunProbe(host: String, port: UInt16, timeout: Duration) -> HealthSupervisor.Result {
        var random = SystemRandomNumberGenerator()
        let transaction = (0..<12).map { _ in UInt8.random(in: 0...255, using: &random) }
        let started = ContinuousClock.now
        let answer: [UInt8]
        do {
            answer = try Sockets.exchangeDatagram(STUNMessage.bindingRequest(transactionID: transaction).encoded(), host: host, port: port, timeout: timeout)
        } catch {
            return .init(ok: false, detail: "STUN to \(host):\(port): \(error == .timedOut ? "no answer within \(timeout)" : "\(error)")")
        }
        do {
            let message = try STUNMessage(decoding: answer)
            guard message.transactionID == transaction else {
                return .init(ok: false, detail: "STUN to \(host):\(port): the answer carries another transaction id")
            }
            if let error = message.errorCode {
                return .init(ok: false, detail: "STUN to \(host):\(port): error \(error.code) \(error.reason)")
            }
            guard message.type == STUNMessage.bindingSuccess, let mapped = message.mappedAddress else {
                return .init(ok: false, detail: "STUN to \(host):\(port): a success answer without XOR-MAPPED-ADDRESS")
            }
            let software = message.software.map { ", \($0)" } ?? ""
            return .init(ok: true, detail: "STUN binding answered in \((ContinuousClock.now - started).milliseconds) ms; mapped \(mapped.address):\(mapped.port)\(software)")
        } catch {
            return .init(ok: false, detail: "STUN to \(host):\(port): \(error)")
        }
    }

    /// Kurento Media Server (media.engine = "kurento"): a fresh WebSocket and a JSON-RPC `ping`
    /// answered with `pong` (doc-kurento "Kurento Protocol", ping).
    public static func kurento(url: String, timeout: Duration = .seconds(5), neighbour: HealthSupervisor.Neighbour?) -> Self {
        Self(name: "kurento", neighbour: neighbour) { kurentoProbe(url: url, timeout: timeout) }
    }

    static func kurentoProbe(url: String, timeout: Duration) -> HealthSupervisor.Result {
        let started = ContinuousClock.now
        var options = KurentoClient.Options()
        options.connectTimeout = timeout
        options.callTimeout = timeout
        options.pingInterval = .zero
        do {
            let client = try KurentoClient(url: url, options: options)
            defer { client.close() }
            try client.ping()
            return .init(ok: true, detail: "\(url) answered ping in \((ContinuousClock.now - started).milliseconds) ms")
        } catch {
            return .init(ok: false, detail: "\(error)")
        }
    }

    /// Free space on the volume of `path`: fails below `floorPercent`.
    public static func disk(path: String, floorPercent: Int) -> Self {
        Self(name: "disk") {
            guard let space = FileSystem.space(path), space.total > 0 else {
                return .init(ok: false, detail: "cannot read the free space of \(path)")
            }
            let percent = Int(space.available * 100 / space.total)
            let free = "\(space.available / (1 << 20)) MiB free of \(space.total / (1 << 20)) MiB (\(percent) %) on the volume of \(path)"
            return .init(ok: percent >= floorPercent, detail: percent >= floorPercent ? free : free + "; below the floor of \(floorPercent) %")
        }
    }

    /// SQLite's `PRAGMA quick_check` of the database.
    public static func database(_ history: HealthHistory) -> Self {
        Self(name: "database") {
            do {
                let answer = try history.quickCheck()
                return .init(ok: answer == "ok", detail: answer == "ok" ? "quick_check ok" : "quick_check: \(answer)")
            } catch {
                return .init(ok: false, detail: "\(error)")
            }
        }
    }

    /// The TLS certificate: fails when it expires within `warnDays`.
    public static func certificate(path: String, warnDays: Int = 14, now: @escaping @Sendable () -> Int64 = { Clock.unixSeconds }) -> Self {
        Self(name: "certificate") {
            do {
                let certificate = try Certificate(pem: try FileSystem.readFile(path), source: path)
                let days = (Int64(certificate.notAfter) - now()) / 86_400
                return .init(ok: days >= Int64(warnDays), detail: days >= 0 ? "\(path) expires in \(days) days" : "\(path) expired \(-days) days ago")
            } catch {
                return .init(ok: false, detail: "\(error)")
            }
        }
    }

    /// The TLS key's permissions (Security's audit).
    public static func keyPermissions(path: String, group: GroupID?) -> Self {
        Self(name: "key") {
            let audit = KeyPermissionAudit(keyPath: path, group: group)
            return .init(ok: !audit.refuseToStart, detail: audit.findings.isEmpty ? "\(path): owner-only" : audit.findings.map(\.description).joined(separator: "; "))
        }
    }

    /// The streams as the RTCP watch sees them: fails while any camera is in the loopback trap.
    public static func streams(_ trapped: @escaping @Sendable () -> [String]) -> Self {
        Self(name: "streams") {
            let cameras = trapped()
            return cameras.isEmpty ? .init(ok: true, detail: "no camera in the loopback trap")
                : .init(ok: false, detail: "RTCP loopback trap: \(cameras.joined(separator: ", ")) (camhost diagnose rtcp --camera \(cameras[0]))")
        }
    }
}
