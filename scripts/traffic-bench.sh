#!/usr/bin/env bash
# The traffic benchmark of issue #6, in one reproducible run: imgshield against libvips alone
# (vipsthumbnail), Pillow and nginx on the same core, printed as one markdown table with the
# issue's targets and whether each was met.
#
#   scripts/traffic-bench.sh            # ~5-10 minutes of measurement, plus the build and (the
#                                       # first time) ~1 minute for the corpus and the Pillow venv
#   QUICK=1 scripts/traffic-bench.sh    # ~1-2 minutes: one rep of everything, to check the tool
#
# Corpus (scripts/make-corpus.sh, made once under $OUT, nothing downloaded): CORPUS_SPEC, by default
# 12 photo-like 3:2 JPEGs of 6-18 MP, 10 of them progressive (as camera and CMS uploads often are):
# 4 x 6 MP, 4 x 12 MP, 2 x 18 MP progressive, 2 x 16 MP baseline. All contenders write JPEG at
# QUALITY (80), width W and the height that keeps the aspect ratio, metadata stripped.
#
# Every source is byte-distinct: each pass (and srcset block) gets its own copies of the corpus with
# a JPEG comment segment naming the pass inserted after SOI (traffic_bench.py plan): the derivative
# cache keys decodes by content, so the same bytes under a new URL would not be a cold decode. Every
# contender reads the same copies.
#
# Scenarios (each contender REPS times, interleaved; the best rep of each contender counts, the
# least disturbed on a shared machine):
#   1. floor   a new photo on every request, each at its own width drawn from FLOOR_WMIN-FLOOR_WMAX
#              (300-1299, seeded), so no cache can help:
#              imgshield  a fresh server per pass (FLOOR_PASSES passes, each a new set of copies of
#                         the corpus, each copy once), FLOOR_CONNS (8) keep-alive connections;
#              vipsthumbnail  one process per image (the widths differ), the start-up (timed on a
#                         small JPEG) subtracted per process;
#              Pillow     one process, draft() + LANCZOS resize, timed in-process;
#              quality    SSIM (luma, as src/quality.rs) of imgshield's outputs of the first pass
#                         against libvips' full-decode Lanczos (`vips thumbnail_image`: thumbnail
#                         without shrink-on-load, same Q), with Pillow's for reference, and against
#                         BASE_BIN's outputs (today's path) when BASE_BIN is given: the minima.
#              (With BASE_BIN, scenario 2 also runs BASE_BIN's server on the same pairs: a before
#              and after in one run.)
#   2. srcset  SRCSET_BLOCKS blocks, each a new set of copies of the corpus asked for at widths
#              320/640/960/1280/1920, the block's pairs shuffled (SEED + block), each once,
#              against one fresh server with SRCSET_CONNS connections; vipsthumbnail (one process
#              per width, start-ups subtracted) and Pillow (same shuffled pairs) make the same
#              images x widths; with SRCSET_COLD=1 also imgshield --derivative-cache-bytes 0, whose
#              outputs are the cold transforms the srcset outputs are compared with (SSIM, min).
#              From the server's /metrics: decodes per source (derivative-cache misses, first
#              sights and bypasses: each one a JPEG decode) and source reads or fetches per source.
#   3. hits    one set of copies at w=640, warmed, asked over and over by wrk (a Lua script cycles
#              through the list) at 8 and 64 connections for HIT_SECS, against nginx (worker_processes 1, a
#              minimal config in a temp dir, sendfile, no access log) serving the same response
#              bytes as static files; HIT_REPS times each, interleaved.
# Every server (imgshield, nginx) and every reference (vipsthumbnail, Pillow) runs on SERVER_CPU
# (taskset); the load generators (the Python client of scripts/traffic_bench.py, wrk) on CLIENT_CPU.
# Reported per row: requests/s (images/s for the references), latency p50/p99 (client side for
# servers; per image for Pillow), peak RSS (VmHWM of the server, max over its passes; ru_maxrss for
# the references; nginx's worker), the share of SERVER_CPU the contender got and its rate per
# CPU-second of its own (servers: utime + stime from /proc/PID/stat; references: getrusage), the
# ratio against the baseline the issue names (wall clock, and per CPU-second: the steadier one on a
# shared machine), the target and whether it was met (judged on the wall-clock ratio).
# Working memory (#15: peak RSS minus what the caches hold): while each floor and srcset pass (and
# BASE_BIN's floor pass) runs, scripts/rss_sampler.py on CLIENT_CPU reads the server's VmRSS and
# scrapes /metrics for the bytes the result, source and derivative caches hold, every MEM_INTERVAL
# seconds; the peak of RSS minus those bytes is reported next to the raw peak RSS, with its parts at
# that moment, and judged against 150 MiB; so is each server's idle RSS after start-up (the fixed
# part: binary, libraries, libvips' and the fonts' set-up), read before its warm-up request. A
# scrape costs the server ~0.4 ms of CPU (~0.4% of its core at 0.1 s; the same for BASE_BIN). With
# BASE_BIN, its floor pass also gives images per CPU-second against imgshield's first pass (the
# same requests).
#
# Targets (issues #6, #15): floor >= 1.3x the faster of vipsthumbnail and Pillow, SSIM >= 0.98
# against libvips' full-decode output (>= 0.99 against BASE_BIN's), working memory (peak RSS minus
# what the caches hold) at 8 connections <= 150 MiB; srcset >= 3x vipsthumbnail, SSIM >= 0.99 against cold transforms; hits >= 0.8x nginx's
# requests/s with p99 < 5 ms at 64 connections.
#
# Knobs (environment; QUICK=1 changes the defaults marked q:):
#   QUICK (0)              1 = REPS=1 FLOOR_PASSES=1 SRCSET_BLOCKS=1 HIT_SECS=3 HIT_REPS=1 SRCSET_COLD=0
#   OUT (bench-out)        where the corpus, the report (traffic-bench-<stamp>.md) and raw/ go
#   CORPUS ($OUT/corpus-traffic)   CORPUS_SPEC ("4:6:p 4:12:p 2:18:p 2:16:b": COUNT:MP:p|b, where p =
#                          progressive, b = baseline; use distinct MP per entry, an MP makes one size)
#   REPS (3, q:1)          reps of scenarios 1 and 2 per contender
#   FLOOR_WMIN (300)       FLOOR_WMAX (1299)       FLOOR_WIDTH (unset: one fixed width instead)
#   FLOOR_PASSES (3, q:1)  FLOOR_CONNS (8)         BASE_BIN (unset: an imgshield binary for "today's path")
#   SRCSET_WIDTHS ("320 640 960 1280 1920")  SRCSET_BLOCKS (3, q:1)  SRCSET_CONNS (8)
#   SRCSET_COLD (1, q:0)   SEED (42)
#   HIT_SECS (10, q:3)     HIT_REPS (2, q:1)       HIT_CONNS ("8 64")
#   QUALITY (80)           SERVER_CPU (0)          CLIENT_CPU (1)
#   SERVER_ARGS ("")       extra imgshield flags, e.g. "--workers 2"
#   SERVER_ENV ("")        extra environment for imgshield, e.g. "MALLOC_ARENA_MAX=2"
#   MEM_INTERVAL (0.1)     seconds between working-memory samples (RSS and the caches' bytes)
#   SCENARIOS ("floor srcset hits")  a subset runs only those (the table leaves the rest out)
#   SKIP_BUILD (0)         1 = use the existing target/release/imgshield
#   VENV (${XDG_CACHE_HOME:-~/.cache}/imgshield/bench-venv)   PILLOW_SPEC (pillow==13.0.0)
#                          NUMPY_SPEC (numpy==2.4.6): Pillow and numpy from PyPI, installed once
#   MAX_SECS (1500)        no further rep starts once the measurements have taken this long
#   PERF (0)               1 = after the table, profile imgshield (perf record, software clock) for
#                          one floor pass and a 64-connection hit run; per-DSO shares are printed
#
# Requires (installed by scripts/install-deps.sh --bench and below): cargo, vips, vipsthumbnail,
# nginx, wrk, curl, taskset, python3 with venv + pip (python3-venv python3-pip on Debian). Traffic
# goes to 127.0.0.1 only; every request loop is bounded in count and every command in time; every
# server is stopped and the temp dir removed on exit.

