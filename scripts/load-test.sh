#!/usr/bin/env bash
# End-to-end load test of the release server on this machine, printed as a markdown summary.
#
#   scripts/load-test.sh            # about 3 minutes plus the build; all output under bench-out/
#
# For the scenarios and targets of issue #6 (distinct sources against vipsthumbnail AND Pillow with
# SSIM, srcset traffic, hits against nginx, on a progressive 5-20 MP corpus) use
# scripts/traffic-bench.sh. This script stays for what that one does not vary: worker counts and
# malloc arenas under 32 concurrent 24-MP misses.
#
# What it does, in one run:
#   0. `cargo build --release`, then a corpus of COUNT photo-like JPEGs of MP megapixels
#      (scripts/make-corpus.sh; default 16 x 24 MP in bench-out/corpus, reused if present).
#   a. Cache-miss throughput. Baseline: ONE `vipsthumbnail` process making 300-px thumbnails of the
#      corpus (listed PASSES times) on the server's core, so process start-up does not dominate ->
#      images/s, also with its start-up (timed on a 64x64 image) taken out. Then the server with
#      --workers 1 (and 2), driven by wrk with a Lua script that asks for every (src, h) pair once
#      (w=300, h = 1000, 1001, ...: h never binds for landscape sources, so each request costs the
#      same and matches `-s 300`), so every request is a miss -> images/s and the ratio
#      imgshield / vipsthumbnail (the corpus must be landscape, as make-corpus.sh makes it).
#   b. Cache-hit throughput: one warmed URL, wrk at 8 and 64 connections -> requests/s, p50/p99
#      latency (wrk --latency), and the server's CPU use (so the figure can be read per core).
#   c. Peak RSS (VmHWM from /proc/PID/status) of a fresh server under 32 concurrent misses of the
#      corpus (wrk -c 32, distinct URLs), with --workers 1 and 2, each with glibc's default arenas
#      and with MALLOC_ARENA_MAX=2.
#
# The server runs pinned to SERVER_CPU (default 0) with `taskset`, wrk to CLIENT_CPU (default 1);
# the vipsthumbnail baseline also runs on SERVER_CPU. The server always runs with RUST_LOG=warn
# (no per-request log lines) and listens on 127.0.0.1 with an OS-chosen free port (--listen
# 127.0.0.1:0; the address is read from its start-up line). No traffic leaves 127.0.0.1. Every
# server started is stopped on exit (trap), and every external command runs under `timeout`.
#
# Knobs (environment): OUT (bench-out), CORPUS ($OUT/corpus), COUNT (16), MP (24), PASSES (4),
# BASELINE_REPS (3), MISS_SECS (20), HIT_SECS (10), RSS_SECS (15), MISS_WORKERS ("1 2"),
# RSS_WORKERS ("1 2"), SERVER_CPU (0), CLIENT_CPU (1), SKIP_BUILD (0), BUDGET_SECS (330: later
# phases are skipped, and said so, once the run has taken this long), PERF (0; 1 = also run
# `perf stat` on the server during the workers=1 miss run and the 64-connection hit run).
#
# Requires: cargo, vips + vipsthumbnail (libvips-tools), wrk, curl, taskset, awk.

set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
SCRIPT_NAME=load-test
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

OUT=${OUT:-bench-out}
CORPUS=${CORPUS:-$OUT/corpus}
COUNT=${COUNT:-16}
MP=${MP:-24}
PASSES=${PASSES:-4}
BASELINE_REPS=${BASELINE_REPS:-3}
MISS_SECS=${MISS_SECS:-20}
HIT_SECS=${HIT_SECS:-10}
RSS_SECS=${RSS_SECS:-15}
MISS_WORKERS=${MISS_WORKERS:-"1 2"}
RSS_WORKERS=${RSS_WORKERS:-"1 2"}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
SKIP_BUILD=${SKIP_BUILD:-0}
BUDGET_SECS=${BUDGET_SECS:-330}
PERF=${PERF:-0}

