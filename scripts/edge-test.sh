#!/usr/bin/env bash
# The shipped edge config (nginx/imgshield.conf), tested for real: Debian's nginx on 127.0.0.1 in
# front of two imgshield replicas and a real origin (python3's http.server), all started here.
# scripts/test.sh runs it after the Rust tests. It proves:
#   - edge MISS then HIT, and /metrics not exposed;
#   - fm=auto: each Accept class gets its format, and another browser's Accept string of the same
#     class is an edge HIT (the cache is not split per Accept string);
#   - no AVIF or WebP reaches an Accept that refuses it: over fm=auto, presets that say fm=auto and
#     URLs without fm, with q=0 in its spellings;
#   - client hints are keyed on the replicas' buckets;
#   - consistent hashing on the source (nginx/imgshield-source.js): the three Accept variants of a
#     URL, and a photo's widths, formats, presets, reordered parameters and /info, reach one replica
#     (the origin sends each photo once, one replica's counters move); so do spellings of one src
#     (percent-encoding, `+`, scheme case, IPv4 notations, `.` and `..`, a fragment; below --root:
#     `./`, doubled slashes, an encoded `/`); and 24 different photos still reach both replicas;
#   - a killed replica is routed around: every URL still answers;
#   - with the origin down and everything expired, the edge serves its stale copy.
# Closes with "edge: N passed, M failed"; exit status 1 if any check failed.
#
# Knobs: IMGSHIELD_BIN (default target/debug/imgshield, built if missing), NJS_MODULE (nginx's
# JavaScript module, default Debian's /usr/lib/nginx/modules/ngx_http_js_module.so). No traffic leaves
# 127.0.0.1; every process started is stopped on exit, every request is bounded by a timeout.

set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
SCRIPT_NAME=edge
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

require_tools "scripts/install-deps.sh installs it" nginx python3 curl vips
njs_module=${NJS_MODULE:-/usr/lib/nginx/modules/ngx_http_js_module.so}
debug_bin

work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
    if [ -f "$work/nginx.pid" ]; then
        kill -QUIT "$(cat "$work/nginx.pid")" 2>/dev/null || true
    fi
    stop_pids "${pids[@]}"
    sleep 0.2
    rm -rf "$work"
}
trap cleanup EXIT

answers() { wait_http "$1" || die "nothing answers at $1"; } # URL: dies unless it gives any HTTP answer within 10 s

# ---------------------------------------------------------------- the origin
mkdir -p "$work/origin"
for i in $(seq 1 10); do
    vips gaussnoise "$work/origin/p$i.jpg" 640 480 --mean 128 --sigma 40
done
# Photos for the source-hashing checks: a few to ask for in many ways, 24 small ones for the spread.
for i in 11 12 13 14 16; do
    vips gaussnoise "$work/origin/p$i.jpg" 480 320 --mean 128 --sigma 40
done
vips gaussnoise "$work/origin/p 15.jpg" 480 320 --mean 128 --sigma 40
for i in $(seq 1 24); do
    vips gaussnoise "$work/origin/s$i.jpg" 64 48 --mean 128 --sigma 40
done
origin_port=$(free_port)
python3 -m http.server "$origin_port" --bind 127.0.0.1 --directory "$work/origin" \
    >"$work/origin.log" 2>&1 &
origin_pid=$!
pids+=("$origin_pid")
answers "http://127.0.0.1:$origin_port/"
origin="http://127.0.0.1:$origin_port"

