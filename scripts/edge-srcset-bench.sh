#!/usr/bin/env bash
# The srcset benchmark behind the shipped edge (issue #16): nginx with nginx/imgshield.conf in front
# of REPLICAS (3) imgshield replicas, against one replica alone, in the same run.
#
#   scripts/edge-srcset-bench.sh              # ~5 minutes of measurement on 2 cores, plus the build
#   QUICK=1 scripts/edge-srcset-bench.sh      # one rep, no URL-hash reference: ~1-2 minutes
#
# Workload (the srcset scenario of scripts/traffic-bench.sh, with new photos): PHOTOS (24) photos,
# each asked at WIDTHS (320 640 960 1280 1920), the (photo, width) pairs shuffled with SEED, each pair
# once, over CONNS (8) keep-alive connections (the client of scripts/traffic_bench.py). Every photo
# is a byte-distinct new source: a Python origin on 127.0.0.1 serves /photo/ID/NAME as the corpus
# file NAME with a JPEG COM segment carrying ID inserted after SOI, and every run uses IDs no run
# used before, so no cache anywhere has seen a photo before its first width. The corpus is
# scripts/traffic-bench.sh's (scripts/make-corpus.sh, CORPUS_SPEC, under $OUT, made once).
#
# Contenders, each REPS (3) times, interleaved, fresh servers every time (the best rep counts):
#   single    one replica, the client straight at it;
#   single-big  (BIG=1, the default unless QUICK) one replica with REPLICAS times the derivative
#             cache (--derivative-cache-bytes, default 128MiB each): the cluster's total, to tell
#             what the source hash saves from what the cluster's larger caches give;
#   edge      nginx (worker_processes 1, the shipped imgshield.conf and imgshield-source.js) in front
#             of REPLICAS replicas: the edge hashes on the source, so a photo's widths meet one
#             replica's source and derivative caches;
#   edge-url  (URL_HASH=1, the default unless QUICK) the same edge with the hash it had before
#             issue #16, `hash $request_uri consistent`: a reference for what the source hash saves.
# Every server process (each replica, nginx's master and worker) runs on SERVER_CPU (taskset), so a
# contender's images/s is its images/s on one core; the client and the origin run on CLIENT_CPU.
# Because other work shares the core on a busy machine, each row also gives images per CPU-second:
# the server processes' own utime + stime (/proc/PID/stat) over the run.
# Reported per contender: images/s on the one core, images per CPU-second, p50/p99 latency, origin
# fetches per photo (the origin counts every GET of every photo ID), full JPEG decodes (the
# derivative cache's miss + first + bypass lookups, summed over the replicas' /metrics; the other
# images were resized from a kept decode), and both speed ratios against single. Targets: edge fetches 1.00 per photo, edge >= 0.80x single per core (judged per
# CPU-second, the steadier figure on a shared machine; the wall-clock ratio is printed beside it).
#
# Knobs (environment): QUICK (0), OUT (bench-out), CORPUS ($OUT/corpus-traffic), CORPUS_SPEC
# ("4:6:p 4:12:p 2:18:p 2:16:b", as scripts/traffic-bench.sh), PHOTOS (24), WIDTHS, CONNS (8),
# REPS (3, QUICK: 1), REPLICAS (3), SEED (42), QUALITY (80), SERVER_CPU (0), CLIENT_CPU (1),
# URL_HASH (1, QUICK: 0), BIG (1, QUICK: 0), SERVER_ARGS (extra imgshield flags for every replica), SKIP_BUILD (0: 1
# uses the existing target/release/imgshield), IMGSHIELD_BIN (another binary; no build),
# NJS_MODULE (Debian's ngx_http_js_module.so).
# Requires (scripts/install-deps.sh --bench): cargo, nginx, libnginx-mod-http-js, vips, python3,
# curl, taskset. Traffic stays on 127.0.0.1; every server is stopped and the temp dir removed on exit.

set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
SCRIPT_NAME=edge-srcset-bench
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

