#!/usr/bin/env bash
# Bounded soak test: a fixed number of mixed valid and invalid requests against the release server,
# sampling its memory, file descriptors and threads every second, then a verdict.
#
#   scripts/soak.sh                    # ~2 minutes on 2 cores (80-90 s of load) plus the build
#                                      # (~70 s) and, the first time, the corpus (~8 s)
#   REQUESTS=5000 SKIP_BUILD=1 scripts/soak.sh
#
# What it does:
#   0. `cargo build --release` (unless SKIP_BUILD=1); a corpus of COUNT photo-like JPEGs of MP
#      megapixels (scripts/make-corpus.sh; default 8 x 12 MP in bench-out/soak-corpus, reused if
#      present) plus four small broken files written here: a truncated JPEG (its first 256 KiB), 4 KiB
#      of random bytes, a zero-byte file, and a 100-byte PNG whose header declares 60000x60000.
#   1. A real origin on 127.0.0.1 for remote sources: python3's http.server (threaded, keep-alive,
#      quiet) on an OS-chosen port, serving bench-out/soak-origin (copies of the first 4 images and
#      the broken files).
#   2. The server: `RUST_LOG=warn target/release/imgshield --root <corpus> --allow-host
#      127.0.0.1:<origin-port> --listen 127.0.0.1:0 --cache-bytes CACHE_BYTES`, pinned to SERVER_CPU;
#      the address is read from its first stdout line. The warm set of "hit" URLs is requested once
#      with curl before the load starts.
#   3. The load: `wrk -t1 -c CONNS` pinned to CLIENT_CPU (with the origin), driven by a Lua script
#      that walks a fixed, shuffled 200-slot cycle of request kinds and stops after REQUESTS
#      responses (then the script sends wrk SIGINT), or after MAX_SECS, whichever comes first. Per 200
#      requests:
#        123 cache hits: 53 local JPEG (8 URLs), 10 WebP, 6 AVIF, 16 fm=auto (3 Accept headers -> 3
#            variants), 20 remote, 6 remote fm=auto, 12 If-None-Match -> 304 (no HEAD: wrk cannot
#            parse a HEAD response that has a Content-Length; one HEAD is sent with curl at the end)
#         11 distinct misses (never repeated): 2 JPEG, 2 WebP, 2 PNG at w >= 1000 (~1.9 MB each,
#            so the 64 MiB cache is full after ~3,500 requests and evicts for the rest of the run),
#            2 fm=auto with rotating Accept (AVIF/WebP/JPEG), 2 remote (JPEG, WebP), 1 AVIF
#         20 invalid parameters (400, 13 different mistakes)
#         12 missing local files (404, distinct names)
#         20 broken images (422: 16 local, 4 remote)
#          6 forbidden hosts (403: localhost, another port, [::1])
#          8 remote 404s (distinct names)
#      The Lua script also counts the expected status of every request sent and the exact status and
#      X-Cache of every response, so the two histograms can be compared.
#   4. A sampler writes one CSV row per second: VmRSS, VmHWM, open fds (ls /proc/PID/fd), threads,
#      and from /metrics the cache's weighted bytes and entries, open client connections and /resize
#      requests answered so far.
#   5. After the load (or as soon as the server dies): up to SETTLE_SECS for connections to close,
#      then /healthz, /readyz, a fresh miss, a hit and a HEAD of the hit. Summary: VmHWM, RSS first/middle/last and at 10 points, the quarter means,
#      fds idle/peak/last, the status histogram (the server's imgshield_http_requests_total lines
#      and wrk's exact codes), the error codes, and a verdict.
#
# Verdict (every figure is printed, pass or fail):
#   healthy      the server is alive; /healthz, /readyz, a fresh miss, a hit and a HEAD answer 200
#   complete     wrk got REQUESTS responses before MAX_SECS
#   statuses     no 5xx, and each status's count is within CONNS of the count expected from the mix
#                (requests still in flight when wrk stopped may be missing)
#   rss          the mean VmRSS of the last quarter of the load is at most RSS_TOLERANCE percent above
#                the mean of the second quarter, and so is the mean RssAnon (the anonymous part; the
#                file-backed part can shrink under page-cache pressure from other work and hide growth).
#                The cache is full by ~3,500 requests, before the second quarter of the default run.
#   fds          open fds after the settle time are at most FD_SLACK above the count just before the
#                load (the server keeps idle keep-alive connections to the origin for 90 s)
# Exit status: 0 all pass; 1 the server died or is unhealthy (or the script failed); 2 another check
# failed.
#
# Output: bench-out/soak-<stamp>.csv (samples), bench-out/soak-<stamp>.md (summary), and
# bench-out/raw/soak-<stamp>/ (server and origin logs, wrk output, the Lua script, /metrics at the end).
# Every process started is stopped on exit (trap); every external command is bounded by a timeout.
# No traffic leaves 127.0.0.1.
#
# Knobs (environment): REQUESTS (20000), MAX_SECS (300: cap on the load phase), CONNS (16),
# CACHE_BYTES (64MiB), OUT (bench-out), CORPUS ($OUT/soak-corpus), COUNT (8), MP (12),
# SERVER_CPU (0), CLIENT_CPU (1), SKIP_BUILD (0), SETTLE_SECS (15), RSS_TOLERANCE (10, percent),
# FD_SLACK (8), EXTRA_ARGS (more server flags, e.g. "--workers 2"), SERVER_ENV (more environment
# for the server, e.g. "MALLOC_ARENA_MAX=1").
#
# Requires: cargo, vips (libvips-tools), wrk, curl, python3, awk; taskset for pinning (optional).