# ---------------------------------------------------------------- two replicas
# Short lifetimes so the stale check does not wait long: the edge may keep a result 2 s, a
# replica 1 s, and a replica serves no stale results itself, neither on errors nor while it
# refreshes (the edge does).
mkdir -p "$work/root/d"
vips gaussnoise "$work/root/d/l.jpg" 320 240 --mean 128 --sigma 40
replica_ports=()
replica_pids=()
for name in a b; do
    port=$(free_port)
    RUST_LOG=warn "$bin" --listen "127.0.0.1:$port" --root "$work/root" \
        --allow-host "127.0.0.1:$origin_port" --max-age 2 --cache-ttl 1s --stale-grace 0s --stale-while-revalidate 0s \
        --breaker-failures 0 --preset 'hero=w=120&fm=auto' --client-hints \
        >"$work/replica-$name.log" 2>&1 &
    replica_pids+=("$!")
    pids+=("$!")
    replica_ports+=("$port")
done
for port in "${replica_ports[@]}"; do
    answers "http://127.0.0.1:$port/healthz"
done

# ---------------------------------------------------------------- nginx, from the repo's config
edge_port=$(free_port)
mkdir -p "$work/conf" "$work/logs" "$work/tmp" "$work/cache"
printf 'server 127.0.0.1:%s max_fails=1 fail_timeout=10s;\n' "${replica_ports[@]}" \
    >"$work/conf/imgshield-upstreams.conf"
echo "listen 127.0.0.1:$edge_port;" >"$work/conf/imgshield-listen.conf"
# The shipped script where the shipped config looks for it, beside nginx.conf; and its module.
ln -s "$root/nginx/imgshield-source.js" "$work/conf/imgshield-source.js"
[ -f "$njs_module" ] || die "$njs_module is missing (scripts/install-deps.sh installs libnginx-mod-http-js)"
cat >"$work/conf/nginx.conf" <<EOF
load_module $njs_module;
pid $work/nginx.pid;
error_log $work/logs/error.log warn;
worker_processes 1;
events { worker_connections 256; }
http {
    access_log $work/logs/access.log;
$(nginx_temp_paths "$work/tmp")
    include $root/nginx/imgshield.conf;
}
EOF
# nginx's workers run as nobody when started by root: let them write the cache and temp files.
chmod -R a+rwX "$work/cache" "$work/tmp" "$work/logs"
nginx -t -p "$work/" -c "$work/conf/nginx.conf" -q || die "nginx rejects the config"
nginx -p "$work/" -c "$work/conf/nginx.conf"
answers "http://127.0.0.1:$edge_port/healthz"
edge="http://127.0.0.1:$edge_port"

