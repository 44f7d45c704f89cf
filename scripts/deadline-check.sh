#!/usr/bin/env bash
# Does the processing deadline hold at every stage? Runs a release server with
# --max-processing-time 2s and asks, one at a time, for the work the deadline could not stop
# before issue #14: a progressive JPEG of 1891 scans (/resize and /info), 25-MP outputs of the
# encoders that run in one uninterruptible call (lossless and lossy WebP, GIF, AVIF at q=95), the
# largest outputs of those the budget lets start, and 25-MP PNG and JPEG (stopped by the kill flag).
# Each must answer (422 or 200) within BOUND seconds of wall time, and the server's CPU must stop
# with the answer (no thread still decoding or encoding).
#
#   scripts/deadline-check.sh                      # target/release/imgshield (built if missing)
#   BIN=/tmp/imgshield-main scripts/deadline-check.sh   # another binary: the baseline
#
# Per request it prints: status, code, wall seconds, server CPU seconds (utime+stime from
# /proc/PID/stat) during the request and in the 2 s after the answer, and PASS/FAIL. Exits 1 on
# any FAIL. Sources come from `cargo run --release --example deadline_fixtures` (generated, no
# download) into FIXTURES (default target/deadline-fixtures, reused if present).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC2034 # read by lib.sh's messages
SCRIPT_NAME=deadline-check
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
require_tools "scripts/install-deps.sh --bench" curl awk bc

BIN=${BIN:-target/release/imgshield}
FIXTURES=${FIXTURES:-target/deadline-fixtures}
LIMIT=${LIMIT:-2s}
BOUND=${BOUND:-2.4}
PORT=${PORT:-$((20000 + RANDOM % 20000))}

[ -x "$BIN" ] || cargo build --release --locked
if [ ! -f "$FIXTURES/scan-heavy.jpg" ] || [ ! -f "$FIXTURES/photo-25mp.jpg" ]; then
    cargo run --release --locked --example deadline_fixtures -- "$FIXTURES"
fi

RUST_LOG=warn "$BIN" --listen "127.0.0.1:$PORT" --root "$FIXTURES" --max-processing-time "$LIMIT" \
    --cache-bytes 0 >/dev/null 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break
    sleep 0.2
done
kill -0 "$pid" 2>/dev/null || die "the server did not start"

cpu() { awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$pid/stat"; }

big="w=5000&h=5000&fit=fill"
requests=(
    "/resize?src=scan-heavy.jpg&w=300"
    "/info?src=scan-heavy.jpg"
    "/resize?src=photo-25mp.jpg&$big&fm=webp&lossless=1"
    "/resize?src=photo-25mp.jpg&$big&fm=webp&q=80"
    "/resize?src=photo-25mp.jpg&$big&fm=gif"
    "/resize?src=photo-25mp.jpg&$big&fm=avif&q=95"
    # Sizes these encoders may start under 2 s (the estimate fits half the limit): the pipeline is
    # computed under the kill flag, then the encoder starts only if it fits the time left.
    "/resize?src=photo-25mp.jpg&w=2800&h=2800&fit=fill&fm=webp&q=80"
    "/resize?src=photo-25mp.jpg&w=2000&h=2000&fit=fill&fm=gif"
    "/resize?src=photo-25mp.jpg&w=3000&h=3000&fit=fill&fm=avif&q=95"
    # Written strip by strip: stopped by the kill flag.
    "/resize?src=photo-25mp.jpg&$big&fm=png"
    "/resize?src=photo-25mp.jpg&$big&fm=jpeg&q=95"
    "/resize?src=photo-25mp.jpg&w=300"
)

log "binary $BIN, --max-processing-time $LIMIT, bound ${BOUND}s"
printf '| request | status | code | wall s | CPU s during | CPU s in the 2 s after | |\n'
printf '|---|---|---|---|---|---|---|\n'
failed=0
for path in "${requests[@]}"; do
    before=$(cpu)
    out=$(curl -s -o "$FIXTURES/.body" -w '%{http_code} %{time_total}' --max-time 300 \
        "http://127.0.0.1:$PORT$path" || echo "000 300")
    answered=$(cpu)
    sleep 2
    after=$(cpu)
    read -r status wall <<<"$out"
    code=$(grep -ao '"code":"[a-z_]*"' "$FIXTURES/.body" | cut -d'"' -f4 || true)
    during=$(echo "$answered - $before" | bc)
    trailing=$(echo "$after - $answered" | bc)
    verdict=PASS
    if [ "$(echo "$wall > $BOUND" | bc)" = 1 ] || [ "$(echo "$trailing > 0.05" | bc)" = 1 ] ||
        { [ "$status" != 200 ] && [ "$status" != 422 ]; }; then
        verdict=FAIL
        failed=1
    fi
    # shellcheck disable=SC2016 # the backquotes are markdown
    printf '| `%s` | %s | %s | %.2f | %s | %s | %s |\n' "$path" "$status" "${code:--}" "$wall" \
        "$during" "$trailing" "$verdict"
done
rm -f "$FIXTURES/.body"
exit "$failed"
