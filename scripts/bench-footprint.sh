#!/usr/bin/env bash
# Footprint and HTTPS speed of `camhost serve`, beside nginx serving a small file over TLS.
# Reports: stripped binary size, idle RSS, start-to-first-200 on /healthz (key present), and
# wrk req/s over HTTPS with 50 connections for camhost and nginx in the same run, as a ratio.
#   scripts/bench-footprint.sh [seconds-per-wrk-run]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
scripts/install-deps.sh --bench

bin="$(scripts/build-release.sh)"   # the binary scripts/run.sh ships
work="$(mktemp -d /tmp/camhost-bench-XXXXXX)"
cleanup() { [[ -n "${pid:-}" ]] && kill "$pid" 2>/dev/null; [[ -n "${nginx_pid:-}" ]] && kill "$nginx_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cp "$bin" "$work/camhost" && strip "$work/camhost"
size=$(stat -c %s "$work/camhost")

port=15500; broker=18931
export CAMHOST_MQTT_MANAGED_BROKER_PORT=$broker
# First start makes the key and certificate; the measured starts find them present.
"$work/camhost" serve --data-dir "$work/var" --listen 127.0.0.1:$port >/dev/null 2>&1 & pid=$!
until curl -sk -o /dev/null "https://127.0.0.1:$port/healthz"; do sleep 0.05; done
kill -TERM $pid; wait $pid || true; pid=""

# Start to first 200, measured from the exec to the first successful TLS request (median of 5).
startup=$(python3 - "$work/camhost" "$work/var" $port <<'PY'
import os, socket, ssl, subprocess, sys, time, statistics
binary, data, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
samples = []
for _ in range(5):
    t0 = time.perf_counter()
    p = subprocess.Popen([binary, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s, ctx.wrap_socket(s) as t:
                t.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if t.recv(64).startswith(b"HTTP/1.1 200"):
                    break
        except OSError:
            time.sleep(0.001)
    samples.append((time.perf_counter() - t0) * 1000)
    p.terminate(); p.wait()
print(f"{statistics.median(samples):.1f}")
PY
)

"$work/camhost" serve --data-dir "$work/var" --listen 127.0.0.1:$port >/dev/null 2>&1 & pid=$!
until curl -sk -o /dev/null "https://127.0.0.1:$port/healthz"; do sleep 0.05; done
sleep 2
rss_idle=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
broker_pid=$(pgrep -f "camhost-broker.*mosquitto.conf" | head -1 || true)
broker_rss=$([[ -n "$broker_pid" ]] && awk '/VmRSS/ {print $2}' /proc/$broker_pid/status || echo 0)

# nginx on the same certificate, a 200-byte static file, same TLS versions, keep-alive.
mkdir -p "$work/nginx/html" "$work/nginx/tmp"
curl -sk "https://127.0.0.1:$port/healthz" > "$work/nginx/html/healthz"
cat > "$work/nginx/nginx.conf" <<NGINX
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/nginx/tmp; proxy_temp_path $work/nginx/tmp; fastcgi_temp_path $work/nginx/tmp;
    uwsgi_temp_path $work/nginx/tmp; scgi_temp_path $work/nginx/tmp;
    server {
        listen 127.0.0.1:15501 ssl;
        ssl_certificate $work/var/tls/cert.pem;
        ssl_certificate_key $work/var/tls/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        keepalive_requests 1000000;
        root $work/nginx/html;
        location / { default_type application/json; }
    }
}
NGINX
nginx -c "$work/nginx/nginx.conf" -g 'daemon off;' & nginx_pid=$!
until curl -sk -o /dev/null "https://127.0.0.1:15501/healthz"; do sleep 0.05; done

wrk_rps() { wrk -t2 -c50 -d"${duration}s" "$1" | awk '/Requests\/sec/ {print $2}'; }
camhost_rps=$(wrk_rps "https://127.0.0.1:$port/healthz")
nginx_rps=$(wrk_rps "https://127.0.0.1:15501/healthz")
rss_after=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)

ratio=$(python3 -c "print(f'{$camhost_rps/$nginx_rps:.2f}')")
cat <<REPORT
camhost footprint ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, wrk -t2 -c50 -d${duration}s, same machine)
  binary (release, --static-swift-stdlib, stripped): $((size / 1024)) KiB
  idle RSS of serve (HTTPS up, database open):       $((rss_idle / 1024)) MiB ($rss_idle KiB); managed mosquitto: $((broker_rss)) KiB
  start to first 200 from /healthz (key present):    ${startup} ms (median of 5)
  HTTPS /healthz: camhost ${camhost_rps} req/s, nginx (static file) ${nginx_rps} req/s, ratio ${ratio}x nginx
  RSS after the load run:                            $((rss_after / 1024)) MiB
REPORT
