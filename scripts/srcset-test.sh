#!/usr/bin/env bash
# srcset traffic against libvips alone: every source asked for at widths 320/640/960/1280/1920, the
# (source, width) pairs shuffled, each once, as a page's srcset does after a CDN purge. Prints a
# markdown summary; all raw output goes to bench-out/.
#
#   scripts/srcset-test.sh           # ~3 minutes plus the build and, the first time, the corpus
#
# Contenders, each on SERVER_CPU (taskset), one after another in one run:
#   vipsthumbnail   one process per width over all files (`vipsthumbnail FILES -s W`), so
#                   start-up is paid 5 times in all; it is also timed alone and reported without.
#   imgshield       `--workers 1`, the derivative cache on (the default), pairs requested by a
#                   small Python client on CLIENT_CPU with 2 keep-alive connections (one request
#                   queued behind the one in progress), so the worker never idles.
#   imgshield-cold  the same with `--derivative-cache-bytes 0`: what the cache adds.
# For each imgshield run: latency p50/p99 as the client saw it (one request queued behind the one in
# progress, so p50 is about two transforms) and the server's peak RSS (VmHWM).
# Each contender makes JPEGs at quality 80 without metadata, width W and the height that keeps the
# aspect ratio (the corpus is 3:2 landscape). Every response is checked: 200, image/jpeg.
#
# Knobs (environment): OUT (bench-out), COUNT (8), MP (12), PROGRESSIVE (1: the corpus is
# progressive JPEG, as many camera and CMS uploads are), SERVER_CPU (0), CLIENT_CPU (1),
# SKIP_BUILD (0), REPS (2: runs per contender, the best counts).
#
# Requires: cargo, vips + vipsthumbnail (libvips-tools), python3, taskset, curl. No traffic leaves
# 127.0.0.1; every process started is stopped on exit.

set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
SCRIPT_NAME=srcset-test
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

OUT=${OUT:-bench-out}
COUNT=${COUNT:-8}
MP=${MP:-12}
PROGRESSIVE=${PROGRESSIVE:-1}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
SKIP_BUILD=${SKIP_BUILD:-0}
REPS=${REPS:-2}
WIDTHS=(320 640 960 1280 1920)


