#!/usr/bin/env python3
"""The measuring parts of scripts/traffic-bench.sh that are easier in Python than in shell.

    traffic_bench.py client  --port P --conns C --urls FILE [--save DIR] [--latencies FILE] [--max-secs S]
    traffic_bench.py pillow  --pairs FILE --quality Q [--out DIR]
    traffic_bench.py run     -- COMMAND ARGS...
    traffic_bench.py ssim    --pairs FILE
    traffic_bench.py plan    --kind floor|srcset --src-dir DIR --tag TAG --prefix PREFIX
                             [--widths "W..." | --wmin A --wmax B] [--seed S] [--quality Q] FILE...

Each prints one JSON object on stdout (progress and errors go to stderr) and exits non-zero when
something it checks fails.

client  sends every path in FILE (one per line: PATH, or PATH<TAB>NAME) exactly once to
        127.0.0.1:P over C keep-alive connections that pull from one shared queue, in the file's
        order, and reports requests/s, latency p50/p99 (client side, from sending the request to
        the last body byte), statuses and X-Cache values. Each response must be 200 image/jpeg with
        a non-empty body; with --save, the body is written to DIR/NAME. Bounded: one pass over the
        file, 120 s per request, no new request after --max-secs. --latencies writes every latency
        (ms, one per line) so that several passes can be pooled.
pillow  the Pillow reference: for each line of FILE (SRC<TAB>WIDTH[<TAB>OUTNAME]) open SRC,
        img.draft('RGB', (w, h)) (JPEG DCT-domain scaling, libjpeg-turbo as bundled in the wheel),
        resize to exactly (w, h) with LANCZOS, save as JPEG at quality Q; h keeps the aspect ratio
        (rounded). Timed in-process (interpreter start-up and imports excluded), one process, so
        pin it with taskset. Reports images/s, the CPU time of the loop, per-image p50/p99 and peak
        RSS (ru_maxrss).
run     runs COMMAND (with --each FILE: once per line, the line's tab-separated fields appended, one
        process after another), reports the wall time, CPU time and peak RSS of its children.
ssim    for each line of FILE (A<TAB>B[<TAB>LABEL]) the SSIM of the two images' luma, the same
        measure as src/quality.rs (Rec. 601 luma, 8x8 uniform windows at a stride of 4, K1 = 0.01,
        K2 = 0.03, sample (co)variances); reports min, mean and the worst pair. Images of different
        sizes are reported as mismatches (and fail), except sizes 1 px apart on a side (rounding of
        the other side), which are compared on their common area and counted as off_by_one.
plan    byte-distinct sources for one pass and its work lists. Every FILE (a JPEG) is copied into
        DIR as <stem>.<TAG>.jpg with a JPEG comment segment (COM, "imgshield-bench TAG") inserted
        right after SOI, so the copy decodes to the same pixels but hashes differently: the
        derivative cache keys decodes by content, so the same bytes under a new URL would not be a
        cold decode. Cheap (one write per file). Then, for the copies:
          floor   each copy once, at a width drawn from [A, B] with SEED (or the first of --widths);
          srcset  each copy at every width of --widths, the (copy, width) pairs shuffled with SEED
                  (one block: pass a distinct TAG and SEED per block);
        written as PREFIX.urls (/resize?src=NAME&w=W&q=Q<TAB>OUTNAME, for the client) and
        PREFIX.pairs (SRC<TAB>W<TAB>OUTNAME, for Pillow, vipsthumbnail and the SSIM lists), in the
        same order. Prints {"files": N, "requests": M, "bytes": B}.
"""

import argparse
import http.client
import json
import math
import os
import resource
import subprocess
import sys
import threading
import time


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list (p in 0..100); 0.0 for an empty list."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(p / 100.0 * len(sorted_values) - 1e-9))
    return sorted_values[min(len(sorted_values), rank) - 1]


def cpu_seconds(who):
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def maxrss_mib(who):
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(who).ru_maxrss / 1024.0


# ---------------------------------------------------------------- client

