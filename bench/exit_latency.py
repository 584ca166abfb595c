#!/usr/bin/env python3
"""Exit latency: how long loupe takes from SIGINT until it is gone.

    bench/exit_latency.py [--runs N] [--loupe PATH ...] -- TOOL [ARGS...]

For each run and each loupe binary given (to compare two builds, in
interleaved runs): start `loupe TOOL ARGS` (output to /dev/null), wait
until the number of BPF links it holds has not changed for a second (all
its probes attached), wait 0.5 s more, send SIGINT and time until
waitpid() returns. Prints the times and, per binary, the median. As root,
from the repo root.
"""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True


def link_count(pid):
    n = 0
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return 0
    for fd in fds:
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == "anon_inode:bpf_link":
                n += 1
        except OSError:
            pass
    return n


def one_run(loupe, argv):
    p = subprocess.Popen([loupe] + argv, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    last, stable = -1, 0
    deadline = time.monotonic() + 60
    while stable < 10 and time.monotonic() < deadline:
        if p.poll() is not None:
            sys.exit("loupe %s exited during start-up (%s)" % (" ".join(argv), p.returncode))
        n = link_count(p.pid)
        stable = stable + 1 if n and n == last else 0
        last = n
        time.sleep(0.1)
    time.sleep(0.5)
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    p.wait()
    return time.monotonic() - t0, last


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--loupe", action="append",
                    help="loupe binary (repeatable; default build/loupe)")
    ap.add_argument("tool", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    argv = a.tool[1:] if a.tool[:1] == ["--"] else a.tool
    if not argv:
        ap.error("give the tool to run after --")
    binaries = a.loupe or ["build/loupe"]
    times = {b: [] for b in binaries}
    for r in range(a.runs):
        for b in binaries:
            took, links = one_run(b, argv)
            times[b].append(took)
            print("run %d %s: %d links, exit %.3f s" % (r, b, links, took), flush=True)
    for b in binaries:
        print("%s %s: median %.3f s" % (b, " ".join(argv), statistics.median(times[b])))


if __name__ == "__main__":
    main()