set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
SCRIPT_NAME=soak
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

REQUESTS=${REQUESTS:-20000}
MAX_SECS=${MAX_SECS:-300}
CONNS=${CONNS:-16}
CACHE_BYTES=${CACHE_BYTES:-64MiB}
OUT=${OUT:-bench-out}
CORPUS=${CORPUS:-$OUT/soak-corpus}
COUNT=${COUNT:-8}
MP=${MP:-12}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
SKIP_BUILD=${SKIP_BUILD:-0}
SETTLE_SECS=${SETTLE_SECS:-15}
RSS_TOLERANCE=${RSS_TOLERANCE:-10}
FD_SLACK=${FD_SLACK:-8}
EXTRA_ARGS=${EXTRA_ARGS:-}
SERVER_ENV=${SERVER_ENV:-}

int_in REQUESTS "$REQUESTS" 200 10000000
int_in MAX_SECS "$MAX_SECS" 10 86400
int_in CONNS "$CONNS" 1 1000
int_in COUNT "$COUNT" 4 256
int_in SERVER_CPU "$SERVER_CPU" 0 4095
int_in CLIENT_CPU "$CLIENT_CPU" 0 4095
int_in SETTLE_SECS "$SETTLE_SECS" 0 600
int_in RSS_TOLERANCE "$RSS_TOLERANCE" 0 1000
int_in FD_SLACK "$FD_SLACK" 0 100000
[[ "$MP" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "MP must be a number"

require_tools "" cargo vips wrk curl python3 awk timeout

# Pinning: server on SERVER_CPU, wrk and the origin on CLIENT_CPU, when there are two CPUs to use.
ncpu=$(nproc 2>/dev/null || echo 1)
server_pin=()
client_pin=()
pinning="none (taskset missing or fewer than 2 CPUs)"
if command -v taskset >/dev/null && [ "$ncpu" -ge 2 ] &&
    [ "$SERVER_CPU" -lt "$ncpu" ] && [ "$CLIENT_CPU" -lt "$ncpu" ] && [ "$SERVER_CPU" != "$CLIENT_CPU" ]; then
    server_pin=(taskset -c "$SERVER_CPU")
    client_pin=(taskset -c "$CLIENT_CPU")
    pinning="server on CPU $SERVER_CPU, wrk and the origin on CPU $CLIENT_CPU (taskset)"
else
    log "not pinning: $pinning"
fi

mkdir -p "$OUT/raw"
stamp=$(date +%Y%m%d-%H%M%S)
raw="$OUT/raw/soak-$stamp"
mkdir -p "$raw"
csv="$OUT/soak-$stamp.csv"
report="$OUT/soak-$stamp.md"

# ---------------------------------------------------------------- process management

server_pid="" origin_pid="" sampler_pid="" wrk_pid=""
cleanup() {
    stop_var wrk_pid
    stop_var sampler_pid
    stop_var server_pid
    stop_var origin_pid
}
trap_cleanup

# ---------------------------------------------------------------- 0. build and corpus

build_release 900 "build it, or unset SKIP_BUILD"

log "corpus: $COUNT x $MP MP in $CORPUS"
mapfile -t images < <(timeout 600 "$root/scripts/make-corpus.sh" "$CORPUS" "$COUNT" "$MP")
[ "${#images[@]}" -eq "$COUNT" ] || die "make-corpus.sh did not list $COUNT images"
names=()
for f in "${images[@]}"; do names+=("$(basename "$f")"); done

# Broken files, next to the images (rewritten every run; small and deterministic except the garbage).
head -c 262144 "${images[0]}" >"$CORPUS/broken-truncated.jpg"
head -c 4096 /dev/urandom >"$CORPUS/broken-garbage.jpg"
: >"$CORPUS/broken-empty.jpg"
python3 - "$CORPUS/broken-huge-60000x60000.png" <<'EOF'
import struct, sys, zlib
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)  # 60000x60000, 8-bit RGB
with open(sys.argv[1], "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))
EOF
broken=(broken-truncated.jpg broken-garbage.jpg broken-empty.jpg broken-huge-60000x60000.png)

origin_dir="$OUT/soak-origin"
mkdir -p "$origin_dir"
remote_names=("${names[@]:0:4}")
for n in "${remote_names[@]}" "${broken[@]}"; do
    cmp -s "$CORPUS/$n" "$origin_dir/$n" 2>/dev/null || cp -f "$CORPUS/$n" "$origin_dir/$n"
done

# ---------------------------------------------------------------- 1. origin

cat >"$raw/origin.py" <<'EOF'
# A quiet, threaded, keep-alive static file server on 127.0.0.1 and an OS-chosen port (printed).
import functools, http.server, sys

class Quiet(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=sys.argv[1]))
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
EOF
# `timeout` bounds the origin's life even if this script is killed with SIGKILL; TERM reaches python.
"${client_pin[@]}" timeout $((MAX_SECS + SETTLE_SECS + 600)) python3 "$raw/origin.py" "$origin_dir" \
    >"$raw/origin.stdout" 2>"$raw/origin.stderr" &
origin_pid=$!
await_output "the origin" "$origin_pid" "$raw/origin.stdout" "$raw/origin.stderr" '^[0-9]+' ||
    die "the origin did not report its port"
origin_port=$found
origin="127.0.0.1:$origin_port"
curl -fs --max-time 5 -o /dev/null "http://$origin/${remote_names[0]}" || die "the origin does not serve ${remote_names[0]}"
log "origin on http://$origin (serving $origin_dir)"

# ---------------------------------------------------------------- 2. server

corpus_abs=$(cd "$CORPUS" && pwd)
# shellcheck disable=SC2086 # EXTRA_ARGS is split on purpose
server_cmd=("$bin" --root "$corpus_abs" --allow-host "$origin" --listen 127.0.0.1:0 --cache-bytes "$CACHE_BYTES" $EXTRA_ARGS)
# env and taskset exec, so $! is the server's own pid (what /proc/PID/status describes).
# shellcheck disable=SC2086 # SERVER_ENV is split on purpose
env RUST_LOG=warn $SERVER_ENV "${server_pin[@]}" "${server_cmd[@]}" >"$raw/server.stdout" 2>"$raw/server.stderr" &
server_pid=$!
await_url "the server" "$server_pid" "$raw/server.stdout" "$raw/server.stderr"
url=$found
wait_http "$url/healthz" 50 -f || die "the server did not answer /healthz"
log "server $url (pid $server_pid): ${server_cmd[*]}"

# ---------------------------------------------------------------- helpers

server_kib() { status_kib "$server_pid" "$1" 2>/dev/null || true; } # FIELD -> kB value (empty if the server is gone)
fd_count() { { ls "/proc/$server_pid/fd" 2>/dev/null || true; } | wc -l; }
metrics() { curl -fs --max-time 5 "$url/metrics"; }
mib() { calc "%.1f" "$1 / 1024"; }

# ---------------------------------------------------------------- 3. sampler

phase_file="$raw/phase"
echo idle >"$phase_file"
echo "t_s,phase,rss_kib,hwm_kib,fds,threads,cache_weighted_bytes,cache_entries,http_connections,resize_requests,rss_anon_kib" >"$csv"
sampler() {
    local t0 k=0 t next phase rss hwm fds threads m anon
    t0=$(now)
    while kill -0 "$server_pid" 2>/dev/null; do
        t=$(calc "%.1f" "$(now) - $t0")
        phase=$(cat "$phase_file" 2>/dev/null || echo "?")
        rss=$(server_kib VmRSS)
        hwm=$(server_kib VmHWM)
        threads=$(server_kib Threads)
        anon=$(server_kib RssAnon)
        # fds before /metrics, so the sampler's own connection is not counted.
        fds=$(fd_count)
        m=$(metrics 2>/dev/null | awk '
            $1 == "imgshield_cache_weighted_bytes" { cb = $2 }
            $1 == "imgshield_cache_entries" { ce = $2 }
            $1 == "imgshield_http_connections" { hc = $2 }
            index($1, "imgshield_http_requests_total{route=\"resize\"") == 1 { rq += $2 }
            END { printf "%s,%s,%s,%d", cb, ce, hc, rq }' || true)
        [ -n "$rss" ] && echo "$t,$phase,$rss,$hwm,$fds,$threads,$m,$anon" >>"$csv"
        k=$((k + 1))
        next=$(awk -v t0="$t0" -v k="$k" -v n="$(now)" 'BEGIN { d = t0 + k - n; printf "%.3f", (d > 0 ? d : 0) }')
        sleep "${next:-1}" || sleep 1
    done
}
start_rss=$(server_kib VmRSS)
start_fds=$(fd_count)
start_threads=$(server_kib Threads)
sampler &
# shellcheck disable=SC2034 # read through stop_var, in cleanup
sampler_pid=$!
sleep 3 # a few idle samples

# ---------------------------------------------------------------- warm the hit set

echo warm >"$phase_file"
R() { printf 'http%%3A%%2F%%2F%s%%2F%s' "127.0.0.1%3A$origin_port" "$1"; } # remote src, encoded
chrome='image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8'
safari='image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5'
plain='*/*'
warm=()
for n in "${names[@]}"; do warm+=("/resize?src=$n&w=256|"); done
warm+=("/resize?src=${names[0]}&w=256&fm=webp|" "/resize?src=${names[1]}&w=256&fm=webp|" "/resize?src=${names[0]}&w=256&fm=avif|")
for a in "$chrome" "$safari" "$plain"; do warm+=("/resize?src=${names[2]}&w=256&fm=auto|$a"); done
for n in "${remote_names[@]}"; do warm+=("/resize?src=$(R "$n")&w=256|"); done
warm+=("/resize?src=$(R "${remote_names[0]}")&w=256&fm=auto|$chrome")
for entry in "${warm[@]}"; do
    path=${entry%%|*}
    accept=${entry#*|}
    code=$(curl -s --max-time 30 -o /dev/null -w '%{http_code}' ${accept:+-H "Accept: $accept"} "$url$path")
    [ "$code" = 200 ] || die "warm-up request $path answered $code"
done
etag=$(curl -s --max-time 10 -D - -o /dev/null "$url/resize?src=${names[0]}&w=256" | awk -F': ' 'tolower($1) == "etag" { sub(/\r$/, "", $2); print $2 }')
[ -n "$etag" ] || die "no ETag on the warm-up response"
log "warmed ${#warm[@]} hit URLs; ETag for 304s: $etag"

# ---------------------------------------------------------------- 4. the load (wrk + Lua)

lua="$raw/soak.lua"
cat >"$lua" <<'EOF'
-- Mixed soak traffic for imgshield: a fixed 200-slot cycle of request kinds (shuffled once with a
-- fixed seed). After `limit` responses the thread stops and writes the file `marker`, and the
-- soak script sends wrk SIGINT (wrk itself would otherwise wait for its -d duration). Arguments:
-- limit, marker path, origin host:port, ETag of the first image at w=256, then the local image names
-- (the first 4 are also on the origin). No HEAD requests: wrk's parser would wait for a body.
-- The counters are globals: done() reads them from the thread with thread:get().
local limit, origin, etag, marker
local names = {}
sent, done_count = 0, 0
expect, got, xcache = {}, {}, {}
local cycle = {}
local counters = {}
local chrome = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
local safari = "image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5"
local plain = "*/*"
local accepts = { chrome, safari, plain }

local function enc(s)
  return (s:gsub("[^%w%.%-_~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end
local function remote(name) return enc("http://" .. origin .. "/" .. name) end
local function nxt(kind)
  local c = counters[kind] or 0
  counters[kind] = c + 1
  return c
end
local function pick(list, i) return list[(i % #list) + 1] end

local invalid = {
  "src=%s&w=0", "src=%s&w=abc", "src=%s&w=99999", "src=%s&fit=bogus", "src=%s&foo=1",
  "src=%s&w=1&w=2", "w=300", "src=%s&fm=bmp", "src=%s&q=0", "src=../etc/passwd&w=100",
  "src=ftp%%3A%%2F%%2F127.0.0.1%%2Fx.jpg&w=100", "src=%%2Fetc%%2Fpasswd&w=100", "src=%s&w=100&h=-1",
}
local broken_local = { "broken-truncated.jpg", "broken-garbage.jpg", "broken-empty.jpg", "broken-huge-60000x60000.png" }
local broken_remote = { "broken-truncated.jpg", "broken-huge-60000x60000.png" }

-- kind -> function returning method, path, headers, expected status
local kinds = {
  hit_jpeg = function(i) return "GET", "/resize?src=" .. pick(names, i) .. "&w=256", nil, 200 end,
  hit_webp = function(i) return "GET", "/resize?src=" .. names[(i % 2) + 1] .. "&w=256&fm=webp", nil, 200 end,
  hit_avif = function(i) return "GET", "/resize?src=" .. names[1] .. "&w=256&fm=avif", nil, 200 end,
  hit_auto = function(i) return "GET", "/resize?src=" .. names[3] .. "&w=256&fm=auto", { Accept = pick(accepts, i) }, 200 end,
  hit_remote = function(i) return "GET", "/resize?src=" .. remote(names[(i % 4) + 1]) .. "&w=256", nil, 200 end,
  hit_remote_auto = function(i) return "GET", "/resize?src=" .. remote(names[1]) .. "&w=256&fm=auto", { Accept = chrome }, 200 end,
  hit_304 = function(i) return "GET", "/resize?src=" .. names[1] .. "&w=256", { ["If-None-Match"] = etag }, 304 end,
  -- Distinct misses: each kind has its own w range, and (src, w) never repeats within a kind.
  miss_jpeg = function(i) return "GET", "/resize?src=" .. pick(names, i) .. "&w=" .. (400 + math.floor(i / #names)), nil, 200 end,
  miss_webp = function(i) return "GET", "/resize?src=" .. pick(names, i) .. "&w=" .. (500 + math.floor(i / #names)) .. "&fm=webp", nil, 200 end,
  miss_png = function(i) return "GET", "/resize?src=" .. pick(names, i) .. "&w=" .. (1000 + math.floor(i / #names)) .. "&fm=png", nil, 200 end,
  miss_auto = function(i)
    return "GET", "/resize?src=" .. pick(names, i) .. "&w=" .. (450 + math.floor(i / #names)) .. "&fm=auto",
      { Accept = accepts[(math.floor(i / #names) % 3) + 1] }, 200
  end,
  miss_remote = function(i)
    local fm = (i % 2 == 0) and "" or "&fm=webp"
    return "GET", "/resize?src=" .. remote(names[(i % 4) + 1]) .. "&w=" .. (360 + math.floor(i / 4)) .. fm, nil, 200
  end,
  miss_avif = function(i) return "GET", "/resize?src=" .. pick(names, i) .. "&w=" .. (340 + math.floor(i / #names)) .. "&fm=avif", nil, 200 end,
  bad_param = function(i) return "GET", "/resize?" .. string.format(pick(invalid, i), names[1]), nil, 400 end,
  missing_local = function(i) return "GET", "/resize?src=missing-" .. i .. ".jpg&w=300", nil, 404 end,
  broken_local = function(i) return "GET", "/resize?src=" .. pick(broken_local, i) .. "&w=300", nil, 422 end,
  broken_remote = function(i) return "GET", "/resize?src=" .. remote(pick(broken_remote, i)) .. "&w=300", nil, 422 end,
  forbidden = function(i)
    local port = tonumber(origin:match(":(%d+)$"))
    local hosts = { "localhost:" .. port, "127.0.0.1:" .. (port == 65535 and 1 or port + 1), "[::1]:" .. port }
    return "GET", "/resize?src=" .. enc("http://" .. pick(hosts, i) .. "/" .. names[1]) .. "&w=300", nil, 403
  end,
  missing_remote = function(i) return "GET", "/resize?src=" .. remote("missing-" .. i .. ".jpg") .. "&w=300", nil, 404 end,
}
-- Slots per 200 requests.
local mix = {
  { "hit_jpeg", 53 }, { "hit_webp", 10 }, { "hit_avif", 6 }, { "hit_auto", 16 }, { "hit_remote", 20 },
  { "hit_remote_auto", 6 }, { "hit_304", 12 },
  { "miss_jpeg", 2 }, { "miss_webp", 2 }, { "miss_png", 2 }, { "miss_auto", 2 }, { "miss_remote", 2 }, { "miss_avif", 1 },
  { "bad_param", 20 }, { "missing_local", 12 }, { "broken_local", 16 }, { "broken_remote", 4 },
  { "forbidden", 6 }, { "missing_remote", 8 },
}

function init(args)
  limit = tonumber(args[1])
  marker = args[2]
  origin = args[3]
  etag = args[4]
  for i = 5, #args do names[#names + 1] = args[i] end
  for _, m in ipairs(mix) do
    for _ = 1, m[2] do cycle[#cycle + 1] = m[1] end
  end
  -- Fisher-Yates with a fixed LCG, so every run sends the same sequence.
  local seed = 12345
  for i = #cycle, 2, -1 do
    seed = (seed * 1103515245 + 12345) % 2147483648
    local j = (seed % i) + 1
    cycle[i], cycle[j] = cycle[j], cycle[i]
  end
end

function request()
  local kind = cycle[(sent % #cycle) + 1]
  sent = sent + 1
  local method, path, headers, code = kinds[kind](nxt(kind))
  if sent <= limit then
    local k = tostring(code)
    expect[k] = (expect[k] or 0) + 1
  end
  return wrk.format(method, path, headers)
end

function response(status, headers, body)
  done_count = done_count + 1
  local k = tostring(status)
  got[k] = (got[k] or 0) + 1
  local x = headers["x-cache"] or headers["X-Cache"]
  if x then xcache[x] = (xcache[x] or 0) + 1 end
  if done_count == limit then
    wrk.thread:stop()
    local f = io.open(marker, "w")
    if f then f:write("done\n"); f:close() end
  end
end

local threads = {}
function setup(thread) threads[#threads + 1] = thread end

function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    io.write(string.format("SOAK sent %d\nSOAK responses %d\n", t:get("sent"), t:get("done_count")))
    for k, v in pairs(t:get("expect")) do io.write(string.format("SOAK expect %s %d\n", k, v)) end
    for k, v in pairs(t:get("got")) do io.write(string.format("SOAK got %s %d\n", k, v)) end
    for k, v in pairs(t:get("xcache")) do io.write(string.format("SOAK xcache %s %d\n", k, v)) end
  end
end
EOF

idle_fds=$(fd_count)
idle_rss=$(server_kib VmRSS)
echo load >"$phase_file"
log "load: $REQUESTS requests, wrk -t1 -c$CONNS, cap ${MAX_SECS}s"
load_start=$(now)
marker="$raw/wrk-reached-limit"
rm -f "$marker"
wrk_rc=0
# timeout passes SIGINT on to wrk, which then stops, prints its statistics and runs done().
timeout $((MAX_SECS + 30)) "${client_pin[@]}" wrk -t1 -c"$CONNS" -d"${MAX_SECS}s" --timeout 30s --latency \
    -s "$lua" "$url" -- "$REQUESTS" "$(cd "$raw" && pwd)/wrk-reached-limit" "$origin" "$etag" "${names[@]}" \
    >"$raw/wrk.txt" 2>&1 &
wrk_pid=$!
# Until wrk reached REQUESTS (or its own -d cap), or the server died.
while kill -0 "$wrk_pid" 2>/dev/null && [ ! -e "$marker" ]; do
    kill -0 "$server_pid" 2>/dev/null || { log "the server died during the load"; break; }
    sleep 0.2
done
kill -INT "$wrk_pid" 2>/dev/null || true
wait "$wrk_pid" || wrk_rc=$?
wrk_pid=""
load_secs=$(calc "%.1f" "$(now) - $load_start")
echo settle >"$phase_file"
[ "$wrk_rc" = 0 ] || log "wrk exited with status $wrk_rc (see $raw/wrk.txt)"
log "load done in ${load_secs}s"

# ---------------------------------------------------------------- 5. settle, health

alive() { kill -0 "$server_pid" 2>/dev/null; }
settle_start=$(now)
if alive; then
    for _ in $(seq 1 "$SETTLE_SECS"); do
        conns=$(metrics 2>/dev/null | awk '$1 == "imgshield_http_connections" { print $2 }' || true)
        [ "${conns:-1}" = 0 ] && [ "$(fd_count)" -le $((idle_fds + FD_SLACK)) ] && break
        sleep 1
    done
    sleep 1.2 # one more sample in the settled state
fi
settle_secs=$(calc "%.1f" "$(now) - $settle_start")
echo after >"$phase_file"

health_notes=()
healthy=1
check() { # LABEL EXPECTED URL [curl args...]
    local label=$1 want=$2 u=$3 code
    shift 3
    code=$(curl -s --max-time 30 -o "$raw/check.body" -w '%{http_code}' "$@" "$u" || true)
    health_notes+=("$label: $code")
    [ "$code" = "$want" ] || healthy=0
}
if alive; then
    check "/healthz" 200 "$url/healthz"
    check "/readyz" 200 "$url/readyz"
    check "fresh miss (${names[0]} w=333)" 200 "$url/resize?src=${names[0]}&w=333"
    check "hit (${names[0]} w=256)" 200 "$url/resize?src=${names[0]}&w=256"
    check "HEAD hit" 200 "$url/resize?src=${names[0]}&w=256" -I
    sleep 1.2
else
    healthy=0
    health_notes+=("the server is not running")
fi
metrics >"$raw/metrics-end.txt" 2>/dev/null || true
hwm=$(server_kib VmHWM)
final_rss=$(server_kib VmRSS)
final_anon=$(server_kib RssAnon)
final_file=$(server_kib RssFile)
final_fds=$(fd_count)
final_threads=$(server_kib Threads)
server_alive=0
alive && server_alive=1
stop_var sampler_pid

# ---------------------------------------------------------------- summary

soak() { awk -v k="$1" '$1 == "SOAK" && $2 == k { print $3 }' "$raw/wrk.txt"; }
soak_map() { awk -v k="$1" '$1 == "SOAK" && $2 == k { print $3, $4 }' "$raw/wrk.txt" | sort -n; }
responses=$(soak responses)
responses=${responses:-0}
sent=$(soak sent)
sent=${sent:-0}

# Load-phase statistics from the CSV.
read -r n_load rss_first rss_mid rss_last q2 q4 a2 a4 slope aslope fd_peak thr_peak cache_max < <(awk -F, '
    NR > 1 && $2 == "load" { n++; t[n] = $1; r[n] = $3; f[n] = $5; th[n] = $6; c[n] = $7; an[n] = $11 }
    function slope(v,    i, m, sx, sy, sxx, sxy, den) { # least squares, KiB per second, second half
        for (i = int(n / 2) + 1; i <= n; i++) { sx += t[i]; sy += v[i]; sxx += t[i] * t[i]; sxy += t[i] * v[i]; m++ }
        den = m * sxx - sx * sx
        return den > 0 ? (m * sxy - sx * sy) / den : 0
    }
    END {
        if (n < 4) { print n + 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0; exit }
        a = int(n / 4); b = int(n / 2); d = int(3 * n / 4)
        for (i = a + 1; i <= b; i++) { s2 += r[i]; m2 += an[i]; k2++ }
        for (i = d + 1; i <= n; i++) { s4 += r[i]; m4 += an[i]; k4++ }
        for (i = 1; i <= n; i++) { if (f[i] > fp) fp = f[i]; if (th[i] > tp) tp = th[i]; if (c[i] > cm) cm = c[i] }
        printf "%d %d %d %d %.0f %.0f %.0f %.0f %.2f %.2f %d %d %d\n", n, r[1], r[int((n + 1) / 2)], r[n], s2 / k2, s4 / k4, m2 / k2, m4 / k4, slope(r), slope(an), fp, tp, cm
    }' "$csv")
growth=$(calc "%+.1f" "($q4 - $q2) * 100 / ($q2 > 0 ? $q2 : 1)")
growth_anon=$(calc "%+.1f" "($a4 - $a2) * 100 / ($a2 > 0 ? $a2 : 1)")

pass_complete=1
[ "$responses" -ge "$REQUESTS" ] || pass_complete=0
pass_rss=1
# Both VmRSS and its anonymous part: the file-backed part (mapped libraries) can shrink when the kernel
# reclaims page cache on a busy machine, which would hide anonymous growth in VmRSS.
[ "$n_load" -ge 8 ] && awk -v g="$growth" -v ga="$growth_anon" -v t="$RSS_TOLERANCE" 'BEGIN { exit !(g <= t && ga <= t) }' || pass_rss=0
pass_fds=1
[ "$server_alive" = 1 ] && [ "$final_fds" -le $((idle_fds + FD_SLACK)) ] || pass_fds=0
# Statuses: no 5xx; each code within CONNS of its expected count.
pass_status=1
status_table=$(join -a1 -a2 -e 0 -o 0,1.2,2.2 <(soak_map expect | sort -k1,1) <(soak_map got | sort -k1,1) | sort -n)
while read -r code want have; do
    [ -n "$code" ] || continue
    [ "$code" -lt 500 ] || pass_status=0
    diff=$((have - want))
    [ "${diff#-}" -le "$CONNS" ] || pass_status=0
done <<<"$status_table"
verdict_word() { [ "$1" = 1 ] && echo PASS || echo FAIL; }

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain -- src Cargo.toml Cargo.lock sys 2>/dev/null | grep -q . && echo " (+ uncommitted changes in src/)" || true)
cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
corpus_bytes=$(cat "${images[@]}" | wc -c)
dims=$(basename "${images[0]}" | sed -E 's/^photo-([0-9]+x[0-9]+)-.*/\1/')

{
    echo "## Soak $stamp"
    echo
    echo "- Machine: $ncpu CPU(s), $cpu_model; $(uname -sr); libvips $(vips --version | sed 's/^vips-//'); load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- imgshield: commit $commit$dirty, \`RUST_LOG=warn ${SERVER_ENV:+$SERVER_ENV }${server_cmd[*]}\`; pinning: $pinning"
    echo "- Corpus: $COUNT JPEGs of $dims ($(calc "%.1f" "$corpus_bytes / $COUNT / 1048576") MiB each) + 4 broken files in \`$CORPUS\`; origin: python3 http.server on $origin serving \`$origin_dir\` (${#remote_names[@]} images + the broken files)"
    echo "- Load: \`wrk -t1 -c$CONNS -d${MAX_SECS}s\` with \`$lua\`, $REQUESTS requests requested; wrk sent $sent and got **$responses** responses in ${load_secs}s ($(calc "%.0f" "$responses / ($load_secs > 0 ? $load_secs : 1)") req/s); settle ${settle_secs}s"
    echo
    echo "### Memory, fds, threads"
    echo
    echo "- VmHWM (peak RSS): **$(mib "${hwm:-0}") MiB**; VmRSS at start-up $(mib "${start_rss:-0}") MiB, after the warm-up (just before the load) $(mib "${idle_rss:-0}") MiB, at the end $(mib "${final_rss:-0}") MiB ($(mib "${final_anon:-0}") anonymous, $(mib "${final_file:-0}") file-backed)"
    echo "- VmRSS during the load ($n_load samples, 1/s): first $(mib "$rss_first"), middle $(mib "$rss_mid"), last $(mib "$rss_last") MiB"
    echo "- Quarter means (second -> last quarter of the load): VmRSS $(mib "$q2") -> $(mib "$q4") MiB (**$growth%**), of it anonymous (RssAnon) $(mib "$a2") -> $(mib "$a4") MiB (**$growth_anon%**); tolerance ${RSS_TOLERANCE}%. Least-squares slope over the second half: VmRSS $(calc "%+.1f" "$slope * 60 / 1024") MiB/min, RssAnon $(calc "%+.1f" "$aslope * 60 / 1024") MiB/min"
    echo "- Cache: at most $(calc "%.1f" "$cache_max / 1048576") MiB weighted (capacity $CACHE_BYTES)"
    echo "- Open fds: $start_fds at start-up, **$idle_fds** just before the load (after the warm-up, which opened keep-alive connections to the origin), peak $fd_peak during the load, **$final_fds** at the end; threads: $start_threads at start-up, peak $thr_peak during the load, ${final_threads:-?} at the end"
    echo
    echo "VmRSS over the run (10 points of the load phase, plus idle and after):"
    echo
    echo "| t (s) | phase | /resize answered | VmRSS (MiB) | of it anonymous | cache (MiB) | entries | fds | threads |"
    echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|"
    awk -F, '
        NR > 1 { n++; t[n] = $1; p[n] = $2; r[n] = $3; f[n] = $5; th[n] = $6; c[n] = $7; e[n] = $8; q[n] = $10; an[n] = $11
                 if ($2 == "load") { l[++nl] = n } if ($2 == "idle") li = n }
        function row(i) { printf "| %s | %s | %d | %.1f | %.1f | %.1f | %d | %d | %d |\n", t[i], p[i], q[i], r[i] / 1024, an[i] / 1024, c[i] / 1048576, e[i], f[i], th[i] }
        END {
            if (li) row(li)
            if (nl >= 10) { for (k = 0; k < 10; k++) row(l[1 + int(k * (nl - 1) / 9 + 0.5)]) }
            else for (k = 1; k <= nl; k++) row(l[k])
            if (n) row(n)
        }' "$csv"
    echo
    echo "### Status codes"
    echo
    echo "Server (\`imgshield_http_requests_total\`, by status class; includes the warm-up, the sampler's /metrics and the checks):"
    echo
    echo '```'
    grep '^imgshield_http_requests_total' "$raw/metrics-end.txt" || echo "(no metrics)"
    echo '```'
    echo
    echo "wrk (exact codes): expected from the mix for the first $REQUESTS requests sent, and received:"
    echo
    echo "| status | expected | received |"
    echo "|---:|---:|---:|"
    while read -r code want have; do
        [ -n "$code" ] && echo "| $code | $want | $have |"
    done <<<"$status_table"
    echo
    echo "X-Cache of the responses: $(soak_map xcache | awk '{ printf "%s%s %s", sep, $1, $2; sep = ", " }')."
    echo
    echo "Error codes (\`imgshield_errors_total\`), cache lookups, origin:"
    echo
    echo '```'
    grep -E '^imgshield_(errors_total|cache_lookups_total|origin_errors_total|origin_circuit_trips_total|origin_circuits_open)[{ ]' "$raw/metrics-end.txt" || true
    echo '```'
    echo
    echo "wrk latency (closed loop, 16 connections; dominated by misses and by 404/422s queued behind them, not a latency benchmark): $(awk '$1 == "Latency" && NF >= 4 { print "mean", $2, "stdev", $3, "max", $4; exit }' "$raw/wrk.txt"); $(awk '$1 == "50%" || $1 == "99%" { printf "p%s %s ", substr($1, 1, length($1) - 1), $2 }' "$raw/wrk.txt"); socket errors: $(wrk_errors "$raw/wrk.txt")"
    echo
    echo "### Verdict"
    echo
    echo "| check | result | figures |"
    echo "|---|---|---|"
    echo "| healthy | $(verdict_word "$healthy") | server alive: $([ "$server_alive" = 1 ] && echo yes || echo NO); $(IFS=';'; echo "${health_notes[*]}") |"
    echo "| complete | $(verdict_word "$pass_complete") | $responses of $REQUESTS responses in ${load_secs}s (cap ${MAX_SECS}s) |"
    echo "| statuses | $(verdict_word "$pass_status") | no 5xx and every code within $CONNS of the expected count (table above) |"
    echo "| rss | $(verdict_word "$pass_rss") | last-quarter mean vs second-quarter mean: VmRSS $(mib "$q4") vs $(mib "$q2") MiB ($growth%), RssAnon $(mib "$a4") vs $(mib "$a2") MiB ($growth_anon%); limit +${RSS_TOLERANCE}% for both |"
    echo "| fds | $(verdict_word "$pass_fds") | $final_fds after vs $idle_fds idle (limit +$FD_SLACK) |"
    echo
    echo "Samples: \`$csv\`; raw output: \`$raw/\`."
} >"$report"
cat "$report"
log "summary written to $report"

if [ "$healthy" != 1 ] || [ "$server_alive" != 1 ]; then
    tail -n 20 "$raw/server.stderr" >&2 || true
    exit 1
fi
[ "$pass_complete" = 1 ] && [ "$pass_status" = 1 ] && [ "$pass_rss" = 1 ] && [ "$pass_fds" = 1 ] || exit 2
exit 0