int_in COUNT "$COUNT" 1 64
int_in REPS "$REPS" 1 9
[[ "$MP" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "MP must be a number"

"$root/scripts/install-deps.sh" --bench
for tool in cargo vips vipsthumbnail python3 taskset curl timeout; do
    command -v "$tool" >/dev/null || die "$tool is required"
done

stamp=$(date +%Y%m%d-%H%M%S)
raw="$OUT/raw/srcset-$stamp"
mkdir -p "$raw"
report="$OUT/srcset-test-$stamp.md"

if [ "$SKIP_BUILD" != 1 ]; then
    log "cargo build --release"
    timeout 900 cargo build --release >&2 || die "cargo build --release failed"
fi
bin="${CARGO_TARGET_DIR:-target}/release/imgshield"
[ -x "$bin" ] || die "$bin not found"

suffix=""
[ "$PROGRESSIVE" = 1 ] && suffix="-progressive"
corpus="$OUT/corpus-${MP}mp$suffix"
if [ "$PROGRESSIVE" = 1 ]; then
    "$root/scripts/make-corpus.sh" "$corpus" "$COUNT" "$MP" --progressive >&2
else
    "$root/scripts/make-corpus.sh" "$corpus" "$COUNT" "$MP" >&2
fi
corpus_abs=$(cd "$corpus" && pwd)
mapfile -t files < <(cd "$corpus_abs" && ls ./*.jpg | sed 's|^\./||' | head -n "$COUNT")
[ "${#files[@]}" -ge 1 ] || die "no JPEGs in $corpus"
pairs=$(( ${#files[@]} * ${#WIDTHS[@]} ))
log "corpus: ${#files[@]} JPEGs in $corpus, $pairs (source, width) pairs"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# ---------------------------------------------------------------- vipsthumbnail
thumbs=$(mktemp -d)
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$thumbs"
}
trap cleanup EXIT

vips black "$thumbs/tiny.v" 64 64 --bands 3 && vips copy "$thumbs/tiny.v" "$thumbs/tiny.jpg"
startup=()
for _ in 1 2 3; do
    t0=$(now)
    taskset -c "$SERVER_CPU" vipsthumbnail "$thumbs/tiny.jpg" -s 32 -o "$thumbs/tiny-%s.jpg"
    startup+=("$(elapsed "$t0" "$(now)")")
done
startup_s=$(printf '%s\n' "${startup[@]}" | sort -n | sed -n 2p)

# vips_pass -> seconds for every width of every file, one vipsthumbnail process per width
vips_pass() {
    local t0 w
    t0=$(now)
    for w in "${WIDTHS[@]}"; do
        (cd "$corpus_abs" && taskset -c "$SERVER_CPU" vipsthumbnail "${files[@]}" -s "$w" \
            -o "$thumbs/%s-$w.jpg[Q=80,strip]")
    done
    elapsed "$t0" "$(now)"
}

best_vips=""
for rep in $(seq 1 "$REPS"); do
    took=$(vips_pass)
    log "vipsthumbnail run $rep: ${took}s for $pairs thumbnails"
    if [ -z "$best_vips" ] || awk -v a="$took" -v b="$best_vips" 'BEGIN { exit !(a < b) }'; then
        best_vips=$took
    fi
done
made=$(find "$thumbs" -name '*-[0-9]*.jpg' | wc -l)
[ "$made" -eq "$pairs" ] || die "vipsthumbnail made $made of $pairs thumbnails"
vips_net=$(awk -v t="$best_vips" -v s="$startup_s" -v n="${#WIDTHS[@]}" 'BEGIN { printf "%.3f", t - n * s }')

# ---------------------------------------------------------------- imgshield
# run_server LABEL FLAGS... -> prints seconds for all pairs (best of REPS, fresh server each rep)
client="$raw/client.py"
cat >"$client" <<'PY'
import http.client, random, sys, threading, time
host, port, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
files, widths = sys.argv[4].split(","), [int(w) for w in sys.argv[5].split(",")]
pairs = [(f, w) for f in files for w in widths]
random.Random(seed).shuffle(pairs)
lock, errors, done, latencies = threading.Lock(), [], [], []
def worker():
    conn = http.client.HTTPConnection(host, port, timeout=120)
    while True:
        with lock:
            if not pairs:
                break
            f, w = pairs.pop()
        started = time.monotonic()
        conn.request("GET", f"/resize?src={f}&w={w}")
        r = conn.getresponse()
        body = r.read()
        took = time.monotonic() - started
        ok = r.status == 200 and r.getheader("content-type") == "image/jpeg" and len(body) > 0
        with lock:
            (done if ok else errors).append((f, w, r.status))
            latencies.append(took)
t0 = time.monotonic()
threads = [threading.Thread(target=worker) for _ in range(2)]
for t in threads: t.start()
for t in threads: t.join()
took = time.monotonic() - t0
latencies.sort()
pct = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000
print(f"{took:.3f} {len(done)} {len(errors)} {pct(0.5):.1f} {pct(0.99):.1f}")
if errors:
    print(errors[:5], file=sys.stderr)
    sys.exit(1)
PY

run_server() {
    local label=$1
    shift
    local best="" best_line="" rep
    for rep in $(seq 1 "$REPS"); do
        local out="$raw/server-$label-$rep.stdout" err="$raw/server-$label-$rep.stderr"
        env RUST_LOG=warn taskset -c "$SERVER_CPU" "$bin" --root "$corpus_abs" --listen 127.0.0.1:0 \
            --workers 1 "$@" >"$out" 2>"$err" &
        server_pid=$!
        local url=""
        for _ in $(seq 1 100); do
            kill -0 "$server_pid" 2>/dev/null || die "the server ($label) exited at start-up"
            url=$(grep -o -m1 'http://127\.0\.0\.1:[0-9]*' "$out" 2>/dev/null || true)
            [ -n "$url" ] && break
            sleep 0.1
        done
        [ -n "$url" ] || die "the server ($label) did not report its address"
        local port=${url##*:}
        local result
        result=$(timeout 600 taskset -c "$CLIENT_CPU" python3 "$client" 127.0.0.1 "$port" "$rep" \
            "$(IFS=,; echo "${files[*]}")" "$(IFS=,; echo "${WIDTHS[*]}")") ||
            die "the client failed against $label"
        curl -fs "$url/metrics" >"$raw/metrics-$label-$rep.txt" || true
        local hwm
        hwm=$(awk '$1 == "VmHWM:" { printf "%.0f", $2 / 1024 }' "/proc/$server_pid/status" 2>/dev/null || echo "?")
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
        local took=${result%% *}
        log "$label run $rep: ${took}s for $pairs responses ($result), peak RSS ${hwm} MiB"
        if [ -z "$best" ] || awk -v a="$took" -v b="$best" 'BEGIN { exit !(a < b) }'; then
            best=$took
            # seconds p50-ms p99-ms peak-RSS-MiB of the best run
            best_line="$took $(echo "$result" | awk '{ print $4, $5 }') $hwm"
        fi
    done
    echo "$best_line"
}

read -r shield shield_p50 shield_p99 shield_rss < <(run_server imgshield)
read -r cold cold_p50 cold_p99 cold_rss < <(run_server imgshield-cold --derivative-cache-bytes 0)
again=$(vips_pass)

rate() { awk -v n="$pairs" -v t="$1" 'BEGIN { printf "%.2f", n / t }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }
hits=$(awk '/derivative_cache_lookups_total\{result="hit"\}/ { print $2 }' "$raw/metrics-imgshield-1.txt" 2>/dev/null || echo "?")

{
    echo "## srcset traffic $stamp"
    echo
    echo "- Machine: $(nproc) CPU(s), $(awk -F: '/model name/ { print $2; exit }' /proc/cpuinfo | sed 's/^ *//'); libvips $(vips --version | awk '{ print $1 }' | sed 's/vips-//'); load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- Corpus: ${#files[@]} $( [ "$PROGRESSIVE" = 1 ] && echo progressive || echo baseline ) JPEGs of ${MP} MP in \`$corpus\`; widths ${WIDTHS[*]}; $pairs (source, width) pairs, shuffled, each once"
    echo "- Everything on CPU $SERVER_CPU (the Python client on CPU $CLIENT_CPU); best of $REPS runs each"
    echo
    echo "| Contender | seconds for $pairs | images/s | vs vipsthumbnail (start-up excluded) | vs vipsthumbnail (with) | latency p50 / p99 | peak RSS |"
    echo "|---|---:|---:|---:|---:|---|---:|"
    echo "| vipsthumbnail, one process per width (start-up ${startup_s}s x ${#WIDTHS[@]} excluded) | $vips_net | $(rate "$vips_net") | 1.00 | - | - | - |"
    echo "| vipsthumbnail, as run | $best_vips | $(rate "$best_vips") | - | 1.00 | - | - |"
    echo "| imgshield --workers 1, derivative cache on (default) | $shield | $(rate "$shield") | **$(ratio "$shield" "$vips_net")x** | $(ratio "$shield" "$best_vips")x | ${shield_p50} / ${shield_p99} ms | ${shield_rss} MiB |"
    echo "| imgshield --workers 1, --derivative-cache-bytes 0 | $cold | $(rate "$cold") | $(ratio "$cold" "$vips_net")x | $(ratio "$cold" "$best_vips")x | ${cold_p50} / ${cold_p99} ms | ${cold_rss} MiB |"
    echo
    echo "vipsthumbnail timed again after the imgshield runs: ${again}s (drift check). Derivative-cache hits in the first imgshield run: $hits of $pairs."
} | tee "$report"
log "summary written to $report"
