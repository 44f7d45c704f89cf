#!/usr/bin/env bash
# imgshield in a real browser: Debian's headless chromium, driven over the DevTools protocol by
# tests/browser/cdp.py (no other packages). scripts/test.sh runs it. Two checks:
#   1. The built-in /dashboard page: loaded while traffic runs, it shows live numbers (requests
#      counted, a request rate, a hit ratio) after several polls; a screenshot is kept.
#   2. A page of <img>, <picture> and srcset URLs (tests/browser/page.html), at device pixel ratio 2,
#      loaded twice: every image loads, fm=auto arrives as AVIF (chromium accepts it), srcset picks
#      the 2x width, <picture> picks WebP, and the reload adds no transform.
# Closes with "browser: N passed, M failed"; exit status 1 if any check failed. Screenshots are
# written to bench-out/browser/. No traffic leaves 127.0.0.1; every process is stopped on exit.

set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
SCRIPT_NAME=browser
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

require_tools "scripts/install-deps.sh installs it" chromium python3 curl
debug_bin

work=$(mktemp -d)
shots="bench-out/browser"
mkdir -p "$shots"
pids=()
cleanup() {
    stop_pids "${pids[@]}"
    rm -rf "$work"
}
trap cleanup EXIT

port=$(free_port)
# No --root: the generated sample set (sample.jpg, logo.png, ...), as a first-time user sees it.
XDG_CACHE_HOME="$work/cache" RUST_LOG=warn "$bin" --listen "127.0.0.1:$port" >"$work/server.log" 2>&1 &
pids+=("$!")
server="http://127.0.0.1:$port"
wait_http "$server/healthz" 300 -f || die "the server did not start"

passed=0
failed=0
check() { # DESCRIPTION PYTHON-CONDITION-ON-value
    if python3 -c "import json, sys; value = json.loads(sys.argv[1]); sys.exit(0 if ($2) else 1)" "$value"; then
        passed=$((passed + 1))
        log "ok   $1"
    else
        failed=$((failed + 1))
        log "FAIL $1 (value: $value)"
    fi
}

# ---------------------------------------------------------------- 1. the dashboard
for w in 100 101 102 103 104 100 101 102 103 104; do
    curl -s -o /dev/null --max-time 20 "$server/resize?src=sample.jpg&w=$w"
done
# Traffic while the page polls, until the page has been read: bounded in count (3,000) and time
# (the 90 s of the read below). A fixed count of requests could all be over before a slow
# chromium start had taken its first sample, and the page would rightly show a rate of 0.
traffic_done="$work/traffic-done"
(for i in $(seq 1 3000); do
    [ -e "$traffic_done" ] && break
    curl -s -o /dev/null --max-time 5 "$server/resize?src=sample.jpg&w=$((100 + i % 7))"
    sleep 0.02
done) &
traffic=$!
pids+=("$traffic")
value=$(timeout 90 python3 tests/browser/cdp.py "$server/dashboard" 5 \
    '({total: +document.getElementById("requests-total").textContent,
       samples: +document.getElementById("samples").textContent,
       rps: document.getElementById("rps").textContent,
       hit: document.getElementById("hit-ratio").textContent,
       latency: document.getElementById("latency").textContent})' "$shots/dashboard.png")
touch "$traffic_done"
wait "$traffic" 2>/dev/null || true
log "     dashboard shows $value"
check "the dashboard counted the requests sent before it loaded" 'value["total"] >= 10'
check "the dashboard polled several times" 'value["samples"] >= 3'
check "the dashboard shows a live request rate" 'float(value["rps"]) > 0'
check "the dashboard shows a hit ratio and a latency" \
    'value["hit"].endswith("%") and value["latency"].endswith("ms")'
check "the dashboard screenshot is a real image" "$(stat -c %s "$shots/dashboard.png") > 10000"

# ---------------------------------------------------------------- 2. a page using imgshield
mkdir -p "$work/site"
sed "s|IMGSHIELD|$server|g" tests/browser/page.html >"$work/site/index.html"
site_port=$(free_port)
python3 -m http.server "$site_port" --bind 127.0.0.1 --directory "$work/site" >/dev/null 2>&1 &
pids+=("$!")
wait_http "http://127.0.0.1:$site_port/" 50 -f || true
transforms_before=$(metric "$server" imgshield_transform_duration_seconds_count)
value=$(DPR=2 LOADS=1 timeout 90 python3 tests/browser/cdp.py "http://127.0.0.1:$site_port/" 3 \
    '(() => { const imgs = [...document.images];
       return { loaded: imgs.map(i => [i.id, i.complete, i.naturalWidth]),
                dpr: document.getElementById("dpr").currentSrc,
                picture: document.getElementById("picture").currentSrc }; })()' \
    "$shots/page.png")
log "     page shows $value"
check "every image on the page loads" 'all(done and width > 0 for _, done, width in value["loaded"])'
check "srcset picks the 2x width at device pixel ratio 2" 'value["dpr"].endswith("w=400")'
check "<picture> picks WebP" 'value["picture"].endswith("fm=webp")'
avif=$(metric "$server" 'imgshield_transform_duration_seconds_count{engine="vips",format="avif"}')
value=$avif
check "fm=auto arrived as AVIF, which chromium accepts" 'value >= 1'
transforms_after=$(metric "$server" imgshield_transform_duration_seconds_count)
value=$(DPR=2 LOADS=2 timeout 90 python3 tests/browser/cdp.py "http://127.0.0.1:$site_port/" 2 \
    '[...document.images].every(i => i.complete && i.naturalWidth > 0)' "$shots/page-reload.png")
check "the page loads again" 'value is True'
value=$(( $(metric "$server" imgshield_transform_duration_seconds_count) - transforms_after ))
check "reloads are served from cache: no new transform" 'value == 0'
value=$(( transforms_after - transforms_before ))
check "the first load made its images (at least 4 transforms)" 'value >= 4'

echo "browser: $passed passed, $failed failed"
[ "$failed" = 0 ]