QUICK=${QUICK:-0}
OUT=${OUT:-bench-out}
CORPUS=${CORPUS:-$OUT/corpus-traffic}
CORPUS_SPEC=${CORPUS_SPEC:-"4:6:p 4:12:p 2:18:p 2:16:b"}
PHOTOS=${PHOTOS:-24}
WIDTHS=${WIDTHS:-"320 640 960 1280 1920"}
CONNS=${CONNS:-8}
REPLICAS=${REPLICAS:-3}
SEED=${SEED:-42}
QUALITY=${QUALITY:-80}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
SERVER_ARGS=${SERVER_ARGS:-}
SKIP_BUILD=${SKIP_BUILD:-0}
NJS_MODULE=${NJS_MODULE:-/usr/lib/nginx/modules/ngx_http_js_module.so}
if [ "$QUICK" = 1 ]; then
    REPS=${REPS:-1} URL_HASH=${URL_HASH:-0} BIG=${BIG:-0}
else
    REPS=${REPS:-3} URL_HASH=${URL_HASH:-1} BIG=${BIG:-1}
fi

int_in PHOTOS "$PHOTOS" 1 1000
int_in CONNS "$CONNS" 1 256
int_in REPLICAS "$REPLICAS" 1 16
int_in REPS "$REPS" 1 20
int_in SEED "$SEED" 0 2147483647
int_in QUALITY "$QUALITY" 1 100
int_in SERVER_CPU "$SERVER_CPU" 0 4095
int_in CLIENT_CPU "$CLIENT_CPU" 0 4095
for w in $WIDTHS; do int_in "a width" "$w" 16 4096; done
read -ra server_args <<<"$SERVER_ARGS"

"$root/scripts/install-deps.sh" --bench
require_tools "scripts/install-deps.sh installs it" cargo nginx vips python3 curl taskset timeout
[ -f "$NJS_MODULE" ] || die "$NJS_MODULE is missing (scripts/install-deps.sh installs libnginx-mod-http-js)"
check_cpus "the servers and the client"

if [ -n "${IMGSHIELD_BIN:-}" ]; then
    bin=$IMGSHIELD_BIN
else
    build_release 1800 "build it, or drop SKIP_BUILD=1"
fi
bin=$(abs_path "$bin")

# ---------------------------------------------------------------- corpus and work space

files=()
for spec in $CORPUS_SPEC; do
    IFS=: read -r n mp kind <<<"$spec"
    int_in "a CORPUS_SPEC count" "${n:-x}" 1 64
    case "${kind:-x}" in
    p) mapfile -t -O "${#files[@]}" files < <(timeout 600 scripts/make-corpus.sh --progressive "$CORPUS" "$n" "$mp") ;;
    b) mapfile -t -O "${#files[@]}" files < <(timeout 600 scripts/make-corpus.sh "$CORPUS" "$n" "$mp") ;;
    *) die "CORPUS_SPEC entry '$spec': the kind must be p (progressive) or b (baseline)" ;;
    esac
done
[ "${#files[@]}" -ge 1 ] || die "empty corpus"
corpus_abs=$(cd "$CORPUS" && pwd)
names=()
for f in "${files[@]}"; do names+=("$(basename "$f")"); done
warm="$corpus_abs/warmup-256.jpg" # each fresh replica's first request (as scripts/traffic-bench.sh)
[ -s "$warm" ] || vips thumbnail "$corpus_abs/${names[0]}" "${warm}[Q=80,strip]" 256 || die "making $warm failed"

stamp=$(date +%Y%m%d-%H%M%S)
raw="$OUT/raw/edge-srcset-$stamp"
mkdir -p "$raw"
raw=$(cd "$raw" && pwd)
report="$OUT/edge-srcset-bench-$stamp.md"
work=$(mktemp -d "${TMPDIR:-/tmp}/edge-srcset-bench.XXXXXX")
chmod 755 "$work"

origin_pid="" ngx_pid="" replica_pids=()
cleanup() {
    stop_pid "$ngx_pid" QUIT
    stop_pids "${replica_pids[@]}"
    stop_pid "$origin_pid"
    rm -rf "$work"
}
trap_cleanup

# ---------------------------------------------------------------- the origin