int_in COUNT "$COUNT" 1 256
int_in PASSES "$PASSES" 1 20
int_in BASELINE_REPS "$BASELINE_REPS" 1 9
int_in MISS_SECS "$MISS_SECS" 2 120
int_in HIT_SECS "$HIT_SECS" 2 60
int_in RSS_SECS "$RSS_SECS" 2 120
int_in BUDGET_SECS "$BUDGET_SECS" 30 3600
int_in SERVER_CPU "$SERVER_CPU" 0 4095
int_in CLIENT_CPU "$CLIENT_CPU" 0 4095
for w in $MISS_WORKERS $RSS_WORKERS; do int_in "a worker count" "$w" 1 64; done
[[ "$MP" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "MP must be a number"

"$root/scripts/install-deps.sh" --bench
require_tools "" cargo vips vipsthumbnail wrk curl taskset awk timeout
check_perf
check_cpus "server and wrk"

mkdir -p "$OUT/raw"
stamp=$(date +%Y%m%d-%H%M%S)
raw="$OUT/raw/$stamp"
mkdir -p "$raw"
report="$OUT/load-test-$stamp.md"

# ---------------------------------------------------------------- server management

server_pid="" sampler_pid="" perf_pid=""
cleanup() {
    stop_var sampler_pid
    stop_var perf_pid
    stop_var server_pid
}
trap_cleanup

server_url=""
# start_server LABEL WORKERS [VAR=VALUE...]: a fresh server on SERVER_CPU; sets server_pid, server_url.
start_server() {
    local label=$1 workers=$2
    shift 2
    local out="$raw/server-$label.stdout" err="$raw/server-$label.stderr"
    # env and taskset exec, so $! is the server's own pid (what /proc/PID/status describes).
    env RUST_LOG=warn "$@" taskset -c "$SERVER_CPU" "$bin" \
        --root "$corpus_abs" --listen 127.0.0.1:0 --workers "$workers" >"$out" 2>"$err" &
    server_pid=$!
    await_url "the server ($label)" "$server_pid" "$out" "$err"
    server_url=$found
    wait_http "$server_url/healthz" 50 -f || die "the server ($label) did not answer /healthz"
}

tck=$(getconf CLK_TCK)
mib() { calc "%.0f" "$1 / 1024"; }

# wrk output parsing (more in lib.sh): FILE -> value
wrk_pct() { awk -v p="$2%" '$1 == p { print $2 }' "$1"; }
wrk_max() { awk '$1 == "Latency" { print $4; exit }' "$1"; }

perf_stat() { # NAME SECS: with PERF=1, `perf stat` on the server for SECS in the background -> raw/perf-stat-NAME.txt
    [ "$PERF" = 1 ] || return 0
    timeout $(( $2 + 10 )) perf stat -p "$server_pid" -o "$raw/perf-stat-$1.txt" -- sleep "$2" >/dev/null 2>&1 &
    perf_pid=$!
}
perf_done() { # waits for perf_stat's run, if any
    [ -z "$perf_pid" ] || wait "$perf_pid" || true
    perf_pid=""
}

over_budget() {
    if [ "$SECONDS" -ge "$BUDGET_SECS" ]; then
        log "time budget (${BUDGET_SECS}s) used up: skipping $1"
        skipped+=("$1")
        return 0
    fi
    return 1
}
skipped=()

# ---------------------------------------------------------------- 0. build and corpus

build_release 900
target_dir=${CARGO_TARGET_DIR:-target}
bin=$(abs_path "$bin")
SECONDS=0 # the time budget covers the measurements, not the build

log "corpus: $COUNT x ${MP} MP in $CORPUS"
mapfile -t files < <(timeout 300 scripts/make-corpus.sh "$CORPUS" "$COUNT" "$MP")
[ "${#files[@]}" -eq "$COUNT" ] || die "make-corpus.sh did not produce $COUNT files"
corpus_abs=$(cd "$CORPUS" && pwd)
names=()
for f in "${files[@]}"; do names+=("$(basename "$f")"); done
corpus_bytes=$(cat "${files[@]}" | wc -c)
dims=$(vipsheader "${files[0]}" | sed 's/^[^:]*: //; s/ .*//')
cat "${files[@]}" >/dev/null # page cache: both contenders read warm files

# The wrk script: every request a distinct (src, h), so every request is a cache miss.
lua="$raw/miss.lua"
cat >"$lua" <<'EOF'
-- Each request asks for a (src, h) pair never asked before: src cycles through the corpus, h grows
-- by one per pass (1000, 1001, ...), so no request can hit the result cache. w is always 300 and an
-- h of 1000 or more never binds for a landscape source (fit=inside), so every request costs the
-- same and makes the same 300-px-wide output as `vipsthumbnail -s 300`.
files, counter, non2xx, hits = {}, 0, 0, 0
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) for _, a in ipairs(args) do files[#files + 1] = a end end
function request()
  local i = counter % #files
  local h = 1000 + math.floor(counter / #files)
  counter = counter + 1
  return wrk.format("GET", "/resize?src=" .. files[i + 1] .. "&w=300&h=" .. h)
end
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
  if headers["x-cache"] == "HIT" then hits = hits + 1 end
end
function done(summary, latency, requests)
  local issued, bad, hit = 0, 0, 0
  for _, t in ipairs(threads) do
    issued = issued + t:get("counter"); bad = bad + t:get("non2xx"); hit = hit + t:get("hits")
  end
  io.write(string.format("lua: urls issued %d, non-2xx %d, x-cache HIT %d\n", issued, bad, hit))
end
EOF

lua_hits() { awk '/^lua: urls issued/ { gsub(",", ""); print $NF }' "$1"; }

# ---------------------------------------------------------------- a. cache misses

# Absolute: vipsthumbnail resolves a relative -o against each input's directory.
thumbs="$(cd "$raw" && pwd)/thumbs"
mkdir -p "$thumbs"
baseline_args=()
for ((p = 0; p < PASSES; p++)); do baseline_args+=("${files[@]}"); done
baseline_images=${#baseline_args[@]}

run_baseline() { # -> prints the seconds one vipsthumbnail process takes for the whole list
    local t0 t1
    rm -f "$thumbs"/*.jpg
    t0=$(now)
    timeout 300 taskset -c "$SERVER_CPU" vipsthumbnail "${baseline_args[@]}" -s 300 \
        -o "$thumbs/%s.jpg[Q=80,strip]" 2>>"$raw/vipsthumbnail.stderr" ||
        die "vipsthumbnail failed (see $raw/vipsthumbnail.stderr)"
    t1=$(now)
    calc "%.4f" "$t1 - $t0"
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# vipsthumbnail's own start-up (process, libvips init, module loading): one 64x64 image.
vips black "$raw/tiny.v" 64 64 --bands 3 && vips copy "$raw/tiny.v" "$raw/tiny.jpg" && rm -f "$raw/tiny.v"
startup_runs=()
for _ in 1 2 3 4 5; do
    t0=$(now)
    timeout 60 taskset -c "$SERVER_CPU" vipsthumbnail "$raw/tiny.jpg" -s 300 -o "$thumbs/tiny-%s.jpg" ||
        die "vipsthumbnail failed on a 64x64 image"
    startup_runs+=("$(calc "%.4f" "$(now) - $t0")")
done
startup=$(printf '%s\n' "${startup_runs[@]}" | median)

log "a. baseline: vipsthumbnail, $baseline_images images in one process, x$BASELINE_REPS"
baseline_secs=()
for ((r = 0; r < BASELINE_REPS; r++)); do baseline_secs+=("$(run_baseline)"); done
baseline_runs=()
for t in "${baseline_secs[@]}"; do baseline_runs+=("$(calc "%.2f" "$baseline_images / $t")"); done
baseline_ips=$(printf '%s\n' "${baseline_runs[@]}" | median)
# The same, with one start-up taken out: the stricter baseline, used for the ratio.
baseline_net=$(calc "%.2f" "$baseline_images / ($(printf '%s\n' "${baseline_secs[@]}" | median) - $startup)")
thumb_dims=$(vipsheader "$(ls "$thumbs"/photo-*.jpg | head -1)" | sed 's/^[^:]*: //; s/ .*//')
log "a. vipsthumbnail: ${baseline_runs[*]} images/s (median $baseline_ips; $baseline_net without its $(calc "%.0f" "1000 * $startup") ms start-up)"

miss_rows=()
for w in $MISS_WORKERS; do
    over_budget "miss run workers=$w" && continue
    conns=$(( 2 * w ))
    log "a. imgshield --workers $w: wrk -c$conns, ${MISS_SECS}s of distinct-URL misses"
    start_server "miss-w$w" "$w"
    c0=$(cpu_ticks "$server_pid")
    t0=$(now)
    perf_pid=""
    [ "$w" != 1 ] || perf_stat miss "$MISS_SECS"
    timeout $(( MISS_SECS + 60 )) taskset -c "$CLIENT_CPU" wrk -t1 -c"$conns" -d"${MISS_SECS}s" \
        --timeout 60s --latency -s "$lua" "$server_url" -- "${names[@]}" >"$raw/wrk-miss-w$w.txt" ||
        die "wrk failed (miss, workers=$w)"
    t1=$(now)
    c1=$(cpu_ticks "$server_pid")
    perf_done
    f="$raw/wrk-miss-w$w.txt"
    rps=$(wrk_rps "$f")
    misses=$(metric "$server_url" 'imgshield_cache_lookups_total{result="miss"}')
    tsum=$(metric "$server_url" imgshield_transform_duration_seconds_sum)
    tcount=$(metric "$server_url" imgshield_transform_duration_seconds_count)
    tmean=$(calc "%.1f" "($tcount > 0) ? 1000 * $tsum / $tcount : 0")
    cpu=$(calc "%.0f" "100 * ($c1 - $c0) / $tck / ($t1 - $t0)")
    ratio=$(calc "%.2f" "$rps / $baseline_net")
    ratio_raw=$(calc "%.2f" "$rps / $baseline_ips")
    hits=$(lua_hits "$f")
    miss_rows+=("| imgshield --workers $w (wrk -c$conns) | $rps | **${ratio}x** | ${ratio_raw}x | $(wrk_pct "$f" 50) / $(wrk_pct "$f" 99) | $tmean | $cpu% | $(wrk_total "$f") req, $misses misses, $hits hits, $(wrk_non2xx "$f") non-2xx, errors: $(wrk_errors "$f") |")
    log "a. workers=$w: $rps images/s (${ratio}x vipsthumbnail without start-up, ${ratio_raw}x with), mean transform ${tmean} ms, server CPU ${cpu}%"
    stop_var server_pid
done

post_ips=""
if ! over_budget "post-run baseline"; then
    post_ips=$(calc "%.2f" "$baseline_images / $(run_baseline)")
    log "a. vipsthumbnail again after the miss runs: $post_ips images/s"
fi

# ---------------------------------------------------------------- b. cache hits

hit_rows=()
hit_path="/resize?src=${names[0]}&w=300"
if ! over_budget "hit runs"; then
    start_server hit 1
    curl -fs --max-time 30 -o "$raw/hit-body.jpg" "$server_url$hit_path" || die "warming $hit_path failed"
    xcache=$(curl -fs --max-time 5 -o /dev/null -D - "$server_url$hit_path" | awk -F': *' 'tolower($1) == "x-cache" { print $2 }' | tr -d '\r')
    [ "$xcache" = HIT ] || die "the warmed URL is not a cache hit (x-cache: '$xcache')"
    hit_body=$(wc -c <"$raw/hit-body.jpg")
    for c in 8 64; do
        log "b. hits: wrk -c$c for ${HIT_SECS}s on $hit_path"
        c0=$(cpu_ticks "$server_pid")
        t0=$(now)
        perf_pid=""
        [ "$c" != 64 ] || perf_stat hit "$HIT_SECS"
        timeout $(( HIT_SECS + 30 )) taskset -c "$CLIENT_CPU" wrk -t1 -c"$c" -d"${HIT_SECS}s" --latency \
            "$server_url$hit_path" >"$raw/wrk-hit-c$c.txt" || die "wrk failed (hit, c=$c)"
        t1=$(now)
        c1=$(cpu_ticks "$server_pid")
        perf_done
        f="$raw/wrk-hit-c$c.txt"
        rps=$(wrk_rps "$f")
        cpu=$(calc "%.0f" "100 * ($c1 - $c0) / $tck / ($t1 - $t0)")
        per_core=$(calc "%.0f" "$rps / (($c1 - $c0) / $tck / ($t1 - $t0))")
        hit_rows+=("| $c | $(printf "%.0f" "$rps") | $(wrk_pct "$f" 50) | $(wrk_pct "$f" 99) | $(wrk_max "$f") | $cpu% | $per_core | $(wrk_non2xx "$f") non-2xx, errors: $(wrk_errors "$f") |")
        log "b. c=$c: $rps req/s, p50 $(wrk_pct "$f" 50), p99 $(wrk_pct "$f" 99), server CPU ${cpu}%"
    done
    stop_var server_pid
fi

# ---------------------------------------------------------------- c. peak RSS under 32 concurrent misses

rss_rows=()
rss_run() { # SLUG LABEL WORKERS [VAR=VALUE...]
    local slug=$1 label=$2 workers=$3
    shift 3
    over_budget "RSS run $label" && return 0
    log "c. RSS ($label): wrk -c32 for ${RSS_SECS}s of distinct-URL misses"
    start_server "rss-$slug" "$workers" "$@"
    local idle peak p90 f="$raw/wrk-rss-$slug.txt" samples="$raw/rss-$slug.samples"
    idle=$(status_kib "$server_pid" VmRSS)
    # VmRSS every 0.25 s while the load runs (bounded: at most 4 per second for RSS_SECS + 20 s).
    (
        for _ in $(seq 1 $(( (RSS_SECS + 20) * 4 ))); do
            status_kib "$server_pid" VmRSS 2>/dev/null || break
            sleep 0.25
        done
    ) >"$samples" &
    # shellcheck disable=SC2034 # read through stop_var, in cleanup
    sampler_pid=$!
    timeout $(( RSS_SECS + 90 )) taskset -c "$CLIENT_CPU" wrk -t1 -c32 -d"${RSS_SECS}s" --timeout 60s \
        --latency -s "$lua" "$server_url" -- "${names[@]}" >"$f" || die "wrk failed (RSS, $label)"
    stop_var sampler_pid
    peak=$(status_kib "$server_pid" VmHWM)
    p90=$(sort -n "$samples" | awk '{ v[NR] = $1 } END { if (NR) print v[int(NR * 0.9 + 0.5)]; else print 0 }')
    rss_rows+=("| $label | $workers | $(mib "$idle") | **$(mib "$peak")** | $(mib "$p90") | $(wrk_total "$f") req, $(wrk_non2xx "$f") non-2xx, max latency $(wrk_max "$f"), errors: $(wrk_errors "$f") |")
    log "c. $label: peak RSS $(mib "$peak") MiB (idle $(mib "$idle") MiB)"
    stop_var server_pid
}
for w in $RSS_WORKERS; do
    rss_run "w$w" "--workers $w" "$w"
    rss_run "w$w-arena2" "--workers $w, MALLOC_ARENA_MAX=2" "$w" MALLOC_ARENA_MAX=2
done

# ---------------------------------------------------------------- summary

cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain -- src Cargo.toml Cargo.lock sys 2>/dev/null | grep -q . && echo " (+ uncommitted changes in src/)" || true)
{
    echo "## Load test $stamp"
    echo
    echo "- Machine: $ncpu CPU(s), $cpu_model; $(uname -sr); libvips $(vips --version | sed 's/^vips-//'); $(rustc --version 2>/dev/null | awk '{ print $1, $2 }')"
    echo "- imgshield: commit $commit$dirty, \`$target_dir/release/imgshield\`, RUST_LOG=warn, defaults otherwise"
    echo "- Server pinned to CPU $SERVER_CPU (\`taskset -c $SERVER_CPU\`), wrk (\`-t1\`) to CPU $CLIENT_CPU; baseline vipsthumbnail on CPU $SERVER_CPU"
    echo "- Corpus: $COUNT distinct JPEGs, $dims, $(calc "%.1f" "$corpus_bytes / $COUNT / 1048576") MiB each on average (scripts/make-corpus.sh, Q90 4:2:0 baseline), output $thumb_dims JPEG"
    echo
    echo "### a. Cache misses (every request a distinct src/h), $dims JPEG -> 300 px wide"
    echo
    echo "Baseline: \`taskset -c $SERVER_CPU vipsthumbnail <$baseline_images files> -s 300 -o '%s.jpg[Q=80,strip]'\` (one process): ${baseline_runs[*]} images/s, median **$baseline_ips**${post_ips:+; again after the imgshield runs: $post_ips}. Its start-up (same command on one 64x64 JPEG, median of 5) is $(calc "%.0f" "1000 * $startup") ms; without it the median run makes **$baseline_net** images/s, the figure the ratio uses."
    echo
    echo "| Contender | images/s | vs vipsthumbnail (without start-up) | vs vipsthumbnail (with) | latency p50 / p99 | mean transform (ms) | server CPU | checks |"
    echo "|---|---:|---:|---:|---|---:|---:|---|"
    echo "| vipsthumbnail (median of $BASELINE_REPS, start-up excluded) | $baseline_net | 1.00x | - | - | $(calc "%.1f" "1000 / $baseline_net") (per image, wall) | - | - |"
    for row in "${miss_rows[@]}"; do echo "$row"; done
    echo
    echo "### b. Cache hits: \`GET $hit_path\` (${hit_body:-?} byte body), ${HIT_SECS} s per row"
    echo
    echo "| wrk connections | requests/s | p50 | p99 | max | server CPU | req/s per server core | checks |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---|"
    for row in "${hit_rows[@]}"; do echo "$row"; done
    echo
    echo "### c. Peak RSS, 32 concurrent distinct-URL misses of the corpus for ${RSS_SECS} s (fresh server each)"
    echo
    echo "| Variant | workers | idle RSS (MiB) | peak VmHWM (MiB) | p90 sampled VmRSS (MiB) | checks |"
    echo "|---|---:|---:|---:|---:|---|"
    for row in "${rss_rows[@]}"; do echo "$row"; done
    echo
    if [ "${#skipped[@]}" -gt 0 ]; then
        echo "Skipped (time budget of ${BUDGET_SECS}s): ${skipped[*]}."
        echo
    fi
    echo "Raw wrk output, server logs and the Lua script: \`$raw/\`. Measurement time: ${SECONDS}s."
} | tee "$report"
log "summary written to $report"
