#!/usr/bin/env python3
"""The agent against Debian's prometheus-node-exporter, in one run.

Both exporters are started on loopback ports of their own, with their
default collectors (loupe: every built-in metric this kernel offers, plus
the custom metrics of --config if given). Then, interleaved, for --rounds
rounds:

  scrape   = wall time of one GET /metrics, read to the end, over a new
             TCP connection (as Prometheus does when keep-alive is off),
             plain and with Accept-Encoding: gzip; median of --scrapes
  size     = lines and bytes of the plain response
  idle CPU = user+system CPU of the exporter over --idle seconds with no
             scrape, in % of one core (loupe's BPF programs run in the
             context of the traced tasks and are not in this figure; the
             per-event cost is bench/opensnoop_overhead's business)
  RSS      = VmRSS after the scrapes, and VmHWM (peak) at the end

Medians over rounds are printed as a markdown table on stdout.
"""

import argparse
import gzip
import os
import shutil
import socket
import sys
import time

sys.dont_write_bytecode = True  # keep bench/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(port, gz):
    """One scrape: seconds, and the body (decompressed)."""
    req = ("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           "Connection: close\r\n%s\r\n" %
           ("Accept-Encoding: gzip\r\n" if gz else ""))
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(req.encode())
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    dt = time.monotonic() - t0
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0]
    if b" 200 " not in status + b" ":
        bl.die("scrape of port %d: %r" % (port, status))
    if b"chunked" in head.lower():
        body = dechunk(body)
    if gz and b"content-encoding: gzip" in head.lower():
        body = gzip.decompress(body)
    return dt, body


def dechunk(body):
    out = []
    while body:
        size, _, rest = body.partition(b"\r\n")
        n = int(size.split(b";")[0], 16)
        if n == 0:
            break
        out.append(rest[:n])
        body = rest[n + 2:]
    return b"".join(out)


def wait_up(port, p, timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if p.poll() is not None:
            bl.die("exporter on port %d exited with %s" % (port, p.returncode))
        try:
            get(port, False)
            return
        except OSError:
            time.sleep(0.1)
    bl.die("exporter on port %d did not answer in %d s" % (port, timeout))


def exporters(args):
    loupe = [args.loupe, "agent", "--listen", "127.0.0.1:%d" % free_port()]
    if args.config:
        loupe += ["--config", args.config]
    node = [NODE_EXPORTER, "--web.listen-address=127.0.0.1:%d" % free_port()]
    out = [("loupe agent", loupe)]
    if os.path.exists(NODE_EXPORTER):
        out.append(("node_exporter", node))
    else:
        bl.log("no %s: apt-get install prometheus-node-exporter" %
               NODE_EXPORTER)
    return out


def port_of(argv):
    for a in argv:
        if a.startswith("127.0.0.1:"):
            return int(a.rsplit(":", 1)[1])
        if a.startswith("--web.listen-address="):
            return int(a.rsplit(":", 1)[1])
    raise ValueError(argv)


def measure(name, argv, args):
    port = port_of(argv)
    p = bl.spawn(argv, stdout=open(os.devnull, "w"),
                 stderr=open(os.devnull, "w"))
    try:
        wait_up(port, p)
        # warm-up: first scrapes fill caches (symbol tables, page cache)
        for _ in range(3):
            get(port, False)
        plain, gzipped = [], []
        body = b""
        for _ in range(args.scrapes):
            dt, body = get(port, False)
            plain.append(dt)
            dt, _ = get(port, True)
            gzipped.append(dt)
        rss = bl.vm_rss_kb(p.pid)
        cpu0 = bl.proc_cpu_s(p.pid)
        time.sleep(args.idle)
        idle = (bl.proc_cpu_s(p.pid) - cpu0) / args.idle * 100
        hwm = bl.vm_hwm_kb(p.pid)
    finally:
        bl.stop(p)
    lines = sum(1 for l in body.splitlines() if l and not l.startswith(b"#"))
    return {
        "scrape_ms": bl.median(plain) * 1000,
        "scrape_gz_ms": bl.median(gzipped) * 1000,
        "samples": lines,
        "bytes": len(body),
        "idle_cpu_pct": idle,
        "rss_mb": rss / 1024,
        "hwm_mb": hwm / 1024,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--loupe", default=os.path.join(bl.REPO_DIR, "build",
                                                    "loupe"))
    ap.add_argument("--config", help="loupe agent --config FILE")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--scrapes", type=int, default=50)
    ap.add_argument("--idle", type=float, default=10.0,
                    help="seconds of idle CPU measurement (default 10)")
    args = ap.parse_args()
    bl.ensure_root_and_tracefs()
    bl.install_cleanup()
    if not shutil.which(args.loupe) and not os.path.exists(args.loupe):
        bl.die("%s not found: run make" % args.loupe)
    before = bl.bpf_prog_ids()
    results = {}
    for r in range(args.rounds):
        for name, argv in exporters(args):
            bl.log("round %d: %s" % (r + 1, name))
            results.setdefault(name, []).append(measure(name, argv, args))
    keys = ["scrape_ms", "scrape_gz_ms", "samples", "bytes",
            "idle_cpu_pct", "rss_mb", "hwm_mb"]
    rows = []
    for name, rs in results.items():
        row = [name]
        for k in keys:
            v = bl.median([x[k] for x in rs])
            row.append("{:,.0f}".format(v) if k in ("samples", "bytes")
                       else "%.2f" % v)
        rows.append(row)
    print(bl.md_table(["exporter", "scrape ms", "scrape gzip ms",
                       "samples", "bytes", "idle CPU %", "RSS MB",
                       "peak RSS MB"], rows))
    bl.check_bpf_leftovers(before)


if __name__ == "__main__":
    main()
