#!/usr/bin/env bash
# The local disk tier, measured against a release build on 127.0.0.1:
#   1. warm restart: a working set (SOURCES distinct JPEGs x WIDTHS) is made once with
#      --disk-cache-dir, the server is killed (-9, a crash), a new one starts on the same directory
#      and asks for the whole set again: the share answered without an origin fetch or a transform
#      (X-Cache: HIT-DISK, and the transform and fetch counters);
#   2. disk hits against memory hits, alternated in one run: wrk at CONNECTIONS connections over
#      the same URLs, once against a server whose memory cache holds nothing (--cache-bytes 0:
#      every answer is read from disk) and once against one holding everything (memory hits):
#      requests/s and p99 of each, ROUNDS rounds.
#
#   scripts/tier-bench.sh [BIN]   # BIN: default target/release/imgshield (built unless SKIP_BUILD=1)
#
# Environment: SOURCES (default 40), WIDTHS (default "120 240 360 480 640"), CONNECTIONS (64),
# DURATION (wrk seconds, 10), ROUNDS (2), MEGAPIXELS (of each source, 0.5); the server runs on core
# SERVER_CPU (0) and wrk on CLIENT_CPU (1), as in the other benchmarks.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
SCRIPT_NAME=tier-bench
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
require_tools "scripts/install-deps.sh --bench installs it" wrk curl vips taskset
SOURCES=${SOURCES:-40}
WIDTHS=${WIDTHS:-120 240 360 480 640}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
MEGAPIXELS=${MEGAPIXELS:-0.5}
SKIP_BUILD=${SKIP_BUILD:-0}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
if [ $# -ge 1 ]; then bin=$(abs_path "$1"); else build_release 3600 && bin=$(abs_path "$bin"); fi

work=$(mktemp -d)
pid=""
cleanup() { stop_var pid; rm -rf "$work"; }
trap_cleanup

log "making $SOURCES sources of $MEGAPIXELS MP"
scripts/make-corpus.sh "$work/src" "$SOURCES" "$MEGAPIXELS" >"$work/sources.txt" 2>/dev/null
: >"$work/urls.txt"
while read -r file; do
    for w in $WIDTHS; do echo "/resize?src=$(basename "$file")&w=$w" >>"$work/urls.txt"; done
done <"$work/sources.txt"
total=$(wc -l <"$work/urls.txt")

start() { # EXTRA-FLAGS...: starts BIN on the corpus with the disk tier; sets pid and base
    local port
    port=$(free_port)
    RUST_LOG=warn taskset -c "$SERVER_CPU" "$bin" --listen "127.0.0.1:$port" --root "$work/src" \
        --disk-cache-dir "$work/disk" "$@" >"$work/out.log" 2>"$work/err.log" &
    pid=$!
    base="http://127.0.0.1:$port"
    wait_http "$base/healthz" || die "the server did not start: $(cat "$work/err.log")"
}

ask_all() { # -> counts of X-Cache values over every URL, as "VALUE COUNT" lines
    while read -r path; do
        curl -s -o /dev/null -D - "$base$path" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-cache" { print $2 }'
    done <"$work/urls.txt" | sort | uniq -c | awk '{ print $2, $1 }'
}

# ---- 1. warm restart
start
ask_all >/dev/null
for _ in $(seq 1 200); do
    stored=$(metric "$base" 'imgshield_tier_writes_total{tier="disk",result="stored"}')
    [ "${stored%.*}" -ge "$total" ] && break
    sleep 0.1
done
log "first run: $total results made, $stored written to disk; killing it (-9)"
stop_var pid KILL
start
answers=$(ask_all)
transforms=$(metric "$base" imgshield_transform_duration_seconds_count)
fetches=$(metric "$base" imgshield_origin_fetch_duration_seconds_count)
from_disk=$(echo "$answers" | awk '$1 == "HIT-DISK" { print $2 }')
echo "warm restart: $total URLs ($SOURCES sources x widths $WIDTHS); answers: $(echo "$answers" | tr '\n' ' ')"
echo "warm restart: $(calc '%.1f' "100 * ${from_disk:-0} / $total") % answered from disk; transforms $transforms, origin fetches $fetches after the restart"
stop_var pid

# ---- 2. disk hits vs memory hits at $CONNECTIONS connections
cat >"$work/rotate.lua" <<'EOF'
local paths = {}
local i = 0
function init(args)
  for line in io.lines(os.getenv("URLS")) do paths[#paths + 1] = line end
  i = math.random(#paths)
end
function request()
  i = (i % #paths) + 1
  return wrk.format("GET", paths[i])
end
EOF
bench() { # LABEL EXTRA-FLAGS...: one wrk run; prints requests/s, p99 and how lookups were answered
    local label=$1
    shift
    start "$@"
    ask_all >/dev/null # warms memory (where it can hold anything)
    local before_disk before_hit
    before_disk=$(metric "$base" 'imgshield_cache_lookups_total{result="disk"}')
    before_hit=$(metric "$base" 'imgshield_cache_lookups_total{result="hit"}')
    URLS="$work/urls.txt" taskset -c "$CLIENT_CPU" wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$work/rotate.lua" "$base" >"$work/wrk.txt"
    local disk hit p99
    disk=$(calc '%.0f' "$(metric "$base" 'imgshield_cache_lookups_total{result="disk"}') - $before_disk")
    hit=$(calc '%.0f' "$(metric "$base" 'imgshield_cache_lookups_total{result="hit"}') - $before_hit")
    p99=$(awk '$1 == "99%" { print $2 }' "$work/wrk.txt")
    echo "$label: $(wrk_rps "$work/wrk.txt") requests/s, p99 $p99, non-2xx $(wrk_non2xx "$work/wrk.txt"), answered from disk $disk, from memory $hit"
    stop_var pid
}
for round in $(seq 1 "$ROUNDS"); do
    bench "round $round disk hits  " --cache-bytes 0
    bench "round $round memory hits" --cache-bytes 256MiB
done