# ---------------------------------------------------------------- checks
passed=0
failed=0
check() { # DESCRIPTION CONDITION-RESULT(0/1)
    if [ "$2" = 0 ]; then
        passed=$((passed + 1))
        log "ok   $1"
    else
        failed=$((failed + 1))
        log "FAIL $1"
    fi
}
# get PATH [ACCEPT] -> "status cache-status content-type"
get() {
    local accept=${2:-*/*}
    curl -s -o /dev/null --max-time 20 -H "Accept: $accept" \
        -w '%{http_code} %header{x-cache-status} %{content_type}' "$edge$1"
}
is() { [ "$1" = "$2" ] && echo 0 || { log "     got '$1', want '$2'"; echo 1; }; }
replica_metric() { # PORT SERIES -> value
    curl -s --max-time 5 "http://127.0.0.1:$1/metrics" | awk -v s="$2" '$1 == s { print $2; f = 1 } END { if (!f) print 0 }'
}

url="/resize?src=$origin/p1.jpg&w=200"
check "first request is an edge MISS" "$(is "$(get "$url")" "200 MISS image/jpeg")"
check "second request is an edge HIT" "$(is "$(get "$url")" "200 HIT image/jpeg")"
check "/metrics is not exposed at the edge" "$(is "$(get /metrics | cut -d' ' -f1)" 404)"
check "the edge's own counter is there for the exporter" \
    "$(curl -s --max-time 5 "$edge/nginx_status" | grep -q '^Active connections' && echo 0 || echo 1)"

auto="/resize?src=$origin/p2.jpg&w=160&fm=auto"
check "an AVIF-capable browser gets AVIF" \
    "$(is "$(get "$auto" "image/avif,image/webp,image/apng,image/*,*/*;q=0.8" | cut -d' ' -f1,3)" "200 image/avif")"
check "a WebP-only browser gets WebP" \
    "$(is "$(get "$auto" "image/webp,*/*" | cut -d' ' -f1,3)" "200 image/webp")"
check "a JPEG XL browser without AVIF gets JPEG XL" \
    "$(is "$(get "$auto" "image/jxl,image/webp,*/*" | cut -d' ' -f1,3)" "200 image/jxl")"
check "another browser gets JPEG" "$(is "$(get "$auto" "*/*" | cut -d' ' -f1,3)" "200 image/jpeg")"
check "another WebP browser's Accept string is an edge HIT" \
    "$(is "$(get "$auto" "image/webp,image/apng,image/svg+xml,*/*;q=0.8")" "200 HIT image/webp")"

# No browser is ever sent a type its Accept refuses: over fm=auto, a preset that says fm=auto, a
# URL without fm, and Accept headers that refuse AVIF or WebP with q=0 (each asked after a browser
# that takes AVIF has filled the edge cache for that URL).
refused=0
for url in "/resize?src=$origin/p2.jpg&w=150&fm=auto" "/resize?src=$origin/p2.jpg&p=hero" \
    "/resize?src=$origin/p2.jpg&w=140" "/resize?src=$origin/p2.jpg&p=hero&fm=%61uto"; do
    get "$url" "image/avif,image/webp,*/*" >/dev/null
    while IFS='|' read -r accept allowed; do
        got=$(get "$url" "$accept" | cut -d' ' -f1,3)
        [[ "$got" =~ ^200\ ($allowed)$ ]] || { log "     $url with '$accept': '$got'"; refused=1; }
    done <<'ACCEPTS'
image/jpeg|image/jpeg
image/avif;q=0,image/webp|image/webp|image/jpeg
image/avif;q=0.0, image/webp;q=0, */*|image/jpeg
image/webp;q=0,image/avif;q=0,image/*|image/jpeg
image/webp,image/avif;q=0.000|image/webp|image/jpeg
image/avif;q=0.5,*/*|image/avif|image/jpeg
image/jxl,*/*|image/jxl|image/jpeg
image/jxl;q=0,image/webp|image/webp|image/jpeg
ACCEPTS
done
check "no AVIF or WebP reaches an Accept that refuses it (fm=auto, presets, q=0)" "$refused"
check "a preset with fm=auto still gives AVIF to a browser that takes it" \
    "$(is "$(get "/resize?src=$origin/p2.jpg&p=hero" "image/avif,*/*" | cut -d' ' -f1,3)" "200 image/avif")"

# Client hints: the edge keys on the same buckets the replicas round hints into, and sends the
# bucket on: DPR 1.8 is the 2x entry, DPR 3 another, no hint the 1x one.
hinted() { # PATH HEADER -> "status cache-status width"
    curl -s -o "$work/hinted.img" --max-time 20 -H "$2" -w '%{http_code} %header{x-cache-status} ' "$edge$1"
    vipsheader -f width "$work/hinted.img" 2>/dev/null || echo "?"
}
hint_url="/resize?src=$origin/p1.jpg&w=100"
check "a DPR 2 hint doubles the width" "$(is "$(hinted "$hint_url" "Sec-CH-DPR: 2")" "200 MISS 200")"
check "DPR 1.8 is the same bucket: an edge HIT" "$(is "$(hinted "$hint_url" "DPR: 1.8")" "200 HIT 200")"
check "DPR 3 is its own entry" "$(is "$(hinted "$hint_url" "Sec-CH-DPR: 3")" "200 MISS 300")"
check "no hint is the 1x entry" "$(is "$(hinted "$hint_url" "X-None: 1")" "200 MISS 100")"

