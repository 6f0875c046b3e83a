/// live: the live-view player, served as /assets/live.js (the CSP allows no inline script). For
/// each `<video data-live=CAMERA>` it opens the WebSocket `/api/v1/cameras/CAMERA/live`, feeds
/// the fMP4 it gets to a SourceBuffer (MediaSource, or ManagedMediaSource where Safari has it)
/// in "segments" mode, trims what is behind, keeps playback near the live edge, shows bitrate
/// and distance to the live edge, and reconnects with back-off when the socket drops.
enum LivePlayerScript {
    static let version = "2"

    static let source = """
        // camhost live view: fMP4 over a WebSocket into Media Source Extensions. docs/live.md.
        "use strict";
        (function () {
          var MS = window.ManagedMediaSource || window.MediaSource;
          var KEEP_SECONDS = 10, TRIM_AFTER = 20, MAX_BEHIND = 1.5, TARGET_BEHIND = 0.3;

          function field(statsId, name, text) {
            var box = statsId && document.getElementById(statsId);
            var el = box && box.querySelector('[data-field="' + name + '"]');
            if (el) { el.textContent = text; }
          }

          function start(video) {
            var camera = video.dataset.live, stats = video.dataset.stats;
            var path = "/api/v1/cameras/" + encodeURIComponent(camera) + "/live";
            var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
            var reconnects = 0, delay = 1000, bytes = 0, lastBytes = 0, lastTick = performance.now(), lastData = 0;
            var current = null;   // { ws, ms, sb, queue, opened }
            video.muted = true;
            video.playsInline = true;
            if (window.ManagedMediaSource) { video.disableRemotePlayback = true; }
            if (!MS) { field(stats, "state", "this browser has no Media Source Extensions"); return; }

            function connect() {
              var c = { ws: null, ms: new MS(), sb: null, queue: [], opened: false, closed: false, mime: "" };
              current = c;
              video.src = URL.createObjectURL(c.ms);
              c.ms.addEventListener("sourceopen", function () {
                URL.revokeObjectURL(video.src);
                c.ws = new WebSocket(url);
                c.ws.binaryType = "arraybuffer";
                c.ws.onopen = function () { c.opened = true; field(stats, "state", "waiting for a keyframe"); };
                c.ws.onmessage = function (event) { receive(c, event.data); };
                c.ws.onclose = function (event) { dropped(c, event); };
              }, { once: true });
            }

            function receive(c, data) {
              if (typeof data === "string") {
                var status;
                try { status = JSON.parse(data); } catch (e) { return; }
                if (status.codec) {
                  var mime = 'video/mp4; codecs="' + status.codec + '"';
                  if (!MS.isTypeSupported(mime)) { field(stats, "state", "this browser cannot play " + status.codec); c.ws.close(); return; }
                  field(stats, "codec", status.codec);
                  field(stats, "size", status.width + " × " + status.height);
                  c.queue.push({ mime: mime });
                  pump(c);
                }
                return;
              }
              bytes += data.byteLength;
              lastData = performance.now();
              c.queue.push(data);
              pump(c);
            }

            function pump(c) {
              if (c.closed || c.ms.readyState !== "open") { return; }
              if (c.sb && c.sb.updating) { return; }
              while (c.queue.length && c.queue[0].mime) {
                var mime = c.queue.shift().mime;
                if (!c.sb) {
                  c.sb = c.ms.addSourceBuffer(mime);
                  c.sb.mode = "segments";
                  c.sb.addEventListener("updateend", function () { pump(c); });
                } else if (mime !== c.mime && c.sb.changeType) {
                  c.sb.changeType(mime);
                }
                c.mime = mime;
              }
              if (!c.sb || !c.queue.length) { return; }
              var b = c.sb.buffered;
              if (b.length && video.currentTime - b.start(0) > TRIM_AFTER) {
                c.sb.remove(0, video.currentTime - KEEP_SECONDS);   // pump again on updateend
                return;
              }
              var parts = [];
              while (c.queue.length && !c.queue[0].mime) { parts.push(c.queue.shift()); }
              try {
                c.sb.appendBuffer(join(parts));
              } catch (e) {
                // QuotaExceeded: drop what is behind and start again from the next status.
                field(stats, "state", "buffer full; reconnecting");
                c.ws.close();
              }
            }

            function join(parts) {
              if (parts.length === 1) { return parts[0]; }
              var length = 0, i, out, at = 0;
              for (i = 0; i < parts.length; i++) { length += parts[i].byteLength; }
              out = new Uint8Array(length);
              for (i = 0; i < parts.length; i++) { out.set(new Uint8Array(parts[i]), at); at += parts[i].byteLength; }
              return out;
            }

            function dropped(c, event) {
              if (c.closed) { return; }
              c.closed = true;
              if (c.opened) {
                field(stats, "state", "disconnected" + (event.reason ? ": " + event.reason : "") + "; reconnecting");
                retry();
                return;
              }
              // The upgrade was refused: a plain GET of the same path says why (JSON error).
              fetch(path, { credentials: "same-origin" }).then(function (r) {
                return r.json().then(function (j) { return { status: r.status, j: j }; }, function () { return { status: r.status, j: {} }; });
              }).then(function (r) {
                var message = r.j.error ? r.j.error.message : "HTTP " + r.status;
                field(stats, "state", message);
                if (r.status === 401 || r.status === 403 || r.status === 404) { return; }   // retrying will not help
                retry();
              }, function () { field(stats, "state", "server unreachable; reconnecting"); retry(); });
            }

            function retry() {
              reconnects += 1;
              field(stats, "reconnects", String(reconnects));
              setTimeout(connect, delay);
              delay = Math.min(delay * 2, 10000);
            }

            // Near the live edge: jump there when too far behind (or stuck in a gap a slow
            // connection left), play when paused; show bitrate and the distance to the edge.
            setInterval(function () {
              var c = current, now = performance.now();
              if (now - lastTick >= 1000) {
                var kbps = (bytes - lastBytes) * 8 / (now - lastTick);
                field(stats, "bitrate", kbps >= 1000 ? (kbps / 1000).toFixed(2) + " Mbit/s" : Math.round(kbps) + " kbit/s");
                lastBytes = bytes;
                lastTick = now;
              }
              if (!c || !c.sb || !c.sb.buffered.length) { return; }
              var b = c.sb.buffered, end = b.end(b.length - 1), startOfLast = b.start(b.length - 1);
              if (video.currentTime < startOfLast || end - video.currentTime > MAX_BEHIND) {
                video.currentTime = Math.max(startOfLast, end - TARGET_BEHIND);
              }
              if (video.paused) { video.play().catch(function () {}); }
              if (c.opened && !c.closed && lastData && now - lastData > 3000) {
                // The socket is open but the camera sends nothing (its stream stopped or stalled).
                field(stats, "state", "no picture for " + Math.round((now - lastData) / 1000) + " s");
              } else if (video.readyState >= 2) {
                delay = 1000;
                field(stats, "state", "live");
              }
              field(stats, "latency", Math.max(0, end - video.currentTime).toFixed(2) + " s");
            }, 250);

            connect();
          }

          document.querySelectorAll("video[data-live]").forEach(start);
        })();
        """
}
