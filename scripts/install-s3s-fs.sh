#!/usr/bin/env bash
# Installs s3s-fs (crates.io), the real S3-compatible server tests/s3_*.rs start on 127.0.0.1, into
# a cache dir outside the work tree: $IMGSHIELD_TOOLS_DIR, default ~/.cache/imgshield-tools.
# Idempotent: nothing happens when the pinned version is there. Building it took 8.5 min (3.6
# CPU-min) on this project's 2 shared cores; 0.14.1 is the newest that builds with Rust 1.92-1.95.
set -euo pipefail
cd "$(dirname "$0")/.."
SCRIPT_NAME=install-s3s-fs
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

version=0.14.1
tools="${IMGSHIELD_TOOLS_DIR:-$HOME/.cache/imgshield-tools}"
if "$tools/bin/s3s-fs" --version 2>/dev/null | grep -qx "s3s-fs $version"; then
    exit 0
fi
require_cargo
cargo=(cargo)
if ! version_at_least "$(cargo --version | awk '{print $2}')" 1.92; then
    # Our own rust-version may be older than s3s-fs needs: the tool builds with stable.
    require_tools "to build s3s-fs with Rust >= 1.92" rustup
    rustup toolchain install stable --profile minimal
    cargo=(cargo +stable)
fi
log "building s3s-fs $version into $tools (several minutes, once)"
"${cargo[@]}" install --locked --quiet s3s-fs --version "$version" --features binary \
    --root "$tools" --target-dir "$tools/build"
rm -rf "$tools/build"
