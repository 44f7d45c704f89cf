#!/usr/bin/env python3
"""Working memory of a running imgshield, sampled: its RSS minus the bytes its caches hold.

    rss_sampler.py --pid PID --port P [--interval S] [--max-secs S] [--samples FILE]

Every --interval seconds (0.1) reads VmRSS from /proc/PID/status, scrapes
http://127.0.0.1:P/metrics (the caches' weighted bytes: imgshield_cache_weighted_bytes,
imgshield_source_cache_weighted_bytes, imgshield_derivative_cache_weighted_bytes, and the memory
budget in use), then reads VmRSS again; a sample's working memory is the larger of the two RSS
readings minus the caches' bytes (so a buffer freed or an entry inserted during the scrape does not
make it smaller than it was). Runs until SIGTERM/SIGINT, until PID exits or for --max-secs (900),
then prints one JSON object: the number of samples, the peak RSS sampled, the kernel's VmHWM (the
true raw peak, read at the end while PID lives), the peak working memory and the sample it came
from (its parts in MiB), and the caches at the last sample. --samples writes every sample as TSV
(seconds, rss_kib, result, source, derivative and budget bytes). Bounded: one sample per interval,
a 2 s timeout per scrape; run it on the load generator's CPU, not the server's.
"""

import argparse
import http.client
import json
import signal
import sys
import time

CACHES = {
    "imgshield_cache_weighted_bytes": "result",
    "imgshield_source_cache_weighted_bytes": "source",
    "imgshield_derivative_cache_weighted_bytes": "derivative",
    "imgshield_memory_budget_in_use_bytes": "budget",
}
MIB = 1024 * 1024


def status_kib(pid, field):
    """A kB field of /proc/PID/status, or None once PID is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def scrape(port):
    """The cache gauges of /metrics, or None when the scrape failed."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/metrics")
        resp = conn.getresponse()
        body = resp.read().decode("utf-8", "replace")
        if resp.status != 200:
            return None
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()
    got = dict.fromkeys(CACHES.values(), 0)
    for line in body.splitlines():
        name, _, value = line.partition(" ")
        if name in CACHES:
            try:
                got[CACHES[name]] = int(float(value))
            except ValueError:
                return None
    return got


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--max-secs", type=float, default=900)
    parser.add_argument("--samples")
    args = parser.parse_args()
    if not 0.01 <= args.interval <= 10:
        sys.exit("--interval must be within 0.01-10 s")

    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(1))
    out = open(args.samples, "w") if args.samples else None
    started = time.monotonic()
    n, failed, peak_rss, peak, last = 0, 0, 0, None, None
    while not stop and time.monotonic() - started < args.max_secs:
        t0 = time.monotonic()
        rss_a = status_kib(args.pid, "VmRSS")
        caches = scrape(args.port)
        rss_b = status_kib(args.pid, "VmRSS")
        if rss_a is None or rss_b is None:
            break
        if caches is None:
            failed += 1
        else:
            rss = max(rss_a, rss_b) * 1024
            held = caches["result"] + caches["source"] + caches["derivative"]
            sample = dict(caches, rss=rss, working=rss - held, t=round(t0 - started, 3))
            n += 1
            peak_rss = max(peak_rss, rss)
            if peak is None or sample["working"] > peak["working"]:
                peak = sample
            last = sample
            if out:
                out.write("{t}\t{kib}\t{result}\t{source}\t{derivative}\t{budget}\n".format(kib=rss // 1024, **sample))
        time.sleep(max(0.0, args.interval - (time.monotonic() - t0)))
    hwm = status_kib(args.pid, "VmHWM")
    if out:
        out.close()

    def mib(sample):
        return {k: round(v / MIB, 1) for k, v in sample.items() if k != "t"} | {"t": sample["t"]}

    print(json.dumps({
        "samples": n,
        "failed_scrapes": failed,
        "peak_rss_mib": round(peak_rss / MIB, 1),
        "hwm_mib": round(hwm / 1024, 1) if hwm is not None else None,
        "peak_working_mib": round(peak["working"] / MIB, 1) if peak else None,
        "at_peak": mib(peak) if peak else None,
        "last": mib(last) if last else None,
    }))
    return 0 if n else 1


if __name__ == "__main__":
    sys.exit(main())
