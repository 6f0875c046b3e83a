import Logging
import Testing
import TestSupport
@testable import Appliance
#if canImport(Glibc)
import Glibc
#endif

@Suite("Managed Mosquitto broker")
struct ManagedBrokerTests {
    @Test func restartsTheBrokerWhenItDiesAndStopsIt() throws {
        let directory = try TemporaryDirectory()
        let port = Int(Loopback.freePort())
        let broker = ManagedBroker(executable: "/usr/sbin/mosquitto", port: port, dataDirectory: directory.path,
                                   logDirectory: directory.path, logger: Logger(label: "test"))
        try broker.start()
        #expect(Loopback.waitUntil { Loopback.isListening(UInt16(port)) })
        let first = try #require(broker.status.pid)
        kill(first, SIGKILL)
        // Back-off starts at 0.5 s.
        #expect(Loopback.waitUntil(timeout: .seconds(10)) { broker.status.restarts == 1 && broker.status.running })
        #expect(broker.status.pid != first)
        #expect(Loopback.waitUntil { Loopback.isListening(UInt16(port)) })
        let second = try #require(broker.status.pid)
        broker.stop()
        #expect(kill(second, 0) != 0, "the broker process must be gone after stop")
        #expect(!Loopback.isListening(UInt16(port)))
    }

    @Test func missingBinaryIsAClearError() throws {
        let directory = try TemporaryDirectory()
        let broker = ManagedBroker(executable: "/nonexistent/mosquitto", port: 1, dataDirectory: directory.path,
                                   logDirectory: directory.path, logger: Logger(label: "test"))
        #expect(throws: SystemError.self) { try broker.start() }
    }
}
