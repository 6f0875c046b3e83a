import Media

/// live: the live view's limits per viewer (issue 13; docs/live.md).
extension Settings {
    public static let mediaLiveQueueKB = Setting<Int>("media", "live_queue_kb", 6144,
        "Live view: KB a viewer may have queued and not yet received before it skips to the next keyframe (it must hold a GOP, which a new viewer gets at once).",
        range: 64...262_144)
    public static let mediaLiveSlowViewerSeconds = Setting<Int>("media", "live_slow_viewer_seconds", 5,
        "Live view: a viewer that cannot take a keyframe for this long is closed (WebSocket close 1008).", range: 1...300)

    public static let mediaLiveKeepGOPMinutes = Setting<Int>("media", "live_keep_gop_minutes", 10,
        "Live view: how long after its last viewer a stream keeps its last GOP, so the next viewer starts at once (0: only while watched). A stream nobody watched for longer holds no pictures; its next first viewer waits for a keyframe (the camera is asked for one).",
        range: 0...1_000_000)

    static let liveKeys: [ConfigKey] = [mediaLiveQueueKB.key, mediaLiveSlowViewerSeconds.key, mediaLiveKeepGOPMinutes.key]
}

extension LiveFanout.Options {
    /// The fan-outs' limits from `media.live_*`: the kept GOP at most 4 MiB and two thirds of a
    /// viewer's queue, so a new viewer's queue takes it whole.
    init(configuration: Configuration) {
        let queue = configuration[Settings.mediaLiveQueueKB] * 1024
        self.init(viewerQueueBytes: queue, keptBytes: min(4 << 20, queue * 2 / 3),
                  slowViewerTimeout: .seconds(configuration[Settings.mediaLiveSlowViewerSeconds]),
                  keepGOPAfterViewer: .seconds(60 * configuration[Settings.mediaLiveKeepGOPMinutes]))
    }
}
