#!/usr/bin/env bash
# What the #14 "wrong results" fixes cost, on the release binary (figures in docs/SECURITY.md):
#   blur      blur=0.5 (exact float mask, new) against blur=0.6 (libvips' integer mask) and none,
#             on a 2400x1600 JPEG resized to ~1200 wide;
#   meta      meta=keep against meta=strip on derivative-cache hits (the header is read again);
#   anim      a 400x300 watermark on a 3-frame 800x600 GIF (decoded once into memory) against the
#             same GIF without it: time, and the server's peak RSS (a fresh server for each);
#   text      a two-paragraph Arabic + English text (two renders, stacked) against English only,
#             and the worst case: 249 paragraphs alternating in direction (249 renders) on /text.
# Each case is REPS requests at distinct widths (so none is a result-cache hit), one at a time;
# the median time is printed.
#
#   scripts/results-bench.sh               # SKIP_BUILD=1 reuses target/release/imgshield; REPS=15
set -euo pipefail
SCRIPT_NAME=results-bench
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
SKIP_BUILD=${SKIP_BUILD:-0}
REPS=${REPS:-15}
int_in REPS "$REPS" 3 200
require_tools "scripts/install-deps.sh" vips curl python3
build_release 1200
bin=$(abs_path "$bin")
work=$(mktemp -d)
pid=""
cleanup() {
    stop_var pid
    rm -rf "$work"
}
trap_cleanup

log "fixtures in $work"
vips gaussnoise "$work/n.v" 2400 1600 --mean 128 --sigma 40
vips bandjoin "$work/n.v $work/n.v $work/n.v" "$work/n3.v"
vips cast "$work/n3.v" "$work/n8.png[compression=1]" uchar
vips copy "$work/n8.png" "$work/photo.jpg"
vips thumbnail "$work/n8.png" "$work/wm.png" 400 --height 300 --size force
for c in 40 120 200; do vips crop "$work/n8.png" "$work/f$c.png" $c 0 800 600; done
vips arrayjoin "$work/f40.png $work/f120.png $work/f200.png" "$work/strip.v" --across 1
# The vips CLI cannot set page-height; the .v format keeps it in its XML trailer.
python3 - "$work/strip.v" "$work/anim.v" <<'EOF'
import sys
data = open(sys.argv[1], "rb").read()
field = b'<field type="gint" name="page-height">600</field>'
data = data.replace(b"<meta>", b"<meta>\n    " + field, 1)
open(sys.argv[2], "wb").write(data)
EOF
vips copy "$work/anim.v" "$work/anim.gif"

start_server() { # sets pid and base
    local out="$work/server.out" err="$work/server.err"
    "$bin" --listen 127.0.0.1:0 --root "$work" --workers 1 >"$out" 2>"$err" &
    pid=$!
    await_url imgshield "$pid" "$out" "$err"
    base=$found
}

median_ms() { # QUERY WIDTH: median time_total (ms) of REPS GETs of /resize?QUERY&w=<WIDTH-1, WIDTH-2...>
    local times=()
    for i in $(seq 1 "$REPS"); do
        local t
        t=$(curl -fs -o /dev/null -w '%{time_total}' "$base/resize?$1&w=$(($2 - i))") ||
            die "request failed: /resize?$1&w=$(($2 - i))"
        times+=("$t")
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] * 1000 }'
}

median_text_ms() { # TXT: median time_total (ms) of REPS GETs of /text?txt=TXT&txtsize=<distinct>
    local times=()
    for i in $(seq 1 "$REPS"); do
        times+=("$(curl -fs -o /dev/null -w '%{time_total}' "$base/text?txt=$1&txtsize=$((10 + i))")")
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] * 1000 }'
}

report() { printf '%-44s %8s ms\n' "$1" "$2"; }

start_server
curl -fs -o /dev/null "$base/resize?src=photo.jpg&w=1200" # the derivative cache keeps the decode
for q in "src=photo.jpg&q=50" "src=photo.jpg&q=50&blur=0.5" "src=photo.jpg&q=50&blur=0.6"; do
    report "$q" "$(median_ms "$q" 1200)"
done
for q in "src=photo.jpg" "src=photo.jpg&meta=keep"; do
    report "$q (derivative hits)" "$(median_ms "$q" 1200)"
done
txt_en="Summer%20sale%0AEvery%20day"
txt_mixed="Summer%20sale%0A%D8%AA%D8%AE%D9%81%D9%8A%D8%B6%20%D9%83%D8%A8%D9%8A%D8%B1"
for q in "src=photo.jpg&txt=$txt_en&txtsize=48" "src=photo.jpg&txt=$txt_mixed&txtsize=48"; do
    report "${q:0:44}" "$(median_ms "$q" 1200)"
done
# The worst case: 249 one-letter paragraphs alternating in direction, 249 renders, against one.
alternating=$(python3 -c 'import urllib.parse; print(urllib.parse.quote("a\nب\n" * 124 + "a"))')
one_way=$(python3 -c 'import urllib.parse; print(urllib.parse.quote("a\nb\n" * 124 + "a"))')
report "/text, 249 paragraphs, one direction" "$(median_text_ms "$one_way")"
report "/text, 249 paragraphs, alternating" "$(median_text_ms "$alternating")"
stop_var pid

for q in "src=anim.gif" "src=anim.gif&wm=wm.png"; do
    start_server
    ms=$(median_ms "$q" 800)
    report "$q" "$ms"
    printf '%-44s %8s KiB\n' "  peak RSS of that server" "$(status_kib "$pid" VmHWM)"
    stop_var pid
done
