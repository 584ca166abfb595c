#!/usr/bin/env python3
"""What a tracer hooked on the syscall path adds to each system call.

    bench/syscall_cost.py [--rounds R] [--tool ARGS]... [--peer CMD]...

Times bench/build/sysloop (read() of 64 bytes from /dev/zero: a call HTTP
tracing must look at, on a file that is no socket; getppid(): a call it
must let pass) untraced and under each --tool (a loupe command line,
default `http -s`; a first word with a / is another loupe binary) and
--peer (any command line, e.g. a bpftrace one-liner on the same
syscalls), in interleaved rounds. Prints a markdown table of the median
ns per call and what each tracer adds. Steadier than throughput on a
shared machine: one process, no network, medians of timed chunks.
As root, from the repo root, after `make -C bench`.
"""
import argparse
import re
import shlex
import signal
import statistics
import subprocess
import sys
import time

LOOP = "bench/build/sysloop"


def per_call(kind):
    out = subprocess.run([LOOP, kind], capture_output=True, text=True,
                         check=True).stdout
    return float(re.search(r"median_ns=([\d.]+)", out).group(1))


def argv_of(loupe, spec):
    if spec.startswith("peer:"):
        return shlex.split(spec[5:])
    argv = shlex.split(spec)
    return argv if "/" in argv[0] else [loupe] + argv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--loupe", default="build/loupe")
    ap.add_argument("--tool", action="append", default=[])
    ap.add_argument("--peer", action="append", default=[])
    ap.add_argument("--settle", type=float, default=2.5,
                    help="seconds between starting a tracer and timing")
    a = ap.parse_args()
    specs = (a.tool or ([] if a.peer else ["http -s"])) + \
        ["peer:" + p for p in a.peer]
    kinds = ("read", "getppid")
    res = {s: {k: [] for k in kinds} for s in ["untraced"] + specs}
    for _ in range(a.rounds):
        for spec in ["untraced"] + specs:
            tracer = None
            if spec != "untraced":
                tracer = subprocess.Popen(argv_of(a.loupe, spec),
                                          stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE, text=True)
                time.sleep(a.settle)
                if tracer.poll() is not None:
                    sys.exit("%s exited %d: %s" % (spec, tracer.returncode,
                                                   tracer.communicate()[1]))
            try:
                for k in kinds:
                    res[spec][k].append(per_call(k))
            finally:
                if tracer:
                    tracer.send_signal(signal.SIGINT)
                    tracer.communicate(timeout=30)
    med = {s: {k: statistics.median(v) for k, v in r.items()}
           for s, r in res.items()}
    u = med["untraced"]
    print("| %d rounds, medians | read() ns | added | getppid() ns | added |"
          % a.rounds)
    print("|---|---|---|---|---|")
    print("| untraced | %.0f | | %.0f | |" % (u["read"], u["getppid"]))
    for s in specs:
        m = med[s]
        name = s[5:] if s.startswith("peer:") else "loupe " + s
        print("| `%s` | %.0f | %+.0f | %.0f | %+.0f |"
              % (name, m["read"], m["read"] - u["read"], m["getppid"],
                 m["getppid"] - u["getppid"]))


if __name__ == "__main__":
    main()
