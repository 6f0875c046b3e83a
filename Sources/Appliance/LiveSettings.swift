import Media

/// live: the live view's limits per viewer (issue 13; docs/live.md).
extension Settings {
    public static let mediaLiveQueueKB = Setting<Int>("media", "live_queue_kb", 6144,
        "Live view: KB a viewer may have queued and not yet received before it skips to the next keyframe (it must hold a GOP, which a new viewer gets at once).",
        range: 64...262_144)
    public static let mediaLiveSlowViewerSeconds = Setting<Int>("media", "live_slow_viewer_seconds", 5,
        "Live view: a viewer that cannot take a keyframe for this long is closed (WebSocket close 1008).", range: 1...300)

    static let liveKeys: [ConfigKey] = [mediaLiveQueueKB.key, mediaLiveSlowViewerSeconds.key]
}

extension LiveFanout.Options {
    /// The fan-outs' limits from `media.live_*`: the kept GOP at most 4 MiB and two thirds of a
    /// viewer's queue, so a new viewer's queue takes it whole.
    init(configuration: Configuration) {
        let queue = configuration[Settings.mediaLiveQueueKB] * 1024
        self.init(viewerQueueBytes: queue, keptBytes: min(4 << 20, queue * 2 / 3),
                  slowViewerTimeout: .seconds(configuration[Settings.mediaLiveSlowViewerSeconds]))
    }
}