# /photo/ID/NAME: corpus file NAME with a COM segment holding ID after SOI, so every ID is a
# distinct source; each GET appends its ID to the fetch log.
cat >"$work/origin.py" <<'PY'
import http.server, os, re, sys, threading
corpus, port_file, fetch_log = sys.argv[1:4]
files, lock = {}, threading.Lock()
log = open(fetch_log, "a", buffering=1)
class Origin(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        m = re.fullmatch(r"/photo/([0-9]+)/([A-Za-z0-9._-]+\.jpg)", self.path)
        path = m and os.path.join(corpus, m.group(2))
        if not m or not os.path.isfile(path):
            self.send_error(404)
            return
        with lock:
            data = files.get(path) or open(path, "rb").read()
            files[path] = data
            log.write(m.group(1) + "\n")
        note = b"imgshield edge-srcset-bench photo " + m.group(1).encode()
        body = data[:2] + b"\xff\xfe" + (len(note) + 2).to_bytes(2, "big") + note + data[2:]
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "public, max-age=3600")
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Origin)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
PY
: >"$work/fetches.log"
taskset -c "$CLIENT_CPU" python3 "$work/origin.py" "$corpus_abs" "$work/origin.port" "$work/fetches.log" \
    >"$work/origin.out" 2>&1 &
origin_pid=$!
for _ in $(seq 1 100); do [ -s "$work/origin.port" ] && break; sleep 0.1; done
[ -s "$work/origin.port" ] || die "the origin did not start"
origin="http://127.0.0.1:$(cat "$work/origin.port")"
curl -fs --max-time 10 -o "$work/check.jpg" "$origin/photo/0/${names[0]}" || die "the origin does not answer"
vipsheader "$work/check.jpg" >/dev/null || die "the origin's photo does not decode"

# ---------------------------------------------------------------- servers

start_replica() { # LABEL [FLAGS...]: a fresh replica on SERVER_CPU, warmed; appends its pid and port
    local label=$1 out="$raw/replica-$1.stdout" err="$raw/replica-$1.stderr" pid
    shift
    env RUST_LOG=warn taskset -c "$SERVER_CPU" "$bin" --root "$corpus_abs" --listen 127.0.0.1:0 \
        --allow-host "${origin#http://}" --stale-grace 0s --stale-while-revalidate 0s \
        "${server_args[@]}" "$@" >"$out" 2>"$err" &
    pid=$!
    replica_pids+=("$pid")
    await_url "replica $label" "$pid" "$out" "$err"
    replica_ports+=("${found##*:}")
    curl -fs --max-time 30 -o /dev/null "$found/resize?src=$(basename "$warm")&w=128" ||
        die "replica $label did not answer the warm-up request"
}
start_edge() { # LABEL HASH: nginx on SERVER_CPU with the shipped config, hashing on HASH; sets edge_port
    local dir="$work/edge-$1"
    mkdir -p "$dir/conf" "$dir/logs" "$dir/tmp" "$dir/cache"
    printf 'server 127.0.0.1:%s max_fails=1 fail_timeout=10s;\n' "${replica_ports[@]}" >"$dir/conf/imgshield-upstreams.conf"
    edge_port=$(free_port)
    echo "listen 127.0.0.1:$edge_port;" >"$dir/conf/imgshield-listen.conf"
    ln -s "$root/nginx/imgshield-source.js" "$dir/conf/imgshield-source.js"
    if [ "$2" = source ]; then
        conf="$root/nginx/imgshield.conf"
    else
        conf="$dir/conf/imgshield-url-hash.conf"
        sed 's/^\( *\)hash \$imgshield_source consistent;/\1hash $request_uri consistent;/' \
            "$root/nginx/imgshield.conf" >"$conf"
        grep -q 'hash \$request_uri consistent;' "$conf" || die "could not make the URL-hash config"
    fi
    cat >"$dir/conf/nginx.conf" <<EOF
load_module $NJS_MODULE;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
worker_processes 1;
events { worker_connections 1024; }
http {
    access_log off;
$(nginx_temp_paths "$dir/tmp")
    include $conf;
}
EOF
    chmod -R a+rwX "$dir/cache" "$dir/tmp" "$dir/logs"
    nginx -t -q -p "$dir/" -c "$dir/conf/nginx.conf" || die "nginx rejects the config"
    taskset -c "$SERVER_CPU" nginx -p "$dir/" -c "$dir/conf/nginx.conf" -g 'daemon off;' &
    ngx_pid=$!
    wait_http "http://127.0.0.1:$edge_port/healthz" || die "the edge does not answer"
}
server_pids() { # the pids whose CPU time counts: the replicas, nginx's master and its worker(s)
    local p
    for p in "${replica_pids[@]}" $ngx_pid; do echo "$p"; done
    [ -z "$ngx_pid" ] || pgrep -P "$ngx_pid" || true
}
cpu_sum() { # PID...: utime + stime of them all, in clock ticks
    local p t=0
    for p in "$@"; do t=$((t + $(cpu_ticks "$p" 2>/dev/null || echo 0))); done
    echo "$t"
}
tck=$(getconf CLK_TCK)
jv() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# ---------------------------------------------------------------- runs