set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
SCRIPT_NAME=traffic-bench
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
    q_reps=1 q_passes=1 q_blocks=1 q_hit_secs=3 q_hit_reps=1 q_cold=0
else
    q_reps=3 q_passes=3 q_blocks=3 q_hit_secs=10 q_hit_reps=2 q_cold=1
fi
OUT=${OUT:-bench-out}
CORPUS=${CORPUS:-$OUT/corpus-traffic}
CORPUS_SPEC=${CORPUS_SPEC:-"4:6:p 4:12:p 2:18:p 2:16:b"}
REPS=${REPS:-$q_reps}
FLOOR_WMIN=${FLOOR_WIDTH:-${FLOOR_WMIN:-300}}
FLOOR_WMAX=${FLOOR_WIDTH:-${FLOOR_WMAX:-1299}}
BASE_BIN=${BASE_BIN:-}
FLOOR_PASSES=${FLOOR_PASSES:-$q_passes}
FLOOR_CONNS=${FLOOR_CONNS:-8}
SRCSET_WIDTHS=${SRCSET_WIDTHS:-"320 640 960 1280 1920"}
SRCSET_CONNS=${SRCSET_CONNS:-8}
SRCSET_BLOCKS=${SRCSET_BLOCKS:-$q_blocks}
SRCSET_COLD=${SRCSET_COLD:-$q_cold}
SEED=${SEED:-42}
HIT_SECS=${HIT_SECS:-$q_hit_secs}
HIT_REPS=${HIT_REPS:-$q_hit_reps}
HIT_CONNS=${HIT_CONNS:-"8 64"}
QUALITY=${QUALITY:-80}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
SERVER_ARGS=${SERVER_ARGS:-}
SERVER_ENV=${SERVER_ENV:-}
SCENARIOS=${SCENARIOS:-"floor srcset hits"}
SKIP_BUILD=${SKIP_BUILD:-0}
VENV=${VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/imgshield/bench-venv}
PILLOW_SPEC=${PILLOW_SPEC:-pillow==13.0.0}
NUMPY_SPEC=${NUMPY_SPEC:-numpy==2.4.6}
MAX_SECS=${MAX_SECS:-1500}
PERF=${PERF:-0}
MEM_INTERVAL=${MEM_INTERVAL:-0.1}

int_in REPS "$REPS" 1 20
int_in FLOOR_WMIN "$FLOOR_WMIN" 16 4096
int_in FLOOR_WMAX "$FLOOR_WMAX" "$FLOOR_WMIN" 4096
int_in SRCSET_BLOCKS "$SRCSET_BLOCKS" 1 20
[ -z "$BASE_BIN" ] || [ -x "$BASE_BIN" ] || die "BASE_BIN ($BASE_BIN) is not an executable"
int_in FLOOR_PASSES "$FLOOR_PASSES" 1 20
int_in FLOOR_CONNS "$FLOOR_CONNS" 1 256
int_in SRCSET_CONNS "$SRCSET_CONNS" 1 256
int_in SEED "$SEED" 0 2147483647
int_in HIT_SECS "$HIT_SECS" 1 120
int_in HIT_REPS "$HIT_REPS" 1 10
int_in QUALITY "$QUALITY" 1 100
int_in SERVER_CPU "$SERVER_CPU" 0 4095
int_in CLIENT_CPU "$CLIENT_CPU" 0 4095
int_in MAX_SECS "$MAX_SECS" 60 7200
[[ "$MEM_INTERVAL" =~ ^(0?[.][0-9]+|[1-9][0-9]*([.][0-9]+)?)$ ]] || die "MEM_INTERVAL must be a number of seconds"
for w in $SRCSET_WIDTHS; do int_in "a srcset width" "$w" 16 4096; done
for c in $HIT_CONNS; do int_in "a hit connection count" "$c" 1 1024; done
for s in $SCENARIOS; do
    case "$s" in floor | srcset | hits) ;; *) die "unknown scenario '$s' (floor, srcset, hits)" ;; esac
done
wants() { [[ " $SCENARIOS " == *" $1 "* ]]; }
read -ra server_args <<<"$SERVER_ARGS"
read -ra server_env <<<"$SERVER_ENV"
read -ra srcset_widths <<<"$SRCSET_WIDTHS"
read -ra hit_conns <<<"$HIT_CONNS"

# ---------------------------------------------------------------- tools

"$root/scripts/install-deps.sh" --bench
require_tools "" cargo vips vipsheader vipsthumbnail nginx wrk curl taskset timeout python3
check_cpus "servers and load generators"
check_perf

# Pillow (with its bundled libjpeg-turbo) and numpy from PyPI, in a venv reused across runs.
py="$VENV/bin/python"
venv_ok() { [ -x "$py" ] && "$py" -c 'import PIL, numpy' 2>/dev/null; }
if ! venv_ok || [ "$("$py" -c 'import PIL; print(PIL.__version__)')" != "${PILLOW_SPEC##*==}" ]; then
    log "Python venv for the Pillow reference: $VENV ($PILLOW_SPEC, $NUMPY_SPEC)"
    if ! python3 -m venv "$VENV" 2>/dev/null || [ ! -x "$VENV/bin/pip" ]; then
        # Debian's python3 needs python3-venv (ensurepip) and python3-pip; install them like
        # scripts/install-deps.sh does: only when missing.
        rm -rf "$VENV"
        missing=()
        for pkg in python3-venv python3-pip; do
            dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
        done
        if [ "${#missing[@]}" -gt 0 ]; then
            sudo=""
            [ "$(id -u)" -eq 0 ] || sudo=sudo
            log "installing: ${missing[*]}"
            DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq
            DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
        fi
        python3 -m venv "$VENV" || die "python3 -m venv $VENV failed"
    fi
    timeout 600 "$VENV/bin/pip" install -q --disable-pip-version-check "$PILLOW_SPEC" "$NUMPY_SPEC" ||
        die "pip install $PILLOW_SPEC $NUMPY_SPEC failed"
    venv_ok || die "the venv at $VENV cannot import PIL and numpy"
fi
tb="$root/scripts/traffic_bench.py"

# ---------------------------------------------------------------- build, corpus, work space

build_release 1800 "build it, or drop SKIP_BUILD=1"
bin=$(abs_path "$bin")

