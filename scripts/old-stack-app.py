# The old platform's dashboard API as a Flask app: /healthz and /api/v1/recordings (100 rows from
# the SQLite file in BENCH_DB, bearer token BENCH_TOKEN). The old stack that scripts/bench-web.sh and
# scripts/bench-service.sh measure camhost against, run under Gunicorn as app:app.
import os, sqlite3
from flask import Flask, jsonify, request, abort
app = Flask(__name__)
DB, TOKEN = os.environ["BENCH_DB"], os.environ["BENCH_TOKEN"]

@app.get("/healthz")
def healthz():
    return jsonify(status="ok")

@app.get("/api/v1/recordings")
def recordings():
    if request.headers.get("Authorization") != "Bearer " + TOKEN:
        abort(401)
    db = sqlite3.connect(DB, timeout=10)
    rows = db.execute("SELECT id, camera_id, path, start_at, end_at, duration_ms, bytes, codec, protected, thumbnail FROM recordings "
                      "ORDER BY end_at DESC, id DESC LIMIT 100").fetchall()
    total = db.execute("SELECT count(*) FROM recordings").fetchone()[0]
    db.close()
    return jsonify(total=total, limit=100, offset=0, recordings=[
        dict(id=r[0], camera=r[1], path=r[2].decode(errors="replace"), start_at=r[3], end_at=r[4], duration_ms=r[5], bytes=r[6],
             codec=r[7], protected=bool(r[8]), has_thumbnail=r[9] is not None, media_url=f"/api/v1/recordings/{r[0]}/media",
             thumbnail_url=f"/api/v1/recordings/{r[0]}/thumbnail") for r in rows])
