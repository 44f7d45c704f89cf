#!/usr/bin/env bash
# Generates a benchmark corpus of distinct, photo-like JPEGs with the `vips` CLI only.
#
#   scripts/make-corpus.sh [--progressive] DIR COUNT MEGAPIXELS
#
# Writes DIR/photo-<W>x<H>-<NNN>.jpg (or ...-<NNN>-p.jpg with --progressive), NNN = 001..COUNT, at
# quality 90 with 4:2:0 chroma subsampling (as cameras and phones write; libvips would not subsample at
# Q90 by default) and metadata stripped, baseline unless --progressive. W:H is 3:2 and both are multiples
# of 8, so 24 MP gives 6000x4000 and 12 MP 4240x2824. Files already present are skipped (idempotent);
# each file is written under a hidden temporary name and renamed, so an interrupted run leaves no
# half-written JPEG. The paths of all COUNT files are printed on stdout, one per line; progress goes
# to stderr.
#
# How an image is made (so decode cost and file size resemble a photograph, not a flat test card):
#   1. once per run, a "structure field" at 1/8 scale and twice the image's extent in each direction:
#      large blobs (gaussnoise + wide gaussblur), mid-scale detail (gaussnoise + narrow gaussblur),
#      fine texture (gaussnoise), all on one luminance band, plus low-frequency colour (3 bands from
#      gaussnoise + bandfold + gaussblur) added to it, cast to uchar;
#   2. once per run, a full-resolution luminance grain (gaussnoise, sigma 4, cast to char);
#   3. per image: a distinct window of the field (offset derived from the index), upscaled 8x with a
#      cubic kernel, plus the grain, saved as JPEG (jpegsave clips to uchar).
# 16 images of 24 MP take about 15-25 s on 2 cores (JOBS images are made at once; default nproc).
#
# Environment: JOBS (parallel images, default nproc), TMPDIR (scratch space, ~250 MB per job at 24 MP).

set -euo pipefail

usage() {
    echo "usage: $0 [--progressive] DIR COUNT MEGAPIXELS" >&2
    exit 2
}

progressive=0
args=()
for arg in "$@"; do
    case "$arg" in
    --progressive) progressive=1 ;;
    -h | --help) usage ;;
    -*) echo "unknown option: $arg" >&2; usage ;;
    *) args+=("$arg") ;;
    esac
done
[ "${#args[@]}" -eq 3 ] || usage
dir=${args[0]}
count=${args[1]}
megapixels=${args[2]}

[[ "$count" =~ ^[0-9]+$ ]] && [ "$count" -ge 1 ] && [ "$count" -le 10000 ] ||
    { echo "COUNT must be an integer from 1 to 10000" >&2; exit 2; }
