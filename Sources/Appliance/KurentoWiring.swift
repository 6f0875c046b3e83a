import Control
import Logging
import Media
import POSIX
import Storage
import Wire

// kurento: how `serve` builds the media engine media.engine names, and how the RTCP watch
// confirms, for the Kurento engine, that a camera hears Kurento's feedback.

extension Configuration {
    /// media.address as an address (checked at load), nil when empty.
    var mediaAddress: IPAddress? { IPAddress(self[Settings.mediaAddress]) }

    /// The Kurento engine's settings from media.kurento_url, media.address and the recordings root.
    var kurentoEngineSettings: KurentoEngine.Settings {
        KurentoEngine.Settings(url: self[Settings.mediaKurentoURL], mediaAddress: mediaAddress, recordingsRoot: recordingsPath)
    }

    var usesKurento: Bool { self[Settings.mediaEngine] == "kurento" }
}

enum MediaEngineWiring {
    /// The engine of media.engine: the builtin receiver, or Kurento (which releases the pipelines
    /// a previous camhost left behind as soon as Kurento answers).
    static func engine(configuration: Configuration, store: Store, watch: RTCPWatch,
                       logger: Logger = Logger(label: "camhost.kurento")) -> any MediaEngine {
        guard configuration.usesKurento else { return BuiltinEngine() }
        // The firmware profile's [stream] comes with each request (StreamSpec.profileStream).
        let engine = KurentoEngine(settings: configuration.kurentoEngineSettings, store: store, feedback: watch, logger: logger)
        // In the background: a Kurento that does not answer must not hold up serve's start. The
        // first stream's connection releases them too, whichever comes first.
        startDetachedThread {
            do {
                try engine.releaseLeftovers()
            } catch {
                logger.warning("Kurento is not reachable yet; leftover pipelines are released on the first connection", metadata: ["error": "\(error)"])
            }
        }
        return engine
    }
}

extension RTCPWatch: FeedbackConfirmation {
    /// After `within` (the firmware's RTCP time-out) checks that feedback reached the camera since
    /// now; if none did, raises the trap alarm with what the watch saw instead.
    public func expectFeedback(camera: String, address: IPAddress, within: Duration, offer: String) {
        let before = snapshot().first { $0.camera == address }
        startDetachedThread { [self] in
            Clock.sleep(milliseconds: Int(within.components.seconds) * 1000 + Int(within.components.attoseconds / 1_000_000_000_000_000))
            guard isCapturing, watches(address) else {
                Logger(label: "camhost.rtcp").warning("cannot confirm that camera \(camera) hears Kurento's RTCP: the RTCP watch \(isCapturing ? "does not follow \(address) (add it to the cameras table)" : "is off (no permission to capture?)")")
                return
            }
            guard let now = snapshot().first(where: { $0.camera == address }) else { return }
            let reached = now.feedbackToCamera - (before?.feedbackToCamera ?? 0)
            guard reached == 0 else { return }
            let misrouted = now.misroutedFeedback - (before?.misroutedFeedback ?? 0)
            let fromCamera = now.fromCamera - (before?.fromCamera ?? 0)
            let connection = offer.split(whereSeparator: \.isNewline).last { $0.hasPrefix("c=") }.map(String.init) ?? "no c= line"
            raiseAlarm(camera: address, evidence: "no RTCP feedback reached camera \(camera) (\(address)) within its RTCP time-out of \(within) after start-stream; "
                + "\(misrouted) feedback datagrams about it went over loopback, \(fromCamera) RTCP datagrams came from it; the offer sent to Kurento said \(connection)")
        }
    }
}
