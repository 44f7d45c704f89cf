#!/usr/bin/env bash
# Object storage against an HTTP origin, in one run, two replicas on one s3s-fs (127.0.0.1 only):
#   1. cold misses from an HTTP origin on replica A (the baseline): COUNT byte-distinct sources;
#   2. cold misses of the same images as s3://src/... objects on replica A;
#   3. the same 2*COUNT URLs on replica B: answered by the shared tier (X-Cache: HIT-SHARED);
#   4. the same again on B: memory hits.
# Sequential requests (one at a time), so each figure is a latency; read the ratios to (1).
#
# Environment: COUNT (sources, default 40), MP (megapixels of the photo, default 2), W (output
# width, default 300), IMGSHIELD_BIN (default target/debug/imgshield; say which in the figures),
# SERVER_CPU (default 0) for both replicas, s3s-fs and the HTTP origin run unpinned.
set -euo pipefail
cd "$(dirname "$0")/.."
SCRIPT_NAME=s3-bench
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

COUNT=${COUNT:-40}
MP=${MP:-2}
W=${W:-300}
SERVER_CPU=${SERVER_CPU:-0}
int_in COUNT "$COUNT" 1 10000
require_tools "scripts/install-deps.sh" python3 curl vips taskset
scripts/install-s3s-fs.sh
s3s="${IMGSHIELD_TOOLS_DIR:-$HOME/.cache/imgshield-tools}/bin/s3s-fs"
debug_bin

work=$(mktemp -d)
pids=()
cleanup() {
    stop_pids "${pids[@]}"
    rm -rf "$work"
}
trap_cleanup

# COUNT byte-distinct copies of one photo (a COM segment naming each), in the origin's directory
# and in the bucket's.
mkdir -p "$work/corpus" "$work/http" "$work/s3/src" "$work/s3/results" "$work/root"
photo=$(scripts/make-corpus.sh "$work/corpus" 1 "$MP" 2>/dev/null | head -n 1)
python3 - "$photo" "$COUNT" "$work" <<'PY'
import sys
photo, count, work = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = open(photo, "rb").read()
for i in range(count):
    note = f"s3-bench source {i}".encode()
    segment = b"\xff\xfe" + (len(note) + 2).to_bytes(2, "big") + note
    body = data[:2] + segment + data[2:]
    for d in ("http", "s3/src"):
        open(f"{work}/{d}/p-{i}.jpg", "wb").write(body)
PY

http_port=$(free_port)
(cd "$work/http" && exec python3 -m http.server "$http_port" --bind 127.0.0.1 >/dev/null 2>&1) &
pids+=($!)
s3_port=$(free_port)
"$s3s" --host 127.0.0.1 --port "$s3_port" --access-key bench --secret-key bench-secret "$work/s3" \
    >/dev/null 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$http_port/p-0.jpg" || die "the HTTP origin did not start"
wait_http "http://127.0.0.1:$s3_port/" 100 || die "s3s-fs did not start"

replica() { # NAME: starts a replica, sets url_NAME
    taskset -c "$SERVER_CPU" "$bin" --listen 127.0.0.1:0 --root "$work/root" \
        --allow-host "127.0.0.1:$http_port" --allow-s3-bucket src \
        --s3-endpoint "http://127.0.0.1:$s3_port" --s3-path-style \
        --s3-access-key-id bench --s3-secret-access-key bench-secret \
        --shared-store s3://results/bench --tier-timeout 1s \
        >"$work/$1.out" 2>"$work/$1.err" &
    pids+=($!)
    await_url "replica $1" "$!" "$work/$1.out" "$work/$1.err"
    printf -v "url_$1" '%s' "$found"
}
replica a
replica b
# shellcheck disable=SC2154 # set by replica
log "replicas $url_a $url_b; $COUNT sources of $(stat -c %s "$photo") bytes ($MP MP), w=$W, $bin"

python3 - "$url_a" "$url_b" "$http_port" "$COUNT" "$W" "$work/s3/results" <<'PY'
import os, statistics, sys, time, urllib.request
a, b, http_port, count, w, shared = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]
http_urls = [f"/resize?src=http://127.0.0.1:{http_port}/p-{i}.jpg&w={w}" for i in range(count)]
s3_urls = [f"/resize?src=s3://src/p-{i}.jpg&w={w}" for i in range(count)]

def run(base, urls, expect):
    times = []
    for u in urls:
        t = time.perf_counter()
        with urllib.request.urlopen(base + u, timeout=60) as r:
            r.read()
            got = r.headers.get("X-Cache")
        times.append(time.perf_counter() - t)
        if got != expect:
            sys.exit(f"{u}: X-Cache {got}, expected {expect}")
    return times

rows = [("A: miss, HTTP origin (baseline)", run(a, http_urls, "MISS")),
        ("A: miss, s3:// source", run(a, s3_urls, "MISS"))]
deadline = time.time() + 30
def stored():
    return sum(1 for _, _, files in os.walk(shared) for f in files
               if len(f) == 64 and all(c in "0123456789abcdef" for c in f))
while stored() < 2 * count:
    if time.time() > deadline:
        sys.exit(f"only {stored()} of {2 * count} results reached the shared tier")
    time.sleep(0.1)
rows.append(("B: shared-tier hit", run(b, http_urls + s3_urls, "HIT-SHARED")))
rows.append(("B: memory hit", run(b, http_urls + s3_urls, "HIT")))
base = statistics.median(rows[0][1])
print("| requests (sequential) | n | median ms | p90 ms | median vs baseline |")
print("|---|---|---|---|---|")
for name, t in rows:
    t = sorted(t)
    p90 = t[min(len(t) - 1, int(len(t) * 0.9))]
    print(f"| {name} | {len(t)} | {statistics.median(t)*1000:.2f} | {p90*1000:.2f} | {statistics.median(t)/base:.3f} |")
PY
