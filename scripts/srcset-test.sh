#!/usr/bin/env bash
# Superseded by scripts/traffic-bench.sh, whose scenario 2 ("srcset") is this test grown up: every
# source at widths 320/640/960/1280/1920, the pairs shuffled with a fixed seed, each asked once,
# against vipsthumbnail (one process per width), Pillow, and imgshield with the derivative cache on
# and off, everything on one core, with latency p50/p99 and peak RSS. This wrapper runs that
# scenario alone, so the commands recorded in docs/BENCHMARKS.md still work:
#
#   scripts/srcset-test.sh            # = SCENARIOS=srcset scripts/traffic-bench.sh
#
# The old knobs COUNT, MP and PROGRESSIVE (default 8, 12, 1) still pick the corpus when given
# (they become CORPUS_SPEC=COUNT:MP:p|b); SKIP_BUILD, REPS, SERVER_CPU, CLIENT_CPU, OUT pass
# through; the other knobs are those listed at the top of traffic-bench.sh.

set -euo pipefail

if [ -n "${COUNT:-}${MP:-}${PROGRESSIVE:-}" ]; then
    kind=p
    [ "${PROGRESSIVE:-1}" = 1 ] || kind=b
    export CORPUS_SPEC="${COUNT:-8}:${MP:-12}:$kind"
fi
SCENARIOS=srcset exec "$(dirname "${BASH_SOURCE[0]}")/traffic-bench.sh" "$@"
