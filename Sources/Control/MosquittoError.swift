import CMosquitto
#if canImport(Glibc)
import Glibc
#endif

/// An MQTT failure: libmosquitto's result code or the broker's CONNACK code, the library's own
/// text for it, the broker it happened with, and a hint for the person reading it.
public struct MosquittoError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// A libmosquitto return code (`MOSQ_ERR_*`).
        case library
        /// The broker refused the connection with this CONNACK code (MQTT 3.1.1 §3.2.2.3).
        case connectionRefused
        /// The client is not connected (never connected, reconnecting, or closed).
        case notConnected
        /// The connection dropped while waiting for the broker's acknowledgement.
        case connectionLost
        /// The broker did not acknowledge in time.
        case timedOut
    }

    public let kind: Kind
    /// The raw code: `MOSQ_ERR_*` for `.library`, the CONNACK code for `.connectionRefused`, else 0.
    public let code: Int32
    /// The library's own message (`mosquitto_strerror` / `mosquitto_connack_string`) plus detail.
    public let message: String
    /// `host:port` of the broker.
    public let broker: String

    public init(kind: Kind, code: Int32 = 0, message: String, broker: String) {
        self.kind = kind
        self.code = code
        self.message = message
        self.broker = broker
    }

    static func library(_ rc: Int32, errno savedErrno: Int32 = 0, broker: String, detail: String? = nil) -> MosquittoError {
        var text: String
        if rc == MOSQ_ERR_ERRNO.rawValue, savedErrno != 0, let s = strerror(savedErrno) {
            text = String(cString: s)
        } else {
            text = String(cString: mosquitto_strerror(rc))
        }
        if let detail, !detail.isEmpty { text += " (\(detail))" }
        return MosquittoError(kind: .library, code: rc, message: text, broker: broker)
    }

    static func connack(_ code: Int32, broker: String) -> MosquittoError {
        MosquittoError(kind: .connectionRefused, code: code,
                       message: String(cString: mosquitto_connack_string(code)), broker: broker)
    }

    /// True when the broker rejected the username/password or the client is not authorised
    /// (CONNACK 4 or 5).
    public var isAuthenticationFailure: Bool { kind == .connectionRefused && (code == 4 || code == 5) }
    /// True when the TLS handshake failed (untrusted CA, wrong host name, bad client key).
    public var isTLSFailure: Bool { kind == .library && code == MOSQ_ERR_TLS.rawValue }

    private var hint: String {
        switch kind {
        case .connectionRefused where isAuthenticationFailure:
            return "check the MQTT username and password (and the broker's ACL)"
        case .connectionRefused:
            return "the broker refused the connection; check its log"
        case .library where isTLSFailure:
            return "check that the CA file signs the broker's certificate and that the certificate names this host"
        case .library where code == MOSQ_ERR_ERRNO.rawValue:
            return "is the broker running and listening on that address and port?"
        case .library:
            return "check the broker address and client options"
        case .notConnected:
            return "the command was not sent; camhost reconnects automatically, try again shortly"
        case .connectionLost:
            return "the broker connection dropped before it acknowledged; the outcome is unknown"
        case .timedOut:
            return "the broker did not acknowledge in time"
        }
    }

    public var description: String {
        let codeText = kind == .library || kind == .connectionRefused ? " (code \(code))" : ""
        return "MQTT broker \(broker): \(message)\(codeText); \(hint)"
    }
}