def cmd_client(args):
    jobs = []
    with open(args.urls) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            path, _, name = line.partition("\t")
            jobs.append((path, name))
    if args.save and any(not name for _, name in jobs):
        sys.exit("client: --save needs a NAME on every line")
    if args.save:
        os.makedirs(args.save, exist_ok=True)

    lock = threading.Lock()
    queue = list(reversed(jobs))
    latencies, statuses, xcache, failures = [], {}, {}, []
    deadline = time.monotonic() + args.max_secs
    started = time.monotonic()

    def worker():
        conn = None
        while True:
            with lock:
                if not queue or time.monotonic() > deadline:
                    break
                path, name = queue.pop()
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=120)
            t0 = time.monotonic()
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                body = resp.read()
            except (OSError, http.client.HTTPException) as e:
                with lock:
                    failures.append(f"{path}: {e!r}")
                conn.close()
                conn = None
                continue
            took = time.monotonic() - t0
            ctype = resp.getheader("content-type", "")
            cache = resp.getheader("x-cache", "-")
            ok = resp.status == 200 and ctype == "image/jpeg" and len(body) > 0
            if ok and args.save:
                with open(os.path.join(args.save, name), "wb") as out:
                    out.write(body)
            with lock:
                latencies.append(took)
                statuses[resp.status] = statuses.get(resp.status, 0) + 1
                xcache[cache] = xcache.get(cache, 0) + 1
                if not ok:
                    failures.append(f"{path}: {resp.status} {ctype} {len(body)} bytes")
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(args.conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - started
    latencies.sort()
    done = len(latencies)
    if args.latencies:
        with open(args.latencies, "w") as f:
            f.writelines(f"{1000 * t:.3f}\n" for t in latencies)
    result = {
        "requests": done,
        "planned": len(jobs),
        "seconds": round(seconds, 4),
        "rps": round(done / seconds, 3) if seconds > 0 else 0.0,
        "p50_ms": round(1000 * percentile(latencies, 50), 2),
        "p99_ms": round(1000 * percentile(latencies, 99), 2),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "x_cache": xcache,
        "failures": failures[:5],
        "failure_count": len(failures),
    }
    print(json.dumps(result))
    if failures or done != len(jobs):
        print(f"client: {len(failures)} failure(s), {done} of {len(jobs)} done", file=sys.stderr)
        return 1
    return 0


# ---------------------------------------------------------------- pillow

def cmd_pillow(args):
    from PIL import Image, features, __version__ as pil_version

    work = []
    with open(args.pairs) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if parts == [""]:
                continue
            src, width = parts[0], int(parts[1])
            out = parts[2] if len(parts) > 2 else ""
            work.append((src, width, out))
    if args.out:
        os.makedirs(args.out, exist_ok=True)

    import io

    times = []
    cpu0 = cpu_seconds(resource.RUSAGE_SELF)
    started = time.monotonic()
    for src, width, out in work:
        t0 = time.monotonic()
        with Image.open(src) as img:
            w0, h0 = img.size
            height = max(1, int(round(h0 * width / w0)))
            img.draft("RGB", (width, height))
            if img.mode != "RGB":
                img = img.convert("RGB")
            small = img.resize((width, height), Image.LANCZOS)
        buf = io.BytesIO()
        small.save(buf, "JPEG", quality=args.quality)
        if args.out and out:
            with open(os.path.join(args.out, out), "wb") as f:
                f.write(buf.getvalue())
        times.append(time.monotonic() - t0)
    seconds = time.monotonic() - started
    cpu = cpu_seconds(resource.RUSAGE_SELF) - cpu0
    times.sort()
    print(json.dumps({
        "images": len(work),
        "seconds": round(seconds, 4),
        "cpu_s": round(cpu, 4),
        "ips": round(len(work) / seconds, 3) if seconds > 0 else 0.0,
        "p50_ms": round(1000 * percentile(times, 50), 2),
        "p99_ms": round(1000 * percentile(times, 99), 2),
        "maxrss_mib": round(maxrss_mib(resource.RUSAGE_SELF), 1),
        "pillow": pil_version,
        "libjpeg_turbo": features.version("libjpeg_turbo"),
    }))
    return 0


# ---------------------------------------------------------------- run

def cmd_run(args):
    command = args.command
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        sys.exit("run: no command")
    runs = [command]
    if args.each:
        # One process per line: COMMAND followed by the line's tab-separated fields.
        with open(args.each) as f:
            runs = [command + line.rstrip("\n").split("\t") for line in f if line.strip()]
    rc = 0
    t0 = time.monotonic()
    for argv in runs:
        rc = subprocess.call(argv)
        if rc != 0:
            break
    seconds = time.monotonic() - t0
    print(json.dumps({
        "processes": len(runs),
        "rc": rc,
        "seconds": round(seconds, 4),
        "cpu_s": round(cpu_seconds(resource.RUSAGE_CHILDREN), 4),
        "maxrss_mib": round(maxrss_mib(resource.RUSAGE_CHILDREN), 1),
    }))
    return 0 if rc == 0 else 1


# ---------------------------------------------------------------- ssim

def luma(path):
    import numpy as np
    from PIL import Image

    with Image.open(path) as img:
        rgb = np.asarray(img.convert("RGB"), dtype=np.uint32)
    y = (299 * rgb[..., 0] + 587 * rgb[..., 1] + 114 * rgb[..., 2] + 500) // 1000
    return y.astype(np.float64)


def ssim(a, b, window=8, stride=4):
    """Mean SSIM over window x window blocks at the given stride, as src/quality.rs computes it."""
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    n = float(window * window)
    c1 = (0.01 * 255) ** 2
    c2 = (0.03 * 255) ** 2

    def block_sums(x):
        return sliding_window_view(x, (window, window))[::stride, ::stride].sum(axis=(-1, -2))

    sa, sb = block_sums(a), block_sums(b)
    saa, sbb, sab = block_sums(a * a), block_sums(b * b), block_sums(a * b)
    ma, mb = sa / n, sb / n
    va = (saa - n * ma * ma) / (n - 1)
    vb = (sbb - n * mb * mb) / (n - 1)
    cov = (sab - n * ma * mb) / (n - 1)
    s = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2))
    return float(np.mean(s))


