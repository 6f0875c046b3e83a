import Media
import Web

/// live: one camera's live view, full width (`/cameras/{camera}/live`), and the grid of every
/// streaming camera (`/live`). The player is assets/live.js (MediaSource over the WebSocket of
/// `/api/v1/cameras/{camera}/live`); without script the page says so and links the API.
extension Pages {
    func liveCamera(_ camera: String, principal: Principal) throws -> HTTPResponse {
        guard api.knowsCamera(camera) else { throw APIError.notFound("There is no camera \(camera).") }
        let streaming = environment.live?.isStreaming(camera) ?? false
        return page("Live: \(camera)", principal: principal, current: "/live") { body in
            liveScript(&body)
            if !streaming {
                body.element("div", [("class", "alert warn"), ("role", "status")],
                             text: "Camera \(camera) is not streaming now; the player connects as soon as it is.")
            }
            body.element("div", [("class", "live-one")]) { tile in
                liveVideo(&tile, camera)
            }
            body.element("div", [("class", "panel")]) { p in
                p.element("dl", [("class", "kv live-stats"), ("id", "stats-" + camera)]) { dl in
                    for (label, field) in [("State", "state"), ("Picture", "size"), ("Codec", "codec"), ("Bitrate", "bitrate"),
                                           ("Behind the live edge", "latency"), ("Reconnects", "reconnects")] {
                        dl.element("dt", text: label)
                        dl.element("dd", [("data-field", field)], text: field == "state" ? "connecting…" : "–")
                    }
                }
            }
            body.element("p", [("class", "row")]) { p in
                p.element("a", [("href", "/live")], text: "All live cameras")
                p.element("a", [("href", "/recordings?camera=\(FormData.encode(camera))")], text: "Recordings of \(camera)")
            }
        }
    }

    func liveGrid(_ principal: Principal) -> HTTPResponse {
        let cameras = environment.live?.streamingCameras ?? []
        return page("Live", principal: principal, current: "/live") { body in
            liveScript(&body)
            guard !cameras.isEmpty else {
                body.element("div", [("class", "panel muted")], text: "No camera is streaming now.")
                return
            }
            body.element("div", [("class", "live-grid")]) { grid in
                for camera in cameras {
                    grid.element("figure", [("class", "live-tile")]) { tile in
                        liveVideo(&tile, camera)
                        tile.element("figcaption") { c in
                            c.element("a", [("href", "/cameras/\(FormData.encode(camera))/live")], text: camera)
                            c.element("span", [("class", "muted live-stats"), ("id", "stats-" + camera)]) { s in
                                s.element("span", [("data-field", "state")], text: "connecting…")
                                s.text(" ")
                                s.element("span", [("data-field", "bitrate")])
                            }
                        }
                    }
                }
            }
        }
    }

    private func liveScript(_ html: inout HTML) {
        html.raw("<script src=\"/assets/live.js?v=\(LivePlayerScript.version)\" defer></script>")
    }

    /// A `<video>` the script finds by `data-live`; muted so browsers let it play by itself.
    private func liveVideo(_ html: inout HTML, _ camera: String) {
        html.element("video", [("data-live", camera), ("data-stats", "stats-" + camera), ("muted", ""), ("autoplay", ""),
                               ("playsinline", ""), ("aria-label", "live view of camera \(camera)")]) { v in
            v.text("The live view needs JavaScript and Media Source Extensions.")
        }
    }

    /// A link to a camera's live view, for the cameras and overview tables.
    func liveLink(_ html: inout HTML, _ camera: String) {
        guard environment.live?.isStreaming(camera) == true else { return }
        html.text(" ")
        html.element("a", [("href", "/cameras/\(FormData.encode(camera))/live"), ("class", "live-link")], text: "Watch live")
    }
}
