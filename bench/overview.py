#!/usr/bin/env python3
"""Wall time, set-up, teardown and peak memory of the overview (`loupe -d D`).

Runs each given loupe binary RUNS times, interleaved (A B A B ...), and
reports medians:

- wall: launch to exit;
- report: launch to the report's first byte on stdout;
- overhead: wall minus D (what is not watching);
- set-up: launch to the last attach (perf_event_open, BPF_LINK_CREATE or
  BPF_RAW_TRACEPOINT_OPEN), from a second run of each under
  `strace -f -e trace=perf_event_open,bpf` (strace slows the calls down a
  little: read it as an upper bound);
- teardown: exit minus (last attach + D), from the same strace run: the
  last section's window ends D after its attach, the rest is teardown;
- peak RSS: ru_maxrss of the plain run.

    bench/overview.py [--runs 5] [--duration 2] [--no-strace] LOUPE...
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

ATTACH_RE = re.compile(r"^\d+\s+(\d+\.\d+) (perf_event_open\(|bpf\(BPF_LINK_CREATE|"
                       r"bpf\(BPF_RAW_TRACEPOINT_OPEN)")


def plain_run(loupe, duration):
    t0 = time.monotonic()
    p = subprocess.Popen([loupe, "-d", str(duration)], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    first = p.stdout.read(1)
    t_report = time.monotonic() - t0 if first else None
    p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return dict(wall=wall, report=t_report, rss_mb=ru.ru_maxrss / 1024.0,
                rc=p.returncode)


def strace_run(loupe, duration):
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as f:
        t0 = time.time()
        subprocess.run(["strace", "-f", "-ttt", "-o", f.name, "-e",
                        "trace=perf_event_open,bpf", loupe, "-d", str(duration)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=False)
        t_exit = time.time()
        last = None
        for line in f:
            m = ATTACH_RE.match(line)
            if m:
                last = float(m.group(1))
    if last is None:
        return {}
    return dict(setup=last - t0, teardown=t_exit - (last + duration))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("loupe", nargs="+", help="loupe binaries to compare")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--duration", type=float, default=2.0)
    ap.add_argument("--no-strace", action="store_true",
                    help="skip the set-up/teardown runs under strace")
    args = ap.parse_args()
    bl.ensure_root_and_tracefs()
    res = {b: [] for b in args.loupe}
    for r in range(args.runs):
        for b in args.loupe:
            row = plain_run(b, args.duration)
            if not args.no_strace:
                row.update(strace_run(b, args.duration))
            res[b].append(row)
            bl.log(f"run {r + 1} {b}: " + ", ".join(
                f"{k} {v:.2f}" for k, v in row.items() if isinstance(v, float)))
    rows = []
    for b in args.loupe:
        rs = res[b]

        def med(k):
            return bl.median([x.get(k) for x in rs])
        rows.append([b, bl.fmt(med("wall"), "{:.2f} s"),
                     bl.fmt(med("report"), "{:.2f} s"),
                     bl.fmt((med("wall") or 0) - args.duration, "{:.2f} s"),
                     bl.fmt(med("setup"), "{:.2f} s"),
                     bl.fmt(med("teardown"), "{:.2f} s"),
                     bl.fmt(med("rss_mb"), "{:.1f} MB"),
                     ", ".join(f"{x['wall']:.2f}" for x in rs)])
    print(f"### overview, `loupe -d {args.duration:g}`, median of {args.runs} "
          f"interleaved runs; load average {os.getloadavg()[0]:.1f}\n")
    print(bl.md_table(["loupe", "wall", "report printed", "overhead (wall - d)",
                       "set-up (strace)", "teardown (strace)", "peak RSS",
                       "walls"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
