#!/usr/bin/env bash
# Checks that Cargo.toml's rust-version is exactly what the lockfile needs: the highest
# rust-version any locked package declares. Lower, and a build with that toolchain fails; higher,
# and users are asked for a newer toolchain than they need.
set -euo pipefail
cd "$(dirname "$0")/.."
SCRIPT_NAME=check-msrv
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

declared=$(rust_version)
needed=$(cargo metadata --format-version 1 --locked | python3 -c '
import json, sys
packages = json.load(sys.stdin)["packages"]
versions = [(tuple(int(n) for n in p["rust_version"].split(".")), p["name"], p["version"])
            for p in packages if p.get("rust_version")]
version, name, at = max(versions)
print(".".join(str(n) for n in version[:2]), name, at)')
read -r need by by_version <<<"$needed"
if [ "$declared" != "$need" ]; then
    die "Cargo.toml says rust-version $declared, but the lockfile needs $need ($by $by_version): set it to $need (and the Dockerfile's rust image)"
fi
grep -q "FROM rust:$need-" Dockerfile || die "the Dockerfile does not build with rust:$need"
log "rust-version $declared is what the lockfile needs ($by $by_version)"