files=()
for spec in $CORPUS_SPEC; do
    IFS=: read -r n mp kind <<<"$spec"
    int_in "a CORPUS_SPEC count" "${n:-x}" 1 64
    [[ "${mp:-x}" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "CORPUS_SPEC entry '$spec': MP must be a number"
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
paths=()
for n in "${names[@]}"; do paths+=("$corpus_abs/$n"); done
# A small image, not part of the corpus, for each fresh server's first request and for timing
# vipsthumbnail's start-up.
warm="$corpus_abs/warmup-256.jpg"
[ -s "$warm" ] || vips thumbnail "${paths[0]}" "${warm}[Q=80,strip]" 256 || die "making $warm failed"
cat "${paths[@]}" >/dev/null # page cache: every contender reads warm files

stamp=$(date +%Y%m%d-%H%M%S)
raw="$OUT/raw/traffic-$stamp"
mkdir -p "$raw"
raw=$(cd "$raw" && pwd)
report="$OUT/traffic-bench-$stamp.md"
work=$(mktemp -d "${TMPDIR:-/tmp}/traffic-bench.XXXXXX")
# nginx's worker runs as nobody when started by root: it must be able to read the static files.
chmod 755 "$work"
src_dir="$work/src" # what the servers serve: byte-distinct copies of the corpus, made per pass
mkdir -p "$src_dir"
cp "$warm" "$src_dir/"

srv_pid="" srv_label="" ngx_pid="" perf_pid="" mem_pid=""
cleanup() {
    stop_pid "$perf_pid" INT
    stop_pid "$mem_pid" TERM
    stop_pid "$srv_pid" TERM
    stop_pid "$ngx_pid" QUIT
    rm -rf "$work"
}
trap_cleanup

# ---------------------------------------------------------------- helpers

jv() { # FILE KEY: a top-level field of a one-line JSON file
    python3 -c 'import json, sys; v = json.load(open(sys.argv[1]))[sys.argv[2]]; print(json.dumps(v) if isinstance(v, (dict, list)) else v)' "$1" "$2"
}
vmhwm() { status_kib "$1" VmHWM 2>/dev/null || echo 0; } # PID -> its peak RSS in kB (0 if it is gone)
tck=$(getconf CLK_TCK)
pct_of() { # FILE P: nearest-rank percentile of the numbers in FILE (one per line)
    sort -g "$1" | awk -v p="$2" '{ v[NR] = $1 } END { if (!NR) { print 0; exit } r = int(p / 100 * NR); if (r < p / 100 * NR) r++; if (r < 1) r = 1; print v[r] }'
}
better() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(b == "" || a > b) }'; } # is A > B (or B unset)?
over_time() { [ "$SECONDS" -ge "$MAX_SECS" ] && log "MAX_SECS ($MAX_SECS) reached: no further reps of $1" && return 0; return 1; }

srv_url=""
start_imgshield() { # LABEL [FLAGS...]: a fresh server on SERVER_CPU, warmed with one small request
    local label=$1
    shift
    local out="$raw/server-$label.stdout" err="$raw/server-$label.stderr"
    srv_label=$label
    # env and taskset exec, so $! is the server's own pid (the one /proc/PID/status describes).
    env RUST_LOG=warn "${server_env[@]}" taskset -c "$SERVER_CPU" "${srv_bin:-$bin}" --root "$src_dir" \
        --listen 127.0.0.1:0 "${server_args[@]}" "$@" >"$out" 2>"$err" &
    srv_pid=$!
    await_url "imgshield ($label)" "$srv_pid" "$out" "$err"
    srv_url=$found
    srv_idle=$(status_kib "$srv_pid" VmRSS 2>/dev/null || echo 0) # kB, started and not yet asked anything
    curl -fs --max-time 30 -o /dev/null "$srv_url/resize?src=warmup-256.jpg&w=128" ||
        die "imgshield ($label) did not answer the warm-up request"
}
stop_imgshield() { # keeps a /metrics snapshot in raw/ (cache sizes, derivative-cache hits), then stops it
    curl -fs --max-time 5 -o "$raw/metrics-$srv_label.txt" "$srv_url/metrics" || true
    stop_var srv_pid
}
# decodes_fetches METRICS-FILE SOURCES -> "D F": JPEG decodes (derivative-cache misses, first sights
# and bypasses; every transform without the derivative cache) and source reads or origin fetches
# (not source-cache copies), per source, the warm-up request's excluded
decodes_fetches() {
    awk -v n="$2" '
        /^imgshield_derivative_cache_lookups_total\{/ && /result="(miss|first|bypass)"/ { d += $NF; dc = 1 }
        /^imgshield_transform_duration_seconds_count\{/ { t += $NF }
        /^imgshield_origin_fetch_duration_seconds_count\{/ { f += $NF }
        END { if (!dc) d = t; printf "%.2f %.2f\n", (d - 1) / n, (f - 1) / n }' "$1"
}

# Working memory (#15): the sampler runs beside one pass of the running server; per KEY the pass
# with the highest peak of RSS minus the caches' bytes is kept (mem_peak, its JSON in mem_json),
# and the highest idle RSS after start-up (idle_mib).
declare -A mem_peak mem_json idle_mib
mem_label=""
mem_start() { # LABEL: scripts/rss_sampler.py on CLIENT_CPU -> $raw/mem-LABEL.json (and .tsv, every sample)
    mem_label=$1
    timeout 1000 taskset -c "$CLIENT_CPU" python3 "$root/scripts/rss_sampler.py" --pid "$srv_pid" \
        --port "${srv_url##*:}" --interval "$MEM_INTERVAL" --max-secs 900 --samples "$raw/mem-$1.tsv" \
        >"$raw/mem-$1.json" 2>>"$raw/rss_sampler.stderr" &
    mem_pid=$!
}
mem_stop() { # KEY: stops the sampler and keeps its pass for KEY if it had the highest working memory
    local j="$raw/mem-$mem_label.json" w idle
    stop_var mem_pid TERM
    idle=$(calc "%.1f" "$srv_idle / 1024")
    if better "$idle" "${idle_mib[$1]:-}"; then idle_mib[$1]=$idle; fi
    w=$(jv "$j" peak_working_mib 2>/dev/null) || w=""
    if [ -z "$w" ] || [ "$w" = None ]; then
        log "warning: no working-memory samples ($mem_label; see $raw/rss_sampler.stderr)"
        return 0
    fi
    if better "$w" "${mem_peak[$1]:-}"; then mem_peak[$1]=$w mem_json[$1]=$j; fi
}
mem_line() { # KEY WHO: one line on KEY's working memory and its parts at the peak
    [ -n "${mem_peak[$1]:-}" ] || return 0
    python3 - "${mem_json[$1]}" "$2" "${idle_mib[$1]:-?}" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
p = d["at_peak"]
print(f"- {sys.argv[2]}: working memory **{d['peak_working_mib']} MiB** (raw peak RSS {d['hwm_mib']} MiB, "
      f"sampled {d['peak_rss_mib']} MiB; at the working peak RSS {p['rss']} MiB, of it cached: results "
      f"{p['result']}, sources {p['source']}, decodes {p['derivative']} MiB; memory budget in use "
      f"{p['budget']} MiB); idle after start-up {sys.argv[3]} MiB; {d['samples']} samples.")
PY
}

client() { # LABEL URLFILE CONNS [--save DIR]: the Python client on CLIENT_CPU -> $raw/LABEL.json
    local label=$1 urls=$2 conns=$3
    shift 3
    timeout 900 taskset -c "$CLIENT_CPU" "$py" "$tb" client --port "${srv_url##*:}" --conns "$conns" \
        --urls "$urls" --latencies "$raw/$label.lat" --max-secs 600 "$@" >"$raw/$label.json" ||
        { cat "$raw/$label.json" >&2; die "the client failed ($label)"; }
}

# wrk output -> values (more in lib.sh)
wrk_ms() { # FILE P: a latency percentile from --latency, in ms
    awk -v p="$2%" '$1 == p { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
        f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : 1
        printf "%.2f", v * f }' "$1"
}

# ---------------------------------------------------------------- work lists

# plan KIND TAG PREFIX SEED [WIDTH...]: byte-distinct copies of the corpus tagged TAG in $src_dir,
# and PREFIX.urls / PREFIX.pairs for them (traffic_bench.py plan); floor without WIDTHs draws each
# request's width from FLOOR_WMIN-FLOOR_WMAX.
plan() {
    local kind=$1 tag=$2 prefix=$3 seed=$4
    shift 4
    local widths=("--wmin" "$FLOOR_WMIN" "--wmax" "$FLOOR_WMAX")
    [ "$#" -eq 0 ] || widths=(--widths "$*")
    "$py" "$tb" plan --kind "$kind" --src-dir "$src_dir" --tag "$tag" --prefix "$prefix" --seed "$seed" \
        --quality "$QUALITY" "${widths[@]}" "${paths[@]}" >/dev/null || die "making the $tag copies failed"
}
drop_copies() { rm -f "$src_dir"/*."$1".jpg; } # TAG: removes one pass's copies
n_src=${#names[@]}
srcset_n=$(( n_src * ${#srcset_widths[@]} * SRCSET_BLOCKS ))

# vipsthumbnail's own start-up (process, libvips init, modules) on the small warm-up JPEG: wall and
# CPU time, median of 5; subtracted once per vipsthumbnail process below.
mkdir -p "$work/startup"
for i in 1 2 3 4 5; do
    timeout 60 taskset -c "$SERVER_CPU" "$py" "$tb" run -- vipsthumbnail "$warm" -s 32 -o "$work/startup/%s.jpg" \
        >"$work/startup/$i.json" || die "vipsthumbnail failed on $warm"
done
median_of() { for i in 1 2 3 4 5; do jv "$work/startup/$i.json" "$1"; done | sort -g | sed -n 3p; }
startup=$(median_of seconds)
startup_cpu=$(median_of cpu_s)
log "vipsthumbnail start-up: $(calc "%.0f" "1000 * $startup") ms wall, $(calc "%.0f" "1000 * $startup_cpu") ms CPU (median of 5)"

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
SECONDS=0

# vips_run LABEL OUTDIR WIDTH FILES...: one vipsthumbnail process on SERVER_CPU -> $raw/LABEL.json
vips_run() {
    local label=$1 dir=$2 width=$3
    shift 3
    mkdir -p "$dir"
    timeout 900 taskset -c "$SERVER_CPU" "$py" "$tb" run -- vipsthumbnail "$@" -s "${width}x" \
        -o "$dir/%s-$width.jpg[Q=$QUALITY,strip]" >"$raw/$label.json" 2>>"$raw/vipsthumbnail.stderr" ||
        die "vipsthumbnail failed ($label; see $raw/vipsthumbnail.stderr)"
}
pillow_run() { # LABEL PAIRS OUTDIR -> $raw/LABEL.json
    timeout 900 taskset -c "$SERVER_CPU" "$py" "$tb" pillow --pairs "$2" --quality "$QUALITY" --out "$3" \
        >"$raw/$1.json" || die "the Pillow loop failed ($1)"
}

# Results, per contender KEY: the rep with the best wall-clock rate gives rate, share (of the
# core's time the contender got: CPU seconds / wall seconds), p50, p99; the best rate per
# CPU-second is kept separately (on a shared machine it is the steadier measure); peak RSS is the
# maximum over all reps.
declare -A rate share p50 p99 crate rss
record() { # KEY RATE CPU_RATE SHARE RSS_MIB P50_MS P99_MS
    local k=$1
    if better "$2" "${rate[$k]:-}"; then
        rate[$k]=$2 share[$k]=$4 p50[$k]=$6 p99[$k]=$7
    fi
    if better "$3" "${crate[$k]:-}"; then crate[$k]=$3; fi
    if better "$5" "${rss[$k]:-}"; then rss[$k]=$5; fi
}
# ref_record KEY JSON IMAGES [PROCESSES]: a reference run (vipsthumbnail through `run`, or Pillow)
ref_record() {
    local k=$1 j=$2 n=$3 procs=${4:-0} secs cpu
    secs=$(calc "%.4f" "$(jv "$j" seconds) - $procs * $startup")
    cpu=$(calc "%.4f" "$(jv "$j" cpu_s) - $procs * $startup_cpu")
    record "$k" "$(calc "%.3f" "$n / $secs")" "$(calc "%.3f" "$n / $cpu")" "$(calc "%.0f" "100 * $cpu / $secs")" \
        "$(jv "$j" maxrss_mib)" "$(jv "$j" p50_ms 2>/dev/null || true)" "$(jv "$j" p99_ms 2>/dev/null || true)"
}
srv_cpu() { calc "%.3f" "$(cpu_ticks "$1") / $tck"; } # CPU seconds of a process so far
ref_rates() { # JSON IMAGES PROCESSES -> "wall (per CPU-s)" for a log line
    calc "%.2f (%.2f)" "$2 / ($(jv "$1" seconds) - $3 * $startup), $2 / ($(jv "$1" cpu_s) - $3 * $startup_cpu)"
}

# ---------------------------------------------------------------- 1. floor

if wants floor; then
    for ((r = 1; r <= REPS; r++)); do
        [ "$r" -eq 1 ] || ! over_time floor || break
        # This rep's byte-distinct copies, one set per pass, each copy at its own width.
        : >"$work/floor-$r.pairs"
        for ((p = 1; p <= FLOOR_PASSES; p++)); do
            plan floor "f$r-$p" "$work/floor-$r-$p" $(( SEED + 1000 * r + p ))
            cat "$work/floor-$r-$p.pairs" >>"$work/floor-$r.pairs"
        done
        floor_n=$(wc -l <"$work/floor-$r.pairs")
        log "1. floor, rep $r/$REPS: vipsthumbnail, Pillow, imgshield ($floor_n distinct images, w=$FLOOR_WMIN-$FLOOR_WMAX)"
        # vipsthumbnail: one process per image (each has its own width), start-ups subtracted.
        mkdir -p "$work/vips-floor"
        awk -F'\t' -v d="$work/vips-floor" -v q="$QUALITY" \
            '{ printf "%s\t-s\t%sx\t-o\t%s/%%s-%s.jpg[Q=%s,strip]\n", $1, $2, d, $2, q }' \
            "$work/floor-$r.pairs" >"$work/floor-$r.vips"
        timeout 900 taskset -c "$SERVER_CPU" "$py" "$tb" run --each "$work/floor-$r.vips" -- vipsthumbnail \
            >"$raw/floor-vips-$r.json" 2>>"$raw/vipsthumbnail.stderr" || die "vipsthumbnail failed (floor rep $r)"
        ref_record floor-vips "$raw/floor-vips-$r.json" "$floor_n" "$floor_n"

        pillow_run "floor-pillow-$r" "$work/floor-$r.pairs" "$work/pillow-floor"
        ref_record floor-pillow "$raw/floor-pillow-$r.json" "$floor_n"

        # imgshield: a fresh server per pass, each copy once.
        total=0 secs=0 cpu=0 hwm_max=0 lat="$raw/floor-imgshield-$r.lat"
        : >"$lat"
        for ((p = 1; p <= FLOOR_PASSES; p++)); do
            start_imgshield "floor-$r-$p"
            save=()
            if [ "$r" -eq 1 ] && [ "$p" -eq 1 ]; then save=(--save "$work/shield-floor"); fi
            c0=$(srv_cpu "$srv_pid")
            mem_start "floor-$r-$p"
            client "floor-imgshield-$r-$p" "$work/floor-$r-$p.urls" "$FLOOR_CONNS" "${save[@]}"
            c1=$(srv_cpu "$srv_pid")
            mem_stop floor-shield
            [ "$r$p" != 11 ] || cpu11=$(calc "%.4f" "$c1 - $c0") # BASE_BIN runs the same requests
            cat "$raw/floor-imgshield-$r-$p.lat" >>"$lat"
            hwm=$(vmhwm "$srv_pid")
            [ "$hwm" -le "$hwm_max" ] || hwm_max=$hwm
            hits=$(metric "$srv_url" 'imgshield_cache_lookups_total{result="hit"}')
            [ "$hits" = 0 ] || log "warning: $hits result-cache hits in a floor pass (expected 0)"
            stop_imgshield
            total=$(( total + $(jv "$raw/floor-imgshield-$r-$p.json" requests) ))
            secs=$(calc "%.4f" "$secs + $(jv "$raw/floor-imgshield-$r-$p.json" seconds)")
            cpu=$(calc "%.4f" "$cpu + $c1 - $c0")
        done
        record floor-shield "$(calc "%.3f" "$total / $secs")" "$(calc "%.3f" "$total / $cpu")" \
            "$(calc "%.0f" "100 * $cpu / $secs")" "$(calc "%.0f" "$hwm_max / 1024")" \
            "$(pct_of "$lat" 50)" "$(pct_of "$lat" 99)"
        log "1. rep $r: images/s (per CPU-s): vipsthumbnail $(ref_rates "$raw/floor-vips-$r.json" "$floor_n" "$floor_n")," \
            "Pillow $(ref_rates "$raw/floor-pillow-$r.json" "$floor_n" 0), imgshield $(calc "%.2f (%.2f)" "$total / $secs, $total / $cpu")"
        # Keep the first pass of the first rep (the quality check reads it), drop the rest.
        for ((p = 1; p <= FLOOR_PASSES; p++)); do
            [ "$r$p" = 11 ] || drop_copies "f$r-$p"
        done
    done

    # Quality, on the first pass of rep 1: imgshield's and Pillow's outputs against libvips'
    # full-decode Lanczos (thumbnail_image: the whole image decoded, then thumbnail's resize), and
    # imgshield's against BASE_BIN's (today's path) when given.
    mkdir -p "$work/full-floor"
    while IFS=$'\t' read -r src w out; do
        timeout 120 vips thumbnail_image "$src" "$work/full-floor/${out}[Q=$QUALITY,strip]" "$w" ||
            die "vips thumbnail_image failed on $src"
    done <"$work/floor-1-1.pairs"
    ssim_of() { # WHO DIR REF -> min SSIM of DIR's outputs of the first pass against REF's ($raw/ssim-WHO.json)
        awk -F'\t' -v a="$2" -v b="$3" '{ printf "%s/%s\t%s/%s\t%s\n", a, $3, b, $3, $3 }' \
            "$work/floor-1-1.pairs" >"$work/ssim-$1.pairs"
        "$py" "$tb" ssim --pairs "$work/ssim-$1.pairs" >"$raw/ssim-$1.json" ||
            log "warning: SSIM ($1) failed: $(cat "$raw/ssim-$1.json")"
        jv "$raw/ssim-$1.json" min
    }
    ssim_shield=$(ssim_of imgshield "$work/shield-floor" "$work/full-floor")
    ssim_pil=$(ssim_of pillow "$work/pillow-floor" "$work/full-floor")
    ssim_vips=$(ssim_of vipsthumbnail "$work/vips-floor" "$work/full-floor")
    ssim_base=""
    if [ -n "$BASE_BIN" ]; then
        srv_bin=$(abs_path "$BASE_BIN")
        start_imgshield floor-base
        c0=$(srv_cpu "$srv_pid")
        mem_start floor-base
        client floor-base "$work/floor-1-1.urls" "$FLOOR_CONNS" --save "$work/base-floor"
        c1=$(srv_cpu "$srv_pid")
        mem_stop floor-base
        stop_imgshield
        n11=$(jv "$raw/floor-base.json" requests)
        base_ab="$(calc "%.2f" "$n11 / ($c1 - $c0)") images per CPU-second; imgshield $(calc "%.2f" "$n11 / $cpu11") on the same requests in pass 1 ($(calc "%.2f" "($c1 - $c0) / $cpu11")x BASE_BIN's)"
        srv_bin=""
        ssim_base=$(ssim_of base "$work/shield-floor" "$work/base-floor")
    fi
    drop_copies f1-1
fi

# ---------------------------------------------------------------- 2. srcset

# srcset_shield KEY LABEL URLS [FLAGS...]: one fresh server, the shuffled pairs once; sets df to
# "decodes fetches" per source (decodes_fetches) and dhits to the derivative-cache hits
srcset_shield() {
    local k=$1 label=$2 urls=$3 c0 c1 hwm j
    shift 3
    start_imgshield "$label" "$@"
    c0=$(srv_cpu "$srv_pid")
    local save=()
    [ "${srcset_save:-}" = "" ] || save=(--save "$srcset_save")
    mem_start "$label"
    client "$label" "$urls" "$SRCSET_CONNS" "${save[@]}"
    c1=$(srv_cpu "$srv_pid")
    mem_stop "$k"
    hwm=$(vmhwm "$srv_pid")
    dhits=$(metric "$srv_url" 'imgshield_derivative_cache_lookups_total{result="hit"}')
    dhits=$(( dhits + $(metric "$srv_url" 'imgshield_derivative_cache_lookups_total{result="derived"}') ))
    stop_imgshield
    df=$(decodes_fetches "$raw/metrics-$label.txt" $(( n_src * SRCSET_BLOCKS )))
    j="$raw/$label.json"
    record "$k" "$(jv "$j" rps)" "$(calc "%.3f" "$srcset_n / ($c1 - $c0)")" \
        "$(calc "%.0f" "100 * ($c1 - $c0) / $(jv "$j" seconds)")" "$(calc "%.0f" "$hwm / 1024")" \
        "$(jv "$j" p50_ms)" "$(jv "$j" p99_ms)"
}

if wants srcset; then
    dhits_best="" ssim_srcset=""
    for ((r = 1; r <= REPS; r++)); do
        [ "$r" -eq 1 ] || ! over_time srcset || break
        # SRCSET_BLOCKS blocks, each a new set of copies at every width, shuffled within the block.
        : >"$work/srcset-$r.urls"
        : >"$work/srcset-$r.pairs"
        for ((b = 1; b <= SRCSET_BLOCKS; b++)); do
            plan srcset "s$r-$b" "$work/srcset-$r-$b" $(( SEED + 1000 * r + b )) "${srcset_widths[@]}"
            cat "$work/srcset-$r-$b.urls" >>"$work/srcset-$r.urls"
            cat "$work/srcset-$r-$b.pairs" >>"$work/srcset-$r.pairs"
        done
        log "2. srcset, rep $r/$REPS: $srcset_n (source, width) pairs in $SRCSET_BLOCKS block(s)"
        # vipsthumbnail: one process per width over every copy; the sums make one "run".
        secs=0 cpu=0 vrss=0
        for w in "${srcset_widths[@]}"; do
            mapfile -t srcs < <(awk -F'\t' -v w="$w" '$2 == w { print $1 }' "$work/srcset-$r.pairs")
            vips_run "srcset-vips-$r-w$w" "$work/vips-srcset" "$w" "${srcs[@]}"
            secs=$(calc "%.4f" "$secs + $(jv "$raw/srcset-vips-$r-w$w.json" seconds)")
            cpu=$(calc "%.4f" "$cpu + $(jv "$raw/srcset-vips-$r-w$w.json" cpu_s)")
            vrss=$(calc "%.1f" "($(jv "$raw/srcset-vips-$r-w$w.json" maxrss_mib) > $vrss) ? $(jv "$raw/srcset-vips-$r-w$w.json" maxrss_mib) : $vrss")
        done
        printf '{"seconds": %s, "cpu_s": %s, "maxrss_mib": %s}\n' "$secs" "$cpu" "$vrss" >"$raw/srcset-vips-$r.json"
        ref_record srcset-vips "$raw/srcset-vips-$r.json" "$srcset_n" "${#srcset_widths[@]}"

        pillow_run "srcset-pillow-$r" "$work/srcset-$r.pairs" "$work/pillow-srcset"
        ref_record srcset-pillow "$raw/srcset-pillow-$r.json" "$srcset_n"

        srcset_save=""
        [ "$r" -gt 1 ] || [ "$SRCSET_COLD" != 1 ] || srcset_save="$work/shield-srcset"
        srcset_shield srcset-shield "srcset-imgshield-$r" "$work/srcset-$r.urls"
        if better "$(jv "$raw/srcset-imgshield-$r.json" rps)" "${best_srcset_rps:-}"; then
            best_srcset_rps=$(jv "$raw/srcset-imgshield-$r.json" rps)
            dhits_best=$dhits df_best=$df
        fi
        line="2. rep $r: images/s (per CPU-s): vipsthumbnail $(ref_rates "$raw/srcset-vips-$r.json" "$srcset_n" "${#srcset_widths[@]}"), Pillow $(ref_rates "$raw/srcset-pillow-$r.json" "$srcset_n" 0), imgshield $(jv "$raw/srcset-imgshield-$r.json" rps) ($dhits derivative-cache hits; decodes, fetches per source: $df)"
        if [ "$SRCSET_COLD" = 1 ]; then
            [ -z "$srcset_save" ] || srcset_save="$work/cold-srcset"
            srcset_shield srcset-cold "srcset-cold-$r" "$work/srcset-$r.urls" --derivative-cache-bytes 0
            df_cold=$df
            line="$line, cold $(jv "$raw/srcset-cold-$r.json" rps) (decodes, fetches per source: $df)"
        fi
        srcset_save=""
        if [ -n "$BASE_BIN" ]; then
            srv_bin=$(abs_path "$BASE_BIN")
            srcset_shield srcset-base "srcset-base-$r" "$work/srcset-$r.urls"
            srv_bin="" df_base=$df
            line="$line, BASE_BIN $(jv "$raw/srcset-base-$r.json" rps) (decodes, fetches per source: $df)"
        fi
        log "$line"
        for ((b = 1; b <= SRCSET_BLOCKS; b++)); do drop_copies "s$r-$b"; done
    done
    # Quality: every srcset output of rep 1 against the cold transform of the same width.
    if [ "$SRCSET_COLD" = 1 ]; then
        awk -F'\t' -v a="$work/shield-srcset" -v b="$work/cold-srcset" '{ printf "%s/%s\t%s/%s\t%s\n", a, $3, b, $3, $3 }' \
            "$work/srcset-1.pairs" >"$work/ssim-srcset.pairs"
        "$py" "$tb" ssim --pairs "$work/ssim-srcset.pairs" >"$raw/ssim-srcset.json" ||
            log "warning: SSIM (srcset) failed: $(cat "$raw/ssim-srcset.json")"
        ssim_srcset=$(jv "$raw/ssim-srcset.json" min)
    fi
fi

# ---------------------------------------------------------------- 3. hits

if wants hits; then
    lua="$raw/urls.lua"
    cat >"$lua" <<'LUA'
-- Cycles through the paths given after `--`, one request each in turn. The requests are built once
-- in init(); there is no response() callback, so wrk's own counting stays as cheap as without Lua.
local reqs, i = {}, 0
function init(args)
  for _, p in ipairs(args) do reqs[#reqs + 1] = wrk.format("GET", p) end
end
function request()
  i = i % #reqs + 1
  return reqs[i]
end
LUA
    # One set of copies at w=640 (the floor's width before #15), each URL a cache hit once warmed.
    plan floor h "$work/hits" "$SEED" 640
    floor_urls="$work/hits.urls"
    hit_paths=() hit_names=()
    while IFS=$'\t' read -r path out; do hit_paths+=("$path") hit_names+=("$out"); done <"$floor_urls"

    start_imgshield hits
    shield_pid=$srv_pid shield_url=$srv_url
    # Warm: every URL once (misses, saving the bytes for nginx), then once more: all must be hits.
    client hits-warm "$floor_urls" 2 --save "$work/static"
    client hits-check "$floor_urls" 2
    [ "$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["x_cache"].get("HIT", 0))' "$raw/hits-check.json")" = "${#names[@]}" ] ||
        die "the warmed URLs are not all cache hits: $(jv "$raw/hits-check.json" x_cache)"
    misses_warm=$(metric "$shield_url" 'imgshield_cache_lookups_total{result="miss"}')
    hit_bytes=$(cat "$work/static"/*.jpg | wc -c)

    # nginx: the same bytes as static files, one worker, on the server's core.
    mkdir -p "$work/nginx/tmp"
    ngx_port=$(free_port)
    cat >"$work/nginx/nginx.conf" <<NGINX
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    open_file_cache max=1000 inactive=60s;
    types { image/jpeg jpg; }
$(nginx_temp_paths "$work/nginx/tmp")
    server {
        listen 127.0.0.1:$ngx_port;
        root $work/static;
    }
}
NGINX
    cp "$work/nginx/nginx.conf" "$raw/nginx.conf"
    chmod -R a+rX "$work/static"
    chmod -R a+rwX "$work/nginx/tmp"
    taskset -c "$SERVER_CPU" nginx -p "$work/nginx/" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" \
        2>"$raw/nginx.stderr" &
    ngx_pid=$!
    ngx_url="http://127.0.0.1:$ngx_port"
    for _ in $(seq 1 50); do
        curl -fs --max-time 2 -o /dev/null "$ngx_url/${hit_names[0]}" && break
        kill -0 "$ngx_pid" 2>/dev/null || { cat "$raw/nginx.stderr" "$work/nginx/error.log" >&2 2>/dev/null; die "nginx exited"; }
        sleep 0.1
    done
    curl -fs --max-time 2 -o "$work/ngx-check.jpg" "$ngx_url/${hit_names[0]}" || die "nginx does not serve the static files"
    cmp -s "$work/ngx-check.jpg" "$work/static/${hit_names[0]}" || die "nginx serves other bytes than imgshield"
    ngx_worker=$(pgrep -P "$ngx_pid" | head -1)
    [ -n "$ngx_worker" ] || die "no nginx worker process"
    ngx_paths=()
    for n in "${hit_names[@]}"; do ngx_paths+=("/$n"); done

    declare -A hit_chk
    hit_run() { # CONTENDER CONNS REP PID URL PATHS...
        local who=$1 c=$2 r=$3 pid=$4 url=$5
        shift 5
        local f="$raw/wrk-$who-c$c-$r.txt" c0 c1 t0 t1 rps cpu
        c0=$(srv_cpu "$pid")
        t0=$(now)
        timeout $(( HIT_SECS + 30 )) taskset -c "$CLIENT_CPU" wrk -t1 -c"$c" -d"${HIT_SECS}s" --latency \
            -s "$lua" "$url" -- "$@" >"$f" || die "wrk failed ($who, c=$c)"
        t1=$(now)
        c1=$(srv_cpu "$pid")
        rps=$(wrk_rps "$f")
        cpu=$(calc "%.3f" "$c1 - $c0")
        # wrk's rate is requests over its own duration; the CPU rate uses the requests wrk counted.
        record "hits-$who-$c" "$rps" "$(calc "%.1f" "$(wrk_total "$f") / $cpu")" \
            "$(calc "%.0f" "100 * $cpu / ($t1 - $t0)")" 0 "$(wrk_ms "$f" 50)" "$(wrk_ms "$f" 99)"
        hit_chk[$who$c]="$(wrk_non2xx "$f") non-2xx, socket errors: $(wrk_errors "$f")"
        log "3. $who c=$c rep $r: $rps req/s, p99 $(wrk_ms "$f" 99) ms, server CPU $(calc "%.0f" "100 * $cpu / ($t1 - $t0)")%"
    }
    for c in "${hit_conns[@]}"; do
        for ((r = 1; r <= HIT_REPS; r++)); do
            [ "$r" -eq 1 ] || ! over_time hits || break
            hit_run imgshield "$c" "$r" "$shield_pid" "$shield_url" "${hit_paths[@]}"
            hit_run nginx "$c" "$r" "$ngx_worker" "$ngx_url" "${ngx_paths[@]}"
        done
    done
    misses_after=$(metric "$shield_url" 'imgshield_cache_lookups_total{result="miss"}')
    [ "$misses_after" = "$misses_warm" ] ||
        log "warning: $(( misses_after - misses_warm )) result-cache misses during the hit runs (expected 0)"
    h_shield_rss=$(calc "%.0f" "$(vmhwm "$shield_pid") / 1024")
    h_ngx_rss=$(calc "%.0f" "$(vmhwm "$ngx_worker") / 1024")
    h_ngx_master_rss=$(calc "%.0f" "$(vmhwm "$ngx_pid") / 1024")
    stop_imgshield
    stop_var ngx_pid QUIT
fi

measure_secs=$SECONDS
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- summary

x() { calc "%.2f" "$1 / $2"; }
num() { awk -v v="$1" 'BEGIN { if (v >= 100) printf "%.0f", v; else if (v >= 10) printf "%.1f", v; else printf "%.2f", v }'; }
ms() { [ -n "$1" ] && echo "$(num "$1") ms" || echo "-"; }
verdict() { # VALUE OP TARGET -> "yes" or "**no** (N% short)"
    awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
        ok = (op == ">=") ? v >= t : (op == "<=") ? v <= t : (op == "<") ? v < t : 0
        if (ok) { print "yes"; exit }
        if (op == ">=") printf "**no** (%.0f%% short)\n", 100 * (1 - v / t)
        else printf "**no** (%.0f%% over)\n", 100 * (v / t - 1) }'
}
# row SCENARIO CONTENDER KEY RSS RATIO CPU_RATIO TARGET MET
row() {
    local k=$3
    printf '| %s | %s | %s | %s | %s | %s | %s%% | %s | %s | %s | %s | %s |\n' "$1" "$2" \
        "$(num "${rate[$k]}")" "$(ms "${p50[$k]}")" "$(ms "${p99[$k]}")" "$4" \
        "${share[$k]}" "$(num "${crate[$k]}")" "$5" "$6" "$7" "$8"
}
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=""
if git status --porcelain -- src sys Cargo.toml Cargo.lock 2>/dev/null | grep -q .; then dirty=" + uncommitted changes in src/"; fi
pil_ver=$("$py" -c 'import PIL; from PIL import features; print(PIL.__version__, "with libjpeg-turbo", features.version("libjpeg_turbo"))')
corpus_desc=$(for f in "${paths[@]}"; do
    d=$(vipsheader "$f" | sed 's/^[^:]*: //; s/ .*//')
    case "$f" in *-p.jpg) k=progressive ;; *) k=baseline ;; esac
    echo "$d $k"
done | sort | uniq -c | awk '{ printf "%s%d x %s %s", (NR > 1 ? ", " : ""), $1, $2, $3 }')
corpus_mib=$(calc "%.1f" "$(cat "${paths[@]}" | wc -c) / 1048576")

{
    echo "## Traffic benchmark $stamp"
    echo
    echo "- $(date -u '+%Y-%m-%d %H:%M UTC'), commit \`$commit\`$dirty; \`$(basename "$bin")\` release build, RUST_LOG=warn${SERVER_ARGS:+, flags \`$SERVER_ARGS\`}${SERVER_ENV:+, env \`$SERVER_ENV\`}, defaults otherwise"
    echo "- Machine: $ncpu CPU(s), $(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo); $(uname -sr); libvips $(vips --version | sed 's/^vips-//'); Pillow $pil_ver; nginx $(nginx -v 2>&1 | sed 's|.*/||'); load average $load_start at the start, $load_end at the end"
    echo "- Servers and references on CPU $SERVER_CPU, load generators on CPU $CLIENT_CPU; best of $REPS rep(s) per contender (hits: of $HIT_REPS); ${measure_secs}s of measurement"
    echo "- Corpus: ${#paths[@]} JPEGs, $corpus_desc ($corpus_mib MiB), \`$CORPUS\`; every request's source a byte-distinct copy (a COM segment per pass); output JPEG Q$QUALITY"
    echo "- Knobs: QUICK=$QUICK REPS=$REPS FLOOR_WMIN=$FLOOR_WMIN FLOOR_WMAX=$FLOOR_WMAX FLOOR_PASSES=$FLOOR_PASSES SRCSET_BLOCKS=$SRCSET_BLOCKS${BASE_BIN:+ BASE_BIN=$BASE_BIN} FLOOR_CONNS=$FLOOR_CONNS SRCSET_CONNS=$SRCSET_CONNS SEED=$SEED HIT_SECS=$HIT_SECS HIT_REPS=$HIT_REPS HIT_CONNS=\"$HIT_CONNS\""
    echo
    echo "| Scenario | Contender | req/s (images/s) | p50 | p99 | peak RSS | CPU share | per CPU-second | ratio vs baseline | ratio per CPU-s | target | met |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
    if wants floor; then
        bk=floor-vips best_name=vipsthumbnail
        if better "${rate[floor-pillow]}" "${rate[floor-vips]}"; then bk=floor-pillow best_name=Pillow; fi
        bck=floor-vips
        if better "${crate[floor-pillow]}" "${crate[floor-vips]}"; then bck=floor-pillow; fi
        fr=$(x "${rate[floor-shield]}" "${rate[$bk]}")
        fcr=$(x "${crate[floor-shield]}" "${crate[$bck]}")
        row "1. floor, w=$FLOOR_WMIN-$FLOOR_WMAX" "vipsthumbnail (one process per image)" floor-vips "${rss[floor-vips]} MiB" \
            "$(x "${rate[floor-vips]}" "${rate[$bk]}")x" "$(x "${crate[floor-vips]}" "${crate[$bck]}")x" "" ""
        row "1. floor" "Pillow (draft + LANCZOS, one process)" floor-pillow "${rss[floor-pillow]} MiB" \
            "$(x "${rate[floor-pillow]}" "${rate[$bk]}")x" "$(x "${crate[floor-pillow]}" "${crate[$bck]}")x" "" ""
        wm=${mem_peak[floor-shield]:-}
        row "1. floor" "**imgshield**, $FLOOR_CONNS conns, fresh server per pass" floor-shield "${rss[floor-shield]} MiB (working: **${wm:-?} MiB**)" \
            "**${fr}x** vs $best_name" "${fcr}x" ">= 1.3x; working memory <= 150 MiB" \
            "$(verdict "$fr" ">=" 1.3) (per CPU-s: $(verdict "$fcr" ">=" 1.3)); working memory: $([ -n "$wm" ] && verdict "$wm" "<=" 150 || echo "not measured")"
        echo "| 1. floor, quality | SSIM vs libvips' full-decode Lanczos, min of $n_src | | | | | | | **${ssim_shield}** imgshield ($ssim_pil Pillow, $ssim_vips vipsthumbnail) | | >= 0.98 | $(verdict "$ssim_shield" ">=" 0.98) |"
        if [ -n "$ssim_base" ]; then
            echo "| 1. floor, quality | SSIM vs BASE_BIN (today's path), min of $n_src | | | | | | | **${ssim_base}** | | >= 0.99 | $(verdict "$ssim_base" ">=" 0.99) |"
        fi
    fi
    if wants srcset; then
        sr=$(x "${rate[srcset-shield]}" "${rate[srcset-vips]}")
        scr=$(x "${crate[srcset-shield]}" "${crate[srcset-vips]}")
        row "2. srcset, $srcset_n pairs" "vipsthumbnail (one process per width)" srcset-vips "${rss[srcset-vips]} MiB" "1.00x" "1.00x" "" ""
        row "2. srcset" "Pillow (same shuffled pairs)" srcset-pillow "${rss[srcset-pillow]} MiB" \
            "$(x "${rate[srcset-pillow]}" "${rate[srcset-vips]}")x" "$(x "${crate[srcset-pillow]}" "${crate[srcset-vips]}")x" "" ""
        if [ -n "${rate[srcset-cold]:-}" ]; then
            row "2. srcset" "imgshield --derivative-cache-bytes 0, $SRCSET_CONNS conns (decodes, fetches per source: ${df_cold// /, })" srcset-cold "${rss[srcset-cold]} MiB" \
                "$(x "${rate[srcset-cold]}" "${rate[srcset-vips]}")x" "$(x "${crate[srcset-cold]}" "${crate[srcset-vips]}")x" "" ""
        fi
        if [ -n "${rate[srcset-base]:-}" ]; then
            row "2. srcset" "BASE_BIN, $SRCSET_CONNS conns (decodes, fetches per source: ${df_base// /, })" srcset-base "${rss[srcset-base]} MiB" \
                "$(x "${rate[srcset-base]}" "${rate[srcset-vips]}")x" "$(x "${crate[srcset-base]}" "${crate[srcset-vips]}")x" "" ""
        fi
        row "2. srcset" "**imgshield**, $SRCSET_CONNS conns ($dhits_best of $srcset_n from the derivative cache; decodes, fetches per source: ${df_best// /, })" srcset-shield \
            "${rss[srcset-shield]} MiB" "**${sr}x** vs vipsthumbnail ($(x "${rate[srcset-shield]}" "${rate[srcset-pillow]}")x vs Pillow)" \
            "${scr}x" ">= 3x" "$(verdict "$sr" ">=" 3) (per CPU-s: $(verdict "$scr" ">=" 3))"
        if [ -n "$ssim_srcset" ]; then
            echo "| 2. srcset, quality | SSIM vs the cold transform of the same width, min of $srcset_n | | | | | | | **${ssim_srcset}** | | >= 0.99 | $(verdict "$ssim_srcset" ">=" 0.99) |"
        fi
    fi
    if wants hits; then
        for c in "${hit_conns[@]}"; do
            hr=$(x "${rate[hits-imgshield-$c]}" "${rate[hits-nginx-$c]}")
            hcr=$(x "${crate[hits-imgshield-$c]}" "${crate[hits-nginx-$c]}")
            tgt="" met=""
            if [ "$c" = 64 ]; then
                tgt=">= 0.8x; p99 < 5 ms"
                met="$(verdict "$hr" ">=" 0.8) (per CPU-s: $(verdict "$hcr" ">=" 0.8)); p99: $(verdict "${p99[hits-imgshield-$c]}" "<" 5)"
            fi
            row "3. hits, $c conns, ${#names[@]} URLs" "nginx, static files, 1 worker" "hits-nginx-$c" "$h_ngx_rss MiB" "1.00x" "1.00x" "" ""
            row "3. hits, $c conns" "**imgshield**" "hits-imgshield-$c" "$h_shield_rss MiB" "**${hr}x** vs nginx" \
                "${hcr}x" "$tgt" "$met"
        done
    fi
    echo
    echo "\"met\" judges the wall-clock ratios, as the issue states its targets, and in brackets the ratios per"
    echo "CPU-second, which a loaded machine disturbs less. \"CPU share\" is the part of"
    echo "CPU $SERVER_CPU's time the contender got (its CPU seconds over wall seconds; below ~95% something else"
    echo "ran on the core or the contender waited); \"per CPU-second\" divides by the contender's own CPU time,"
    echo "the steadier figure on a shared machine. Rates of imgshield exclude its start-up (one warm-up request"
    echo "per fresh server); vipsthumbnail's exclude its start-up per process ($(calc "%.0f" "1000 * $startup") ms wall,"
    echo "$(calc "%.0f" "1000 * $startup_cpu") ms CPU); Pillow is timed in-process. Latencies are client-side; Pillow's are per image."
    if wants floor && [ -s "$raw/metrics-floor-1-1.txt" ]; then
        dmib=$(awk '$1 == "imgshield_derivative_cache_weighted_bytes" { printf "%.0f", $2 / 1048576 }' "$raw/metrics-floor-1-1.txt")
        echo "After a floor pass the derivative cache held ${dmib:-?} MiB (decodes kept for later sizes that no request of this scenario asks for)."
    fi
    if wants hits; then
        echo "Hit bodies: ${#names[@]} responses, $(calc "%.0f" "$hit_bytes / ${#names[@]} / 1024") KiB on average; c64 checks: imgshield ${hit_chk[imgshield64]:-n/a}; nginx ${hit_chk[nginx64]:-n/a}. nginx RSS is its worker's (master: $h_ngx_master_rss MiB)."
    fi
    echo "Raw output (JSON per run, latencies, wrk output, server logs): \`$raw/\`."
    if [ "${#mem_peak[@]}" -gt 0 ]; then
        echo
        echo "Working memory (#15: peak RSS minus what the caches hold, target <= 150 MiB at 8 connections), the"
        echo "pass with the highest of each server, sampled every ${MEM_INTERVAL}s (\`mem-*.json\`, \`mem-*.tsv\` in raw/):"
        mem_line floor-shield "floor, imgshield"
        mem_line floor-base "floor, BASE_BIN (pass 1's requests)"
        mem_line srcset-shield "srcset, imgshield"
        mem_line srcset-cold "srcset, imgshield --derivative-cache-bytes 0"
        mem_line srcset-base "srcset, BASE_BIN"
        [ -z "${base_ab:-}" ] || echo "- Floor CPU, BASE_BIN on pass 1's requests: $base_ab."
    fi
} | tee "$report"
log "summary written to $report"

# ---------------------------------------------------------------- optional profiles

if [ "$PERF" = 1 ]; then
    perf_dso() { # DATA LABEL
        perf report -i "$1" --no-children -g none --sort dso --stdio 2>/dev/null | grep '%' | head -12 >"$raw/perf-$2-dso.txt" || true
        perf report -i "$1" --no-children -g none --sort dso,sym --stdio 2>/dev/null | grep '%' | head -30 >"$raw/perf-$2-sym.txt" || true
        log "perf ($2), top DSOs (symbols in $raw/perf-$2-sym.txt):"
        sed 's/^/    /' "$raw/perf-$2-dso.txt" >&2
    }
    if wants floor; then
        plan floor perf "$work/perf-floor" "$SEED"
        floor_urls="$work/perf-floor.urls"
        start_imgshield perf-floor
        timeout 300 perf record -F 499 -g -o "$raw/perf-floor.data" -p "$srv_pid" >/dev/null 2>&1 &
        perf_pid=$!
        sleep 0.5
        client perf-floor "$floor_urls" "$FLOOR_CONNS"
        stop_var perf_pid INT
        stop_imgshield
        perf_dso "$raw/perf-floor.data" floor
    fi
    if wants hits; then
        start_imgshield perf-hits
        client perf-hits-warm "$work/hits.urls" 2
        timeout 300 perf record -F 499 -g -o "$raw/perf-hits.data" -p "$srv_pid" >/dev/null 2>&1 &
        perf_pid=$!
        sleep 0.5
        timeout $(( HIT_SECS + 30 )) taskset -c "$CLIENT_CPU" wrk -t1 -c64 -d"${HIT_SECS}s" -s "$lua" \
            "$srv_url" -- "${hit_paths[@]}" >"$raw/wrk-perf-hits.txt" || die "wrk failed (perf)"
        stop_var perf_pid INT
        stop_imgshield
        perf_dso "$raw/perf-hits.data" hits
    fi
fi
