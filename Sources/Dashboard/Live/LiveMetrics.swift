import Media

/// live: the fan-outs' counters in /metrics, one series per camera with a live fan-out.
extension API {
    func writeLiveMetrics(into out: inout PrometheusText) {
        let all = environment.live?.statistics() ?? []
        out.family("camhost_live_viewers", "gauge", "Live viewers (WebSockets) watching, by camera.")
        for (camera, s) in all { out.sample("camhost_live_viewers", [("camera", camera)], Double(s.viewers)) }
        out.family("camhost_live_sent_bytes_total", "counter", "Bytes queued to live viewers (status, init segments, fragments), by camera.")
        for (camera, s) in all { out.sample("camhost_live_sent_bytes_total", [("camera", camera)], Double(s.bytesSent)) }
        out.family("camhost_live_viewer_skips_total", "counter", "Times a live viewer's queue was full and it skipped to the next keyframe, by camera.")
        for (camera, s) in all { out.sample("camhost_live_viewer_skips_total", [("camera", camera)], Double(s.viewerSkips)) }
        out.family("camhost_live_viewers_dropped_total", "counter", "Live viewers closed (1008) for staying behind too long, by camera.")
        for (camera, s) in all { out.sample("camhost_live_viewers_dropped_total", [("camera", camera)], Double(s.viewersDroppedSlow)) }
        out.family("camhost_live_first_frame_seconds", "summary", "From a viewer's connection to its first keyframe queued, by camera.")
        for (camera, s) in all {
            out.sample("camhost_live_first_frame_seconds_sum", [("camera", camera)], s.firstFrameSecondsSum)
            out.sample("camhost_live_first_frame_seconds_count", [("camera", camera)], Double(s.firstFrameCount))
        }
        out.family("camhost_live_fanout_seconds", "histogram", "Time the stream's thread spends per watched picture building its fragment and queueing it to every viewer, by camera.")
        for (camera, s) in all {
            for (index, bound) in LiveFanout.fanoutBounds.enumerated() {
                out.sample("camhost_live_fanout_seconds_bucket", [("camera", camera), ("le", PrometheusText.number(bound))], Double(s.fanoutBuckets[index]))
            }
            out.sample("camhost_live_fanout_seconds_bucket", [("camera", camera), ("le", "+Inf")], Double(s.fanoutCount))
            out.sample("camhost_live_fanout_seconds_sum", [("camera", camera)], s.fanoutSecondsSum)
            out.sample("camhost_live_fanout_seconds_count", [("camera", camera)], Double(s.fanoutCount))
        }
        out.family("camhost_live_first_frame_last_seconds", "gauge", "The last viewer's time to its first keyframe, by camera.")
        for (camera, s) in all where s.lastFirstFrameSeconds != nil {
            out.sample("camhost_live_first_frame_last_seconds", [("camera", camera)], s.lastFirstFrameSeconds ?? 0)
        }
    }
}
