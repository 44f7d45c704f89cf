#!/usr/bin/env bash
# The release build: exactly what the Dockerfile's build stage runs, and what scripts/test.sh runs
# on every CI run, so the image's build steps cannot drift from a tested build (there is no Docker
# engine in CI). Writes OUT/imgshield (default dist/) and checks that the runtime image's package
# list provides every shared library it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist}

SCRIPT_NAME=build-release
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

scripts/install-deps.sh --build
require_cargo
cargo build --release --locked
mkdir -p "$out"
install -m 0755 "${CARGO_TARGET_DIR:-target}/release/imgshield" "$out/imgshield"
scripts/runtime-deps.sh --check "$out/imgshield"
"$out/imgshield" --version
