#!/usr/bin/env bash
# Renders the /text reference images tests/text_reference.rs compares against: every case of
# tests/data/text/cases.txt, asked of BIN (a build of the path the references stand for) on
# 127.0.0.1, written as tests/data/text/NAME.png or NAME.jpg by the format the server answered.
#
#   scripts/text-references.sh BIN
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCRIPT_NAME=text-references
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
require_tools "" curl
[ $# -eq 1 ] || die "usage: scripts/text-references.sh BIN"
dir="$root/tests/data/text"
pid=""
cleanup() { stop_var pid; }
trap_cleanup
port=$(free_port)
RUST_LOG=warn "$1" --listen "127.0.0.1:$port" >/dev/null 2>&1 &
pid=$!
wait_http "http://127.0.0.1:$port/healthz" || die "$1 did not start"
while read -r name query; do
    case "$name" in '' | '#'*) continue ;; esac
    type=$(curl -sf -o "$dir/$name.tmp" -w '%{content_type}' "http://127.0.0.1:$port/text?$query") ||
        die "$name: the server refused $query"
    case "$type" in
        image/png) ext=png ;;
        image/jpeg) ext=jpg ;;
        *) die "$name: unexpected $type" ;;
    esac
    mv "$dir/$name.tmp" "$dir/$name.$ext"
    log "$name.$ext"
done <"$dir/cases.txt"
