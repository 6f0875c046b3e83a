#!/usr/bin/env python3
"""Drives headless Chromium through the live view: logs in with the real form, opens
/cameras/CAMERA/live and watches the <video> for SECONDS after the page load, then opens /live.
Standard library only (Chrome DevTools protocol over --remote-debugging-pipe, as
scripts/browser-test.py).

Usage: browser-live-test.py BASE_URL NAME PASSWORD OUT_DIR CAMERA [--seconds 6] [--loads N] [--grid] [--hold S]
Writes OUT_DIR/live.json:
  loads: one entry per page load of /cameras/CAMERA/live: first_frame_ms (page load to the first
         decoded frame, requestVideoFrameCallback, on the page's own clock), samples
         [ms, currentTime, videoWidth, videoHeight, decodedFrames], advance (currentTime from the
         first frame to SECONDS after load), frames (decoded by then), state (the page's text);
  grid:  on /live, the cameras of the <video data-live> tiles and the videoWidth of each after 4 s;
  hold:  with --hold, [ms, currentTime, reconnects, state] every 250 ms on the camera's page;
  console_errors: console errors, exceptions and CSP reports seen on any page.
Exit 0 when logged in and every page loaded; the caller judges the figures. Needs Debian's chromium.
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time

parser = argparse.ArgumentParser()
parser.add_argument("base")
parser.add_argument("name")
parser.add_argument("password")
parser.add_argument("out")
parser.add_argument("camera")
parser.add_argument("--seconds", type=float, default=6)
parser.add_argument("--loads", type=int, default=1)
parser.add_argument("--grid", action="store_true")
parser.add_argument("--hold", type=float, default=0,
                    help="then stay on the camera's page this many seconds, sampling the player (a test drops the server meanwhile)")
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
if not chromium:
    raise SystemExit("browser-live-test: chromium is not installed (apt-get install chromium)")

to_chrome_r, to_chrome_w = os.pipe()
from_chrome_r, from_chrome_w = os.pipe()
profile = tempfile.mkdtemp(prefix="camhost-chromium-live-")


def child_fds():
    os.dup2(to_chrome_r, 3)
    os.dup2(from_chrome_w, 4)


process = subprocess.Popen(
    [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--ignore-certificate-errors",
     f"--user-data-dir={profile}", "--no-first-run", "--window-size=1280,900", "--autoplay-policy=no-user-gesture-required",
     "about:blank"],
    pass_fds=(3, 4, to_chrome_r, from_chrome_w), preexec_fn=child_fds, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
os.close(to_chrome_r)
os.close(from_chrome_w)
buffer = b""
next_id = 0
events = []


def send(method, params=None, session=None):
    global next_id, buffer
    next_id += 1
    message = {"id": next_id, "method": method, "params": params or {}}
    if session:
        message["sessionId"] = session
    os.write(to_chrome_w, json.dumps(message).encode() + b"\0")
    deadline = time.time() + 30
    while time.time() < deadline:
        while b"\0" in buffer:
            raw, buffer = buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            events.append(reply)
        chunk = os.read(from_chrome_r, 1 << 20)
        if not chunk:
            raise RuntimeError("chromium closed the pipe")
        buffer += chunk
    raise RuntimeError(f"{method}: no answer in 30 s")


def evaluate(session, expression):
    return send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}, session).get("result", {}).get("value")


def wait_for_load(session, timeout=20):
    deadline = time.time() + timeout
    time.sleep(0.1)
    while time.time() < deadline:
        if evaluate(session, "document.readyState") == "complete":
            return
        time.sleep(0.05)


def console_errors():
    found = []
    for e in events:
        method, params = e.get("method"), e.get("params", {})
        if method == "Log.entryAdded" and params["entry"].get("level") == "error":
            found.append(params["entry"].get("text", ""))
        elif method == "Runtime.exceptionThrown":
            found.append(params["exceptionDetails"].get("exception", {}).get("description") or params["exceptionDetails"].get("text", ""))
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            found.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
    return found


# Injected before any page script (CDP, not the page: the CSP does not apply): the time of each
# video's first decoded frame on the page's clock (ms since navigation start).
FIRST_FRAME = """
window.__firstFrame = null;
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("video").forEach(function (v) {
    if (v.requestVideoFrameCallback) {
      v.requestVideoFrameCallback(function (now) { if (window.__firstFrame === null) { window.__firstFrame = performance.now(); } });
    }
  });
});
"""

SAMPLE = """(function () { var v = document.querySelector("video[data-live]"); if (!v) { return null; }
  var q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality().totalVideoFrames : -1;
  return [performance.now(), v.currentTime, v.videoWidth, v.videoHeight, q, window.__firstFrame]; })()"""

result = {"loads": [], "grid": None, "console_errors": []}
status = 0
try:
    target = send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ["Page", "Runtime", "Network", "Log"]:
        send(f"{domain}.enable", {}, session)
    send("Page.addScriptToEvaluateOnNewDocument", {"source": FIRST_FRAME}, session)
    send("Page.navigate", {"url": args.base + "/login"}, session)
    wait_for_load(session)
    evaluate(session, f"""(function() {{
        document.querySelector('input[name=name]').value = {json.dumps(args.name)};
        document.querySelector('input[name=password]').value = {json.dumps(args.password)};
        document.querySelector('form').submit(); return true; }})()""")
    time.sleep(1.0)
    wait_for_load(session)
    result["logged_in"] = evaluate(session, "location.pathname") != "/login"
    if not result["logged_in"]:
        status = 1
    for load in range(args.loads):
        send("Page.navigate", {"url": args.base + "/cameras/" + args.camera + "/live"}, session)
        samples = []
        deadline = time.time() + args.seconds + 3
        while time.time() < deadline:
            try:
                sample = evaluate(session, SAMPLE)
            except RuntimeError:
                sample = None
            if sample:
                samples.append(sample)
                if sample[0] >= args.seconds * 1000:
                    break
            time.sleep(0.05)
        first = next((s for s in samples if s[4] > 0 and s[1] > 0), None)
        last = samples[-1] if samples else None
        entry = {"first_frame_ms": last[5] if last else None, "samples": [s[:5] for s in samples],
                 "advance": (last[1] - first[1]) if first and last else 0, "frames": last[4] if last else 0,
                 "width": last[2] if last else 0, "height": last[3] if last else 0,
                 "state": evaluate(session, "(document.querySelector('[data-field=state]') || {}).textContent"),
                 "path": evaluate(session, "location.pathname")}
        result["loads"].append(entry)
        if load == 0:
            shot = send("Page.captureScreenshot", {"format": "png"}, session)
            with open(os.path.join(args.out, "live-camera.png"), "wb") as f:
                f.write(base64.b64decode(shot["data"]))
            with open(os.path.join(args.out, "live-camera.html"), "w") as f:
                f.write(evaluate(session, "document.documentElement.outerHTML") or "")
    if args.hold > 0:
        hold = []
        deadline = time.time() + args.hold
        while time.time() < deadline:
            sample = evaluate(session, """(function () { var v = document.querySelector("video[data-live]");
                var f = function (n) { var e = document.querySelector('[data-field="' + n + '"]'); return e ? e.textContent : null; };
                return [performance.now(), v ? v.currentTime : -1, f("reconnects"), f("state")]; })()""")
            hold.append(sample)
            time.sleep(0.25)
        result["hold"] = hold
    if args.grid:
        send("Page.navigate", {"url": args.base + "/live"}, session)
        wait_for_load(session)
        time.sleep(4)
        result["grid"] = evaluate(session, """Array.from(document.querySelectorAll("video[data-live]")).map(function (v) {
            return {camera: v.dataset.live, width: v.videoWidth, height: v.videoHeight, time: v.currentTime}; })""")
        shot = send("Page.captureScreenshot", {"format": "png"}, session)
        with open(os.path.join(args.out, "live-grid.png"), "wb") as f:
            f.write(base64.b64decode(shot["data"]))
    result["console_errors"] = console_errors()
finally:
    with open(os.path.join(args.out, "live.json"), "w") as f:
        json.dump(result, f, indent=1)
    process.kill()
    process.wait()
    shutil.rmtree(profile, ignore_errors=True)
raise SystemExit(status)
