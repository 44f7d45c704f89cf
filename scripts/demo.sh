#!/usr/bin/env bash
# Installs what is needed, builds the release binary and runs imgshield on 127.0.0.1:8080 over a
# generated sample set; it prints URLs to try. Extra arguments are passed to imgshield.
set -euo pipefail
cd "$(dirname "$0")/.."
SCRIPT_NAME=demo
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

scripts/install-deps.sh
require_cargo
cargo build --release --locked
exec target/release/imgshield "$@"
