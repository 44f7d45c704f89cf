#!/usr/bin/env python3
"""The measuring part of scripts/conn-flood.sh: a silent-connection flood against one server.

    conn_flood.py --port P [--silent 5000] [--half 500] [--path PATH] [--watch-secs 15]

1. Opens SILENT TCP connections to 127.0.0.1:P that never send a byte, then HALF that send
   b"PRI * HTTP" (a third of the HTTP/2 preface) and nothing more, 1,000 connects at a time (the
   listen backlog is 1,024), each
   batch with 3 s; one not completed by then (the server stopped accepting and its backlog is
   full) is counted as refused. The kernel's listen-queue overflow counters are reported too: a
   silent connection dropped from a full queue looks open to the client but never was to us.
2. With all of them held open, times GET /healthz and GET PATH (already cached by the caller),
   five times each, each on a new connection with a 10 s limit; a request past it counts as
   timed out.
3. Watches every flood socket for up to WATCH seconds and reports when the server closed them
   (EOF or reset): how many were closed, and the time from the end of the flood to the last close.

Prints one JSON object on stdout. Needs `ulimit -n` above SILENT + HALF + 100.
"""

import argparse
import http.client
import json
import selectors
import socket
import statistics
import sys
import time


def open_flood(port, count, payload, batch=1000, limit=3.0):
    """Opens `count` connections, `batch` at a time (non-blocking connects, so that a burst does
    not overflow the listen backlog and leave the client with connections the server never saw),
    sending `payload` on each; those not connected within `limit` seconds are refused. Returns
    (sockets, refused)."""
    socks = []
    for first in range(0, count, batch):
        socks += open_batch(port, min(batch, count - first), payload, limit)
    return socks, count - len(socks)


def open_batch(port, count, payload, limit):
    sel = selectors.DefaultSelector()
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        sel.register(s, selectors.EVENT_WRITE)
    socks = []
    deadline = time.monotonic() + limit
    while sel.get_map() and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.1):
            s = key.fileobj
            sel.unregister(s)
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                s.close()
                continue
            if payload:
                s.send(payload)
            socks.append(s)
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    sel.close()
    return socks


def listen_counters():
    """The kernel's listen-queue counters (TcpExt in /proc/net/netstat)."""
    with open("/proc/net/netstat") as f:
        lines = [line.split() for line in f if line.startswith("TcpExt:")]
    values = dict(zip(lines[0][1:], map(int, lines[1][1:])))
    names = ("ListenOverflows", "ListenDrops", "SyncookiesSent")
    return {name: values.get(name, 0) for name in names}


def timed_get(port, path, tries=5, limit=10.0):
    """Milliseconds per request (None when it timed out or failed), `tries` times."""
    out = []
    for _ in range(tries):
        started = time.monotonic()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=limit)
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            conn.close()
            ok = response.status == 200
        except OSError:
            ok = False
        out.append(round((time.monotonic() - started) * 1000, 1) if ok else None)
    return out


def open_in_server(port):
    """imgshield_http_connections from /metrics (this request's own connection included)."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
        conn.close()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("imgshield_http_connections "):
            return int(float(line.split()[1]))
    return None


def summary(times):
    done = [t for t in times if t is not None]
    return {
        "ms": times,
        "answered": len(done),
        "median_ms": statistics.median(done) if done else None,
        "max_ms": max(done) if done else None,
    }


def watch_closes(socks, flood_end, watch_secs):
    """Seconds from `flood_end` to each socket's close, for those closed within `watch_secs`."""
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    closed_at = []
    deadline = time.monotonic() + watch_secs
    while len(closed_at) < len(socks) and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                closed_at.append(time.monotonic() - flood_end)
                sel.unregister(s)
    sel.close()
    return closed_at


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--silent", type=int, default=5000)
    ap.add_argument("--half", type=int, default=500)
    ap.add_argument("--path", default="/resize?src=sample.jpg&w=300")
    ap.add_argument("--watch-secs", type=float, default=15.0)
    args = ap.parse_args()

    before = listen_counters()
    started = time.monotonic()
    silent, silent_refused = open_flood(args.port, args.silent, b"")
    half, half_refused = open_flood(args.port, args.half, b"PRI * HTTP")
    flood_end = time.monotonic()
    after = listen_counters()
    healthz = summary(timed_get(args.port, "/healthz"))
    held = open_in_server(args.port)
    cached = summary(timed_get(args.port, args.path))
    socks = silent + half
    closed_at = watch_closes(socks, flood_end, args.watch_secs)
    for s in socks:
        s.close()
    print(json.dumps({
        "flood_secs": round(flood_end - started, 2),
        "silent_open": len(silent),
        "silent_refused": silent_refused,
        "half_open": len(half),
        "half_refused": half_refused,
        "healthz": healthz,
        "cached_resize": cached,
        "flood_sockets": len(socks),
        "closed_by_server": len(closed_at),
        "last_close_secs": round(max(closed_at), 2) if closed_at else None,
        "watched_secs": args.watch_secs,
        "open_in_server_after_flood": held,
        "kernel_listen": {k: after[k] - before[k] for k in after},
    }))


if __name__ == "__main__":
    sys.exit(main())
