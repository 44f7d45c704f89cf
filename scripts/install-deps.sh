#!/usr/bin/env bash
# Installs the Debian packages imgshield needs to build and test. Idempotent: packages already
# present are not reinstalled, and apt is not touched at all when nothing is missing.
#   (no flag)  to build, run and test (scripts/test.sh, scripts/demo.sh)
#   --build    to build the release binary only (scripts/build-release.sh, the Dockerfile)
#   --bench    to test and benchmark (scripts/traffic-bench.sh, scripts/load-test.sh)
set -euo pipefail

packages=(
  libvips-dev     # libvips headers + pkg-config file (vips-sys links against it)
  pkg-config      # how sys/build.rs finds libvips
  build-essential # the C compiler for sys/shim.c
  libjpeg62-turbo-dev # libjpeg headers for sys/jpeg.c (the libjpeg libvips links)
  curl            # fetches rustup when no Rust toolchain is installed (scripts/lib.sh ensure_cargo)
  ca-certificates # for that fetch
)
if [ "${1:-}" != "--build" ]; then
  packages+=(
    libvips-tools   # vipsthumbnail, the benchmark baseline; vips CLI for corpus generation
    procps          # kill(1), used by the shutdown test
    python3         # free_port (scripts/lib.sh); the zlib-bomb PNG of scripts/memory-check.sh
    nginx           # the edge config under test (scripts/edge-test.sh)
    libnginx-mod-http-js # njs for the edge's source-identity hash (nginx/imgshield-source.js)
    chromium        # the real browser of scripts/browser-test.sh (headless)
    fonts-dejavu-core # the default sans-serif face of txt= and /text (fontconfig's "sans-serif")
    fonts-noto-cjk  # Chinese, Japanese and Korean glyphs for txt= and /text (fontconfig fallback)
    libjpeg-turbo-progs # cjpeg/jpegtran: the progressive fixtures of tests/jpeg_decoder.rs
  )
fi

# --bench: also the load generator and timing tools used by scripts/traffic-bench.sh and scripts/load-test.sh,
# and python3 for the measuring halves of scripts/traffic-bench.sh and scripts/conn-flood.sh.
if [ "${1:-}" = "--bench" ]; then
  packages+=(wrk hyperfine linux-perf python3)
  packages+=(bc)                  # arithmetic in scripts/deadline-check.sh
  packages+=(libjpeg-turbo-progs) # cjpeg/djpeg: the per-scan decode rates in docs/SECURITY.md
  packages+=(valgrind)            # callgrind: instructions per banner in scripts/text-bench.sh
fi

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
