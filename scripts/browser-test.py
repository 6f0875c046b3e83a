#!/usr/bin/env python3
"""Drives headless Chromium through the dashboard: logs in with the real form, visits each page,
saves its DOM and a screenshot. Standard library only: Chrome DevTools protocol over
--remote-debugging-pipe (NUL-separated JSON on file descriptors 3 and 4).

Usage: browser-test.py BASE_URL NAME PASSWORD OUT_DIR [PAGE ...]
Writes OUT_DIR/<page>.html and .png and OUT_DIR/summary.json ({page: {url, title, status}}).
Exit 0 when every page loaded after log-in; 1 otherwise. Needs Debian's `chromium`.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

base, name, password, out = sys.argv[1:5]
pages = sys.argv[5:] or ["/", "/cameras", "/recordings", "/recordings/1", "/diagnostics", "/health", "/audit"]
os.makedirs(out, exist_ok=True)
chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
if not chromium:
    sys.exit("browser-test: chromium is not installed (apt-get install chromium)")

to_chrome_r, to_chrome_w = os.pipe()
from_chrome_r, from_chrome_w = os.pipe()
profile = tempfile.mkdtemp(prefix="camhost-chromium-")


def child_fds():
    os.dup2(to_chrome_r, 3)
    os.dup2(from_chrome_w, 4)


process = subprocess.Popen(
    [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--ignore-certificate-errors",
     f"--user-data-dir={profile}", "--no-first-run", "--window-size=1280,900", "about:blank"],
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


def wait_for_load(session, timeout=20):
    """Waits until document.readyState is complete and no navigation is pending."""
    deadline = time.time() + timeout
    time.sleep(0.2)
    while time.time() < deadline:
        state = send("Runtime.evaluate", {"expression": "document.readyState", "returnByValue": True}, session)
        if state.get("result", {}).get("value") == "complete":
            return
        time.sleep(0.1)


def evaluate(session, expression):
    return send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}, session).get("result", {}).get("value")


summary = {}
status = 0
try:
    target = send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ["Page", "Runtime", "Network"]:
        send(f"{domain}.enable", {}, session)
    # Log in through the real form, as a person would.
    send("Page.navigate", {"url": base + "/login"}, session)
    wait_for_load(session)
    evaluate(session, f"""(function() {{
        document.querySelector('input[name=name]').value = {json.dumps(name)};
        document.querySelector('input[name=password]').value = {json.dumps(password)};
        document.querySelector('form').submit(); return true; }})()""")
    time.sleep(1.0)
    wait_for_load(session)
    logged_in = evaluate(session, "location.pathname") != "/login"
    summary["login"] = {"url": evaluate(session, "location.href"), "logged_in": logged_in}
    for width, suffix in [(1280, ""), (390, "-phone")]:
        send("Emulation.setDeviceMetricsOverride", {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600}, session)
        for page in pages:
            if suffix and page not in ["/", "/recordings", "/cameras"]:
                continue
            send("Page.navigate", {"url": base + page}, session)
            wait_for_load(session)
            time.sleep(0.3)
            key = (page.strip("/").replace("/", "-") or "overview") + suffix
            html = evaluate(session, "document.documentElement.outerHTML") or ""
            with open(os.path.join(out, key + ".html"), "w") as f:
                f.write(html)
            height = evaluate(session, "Math.min(document.documentElement.scrollHeight, 4000)") or 900
            send("Emulation.setDeviceMetricsOverride", {"width": width, "height": int(height), "deviceScaleFactor": 1, "mobile": width < 600}, session)
            shot = send("Page.captureScreenshot", {"format": "png"}, session)
            with open(os.path.join(out, key + ".png"), "wb") as f:
                f.write(base64.b64decode(shot["data"]))
            send("Emulation.setDeviceMetricsOverride", {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600}, session)
            path = evaluate(session, "location.pathname")
            summary[key] = {"url": evaluate(session, "location.href"), "title": evaluate(session, "document.title"),
                            "path": path, "console_errors": [e["params"]["entry"]["text"] for e in events if e.get("method") == "Log.entryAdded"]}
            if path == "/login":
                status = 1
    if not logged_in:
        status = 1
finally:
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    process.kill()
    process.wait()
    shutil.rmtree(profile, ignore_errors=True)
sys.exit(status)