next_id=1
# run CONTENDER REP: one pass of the workload with new photo IDs -> $raw/CONTENDER-REP.json (the
# client's) and $raw/CONTENDER-REP.run ("cpu_s fetches photos max_fetches decodes")
run() {
    local who=$1 rep=$2 first=$next_id last i
    last=$((first + PHOTOS - 1))
    next_id=$((last + 1))
    python3 -c '
import random, sys
seed, first, last, widths, q, origin = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split(), sys.argv[5], sys.argv[6]
names = sys.argv[7:]
pairs = [(i, w) for i in range(first, last + 1) for w in widths]
random.Random(seed).shuffle(pairs)
for i, w in pairs:
    print(f"/resize?src={origin}/photo/{i}/{names[i % len(names)]}&w={w}&q={q}")' \
        "$SEED" "$first" "$last" "$WIDTHS" "$QUALITY" "$origin" "${names[@]}" >"$work/urls"
    replica_pids=() replica_ports=() ngx_pid=""
    if [ "$who" = single ]; then
        start_replica "$who-$rep"
        port=${replica_ports[0]}
    elif [ "$who" = single-big ]; then
        start_replica "$who-$rep" --derivative-cache-bytes "$((REPLICAS * 128))MiB"
        port=${replica_ports[0]}
    else
        for i in $(seq 1 "$REPLICAS"); do start_replica "$who-$rep-$i"; done
        start_edge "$who-$rep" "$([ "$who" = edge ] && echo source || echo url)"
        port=$edge_port
    fi
    mapfile -t pids < <(server_pids)
    local c0 c1
    c0=$(cpu_sum "${pids[@]}")
    timeout 900 taskset -c "$CLIENT_CPU" python3 scripts/traffic_bench.py client --port "$port" \
        --conns "$CONNS" --urls "$work/urls" --max-secs 600 >"$raw/$who-$rep.json" ||
        { cat "$raw/$who-$rep.json" >&2; die "the client failed ($who, rep $rep)"; }
    c1=$(cpu_sum "${pids[@]}")
    local hits=0 p r
    for p in "${replica_ports[@]}"; do
        for r in miss first bypass; do
            hits=$((hits + $(metric "http://127.0.0.1:$p" "imgshield_derivative_cache_lookups_total{result=\"$r\"}")))
        done
    done
    awk -v a="$first" -v b="$last" -v cpu="$(calc "%.3f" "($c1 - $c0) / $tck")" -v hits="$hits" '
        $1 >= a && $1 <= b { n[$1]++; total++ }
        END { max = 0; for (k in n) if (n[k] > max) max = n[k]; printf "%s %d %d %d %d\n", cpu, total, b - a + 1, max, hits }' \
        "$work/fetches.log" >"$raw/$who-$rep.run"
    stop_var ngx_pid QUIT
    stop_pids "${replica_pids[@]}"
    replica_pids=()
    read -r cpu fetched photos most hits <"$raw/$who-$rep.run"
    log "$who rep $rep: $(jv "$raw/$who-$rep.json" rps) images/s, $(calc "%.2f" "$(jv "$raw/$who-$rep.json" requests) / $cpu") per CPU-s, $fetched fetches for $photos photos (at most $most), $hits decodes"
}

