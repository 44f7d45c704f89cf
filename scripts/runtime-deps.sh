#!/usr/bin/env bash
# Which Debian packages the imgshield binary needs at run time, and (with --check) whether the
# runtime image's package list (scripts/runtime-packages.txt) provides all of them, directly or
# through their dependencies. scripts/build-release.sh runs the check on every release build, so
# the Dockerfile's runtime stage cannot silently miss a library.
#
#   scripts/runtime-deps.sh BINARY            # one package per line
#   scripts/runtime-deps.sh --check BINARY    # exit 1, naming the library, when one is not covered
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
if [ "${1:-}" = "--check" ]; then
    check=1
    shift
fi
bin=${1:?usage: runtime-deps.sh [--check] BINARY}

package_of() { # LIBRARY-SONAME -> the Debian package that ships it
    local lib=$1 dir
    for dir in /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib/aarch64-linux-gnu \
        /usr/lib/aarch64-linux-gnu /lib64 /lib; do
        if dpkg -S "$dir/$lib" >/dev/null 2>&1; then
            dpkg -S "$dir/$lib" | head -n1 | cut -d: -f1
            return 0
        fi
    done
    return 1
}

needed=$(readelf -d "$bin" | awk '/\(NEEDED\)/ { gsub(/[][]/, "", $5); print $5 }')
[ -n "$needed" ] || { echo "runtime-deps: $bin needs no shared libraries?" >&2; exit 1; }
packages=()
for lib in $needed; do
    pkg=$(package_of "$lib") || { echo "runtime-deps: no package ships $lib" >&2; exit 1; }
    packages+=("$lib:$pkg")
done

if [ "$check" = 0 ]; then
    printf '%s\n' "${packages[@]}" | cut -d: -f2 | sort -u
    exit 0
fi

mapfile -t listed < <(grep -v '^#' scripts/runtime-packages.txt | awk 'NF { print $1 }')
closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances "${listed[@]}" 2>/dev/null | awk '!/^ / { print $1 } /Depends:/ { print $2 }' | sort -u)
missing=0
for entry in "${packages[@]}"; do
    lib=${entry%%:*}
    pkg=${entry#*:}
    if ! grep -qx -- "$pkg" <<<"$closure"; then
        echo "runtime-deps: $lib comes from $pkg, which scripts/runtime-packages.txt does not install" >&2
        missing=1
    fi
done
[ "$missing" = 0 ] && echo "runtime-deps: all ${#packages[@]} shared libraries are provided by scripts/runtime-packages.txt"
exit "$missing"
