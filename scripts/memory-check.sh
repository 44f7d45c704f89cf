#!/usr/bin/env bash
# The memory budget and queueing of issue #14, measured on a release binary (docs/SECURITY.md,
# "Memory budget and queueing").
#
#   scripts/memory-check.sh [BIN] [BASELINE-BIN]
#
# BIN defaults to target/release/imgshield (built if missing). With BASELINE-BIN (a binary from
# before the budget, e.g. main's), every phase also runs on it, with the same flags less the ones it
# does not know (--max-memory, --max-queue-wait).
#
#   1. mix: a fresh server, --max-memory 512MiB (with caches that fit it: --cache-bytes 64MiB
#      --source-cache-bytes 0 --derivative-cache-bytes 0; no derivative cache, so every miss decodes
#      its source as distinct photos would, not one kept decode), 32 concurrent requests: 11 x a 49 MP
#      progressive JPEG to 100 px, 11 x a 49 MP baseline JPEG to a 25 MP output (WebP and JPEG),
#      10 x a 49 MP RGBA zlib-bomb PNG (190 KB) to 100 px, all distinct cache keys. Printed: the
#      statuses, the wall time, peak RSS (VmHWM) and whether the server is still alive. Run twice on
#      BIN: with the default --max-queue-wait (5 s: what does not fit in time gets 503) and with
#      120 s (everything is served, one budget's worth at a time).
#   2. abandoned: a fresh server (defaults but --derivative-cache-bytes 0, as above), 60 x the 49 MP
#      progressive JPEG to 100 px (distinct widths) each hung up on after 0.3 s, then one normal
#      miss (a 2 MP JPEG to 300 px): its time, against the same miss alone on a fresh server.
#
# Environment: OUT (bench-out/memory), WORKERS (2; with more workers than cores the baseline runs
# more heavy jobs at once, as a bigger machine would). The corpus is made once in $OUT/corpus with
# scripts/make-corpus.sh and python3 (the bomb). Requires vips, curl, python3, awk.

set -euo pipefail
SCRIPT_NAME=memory-check
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

OUT=${OUT:-bench-out/memory}
WORKERS=${WORKERS:-2}
corpus=$OUT/corpus
require_tools "apt-get install libvips-tools curl python3" vips curl python3 awk

bin=${1:-}
if [ -z "$bin" ]; then
    SKIP_BUILD=${SKIP_BUILD:-0}
    [ -x target/release/imgshield ] && SKIP_BUILD=1
    build_release 1800
fi
bin=$(abs_path "$bin")
baseline=${2:+$(abs_path "$2")}

make_corpus() {
    mkdir -p "$corpus"
    [ -f "$corpus/p49.jpg" ] || cp "$(scripts/make-corpus.sh --progressive "$corpus/gen" 1 49 | head -n 1)" "$corpus/p49.jpg"
    [ -f "$corpus/b49.jpg" ] || vips copy "$corpus/p49.jpg" "$corpus/b49.jpg[Q=85,strip]"
    [ -f "$corpus/small.jpg" ] || vips resize "$corpus/b49.jpg" "$corpus/small.jpg[Q=85,strip]" 0.2
    [ -f "$corpus/bomb.png" ] || python3 - "$corpus/bomb.png" <<'EOF'
import struct, sys, zlib
def chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
w = h = 7000  # 49 MP RGBA of zeros: 196 MB of pixels in a 190 KB file
row = b'\0' * (1 + 4 * w)
z = zlib.compressobj(9)
idat = b''.join(z.compress(row) for _ in range(h)) + z.flush()
ihdr = struct.pack('>IIBBBBB', w, h, 8, 6, 0, 0, 0)
with open(sys.argv[1], 'wb') as f:
    f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) + chunk(b'IDAT', idat) + chunk(b'IEND', b''))
EOF
}

pid=""
cleanup() { stop_var pid; }
trap_cleanup

start() { # BIN ARGS...: a fresh server on the corpus; sets pid and base
    local out=$OUT/server.out err=$OUT/server.err
    RUST_LOG=warn "$1" --listen 127.0.0.1:0 --root "$corpus" --workers "$WORKERS" "${@:2}" >"$out" 2>"$err" &
    pid=$!
    await_url imgshield "$pid" "$out" "$err"
    base=$found
    wait_http "$base/healthz" || die "the server does not answer"
}

mix_urls() {
    for i in $(seq 0 10); do echo "$base/resize?src=p49.jpg&w=$((100 + i))"; done
    for i in $(seq 0 10); do
        if [ $((i % 2)) = 0 ]; then fm=webp; else fm=jpeg; fi
        echo "$base/resize?src=b49.jpg&w=$((6000 - i))&fm=$fm"
    done
    for i in $(seq 0 9); do echo "$base/resize?src=bomb.png&w=$((100 + i))"; done
}

mix() { # LABEL BIN ARGS...
    local label=$1 started statuses
    start "${@:2}"
    started=$(now)
    statuses=$(mix_urls | xargs -P 32 -I{} curl -s -o /dev/null -w '%{http_code}\n' --max-time 300 {} | sort | uniq -c | awk '{ printf "%s x %s, ", $1, $2 }')
    local wall alive=yes hwm
    wall=$(calc %.1f "$(now) - $started")
    hwm=$(status_kib "$pid" VmHWM) || alive=no
    echo "| $label | ${statuses%, } | ${wall} s | $(calc %.0f "${hwm:-0} / 1024") MiB | $alive |"
    stop_var pid
}

normal_miss() { # -> seconds of one normal miss on the running server
    curl -s -o /dev/null -w '%{time_total}' --max-time 600 "$base/resize?src=small.jpg&w=300"
}

abandoned() { # LABEL BIN ARGS...
    local label=$1 alone after
    start "${@:2}"
    alone=$(normal_miss)
    stop_var pid
    start "${@:2}"
    for i in $(seq 0 59); do
        curl -s -o /dev/null --max-time 0.3 "$base/resize?src=p49.jpg&w=$((200 + i))" &
    done
    wait_children
    after=$(normal_miss)
    echo "| $label | $(calc %.2f "$alone") s | $(calc %.2f "$after") s |"
    stop_var pid
}

wait_children() { # the background curls (not the server)
    local job
    for job in $(jobs -p); do
        [ "$job" = "$pid" ] || wait "$job" 2>/dev/null || true
    done
}

make_corpus
small_caches=(--cache-bytes 64MiB --source-cache-bytes 0 --derivative-cache-bytes 0)
budget=(--max-memory 512MiB "${small_caches[@]}")
echo "## 32 concurrent heavy misses ($WORKERS workers)"
echo
echo "| binary | statuses | wall | peak RSS (VmHWM) | alive after |"
echo "|---|---|---|---|---|"
if [ -n "$baseline" ]; then mix "baseline (no budget)" "$baseline" "${small_caches[@]}"; fi
mix "--max-memory 512MiB" "$bin" "${budget[@]}"
mix "--max-memory 512MiB --max-queue-wait 120s" "$bin" "${budget[@]}" --max-queue-wait 120s
echo
echo "## 60 abandoned heavy misses, then a normal miss (defaults, no derivative cache, $WORKERS workers)"
echo
echo "| binary | normal miss alone | after 60 abandoned |"
echo "|---|---|---|"
if [ -n "$baseline" ]; then abandoned "baseline" "$baseline" --derivative-cache-bytes 0; fi
abandoned "this branch" "$bin" --derivative-cache-bytes 0
