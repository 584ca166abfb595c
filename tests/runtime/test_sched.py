"""Runtime tests of the scheduler, interrupt and syscall tools (docs/sched.md).

Each test starts a child that waits for a go line on stdin, attaches loupe
filtered on it where the tool can filter, then lets the child cause a known
amount of activity and checks that at least that much was counted.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

from common import (Loupe, check, fail, marker, short, spawn, unique_comm)

# A child that sets its comm, prints its tid, waits for "go", runs one of
# the workloads below, prints "done" and waits for stdin to close.
CHILD = r"""
import os, sys, threading, time
comm, work, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open("/proc/self/comm", "w") as f:
    f.write(comm)
print(threading.get_native_id(), flush=True)
sys.stdin.readline()
if work == "sleep":
    for _ in range(n):
        time.sleep(0.001)
elif work == "spin":
    end = time.monotonic() + n / 1000.0
    while time.monotonic() < end:
        pass
elif work == "getppid":
    for _ in range(n):
        os.getppid()
elif work == "efail":
    for _ in range(n):
        try:
            os.close(-1)
        except OSError:
            pass
print("done", flush=True)
sys.stdin.read()
"""


class Child:
    """A python child running one workload when told to."""

    def __init__(self, work, n, comm=None):
        self.comm = comm or unique_comm()
        self.proc = spawn([sys.executable, "-c", CHILD, self.comm, work, str(n)],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.pid = self.proc.pid
        self.tid = int(self.proc.stdout.readline())

    def go(self, timeout=15):
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        check(line.strip() == b"done", "child %d did not finish: %r" % (self.pid, line))


def _hists(lp):
    return [e for e in lp.events() if e.get("type") == "hist"]


def _total(h):
    return sum(b["count"] for b in h["buckets"])


def _run_json(tool, child, *args):
    """Attach tool -j (filtered on the child where given), run the workload,
    stop loupe; return its JSON records."""
    lp = Loupe(tool, "-j", *args)
    lp.wait_attached()
    child.go()
    time.sleep(0.2)
    rc = lp.stop()
    check(rc == 0, "exit status %s %s" % (rc, lp.describe()))
    return lp


# ---------------------------------------------------------------- runqlat

def test_runqlat_pid_counts_wakeups():
    n = 200
    child = Child("sleep", n)
    lp = _run_json("runqlat", child, "-p", child.pid)
    hists = _hists(lp)
    check(len(hists) == 1, "want one histogram, got %s %s" % (short(hists), lp.describe()))
    h = hists[0]
    check(h["unit"] == "usecs" and h["scale"] == "log2", "unit/scale %r" % short(h))
    check(_total(h) >= n, "%d run-queue waits counted for pid %d, want >= %d sleeps: %s" %
          (_total(h), child.pid, n, short(h)))


def test_runqlat_per_pid_table_ms():
    n = 100
    child = Child("sleep", n)
    lp = Loupe("runqlat", "-P", "-m", "-T", "-p", child.pid)
    lp.wait_attached()
    child.go()
    time.sleep(0.2)
    check(lp.stop() == 0, "exit status %s" % lp.describe())
    out = lp.lines()
    cap = "pid = %d %s" % (child.pid, child.comm)
    check(cap in out, "caption %r not in output %s" % (cap, short(out, 600)))
    i = out.index(cap)
    check(any(re.match(r"^\d\d:\d\d:\d\d$", l) for l in out[:i]),
          "no HH:MM:SS line before the histograms: %s" % short(out[:4]))
    check(out[i + 1].split() == ["msecs", ":", "count", "distribution"],
          "header %r" % out[i + 1])
    counts = [int(l.split(":")[1].split()[0]) for l in out[i + 2:] if "->" in l]
    check(sum(counts) >= n, "counts %s sum < %d" % (counts, n))
    others = [l for l in out if l.startswith("pid = ") and l != cap]
    check(not others, "histograms of other pids under -p: %s" % short(others))
