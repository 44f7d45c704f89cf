#!/usr/bin/env bash
# Installs what is needed, builds the release binary and runs imgshield on 127.0.0.1:8080 over a
# generated sample set; it prints URLs to try. Extra arguments are passed to imgshield.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
if ! command -v cargo >/dev/null; then
  echo "cargo not found: install a Rust toolchain >= 1.87 (https://rustup.rs; Debian's own rustc is older)" >&2
  exit 1
fi
cargo build --release --locked
exec target/release/imgshield "$@"
