// Benchmark driver for scripts/bench-websocket.sh (not in the camhost product): camhost's
// WebSocket server over TLS broadcasting binary messages to every viewer.
//
//   websocket-bench KEY.pem CERT.pem VIEWERS MESSAGES BYTES
//
// Prints "port N", waits for VIEWERS connections that each send "ready", sends MESSAGES binary
// messages of BYTES bytes to all of them (one shared array; a full queue, 4 MiB, is waited
// out, so nothing is dropped), then the text "done", waits until every viewer has closed and
// prints one JSON line: wall time of the broadcast and the process's CPU time (user + system,
// libmicrohttpd's TLS threads included). One libmicrohttpd thread, not a pool of two: with the
// pool, 0.9.75 corrupted its heap around WebSocket closes in about 1 of 20 runs of 50 viewers
// (docs/websocket.md, "Known problem"); with one thread, never in 30 runs.
#if canImport(Glibc)
import Glibc
#endif
import POSIX
import Security
import Synchronization
import Web

final class Viewers: WebSocketHandler {
    let ready = Mutex<[WebSocketConnection]>([])
    let closed = Atomic<Int>(0)
    func opened(_ connection: WebSocketConnection) {}
    func received(_ message: WebSocketMessage, on connection: WebSocketConnection) {
        if message == .text("ready") { ready.withLock { $0.append(connection) } }
    }
    func closed(_ connection: WebSocketConnection, code: WebSocketCloseCode?) { closed.add(1, ordering: .relaxed) }
}

func cpuMilliseconds() -> Double {
    var usage = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
    let user = Double(usage.ru_utime.tv_sec) * 1000 + Double(usage.ru_utime.tv_usec) / 1000
    let system = Double(usage.ru_stime.tv_sec) * 1000 + Double(usage.ru_stime.tv_usec) / 1000
    return user + system
}

let arguments = CommandLine.arguments
guard arguments.count == 6, let viewers = Int(arguments[3]), let messages = Int(arguments[4]), let bytes = Int(arguments[5]) else {
    FileDescriptor.standardError.write("usage: websocket-bench KEY.pem CERT.pem VIEWERS MESSAGES BYTES\n")
    exit(64)
}
let key = try FileDescriptor.open(arguments[1], .readOnly).readAll()
let certificate = try FileDescriptor.open(arguments[2], .readOnly).readAll()
let handler = Viewers()
let server = try HTTPSServer(
    configuration: .init(host: "127.0.0.1", port: 0, keyPEM: key, certificatePEM: certificate, priorities: TLSPolicy.serverPriorities, threads: 1),
    handler: { .webSocket($0, handler: handler, options: WebSocketOptions(maxMessageBytes: 1 << 16)) })
// Written unbuffered: the script waits for this line while the server runs.
FileDescriptor.standardOutput.write("port \(server.port)\n")

while handler.ready.withLock({ $0.count }) < viewers { usleep(5_000) }
let connections = handler.ready.withLock { $0 }
let payload = [UInt8](repeating: 0x42, count: bytes)
let cpuBefore = cpuMilliseconds()
let start = ContinuousClock.now
var waits = 0
for _ in 0..<messages {
    for connection in connections {
        while !connection.send(.binary(payload), ifQueuedBelow: 4 << 20) {
            waits += 1
            usleep(500)
        }
    }
}
for connection in connections { connection.send(.text("done")) }
while handler.closed.load(ordering: .relaxed) < viewers { usleep(2_000) }
let wall = ContinuousClock.now - start
let cpu = cpuMilliseconds() - cpuBefore
FileDescriptor.standardOutput.write(#"{"server":"camhost","viewers":\#(viewers),"messages":\#(messages),"bytes":\#(bytes),"wall_ms":\#(wall.milliseconds),"cpu_ms":\#(Int(cpu)),"queue_full_waits":\#(waits)}"# + "\n")
server.stop(grace: .seconds(1))
