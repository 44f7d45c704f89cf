#!/usr/bin/env bash
# Silent and slow connections against the release server with DEFAULT flags (issue #14), printed
# as a markdown table for docs/SECURITY.md ("Silent and slow connections").
#
#   scripts/conn-flood.sh                      # this checkout's release binary (built if needed)
#   BASE_BIN=/path/to/old/imgshield scripts/conn-flood.sh   # and a baseline binary, same run
#
# For each binary (the baseline first): start it on 127.0.0.1 (free port, the generated sample
# set, no other flag), make one /resize request so that it is cached, then scripts/conn_flood.py
# opens SILENT connections that never send a byte plus HALF that send only "PRI * HTTP" (part of
# the HTTP/2 preface), times /healthz and the cached /resize five times each while all of them are
# held, and watches for WATCH_SECS how many flood sockets the server closes, and when the last one
# is. The server's imgshield_http_connections_closed_total is printed after the run.
#
# Knobs (environment): SILENT (5000), HALF (500), WATCH_SECS (15), BASE_BIN (none), SKIP_BUILD (0),
# SERVER_ARGS (none: default flags; e.g. "--max-connections 1000" to see the cap give way).
# Needs a hard `ulimit -n` of at least 2 x (SILENT + HALF) + 2000 (raised here); python3, curl.
# Takes about a minute per binary plus the build; a locked-out baseline takes up to 3 minutes.

set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
SCRIPT_NAME=conn-flood
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

SILENT=${SILENT:-5000}
HALF=${HALF:-500}
WATCH_SECS=${WATCH_SECS:-15}
BASE_BIN=${BASE_BIN:-}
SKIP_BUILD=${SKIP_BUILD:-0}
SERVER_ARGS=${SERVER_ARGS:-}
int_in SILENT "$SILENT" 1 50000
int_in HALF "$HALF" 0 50000
int_in WATCH_SECS "$WATCH_SECS" 1 600
"$root/scripts/install-deps.sh" --bench
require_tools "scripts/install-deps.sh --bench installs it" python3 curl timeout

need=$((2 * (SILENT + HALF) + 2000))
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$need" ]; then
    die "the hard open-files limit ($hard) is below $need: raise it (ulimit -Hn) or lower SILENT/HALF"
fi
ulimit -n "$need"

build_release 900 "cargo build --release"
new_bin=$(abs_path "$bin")
[ -z "$BASE_BIN" ] || [ -x "$BASE_BIN" ] || die "BASE_BIN $BASE_BIN is not an executable"

work=$(mktemp -d)
server=""
cleanup() {
    stop_var server
    rm -rf "$work"
}
trap_cleanup

CACHED="/resize?src=sample.jpg&w=300"

run_one() { # NAME BIN: one flood against a fresh server; prints a table row, keeps JSON in $work
    local name=$1 binary=$2 port
    port=$(free_port)
    # shellcheck disable=SC2086 # SERVER_ARGS is a list of flags
    RUST_LOG=warn "$binary" --listen "127.0.0.1:$port" $SERVER_ARGS >"$work/$name.out" 2>"$work/$name.err" &
    server=$!
    await_url "$name" "$server" "$work/$name.out" "$work/$name.err"
    wait_http "http://127.0.0.1:$port$CACHED" 100 -f || die "$name: $CACHED failed"
    log "$name: flooding with $SILENT silent + $HALF half-preface connections"
    timeout $((WATCH_SECS + 240)) python3 scripts/conn_flood.py --port "$port" \
        --silent "$SILENT" --half "$HALF" --path "$CACHED" --watch-secs "$WATCH_SECS" \
        >"$work/$name.json" || die "$name: conn_flood.py failed"
    curl -s --max-time 10 "http://127.0.0.1:$port/metrics" |
        grep '^imgshield_http_connections_closed_total' >"$work/$name.closed" || true
    grep -c 'connection cap reached' "$work/$name.err" >"$work/$name.warnings" || true
    stop_var server
    python3 - "$name" "$work/$name.json" <<'EOF'
import json, sys
name, r = sys.argv[1], json.load(open(sys.argv[2]))
def t(s):
    if not s["answered"]:
        return "no answer (5 x 10 s timeout)"
    return f'{s["median_ms"]} ms median, {s["max_ms"]} ms max ({s["answered"]}/5 answered)'
last = "never" if r["last_close_secs"] is None else f'last at {r["last_close_secs"]} s'
print(f'| {name} | {r["silent_open"]}+{r["half_open"]} open, {r["silent_refused"]}+{r["half_refused"]} not accepted in 3 s '
      f'| {t(r["healthz"])} | {t(r["cached_resize"])} '
      f'| {r["closed_by_server"]} of {r["flood_sockets"]} within {r["watched_secs"]:g} s, {last} '
      f'| {r["flood_secs"]} s | {r["open_in_server_after_flood"]} | {r["kernel_listen"]["ListenOverflows"]} |')
EOF
}

echo "| binary | flood connections (silent+half) | /healthz during the flood | cached /resize during the flood | flood sockets closed by the server | flood took | open in the server after it | listen-queue overflows |"
echo "|---|---|---|---|---|---|---|---|"
[ -z "$BASE_BIN" ] || run_one baseline "$BASE_BIN"
run_one new "$new_bin"
for name in baseline new; do
    [ -f "$work/$name.closed" ] || continue
    echo
    echo "$name: connections closed by reason (warnings logged: $(cat "$work/$name.warnings"))"
    sed 's/^/    /' "$work/$name.closed"
done