[[ "$megapixels" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "MEGAPIXELS must be a number" >&2; exit 2; }
command -v vips >/dev/null || { echo "the vips CLI is required (apt-get install libvips-tools)" >&2; exit 1; }

# 3:2, both multiples of 8 (so the 1/8-scale field upsamples to exactly WxH), at least 64x64.
read -r width height < <(awk -v mp="$megapixels" 'BEGIN {
    w = sqrt(mp * 1e6 * 3 / 2); w = int(w / 8 + 0.5) * 8; if (w < 96) w = 96;
    h = int(w * 2 / 3 / 8 + 0.5) * 8; if (h < 64) h = 64;
    if (w > 40000) { print "0 0"; exit } print w, h }')
[ "$width" -gt 0 ] || { echo "MEGAPIXELS is too large" >&2; exit 2; }
if [ $(( width * height )) -gt 150000000 ]; then
    echo "MEGAPIXELS is too large (max about 150)" >&2
    exit 2
fi

suffix=""
save_opts="Q=90,strip,interlace=false,subsample_mode=on"
if [ "$progressive" -eq 1 ]; then
    suffix="-p"
    save_opts="Q=90,strip,interlace=true,subsample_mode=on"
fi

mkdir -p "$dir"
name_of() { printf '%s/photo-%dx%d-%03d%s.jpg' "$dir" "$width" "$height" "$1" "$suffix"; }

missing=()
for ((i = 1; i <= count; i++)); do
    [ -s "$(name_of "$i")" ] || missing+=("$i")
done

if [ "${#missing[@]}" -gt 0 ]; then
    started=$(date +%s.%N)
    scratch=$(mktemp -d "${TMPDIR:-/tmp}/make-corpus.XXXXXX")
    # However we exit: stop our own image jobs, then remove scratch space and half-written outputs.
    cleanup() {
        local pids
        pids=$(jobs -p)
        [ -z "$pids" ] || kill $pids 2>/dev/null || true
        wait 2>/dev/null || true
        rm -rf "$scratch"
        rm -f "$dir"/.photo-*."$$".partial.jpg
    }
    trap cleanup EXIT
    trap 'exit 130' INT TERM

    bw=$(( width / 8 ))
    bh=$(( height / 8 ))
    # The field is twice the image's 1/8-scale extent each way: windows at distinct offsets.
    fw=$(( 2 * bw ))
    fh=$(( 2 * bh ))
    # Blur radii scale with the image; noise sigmas are pre-multiplied by 2*sqrt(pi)*s so that the
    # blurred bands have roughly the target standard deviation whatever the size.
    read -r s_big s_mid s_col n_big n_mid n_col margin < <(awk -v bw="$bw" 'BEGIN {
        big = bw / 37; if (big < 2) big = 2;
        mid = bw / 250; if (mid < 1) mid = 1;
        col = bw / 47; if (col < 2) col = 2;
        k = 2 * sqrt(3.14159265);
        printf "%.2f %.2f %.2f %.1f %.1f %.1f %d\n", big, mid, col, 40 * k * big, 24 * k * mid, 28 * k * col, int(3 * big) + 8 }')
    pw=$(( fw + 2 * margin ))
    ph=$(( fh + 2 * margin ))
    echo "make-corpus: ${#missing[@]} of $count ${width}x${height} JPEG(s) to make in $dir" >&2

    (
        cd "$scratch"
        # Padded by a margin and cropped after blurring, so the field has no blurred-edge artefacts.
        vips gaussnoise big.v "$pw" "$ph" --sigma "$n_big" --mean 0 --seed 11
        vips gaussblur big.v bigb.v "$s_big"
        vips gaussnoise mid.v "$pw" "$ph" --sigma "$n_mid" --mean 0 --seed 12
        vips gaussblur mid.v midb.v "$s_mid"
        vips gaussnoise fine.v "$pw" "$ph" --sigma 6 --mean 128 --seed 13
        vips gaussnoise col.v $(( 3 * pw )) "$ph" --sigma "$n_col" --mean 0 --seed 14
        vips bandfold col.v col3.v --factor 3
        vips gaussblur col3.v colb.v "$s_col"
        vips sum "bigb.v midb.v fine.v" luma.v
        vips add luma.v colb.v rgb.v
        vips extract_area rgb.v rgbc.v "$margin" "$margin" "$fw" "$fh"
        vips cast rgbc.v field.v uchar
        vips gaussnoise grain.v "$width" "$height" --sigma 4 --mean 0 --seed 15
        vips cast grain.v grainc.v char
        rm -f big.v bigb.v mid.v midb.v fine.v col.v col3.v colb.v luma.v rgb.v rgbc.v grain.v
    )

    make_one() {
        local i=$1 work="$scratch/img-$1" out partial x y
        out=$(name_of "$i")
        partial="$dir/.photo-${width}x${height}-$(printf %03d "$i")$suffix.$$.partial.jpg"
        # A distinct window per index: multiplicative hashing spreads offsets over the field.
        x=$(( (i * 2654435761) % (fw - bw + 1) ))
        y=$(( (i * 40503 + i * i * 97) % (fh - bh + 1) ))
        mkdir -p "$work"
        vips extract_area "$scratch/field.v" "$work/win.v" "$x" "$y" "$bw" "$bh"
        vips resize "$work/win.v" "$work/up.v" 8 --kernel cubic
        vips add "$work/up.v" "$scratch/grainc.v" "$partial[$save_opts]"
        mv -f "$partial" "$out"
        rm -rf "$work"
    }

    jobs_max=${JOBS:-$(nproc 2>/dev/null || echo 2)}
    [[ "$jobs_max" =~ ^[0-9]+$ ]] && [ "$jobs_max" -ge 1 ] || jobs_max=1
    running=0
    failed=0
    for i in "${missing[@]}"; do
        if [ "$running" -ge "$jobs_max" ]; then
            wait -n || failed=1
            running=$(( running - 1 ))
        fi
        make_one "$i" &
        running=$(( running + 1 ))
    done
    # Collect every job; fail if any failed.
    while [ "$running" -gt 0 ]; do
        wait -n || failed=1
        running=$(( running - 1 ))
    done
    [ "$failed" -eq 0 ] || { echo "make-corpus: some images failed" >&2; exit 1; }
    elapsed=$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
    echo "make-corpus: made ${#missing[@]} image(s) in ${elapsed}s" >&2
fi

for ((i = 1; i <= count; i++)); do
    f=$(name_of "$i")
    [ -s "$f" ] || { echo "make-corpus: $f is missing" >&2; exit 1; }
    echo "$f"
done