def cmd_ssim(args):
    values, mismatches, off_by_one = [], [], 0
    with open(args.pairs) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if parts == [""]:
                continue
            a_path, b_path = parts[0], parts[1]
            label = parts[2] if len(parts) > 2 else os.path.basename(a_path)
            a, b = luma(a_path), luma(b_path)
            if a.shape != b.shape and all(abs(x - y) <= 1 for x, y in zip(a.shape, b.shape)):
                # Two scalers may round the other side of a non-integer scale differently: compare
                # the common area (a row or column of one edge left out).
                h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
                a, b = a[:h, :w], b[:h, :w]
                off_by_one += 1
            if a.shape != b.shape or min(a.shape) < 8:
                mismatches.append(f"{label}: {a.shape[1]}x{a.shape[0]} vs {b.shape[1]}x{b.shape[0]}")
                continue
            values.append((ssim(a, b), label))
    values.sort()
    result = {
        "pairs": len(values),
        "min": round(values[0][0], 4) if values else None,
        "mean": round(sum(v for v, _ in values) / len(values), 4) if values else None,
        "worst": values[0][1] if values else None,
        "size_mismatches": mismatches,
        "off_by_one": off_by_one,
    }
    print(json.dumps(result))
    return 1 if mismatches or not values else 0


# ---------------------------------------------------------------- plan

def with_comment(data, text):
    """JPEG bytes with a COM segment carrying `text` right after SOI (the pixels are unchanged)."""
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG (no SOI)")
    payload = text.encode("ascii")
    if len(payload) > 65533:
        raise ValueError("comment too long")
    segment = b"\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload
    return data[:2] + segment + data[2:]


def cmd_plan(args):
    import random

    os.makedirs(args.src_dir, exist_ok=True)
    rng = random.Random(args.seed)
    widths = [int(w) for w in args.widths.split()] if args.widths else []
    copies, total = [], 0
    for src in args.files:
        with open(src, "rb") as f:
            data = with_comment(f.read(), f"imgshield-bench {args.tag}")
        stem = os.path.splitext(os.path.basename(src))[0]
        name = f"{stem}.{args.tag}.jpg"
        path = os.path.join(args.src_dir, name)
        with open(path, "wb") as f:
            f.write(data)
        copies.append((path, name))
        total += len(data)
    work = []
    if args.kind == "floor":
        for path, name in copies:
            w = widths[0] if widths else rng.randint(args.wmin, args.wmax)
            work.append((path, name, w))
    else:
        if not widths:
            sys.exit("plan: srcset needs --widths")
        work = [(path, name, w) for path, name in copies for w in widths]
        rng.shuffle(work)
    with open(args.prefix + ".urls", "w") as urls, open(args.prefix + ".pairs", "w") as pairs:
        for path, name, w in work:
            out = f"{os.path.splitext(name)[0]}-{w}.jpg"
            urls.write(f"/resize?src={name}&w={w}&q={args.quality}\t{out}\n")
            pairs.write(f"{path}\t{w}\t{out}\n")
    print(json.dumps({"files": len(copies), "requests": len(work), "bytes": total}))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("client")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--conns", type=int, default=8)
    p.add_argument("--urls", required=True)
    p.add_argument("--save")
    p.add_argument("--latencies", help="also write every latency, in ms, one per line, to this file")
    p.add_argument("--max-secs", type=float, default=600)
    p.set_defaults(func=cmd_client)

    p = sub.add_parser("pillow")
    p.add_argument("--pairs", required=True)
    p.add_argument("--quality", type=int, default=80)
    p.add_argument("--out")
    p.set_defaults(func=cmd_pillow)

    p = sub.add_parser("run")
    p.add_argument("--each", help="run COMMAND once per line of this file, the line's fields appended")
    p.add_argument("command", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("ssim")
    p.add_argument("--pairs", required=True)
    p.set_defaults(func=cmd_ssim)

    p = sub.add_parser("plan")
    p.add_argument("--kind", choices=["floor", "srcset"], required=True)
    p.add_argument("--src-dir", required=True)
    p.add_argument("--tag", required=True)
    p.add_argument("--prefix", required=True)
    p.add_argument("--widths", default="")
    p.add_argument("--wmin", type=int, default=300)
    p.add_argument("--wmax", type=int, default=1299)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--quality", type=int, default=80)
    p.add_argument("files", nargs="+")
    p.set_defaults(func=cmd_plan)

    args = parser.parse_args()
    if getattr(args, "conns", 1) < 1:
        sys.exit("--conns must be at least 1")
    sys.exit(args.func(args))


if __name__ == "__main__":
    main()
