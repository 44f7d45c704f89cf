#!/usr/bin/env bash
# Hit-path throughput of two release binaries, alternated in one run (the machine is shared and
# noisy: compare within a round): each serves the embedded samples on 127.0.0.1, one /resize URL
# is made once, then wrk asks for it for 10 s with 2 threads x 32 connections, three rounds.
#
#   scripts/hit-ab.sh BASELINE_BIN NEW_BIN          # RUST_LOG=info (one access line per request)
#   LOG=warn scripts/hit-ab.sh BASELINE_BIN NEW_BIN # without request logging
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCRIPT_NAME=hit-ab
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
require_tools "scripts/install-deps.sh --bench installs it" wrk curl
[ $# -eq 2 ] || die "usage: scripts/hit-ab.sh BASELINE_BIN NEW_BIN"
url_path="/resize?src=sample.jpg&w=300"

run() { # BIN -> requests/s
    local port pid
    port=$(free_port)
    RUST_LOG=${LOG:-info} "$1" --listen "127.0.0.1:$port" >/dev/null 2>&1 &
    pid=$!
    wait_http "http://127.0.0.1:$port/healthz" || die "$1 did not start"
    curl -sf -o /dev/null "http://127.0.0.1:$port$url_path"
    wrk -t2 -c32 -d10s "http://127.0.0.1:$port$url_path" | awk '/Requests\/sec/ { print $2 }'
    stop_pids "$pid"
}
for round in 1 2 3; do
    echo "round $round: baseline $(run "$1") new $(run "$2") requests/s"
done