contenders=(single)
[ "$BIG" = 1 ] && contenders+=(single-big)
contenders+=(edge)
[ "$URL_HASH" = 1 ] && contenders+=(edge-url)
n_images=$((PHOTOS * $(wc -w <<<"$WIDTHS")))
log "$n_images images per run ($PHOTOS photos x $(wc -w <<<"$WIDTHS") widths), $CONNS connections, $REPLICAS replicas behind the edge; servers on CPU $SERVER_CPU, client and origin on CPU $CLIENT_CPU"
declare -A best_rps best_cpu best_file
for rep in $(seq 1 "$REPS"); do
    for who in "${contenders[@]}"; do
        run "$who" "$rep"
        rps=$(jv "$raw/$who-$rep.json" rps)
        read -r cpu _ _ _ _ <"$raw/$who-$rep.run"
        per_cpu=$(calc "%.3f" "$(jv "$raw/$who-$rep.json" requests) / $cpu")
        if [ -z "${best_rps[$who]:-}" ] || awk -v a="$per_cpu" -v b="${best_cpu[$who]}" 'BEGIN { exit !(a > b) }'; then
            best_rps[$who]=$rps best_cpu[$who]=$per_cpu best_file[$who]=$who-$rep
        fi
    done
done

# ---------------------------------------------------------------- report

{
    echo "## Edge srcset benchmark ($stamp)"
    echo
    echo "\`$(printf '%q ' env QUICK="$QUICK" PHOTOS="$PHOTOS" REPS="$REPS" REPLICAS="$REPLICAS" CONNS="$CONNS" URL_HASH="$URL_HASH" BIG="$BIG" SERVER_ARGS="$SERVER_ARGS")scripts/edge-srcset-bench.sh\`"
    echo
    echo "$n_images images a run: $PHOTOS new photos (byte-distinct sources) x widths $WIDTHS, shuffled, $CONNS connections."
    echo "Corpus: $CORPUS_SPEC (COUNT:MP:kind). Every server process on CPU $SERVER_CPU; client and origin on CPU $CLIENT_CPU."
    echo "Best of $REPS reps per contender (by images per CPU-second), reps interleaved."
    echo
    echo "| contender | images/s on one core | images per CPU-s | p50 ms | p99 ms | origin fetches per photo (max) | JPEG decodes | x single (wall) | x single (CPU-s) | target | met |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    for who in "${contenders[@]}"; do
        f=${best_file[$who]}
        read -r _ fetched photos most hits <"$raw/$f.run"
        per_photo=$(calc "%.2f" "$fetched / $photos")
        wall_x=$(calc "%.2f" "${best_rps[$who]} / ${best_rps[single]}")
        cpu_x=$(calc "%.2f" "${best_cpu[$who]} / ${best_cpu[single]}")
        case "$who" in
        single) target="baseline" met="" ;;
        single-big) target="(reference: the cluster's derivative cache in one replica)" met="" ;;
        edge)
            target="1.00 fetch per photo; >= 0.80x per core"
            met=$(awk -v f="$per_photo" -v x="$cpu_x" 'BEGIN { print (f == 1 && x >= 0.8) ? "yes" : "no" }') ;;
        *) target="(reference: the hash before #16)" met="" ;;
        esac
        echo "| $who | $(calc "%.2f" "${best_rps[$who]}") | ${best_cpu[$who]} | $(jv "$raw/$f.json" p50_ms) | $(jv "$raw/$f.json" p99_ms) | $per_photo ($most) | $hits | $wall_x | $cpu_x | $target | $met |"
    done
    echo
    echo "Every rep (images/s, images per CPU-s, origin fetches):"
    for rep in $(seq 1 "$REPS"); do
        line="rep $rep:"
        for who in "${contenders[@]}"; do
            read -r cpu fetched _ _ _ <"$raw/$who-$rep.run"
            line="$line $who $(jv "$raw/$who-$rep.json" rps) / $(calc "%.2f" "$(jv "$raw/$who-$rep.json" requests) / $cpu") / $fetched;"
        done
        echo "${line%;}"
    done
} >"$report"
cat "$report"
log "report: $report (raw: $raw)"
