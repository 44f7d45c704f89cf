# Helpers shared by the scripts in this folder; sourced, never run. Set SCRIPT_NAME first: it
# prefixes every message.

die() {
    echo "$SCRIPT_NAME: $*" >&2
    exit 1
}
log() { echo "$SCRIPT_NAME: $*" >&2; }

int_in() { # NAME VALUE MIN MAX: dies unless VALUE is an integer in [MIN, MAX]
    [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -ge "$3" ] && [ "$2" -le "$4" ] ||
        die "$1 must be an integer from $3 to $4 (got '$2')"
}

free_port() { # a TCP port on 127.0.0.1 that nothing listens on right now
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
