import Dashboard
import Foundation
import Media
import Synchronization
import Testing
import TestSupport
import Wire

/// live: `GET /api/v1/cameras/{camera}/live` on the real HTTPS server with Python's `websockets`
/// (Debian's, /usr/bin/python3) as the client: refusals before the upgrade, then status JSON,
/// init segment and fragments of real H.264 fed into the camera's fan-out.
@Suite("Live view endpoint", .serialized)
struct LiveEndpointTests {
    static var repository: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }
    static let videos = try! TemporaryDirectory(prefix: "live-endpoint-video")
    static let video = try! TestVideo(seconds: 4, width: 320, height: 240, rate: 25, gop: 25, in: videos)

    /// Feeds the video into a fan-out at 25 pictures/s, in a loop, until stopped.
    final class Feeder: @unchecked Sendable {
        final class Flag: Sendable { let value = Atomic<Bool>(false) }
        let flag = Flag()
        let thread: Thread
        init(_ fanout: LiveFanout, video: TestVideo) {
            let flag = self.flag
            thread = Thread {
                let sets = ParameterSets(sps: video.sps, pps: video.pps)
                var index = 0
                while !flag.value.load(ordering: .relaxed) {
                    let picture = video.pictures[index % video.pictures.count]
                    fanout.receive(AccessUnit(codec: .h264, nalUnits: picture.nalUnits, timestamp: Int64(index) * 3600, isKeyframe: picture.isKeyframe),
                                   parameterSets: sets)
                    index += 1
                    Thread.sleep(forTimeInterval: 0.04)
                }
            }
            thread.start()
        }
        func stop() { flag.value.store(true, ordering: .relaxed) }
    }

    func client(_ arguments: [String]) throws -> [String: Any] {
        let run = try TestProcess.run("/usr/bin/python3", [Self.repository + "/scripts/live-client.py"] + arguments, timeout: .seconds(60))
        #expect(run.status == 0, "\(run.stderr)")
        let data = Data(run.stdout.utf8)
        return (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? ["unparsed": run.stdout + run.stderr]
    }

    @Test func refusalsComeBeforeTheUpgradeAndAViewerGetsStatusInitThenFragments() throws {
        let registry = LiveRegistry(staleAfter: .milliseconds(300))
        _ = registry.sinks(for: "cam-2")   // known, but it will have gone quiet
        let fanout = registry.fanout(startingFor: "cam-1")
        let f = try DashboardFixture(live: registry)
        let feeder = Feeder(fanout, video: Self.video)
        defer { feeder.stop() }
        Thread.sleep(forTimeInterval: 0.5)
        let url = "wss://127.0.0.1:\(f.server.port)/api/v1/cameras/cam-1/live"
        let origin = f.base
        func status(_ extra: [String], _ url: String = url) throws -> Int? { try client(["upgrade", url] + extra)["status"] as? Int }
        #expect(try status([]) == 401)
        #expect(try status(["--token", "forged"]) == 401)
        #expect(try status(["--cookie", "camhost_session=viewer-session"]) == 403, "a session without Origin")
        #expect(try status(["--cookie", "camhost_session=viewer-session", "--origin", "https://evil.example"]) == 403)
        #expect(try status(["--token", "read-token"], "wss://127.0.0.1:\(f.server.port)/api/v1/cameras/nope/live") == 404)
        #expect(try status(["--token", "read-token"], "wss://127.0.0.1:\(f.server.port)/api/v1/cameras/cam-2/live") == 409)
        // The same refusals over plain HTTP say why, in the API's error shape.
        let notStreaming = try f.request("/api/v1/cameras/cam-2/live", token: "read-token")
        #expect(notStreaming.code == 409 && notStreaming.body.contains("not streaming"), "\(notStreaming.body)")
        let wrongOrigin = try f.request("/api/v1/cameras/cam-1/live", session: "viewer-session", headers: ["Origin: https://evil.example"])
        #expect(wrongOrigin.code == 403 && wrongOrigin.body.contains("not this site"), "\(wrongOrigin.body)")
        let notAnUpgrade = try f.request("/api/v1/cameras/cam-1/live", token: "read-token")
        #expect(notAnUpgrade.code == 400, "\(notAnUpgrade.body)")

        // A viewer session from this origin, and a read token: status JSON first.
        let first = try client(["upgrade", url, "--cookie", "camhost_session=viewer-session", "--origin", origin])
        #expect(first["status"] as? Int == 101 && (first["first"] as? String)?.contains(#""codec":"avc1."#) == true, "\(first)")
        let watched = try client(["watch", url, "--token", "read-token", "--viewers", "2", "--seconds", "3"])
        let viewers = try #require(watched["viewers"] as? [[String: Any]], "\(watched)")
        for viewer in viewers {
            #expect((viewer["texts"] as? [String])?.first == #"{"codec":"avc1.\#(codec(Self.video.sps))","width":320,"height":240}"#, "\(viewer)")
            #expect((viewer["binary_types"] as? [String]) == ["ftyp", "moof", "moof"], "\(viewer)")
            #expect(viewer["first_sync"] as? Bool == true && (viewer["fragments"] as? Int ?? 0) >= 50, "\(viewer)")
            #expect(viewer["gaps"] as? Int == 0, "\(viewer)")
        }
        let metrics = try f.request("/metrics").body
        #expect(metrics.contains(#"camhost_live_first_frame_seconds_count{camera="cam-1"} 3"#), "\(metrics)")
        #expect(metrics.contains(#"camhost_live_viewers{camera="cam-1"}"#))
        #expect(metrics.contains(#"camhost_live_fanout_seconds_bucket{camera="cam-1",le="+Inf"}"#), "\(metrics)")
        // With live samples in it, /metrics still passes promtool.
        let metricsFile = f.directory.file("live-metrics.txt")
        try writeFile(metricsFile, metrics)
        let check = try TestProcess.run("/bin/sh", ["-c", "promtool check metrics < \(metricsFile)"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }

    func codec(_ sps: [UInt8]) -> String { sps[1...3].map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }
}