# Consistent hashing: three edge variants of each URL, one source fetch per image in all.
for i in $(seq 3 10); do
    for accept in "image/avif,*/*" "image/webp,*/*" "*/*"; do
        get "/resize?src=$origin/p$i.jpg&w=100&fm=auto" "$accept" >/dev/null
    done
done
spread=0
for i in $(seq 3 10); do
    full=$(grep -c "\"GET /p$i.jpg HTTP/1.1\" 200" "$work/origin.log" || true)
    [ "$full" = 1 ] || { log "     p$i.jpg was sent $full times"; spread=1; }
done
check "each image's variants reached one replica (one origin fetch each)" "$spread"

# The source decides the replica (nginx/imgshield-source.js): every URL of one photo, and every
# spelling of its src, reaches the one replica that has fetched it.
served() { # -> "A B": the /resize and /info requests each replica has answered with a 2xx so far
    local port r i out=""
    for port in "${replica_ports[@]}"; do
        r=$(replica_metric "$port" 'imgshield_http_requests_total{route="resize",status="2xx"}')
        i=$(replica_metric "$port" 'imgshield_http_requests_total{route="info",status="2xx"}')
        out="$out $(( ${r%.*} + ${i%.*} ))"
    done
    echo "${out# }"
}
# one_replica FILE PATH...: asks the edge for each PATH (each a new URL to the edge); 0 when every
# answer is 200, the origin sent FILE once ("-": a file below --root, fetched from no origin) and
# the requests all reached one replica (only its counters moved).
one_replica() {
    local file=$1 path status result=0 before after a0 b0 a1 b1 sent
    shift
    before=$(served)
    for path in "$@"; do
        status=$(get "$path" | cut -d' ' -f1)
        [ "$status" = 200 ] || { log "     $path: $status" >&2; result=1; }
    done
    after=$(served)
    read -r a0 b0 <<<"$before"
    read -r a1 b1 <<<"$after"
    if [ "$file" != - ]; then
        sent=$(grep -cF "\"GET /$file HTTP/1.1\" 200" "$work/origin.log" || true)
        [ "$sent" = 1 ] || { log "     the origin sent $file $sent times" >&2; result=1; }
    fi
    if [ $((a1 - a0)) -gt 0 ] && [ $((b1 - b0)) -gt 0 ]; then
        log "     $# URLs of one source reached both replicas: $((a1 - a0)) and $((b1 - b0))" >&2
        result=1
    fi
    echo "$result"
}

photo=0
for i in 11 12 13; do
    src="$origin/p$i.jpg"
    r=$(one_replica "p$i.jpg" "/resize?src=$src&w=320" "/resize?src=$src&w=160" \
        "/resize?w=240&src=$src&fm=webp" "/resize?fm=png&w=100&src=$src" "/resize?src=$src&w=200&fm=avif" \
        "/resize?src=$src&p=hero" "/resize?p=hero&w=90&src=$src" "/info?src=$src")
    [ "$r" = 0 ] || photo=1
done
check "a photo's widths, formats, presets, reordered params and /info reach one replica (one origin fetch)" "$photo"

port=${origin#http://127.0.0.1:}
check "spellings of one src reach one replica: percent-encoding, case, IPv4 forms, dot segments" \
    "$(one_replica p14.jpg "/resize?src=$origin/p14.jpg&w=150" \
        "/resize?src=http%3A%2F%2F127.0.0.1%3A$port%2Fp14.jpg&w=150" \
        "/resize?w=150&src=http%3a%2f%2f127.0.0.1%3a$port%2fp14.jpg" \
        "/resize?src=HTTP://127.0.0.1:$port/./p14.jpg&w=150" \
        "/resize?src=http://0x7f.0.0.1:$port/x/../p14.jpg&w=150" \
        "/resize?src=http://2130706433:$port/%70%31%34.jpg&w=150" \
        "/resize?src=http:%2F%2F127.0.0.1:$port%2F%2e/p14.jpg&w=150" \
        "/resize?src=http://127.0.0.1:$port/p14.jpg%23top&w=150" \
        "/resize?%73rc=http://127.0.0.1:$port/p14.jpg&w=150" \
        "/info?src=http%3A%2F%2F127.0.0.1:$port/p14.jpg")"
