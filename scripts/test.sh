#!/usr/bin/env bash
# The whole test suite, as CI runs it: system packages, formatting, lints, then every test
# (unit, integration against a real server and origin on 127.0.0.1, the real binary).
set -euo pipefail
cd "$(dirname "$0")/.."
SCRIPT_NAME="test"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

scripts/install-deps.sh
require_cargo
# s3s-fs, the real S3-compatible server of tests/s3_*.rs: built once into a cache dir (minutes on
# a fresh machine), here rather than in install-deps.sh, so the demo does not wait for it.
scripts/install-s3s-fs.sh
scripts/check-msrv.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked 2>&1 | tee "$log"
# The release build exactly as the Dockerfile makes it, with its runtime-library check.
scripts/build-release.sh dist
# The shipped nginx edge config, for real, in front of two replicas (the debug binary built above).
edge_status=0
scripts/edge-test.sh 2>&1 | tee -a "$log" || edge_status=$?
# The /dashboard page and a page of <img>/<picture>/srcset URLs in headless chromium.
scripts/browser-test.sh 2>&1 | tee -a "$log" || edge_status=$?
# cargo prints one result line per test binary (the last one is often an empty doc-test run), the
# edge test one "edge: N passed, M failed" line: close with the total, so the summary says how many
# tests actually ran.
awk '/^test result:/ { passed += $4; failed += $6; ignored += $8 }
     /^(edge|browser): [0-9]+ passed, [0-9]+ failed$/ { passed += $2; failed += $4 }
     END { printf "total: %d passed, %d failed, %d skipped\n", passed, failed, ignored }' "$log"
exit "$edge_status"
