# shellcheck shell=bash
# Helpers shared by the scripts in this folder; sourced, never run. Set SCRIPT_NAME first: it
# prefixes every message. Functions that find something set a global named in their comment (bin,
# found, ncpu) rather than print it, so that they can die from the script's own shell.

# ---------------------------------------------------------------- messages and checks

die() {
    echo "$SCRIPT_NAME: $*" >&2
    exit 1
}
log() { echo "$SCRIPT_NAME: $*" >&2; }

int_in() { # NAME VALUE MIN MAX: dies unless VALUE is an integer in [MIN, MAX]
    [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -ge "$3" ] && [ "$2" -le "$4" ] ||
        die "$1 must be an integer from $3 to $4 (got '$2')"
}

require_tools() { # HINT TOOL...: dies "TOOL is required (HINT)" for a TOOL not on PATH (HINT may be empty)
    local hint=$1 tool
    shift
    for tool in "$@"; do
        command -v "$tool" >/dev/null || die "$tool is required${hint:+ ($hint)}"
    done
}

rust_version() { # the toolchain Cargo.toml's rust-version names (what the lockfile needs)
    sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1
}

version_at_least() { # HAVE NEED: true when version HAVE >= NEED (dotted numbers)
    [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]
}

require_cargo() { # makes a cargo of at least rust_version usable, installing it with rustup if needed
    local need have
    need=$(rust_version)
    [ -n "$need" ] || die "no rust-version in Cargo.toml"
    # shellcheck disable=SC1091 # rustup's own environment file, when an earlier run installed it
    [ -f "$HOME/.cargo/env" ] && source "$HOME/.cargo/env"
    if command -v cargo >/dev/null; then
        have=$(cargo --version | awk '{print $2}')
        version_at_least "${have%%-*}" "$need" && return 0
        command -v rustup >/dev/null ||
            die "cargo $have is older than the $need Cargo.toml needs, and there is no rustup to install $need"
        log "cargo $have is older than $need: installing $need with rustup"
    elif ! command -v rustup >/dev/null; then
        log "no Rust toolchain: installing rustup and Rust $need (non-interactive, into ~/.cargo)"
        command -v curl >/dev/null || die "curl is needed to fetch rustup (scripts/install-deps.sh installs it)"
        curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
            sh -s -- -y --no-modify-path --profile minimal --default-toolchain "$need" -c rustfmt -c clippy ||
            die "could not install rustup and Rust $need (https://rustup.rs)"
        # shellcheck disable=SC1091
        source "$HOME/.cargo/env"
        return 0
    fi
    rustup toolchain install "$need" --profile minimal -c rustfmt -c clippy
    export RUSTUP_TOOLCHAIN="$need"
}

check_cpus() { # WHO: sets ncpu; dies unless SERVER_CPU, CLIENT_CPU < ncpu; warns "WHO share CPU N" if equal
    ncpu=$(nproc)
    if [ "$SERVER_CPU" -ge "$ncpu" ] || [ "$CLIENT_CPU" -ge "$ncpu" ]; then
        die "SERVER_CPU/CLIENT_CPU must be below nproc ($ncpu)"
    fi
    [ "$SERVER_CPU" != "$CLIENT_CPU" ] || log "warning: $1 share CPU $SERVER_CPU"
}

check_perf() { # PERF=1 without perf on PATH: says so and sets PERF=0
    if [ "$PERF" = 1 ] && ! command -v perf >/dev/null; then
        log "perf not found; PERF=1 ignored"
        PERF=0
    fi
}

# ---------------------------------------------------------------- the binary

abs_path() { # FILE: FILE's absolute path (its directory must exist)
    echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
}

build_release() { # SECONDS [HINT]: cargo build --release in SECONDS (unless SKIP_BUILD=1); sets bin (relative)
    if [ "$SKIP_BUILD" != 1 ]; then
        log "cargo build --release"
        timeout "$1" cargo build --release >&2 || die "cargo build --release failed"
    fi
    bin="${CARGO_TARGET_DIR:-target}/release/imgshield"
    [ -x "$bin" ] || die "$bin not found${2:+ ($2)}"
}