# Any character of a src may be percent-encoded once (imgshield decodes the query first), in
# either hex case, and the scheme and IPv4 host spelt in any case or notation: 12 random spellings.
seed=$RANDOM
mapfile -t spelt < <(python3 -c '
import random, sys
rnd = random.Random(int(sys.argv[1]))
port = sys.argv[2]
for _ in range(12):
    scheme = "".join(c.upper() if rnd.random() < .5 else c for c in "http")
    host = rnd.choice(["127.0.0.1", "127.1", "0x7f.0.0.1", "2130706433", "0177.0.0.1"])
    src = scheme + "://" + host + ":" + port + "/" + rnd.choice(["", "./", "x/../"]) + "p16.jpg"
    enc = "".join(("%%%02" + rnd.choice("xX")) % ord(c) if rnd.random() < .4 else c for c in src)
    print("/resize?src=" + enc + "&w=150")' "$seed" "$port")
check "12 random spellings of one src reach one replica (seed $seed)" "$(one_replica p16.jpg "${spelt[@]}")"
check "spellings of a src with a space reach one replica: %20, +, %2520" \
    "$(one_replica "p%2015.jpg" "/resize?src=$origin/p%2015.jpg&w=150" \
        "/resize?src=$origin/p+15.jpg&w=150" "/resize?src=$origin/p%252015.jpg&w=150" \
        "/resize?src=http%3A%2F%2F127.0.0.1%3A$port%2Fp%252015.jpg&w=120")"
check "spellings of a path below --root reach one replica: ./, //, %2F" \
    "$(one_replica - "/resize?src=d/l.jpg&w=100" "/resize?src=./d//l.jpg&w=100" \
        "/resize?src=d%2Fl.jpg&w=100" "/resize?src=%64/./l.jpg&w=100" "/resize?w=80&src=d/l.jpg" \
        "/info?src=d/l.jpg")"

# Different photos still spread: 24 of them reach both replicas (each photo lands on one replica
# with odds near 1/2, so all on one happens about once in 8 million runs).
read -r a0 b0 <<<"$(served)"
for i in $(seq 1 24); do
    get "/resize?src=$origin/s$i.jpg&w=32" >/dev/null
done
read -r a1 b1 <<<"$(served)"
log "     24 photos: replica a served $((a1 - a0)), replica b $((b1 - b0))"
check "different photos reach both replicas" "$( [ $((a1 - a0)) -gt 0 ] && [ $((b1 - b0)) -gt 0 ] && echo 0 || echo 1)"

# A replica goes down: every URL still answers.
kill -TERM "${replica_pids[1]}"
wait "${replica_pids[1]}" 2>/dev/null || true
all=0
for i in $(seq 1 10); do
    status=$(get "/resize?src=$origin/p$i.jpg&w=90" | cut -d' ' -f1)
    [ "$status" = 200 ] || { log "     p$i.jpg w=90: $status"; all=1; }
done
check "with one replica down, all 10 URLs answer" "$all"

# The origin goes down and everything expires: the edge serves its stale copy.
stale="/resize?src=$origin/p1.jpg&w=90"
kill -TERM "$origin_pid"
wait "$origin_pid" 2>/dev/null || true
sleep 3
first=$(get "$stale")
sleep 0.5
second=$(get "$stale")
log "     after expiry with the origin down: '$first', then '$second'"
check "with the origin down, the edge serves the stale copy" \
    "$( [[ "$second" =~ ^200\ (STALE|UPDATING)\ image/jpeg$ ]] && echo 0 || echo 1)"

echo "edge: $passed passed, $failed failed"
[ "$failed" = 0 ]
