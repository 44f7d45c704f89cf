#!/usr/bin/env bash
# Uncached `/text` banners per second on one core, two release binaries alternated in one run (the
# machine is shared and noisy: compare within a round). Each banner is a 400x100 JPEG of 10 CJK
# glyphs whose last two change with every request (a counter in wrk's Lua script), so neither the
# result cache nor anything else can answer from memory.
#
#   scripts/text-bench.sh BASELINE_BIN NEW_BIN
#
# Throughput: the server pinned to SERVER_CPU (default 1) with taskset, wrk (1 thread, 8
# connections, DURATION seconds, default 10) pinned to CLIENT_CPU (default 0); ROUNDS rounds
# (default 3), baseline then new in each, and the ratio new/baseline of each round.
# Instructions: each binary under `valgrind --tool=callgrind`, counters zeroed after 30 warm-up
# banners, then CALLGRIND_REQUESTS (default 200) banners one after another with curl: the whole
# server's instructions (every thread: HTTP, parsing, rendering, encoding, logging) per banner.
# CALLGRIND_REQUESTS=0 skips that part. RUST_LOG is LOG (default info: one access line a request).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCRIPT_NAME=text-bench
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
require_tools "scripts/install-deps.sh --bench installs it" wrk curl taskset
[ $# -eq 2 ] || die "usage: scripts/text-bench.sh BASELINE_BIN NEW_BIN"
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
CALLGRIND_REQUESTS=${CALLGRIND_REQUESTS:-200}
check_cpus "server and wrk"
int_in ROUNDS "$ROUNDS" 1 20
int_in CALLGRIND_REQUESTS "$CALLGRIND_REQUESTS" 0 10000
baseline=$(abs_path "$1")
new=$(abs_path "$2")
work=$(mktemp -d)
pid=""
cleanup() {
    stop_var pid
    rm -rf "$work"
}
trap_cleanup

# The 8 fixed glyphs of every banner, percent-encoded UTF-8 ("图像服务文字横幅").
fixed="%E5%9B%BE%E5%83%8F%E6%9C%8D%E5%8A%A1%E6%96%87%E5%AD%97%E6%A8%AA%E5%B9%85"
query_prefix="/text?w=400&h=100&fm=jpeg&q=80&txt=$fixed"

# glyph N: the percent-encoded UTF-8 of the CJK ideograph U+4E00 + N % 20992.
cat >"$work/banners.lua" <<EOF
local counter = 0
local function glyph(n)
    local cp = 0x4E00 + n % 20992
    local b1 = 0xE0 + math.floor(cp / 4096)
    local b2 = 0x80 + math.floor(cp / 64) % 64
    local b3 = 0x80 + cp % 64
    return string.format("%%%02X%%%02X%%%02X", b1, b2, b3)
end
request = function()
    counter = counter + 1
    local path = "$query_prefix" .. glyph(counter) .. glyph(math.floor(counter / 20992) + 7)
    return wrk.format("GET", path)
end
EOF

# The same glyphs in bash, for curl (the callgrind part) and the warm-up.
glyph() { # N -> percent-encoded UTF-8 of U+4E00 + N % 20992
    local cp=$((0x4E00 + $1 % 20992))
    printf '%%%02X%%%02X%%%02X' $((0xE0 + cp / 4096)) $((0x80 + cp / 64 % 64)) $((0x80 + cp % 64))
}
banner_url() { # PORT N
    echo "http://127.0.0.1:$1$query_prefix$(glyph "$2")$(glyph $(($2 / 20992 + 3)))"
}

start() { # BIN [WRAPPER...]: starts the server pinned to SERVER_CPU; sets pid and port
    local bin=$1
    shift
    port=$(free_port)
    RUST_LOG=${LOG:-info} taskset -c "$SERVER_CPU" "$@" "$bin" --listen "127.0.0.1:$port" \
        >/dev/null 2>"$work/server.err" &
    pid=$!
    wait_http "http://127.0.0.1:$port/healthz" 600 || die "$bin did not start: $(tail -3 "$work/server.err")"
}

throughput() { # BIN -> banners/s
    start "$1"
    # Warm-up: the fonts load once per worker thread.
    for i in $(seq 1 20); do curl -sf -o /dev/null "$(banner_url "$port" $((900000 + i)))"; done
    taskset -c "$CLIENT_CPU" wrk -t1 -c8 -d"${DURATION}s" -s "$work/banners.lua" \
        "http://127.0.0.1:$port" >"$work/wrk.out"
    stop_var pid
    grep -q "Non-2xx" "$work/wrk.out" && die "$1 answered errors: $(cat "$work/wrk.out")"
    wrk_rps "$work/wrk.out"
}

instructions() { # BIN -> instructions per banner under callgrind
    local out="$work/callgrind.out" i
    start "$1" valgrind --tool=callgrind --callgrind-out-file="$out.%p"
    for i in $(seq 1 30); do curl -sf -o /dev/null "$(banner_url "$port" $((800000 + i)))"; done
    callgrind_control -z "$pid" >/dev/null 2>&1
    for i in $(seq 1 "$CALLGRIND_REQUESTS"); do
        curl -sf -o /dev/null "$(banner_url "$port" $((700000 + i)))"
    done
    callgrind_control -d "$pid" >/dev/null 2>&1
    sleep 1
    stop_var pid
    # The first dump (OUT.PID.1) holds the counts from the zeroing to the dump.
    local dump=""
    for dump in "$out".*.1; do break; done
    [ -f "$dump" ] || die "no callgrind dump of $1"
    awk -v n="$CALLGRIND_REQUESTS" '/^summary:/ { printf "%.2f", $2 / n / 1e6 }' "$dump"
    rm -f "$out".*
}

log "baseline $baseline"
log "new      $new"
for round in $(seq 1 "$ROUNDS"); do
    b=$(throughput "$baseline")
    n=$(throughput "$new")
    echo "round $round: baseline $b, new $n banners/s on one core: $(calc '%.2f' "$n / $b")x"
done
if [ "$CALLGRIND_REQUESTS" -gt 0 ]; then
    require_tools "scripts/install-deps.sh --bench installs it" valgrind callgrind_control
    b=$(instructions "$baseline")
    n=$(instructions "$new")
    echo "callgrind: baseline $b, new $n million instructions per banner (whole server):" \
        "$(calc '%.2f' "$b / $n")x fewer"
fi
