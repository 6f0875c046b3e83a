import Control
import Dashboard
import Media
import Testing
import TestSupport
import Wire

/// The cameras page under media.engine = "kurento": per stream the offer sent, `sdp check`'s
/// verdict and findings on it, and Kurento's answer (the protocol double stands in for Kurento).
@Suite(.serialized) struct KurentoStreamPageTests {
    @Test func camerasPageShowsOfferCheckAndAnswer() throws {
        let double = try KurentoDouble(["--answer-address", "192.0.2.9"])
        let directory = try TemporaryDirectory(prefix: "kurento-page")
        let profile = try FirmwareProfile.load(path: Self.repository + "/firmware-profiles/acme-json.toml")
        var settings = KurentoEngine.Settings(url: double.url, recordingsRoot: directory.path)
        settings.client.pingInterval = .zero
        let engine = KurentoEngine(settings: settings, profiles: { _ in profile.stream }, store: nil, feedback: nil, hostAddresses: { [] })
        defer { engine.close() }
        let manager = StreamManager(engine: engine, settings: .init(portRange: 41000...41010, recordingsRoot: directory.path),
                                    configured: [StreamSpec(camera: "gate", source: IPAddress(192, 0, 2, 20), record: false, origin: .configured)],
                                    cameras: nil, store: nil)
        manager.run()
        defer { manager.shutDown() }
        #expect(Loopback.waitUntil(timeout: .seconds(10)) { manager.statuses().first?.answer != nil })
        let status = try #require(manager.statuses().first)
        #expect(status.engine == "kurento")

        let f = try DashboardFixture(streams: manager)
        let page = try f.request("/cameras", session: "admin-session")
        #expect(page.code == 200)
        #expect(page.body.contains("SDP with Kurento"))
        #expect(page.body.contains("<details class=\"panel\" data-sdp=\"gate\">"))
        #expect(page.body.contains("sdp check: ok"))
        #expect(page.body.contains("c=IN IP4 192.0.2.20"))        // the offer names the camera
        #expect(page.body.contains("s=Kurento Media Server"))     // the answer as received
        // The streams API carries both, too.
        let api = try f.request("/api/v1/streams", token: "read-token")
        #expect(api.body.contains("\"engine\":\"kurento\"") || api.body.contains("\"engine\": \"kurento\""), "\(api.body.prefix(400))")
        #expect(api.body.contains("\"offer\""))
    }

    @Test func overviewShowsTheConfirmationsEvidence() throws {
        let evidence = "no RTCP feedback reached camera gate (192.0.2.20) within its RTCP time-out of 10 seconds after start-stream; 0 feedback datagrams about it went over loopback, 9 RTCP datagrams came from it; the offer sent to Kurento said c=IN IP4 192.0.2.20"
        let f = try DashboardFixture(alarms: [RTCPWatchEntry(camera: "192.0.2.20", state: "trap", since: 1, feedbackToCamera: 0, misroutedFeedback: 0,
                                                             misroutedTo: nil, evidence: evidence)])
        let overview = try f.request("/", session: "admin-session").body
        #expect(overview.contains("RTCP loopback trap on camera 192.0.2.20"))
        #expect(overview.contains("Confirmation after start-stream: " + evidence + "; it will drop the stream."))
        #expect(!overview.contains("over loopback and none reaches the camera"))
    }

    static let repository: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()
}