debug_bin() { # sets bin to IMGSHIELD_BIN (target/debug/imgshield), absolute; cargo build if it is missing
    bin=${IMGSHIELD_BIN:-target/debug/imgshield}
    [ -x "$bin" ] || cargo build --locked >&2 || die "cargo build failed"
    bin=$(abs_path "$bin")
}

# ---------------------------------------------------------------- starting and stopping processes

free_port() { # a TCP port on 127.0.0.1 that nothing listens on right now
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

await_output() { # WHO PID OUT ERR REGEX: sets found to REGEX's match in OUT within 10 s, else returns 1; dies if PID exits
    local who=$1 pid=$2 out=$3 err=$4 regex=$5
    found=""
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || { cat "$err" >&2; die "$who exited at start-up"; }
        found=$(grep -oE -m1 "$regex" "$out" 2>/dev/null || true)
        [ -n "$found" ] && return 0
        sleep 0.1
    done
    return 1
}

await_url() { # WHO PID OUT ERR: await_output for the http://127.0.0.1:PORT a server prints; dies after 10 s without it
    await_output "$@" 'http://127\.0\.0\.1:[0-9]+' || die "$1 did not report its address within 10 s"
}

wait_http() { # URL [TRIES [CURL-ARGS...]]: up to TRIES (100) curl calls, 0.1 s apart; 1 if none succeeds
    local url=$1 tries=${2:-100}
    shift $(($# < 2 ? $# : 2))
    for _ in $(seq 1 "$tries"); do
        curl -s -o /dev/null --max-time 2 "$@" "$url" && return 0
        sleep 0.1
    done
    return 1
}

stop_pid() { # PID [SIGNAL]: SIGNAL (TERM), up to 5 s for it to exit, then SIGKILL; reaps it (empty PID: no-op)
    local pid=$1
    [ -n "$pid" ] || return 0
    if kill -0 "$pid" 2>/dev/null; then
        kill "-${2:-TERM}" "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

stop_var() { # VAR [SIGNAL]: stop_pid on the pid held in the variable VAR, then empties VAR
    stop_pid "${!1}" "${2:-TERM}"
    printf -v "$1" '%s' ""
}

stop_pids() { # PID...: SIGTERM to all at once, then stop_pid on each
    local pid
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "$@"; do stop_pid "$pid"; done
}

trap_cleanup() { # runs the script's `cleanup` on exit, and exits 130 on SIGINT or SIGTERM (so cleanup runs)
    trap cleanup EXIT
    trap 'exit 130' INT TERM
}

nginx_temp_paths() { # DIR: the five *_temp_path lines of an nginx http block (indented 4), under DIR
    local kind
    for kind in client_body:body proxy:proxy fastcgi:fastcgi uwsgi:uwsgi scgi:scgi; do
        echo "    ${kind%%:*}_temp_path $1/${kind#*:};"
    done
}

# ---------------------------------------------------------------- measuring a server

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; } # FORMAT EXPRESSION: awk's printf of an expression

status_kib() { # PID FIELD -> kB value from /proc/PID/status (fails if PID is gone)
    awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}
cpu_ticks() { # utime + stime of a process, in clock ticks (fields after the ") " of /proc/PID/stat)
    sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}
metric() { # URL SERIES-PREFIX -> sum of the values of the /metrics samples whose series starts with it
    curl -fs --max-time 5 "$1/metrics" | awk -v p="$2" 'index($1, p) == 1 { s += $2 } END { print s + 0 }'
}

# wrk output (FILE) -> value
wrk_rps() { awk '/^Requests\/sec:/ { print $2 }' "$1"; }
wrk_total() { awk '/ requests in / { print $1 }' "$1"; }
wrk_non2xx() { awk '/Non-2xx or 3xx responses:/ { print $NF; f = 1 } END { if (!f) print 0 }' "$1"; }
wrk_errors() { awk '/Socket errors:/ { sub(/^ *Socket errors: */, ""); print; f = 1 } END { if (!f) print "none" }' "$1"; }
