import Control
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A test CA, a broker certificate it signs, and a second CA that signs nothing of the broker's,
/// made with certtool (gnutls-bin) in a fresh directory; Mosquitto serves TLS with a password file.
final class TLSBrokerFixture: @unchecked Sendable {
    let directory: String
    let broker: Broker
    var ca: String { "\(directory)/ca.pem" }
    var otherCA: String { "\(directory)/other-ca.pem" }

    init() throws {
        let directory = makeTemporaryDirectory()
        self.directory = directory
        let ca = "\(directory)/ca.pem"
        chmod(directory, 0o755)  // mosquitto started as root reads some files as its own user
        try writeFile("\(directory)/ca.tmpl", "cn = \"camhost test CA\"\nca\ncert_signing_key\nexpiration_days = 2\n")
        try writeFile("\(directory)/server.tmpl", "cn = \"127.0.0.1\"\nip_address = \"127.0.0.1\"\ndns_name = \"localhost\"\ntls_www_server\nexpiration_days = 2\n")
        for name in ["ca", "other-ca"] {
            try Self.certtool(["--generate-privkey", "--key-type=ecdsa", "--outfile", "\(directory)/\(name).key"])
            try Self.certtool(["--generate-self-signed", "--load-privkey", "\(directory)/\(name).key", "--template", "\(directory)/ca.tmpl",
                          "--outfile", "\(directory)/\(name).pem"])
        }
        try Self.certtool(["--generate-privkey", "--key-type=ecdsa", "--outfile", "\(directory)/server.key"])
        try Self.certtool(["--generate-certificate", "--load-privkey", "\(directory)/server.key", "--load-ca-certificate", ca,
                      "--load-ca-privkey", "\(directory)/ca.key", "--template", "\(directory)/server.tmpl", "--outfile", "\(directory)/server.pem"])
        guard try run(["/usr/bin/mosquitto_passwd", "-c", "-b", "\(directory)/passwd", "camhost", "right-password"]) == 0 else {
            throw TestFailure("mosquitto_passwd failed")
        }
        for file in ["ca.pem", "server.pem", "server.key", "passwd"] { chmod("\(directory)/\(file)", 0o644) }
        broker = try Broker(config: """
            cafile \(directory)/ca.pem
            certfile \(directory)/server.pem
            keyfile \(directory)/server.key
            allow_anonymous false
            password_file \(directory)/passwd

            """, directory: directory)
    }

    private static func certtool(_ arguments: [String]) throws {
        guard try run(["/usr/bin/certtool"] + arguments) == 0 else { throw TestFailure("certtool \(arguments.joined(separator: " ")) failed") }
    }

    func options(ca: String, password: String = "right-password") -> MQTTClient.Options {
        MQTTClient.Options(host: "127.0.0.1", port: broker.port, tls: .init(caFile: ca), username: "camhost", password: password,
                           ackTimeout: .seconds(3))
    }
}

@Suite(.serialized) struct MQTTTLSTests {
    @Test func trustedCAAndRightPasswordConnect() async throws {
        let fixture = try TLSBrokerFixture()
        let client = MQTTClient(options: fixture.options(ca: fixture.ca))
        try await client.connect()
        let messages = client.messages()
        try await client.subscribe("tls/#")
        try await client.publish(topic: "tls/1", text: "over TLS")
        var iterator = messages.makeAsyncIterator()
        #expect(await iterator.next()?.text == "over TLS")
        await client.disconnect()
    }

    @Test func untrustedCAFailsClearly() async throws {
        let fixture = try TLSBrokerFixture()
        let client = MQTTClient(options: fixture.options(ca: fixture.otherCA))
        let error = await #expect(throws: MosquittoError.self) { try await client.connect() }
        #expect(error?.isTLSFailure == true, "\(String(describing: error))")
        #expect(error?.description.contains("127.0.0.1:\(fixture.broker.port)") == true)
        #expect(error?.description.contains("CA file") == true, "\(String(describing: error))")
        #expect(client.state == .disconnected)
    }

    @Test func wrongPasswordFailsClearly() async throws {
        let fixture = try TLSBrokerFixture()
        let client = MQTTClient(options: fixture.options(ca: fixture.ca, password: "wrong"))
        let started = ContinuousClock.now
        let error = await #expect(throws: MosquittoError.self) { try await client.connect() }
        #expect(error?.isAuthenticationFailure == true, "\(String(describing: error))")
        #expect(error?.description.contains("username and password") == true)
        #expect(ContinuousClock.now - started < .seconds(2), "a refused log-in is reported at once, not retried")
        #expect(client.state == .disconnected)
    }

    @Test func mqttsWithoutACAIsRefusedBeforeConnecting() async throws {
        let options = try MQTTClient.Options(url: "mqtts://127.0.0.1:8883")
        let error = await #expect(throws: MosquittoError.self) { try await MQTTClient(options: options).connect() }
        #expect(error?.description.contains("CA file") == true)
    }
}
