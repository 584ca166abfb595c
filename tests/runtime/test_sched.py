"""Runtime tests of the scheduler, interrupt and syscall tools (docs/sched.md).

Each test starts a child that waits for a go line on stdin, attaches loupe
filtered on it where the tool can filter, then lets the child cause a known
amount of activity and checks that at least that much was counted.
"""
import os
import re
import socket
import subprocess
import sys
import time

from common import Loupe, check, marker, short, spawn, tmpdir, unique_comm

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
elif work == "nap":
    for _ in range(n):
        time.sleep(0.01)
elif work == "spin":
    end = time.process_time() + n / 1000.0
    while time.process_time() < end:
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

def _switches(pid):
    """The task's (voluntary, involuntary) context switches so far."""
    with open("/proc/%d/status" % pid) as f:
        st = dict(l.split(":", 1) for l in f if ":" in l)
    return (int(st["voluntary_ctxt_switches"]),
            int(st["nonvoluntary_ctxt_switches"]))


def test_runqlat_pid_counts_wakeups():
    """Every time the child blocked (a voluntary context switch: its 200
    sleeps, less any that ended before it left the CPU) it was woken, queued
    and run again: one run-queue wait each, plus one per preemption."""
    n = 200
    child = Child("sleep", n)
    lp = Loupe("runqlat", "-j", "-p", child.pid)
    lp.wait_attached()
    v0, i0 = _switches(child.pid)
    child.go()
    # the child now blocks reading stdin: that last switch is not woken
    v1, i1 = _switches(child.pid)
    time.sleep(0.2)
    rc = lp.stop()
    check(rc == 0, "exit status %s %s" % (rc, lp.describe()))
    hists = _hists(lp)
    check(len(hists) == 1, "want one histogram, got %s %s" % (short(hists), lp.describe()))
    h = hists[0]
    check(h["unit"] == "usecs" and h["scale"] == "log2", "unit/scale %r" % short(h))
    blocked = v1 - v0
    check(blocked >= n * 0.9, "the child blocked only %d times in %d sleeps" %
          (blocked, n))
    check(blocked - 1 <= _total(h) <= blocked + (i1 - i0) + 1,
          "%d run-queue waits counted for pid %d, which blocked %d times and "
          "was preempted %d times: %s" %
          (_total(h), child.pid, blocked, i1 - i0, short(h)))


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


# ---------------------------------------------------------------- runqslower

def test_runqslower_min0_marked_child():
    n = 100
    child = Child("sleep", n)
    lp = _run_json("runqslower", child, "0", "-p", child.pid)
    evs = [e for e in lp.events() if e.get("type") == "runqslower"]
    mine = [e for e in evs if e["tid"] == child.tid]
    check(len(mine) >= n, "%d events for tid %d, want >= %d %s" %
          (len(mine), child.tid, n, lp.describe()))
    e = mine[0]
    check(e["pid"] == child.pid and e["comm"] == child.comm and e["ppid"] == os.getpid(),
          "identity of the waiting task: %s" % short(e))
    check(isinstance(e["lat_us"], int) and e["lat_us"] >= 0, "lat_us: %s" % short(e))
    check(isinstance(e["prev_comm"], str) and isinstance(e["prev_tid"], int),
          "prev fields: %s" % short(e))
    others = [e for e in evs if e["pid"] != child.pid]
    check(not others, "events of other processes under -p: %s" % short(others[:2]))


def test_runqslower_table_previous():
    child = Child("sleep", 50)
    lp = Loupe("runqslower", "-P", "-p", child.pid, "0")
    hdr = lp.wait_header()
    check(hdr == "TIME     COMM             TID           LAT(us) PREV COMM        PREV TID",
          "header %r" % hdr)
    lp.wait_attached(settle=0.5)
    child.go()
    row = lp.wait_line(lambda l: (" %s " % child.comm) in l, 5)
    lp.stop()
    check(row is not None, "no row for %s %s" % (child.comm, lp.describe()))
    m = re.match(r"^\d\d:\d\d:\d\d (\S+) +(\d+) +(\d+) (.{16}) (\d+)$", row)
    check(m and m.group(1) == child.comm and int(m.group(2)) == child.tid,
          "row %r does not match TIME COMM TID LAT PREV_COMM PREV_TID of %d" % (row, child.tid))


# A process whose second thread prints its tid, naps N times when told to,
# then exits; the process lives on until its stdin closes.
THREADED = r"""
import sys, threading, time
go = threading.Event()
def worker():
    print(threading.get_native_id(), flush=True)
    go.wait()
    for _ in range(int(sys.argv[1])):
        time.sleep(0.001)
t = threading.Thread(target=worker)
t.start()
sys.stdin.readline()
go.set()
t.join()
print("joined", flush=True)
sys.stdin.read()
"""


def test_runqslower_tid_exit_ends_run():
    """--tid: the run ends when that thread exits (as -p ends with its
    process), while its process lives on; it saw only that thread."""
    n = 20
    proc = spawn([sys.executable, "-c", THREADED, str(n)],
                 stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        tid = int(proc.stdout.readline())
        lp = Loupe("runqslower", "0", "--tid", tid, "-j")
        lp.wait_attached()
        proc.stdin.write(b"go\n")
        proc.stdin.flush()
        check(proc.stdout.readline().strip() == b"joined", "the thread did not end")
        rc = lp.wait_exit(10, "after thread %d exited" % tid)
        check(proc.poll() is None, "the process exited with its thread")
    finally:
        proc.stdin.close()
        proc.wait(10)
    err = lp.stderr_lines()
    want = "loupe: runqslower: thread %d exited; tracing ended" % tid
    check(rc == 0 and err and err[-1] == want,
          "exit status %s, last stderr line %r != %r" % (rc, err[-1:] or None, want))
    evs = [e for e in lp.events() if e.get("type") == "runqslower"]
    check(len(evs) >= n and all(e["tid"] == tid for e in evs),
          "want >= %d waits of tid %d only: %s" % (n, tid, short(evs[:3])))


def test_runqslower_bad_threshold():
    lp = Loupe("runqslower", "ten")
    rc = lp.wait_exit(5)
    err = lp.stderr_lines()
    check(rc == 2 and len(err) == 1 and "MIN_US" in err[0], "rc %s stderr %s" % (rc, err))


# ---------------------------------------------------------------- cpudist

def test_cpudist_busy_child_on_cpu():
    ms = 300
    child = Child("spin", ms)
    lp = _run_json("cpudist", child, "-P", "-p", child.pid)
    hists = _hists(lp)
    check(len(hists) == 1 and hists[0].get("pid") == child.pid and
          hists[0].get("comm") == child.comm,
          "want one histogram for pid %d %s, got %s" % (child.pid, child.comm, short(hists)))
    # Each bucket's low bound under-counts by at most half.
    low_us = sum(b["low"] * b["count"] for b in hists[0]["buckets"])
    check(low_us >= ms * 1000 // 3, "on-CPU time >= %d us counted, child spun %d ms of CPU: %s" %
          (low_us, ms, short(hists[0], 800)))


def test_cpudist_caption_escapes_comm():
    """The "pid = PID COMM" caption above a histogram shows a command name
    as a table cell does: an ESC in it cannot reach the terminal."""
    child = Child("spin", 100, comm="cap\x1b[2Jx")
    lp = Loupe("cpudist", "-P", "-p", child.pid)
    lp.wait_attached()
    child.go()
    time.sleep(0.2)
    rc = lp.stop()
    check(rc == 0, "exit status %s %s" % (rc, lp.describe()))
    want = "pid = %d cap\\x1b[2Jx" % child.pid
    check(want in lp.lines(), "want the caption %r: %s" % (want, short(lp.lines(), 600)))


def test_cpudist_offcpu_naps():
    n = 20
    child = Child("nap", n)
    lp = _run_json("cpudist", child, "-O", "-p", child.pid)
    hists = _hists(lp)
    check(len(hists) == 1 and "pid" not in hists[0], "want one histogram: %s" % short(hists))
    naps = sum(b["count"] for b in hists[0]["buckets"] if b["low"] >= 8192)
    # The nap in progress when the histogram is read is not counted yet
    # (seen once on a loaded machine: 19 of 20).
    check(naps >= n - 1, "%d off-CPU periods >= 8 ms, child napped %d x 10 ms: %s" %
          (naps, n, short(hists[0], 800)))


# ---------------------------------------------------------------- syscount

def _rows(lp, **match):
    return [e for e in lp.events() if e.get("type") == "syscount" and
            all(e.get(k) == v for k, v in match.items())]


def test_syscount_getppid_count():
    n = 5000
    child = Child("getppid", n)
    lp = _run_json("syscount", child, "-p", child.pid, "-r", "50")
    rows = _rows(lp, syscall="getppid")
    check(len(rows) == 1 and rows[0]["count"] >= n,
          "getppid rows %s, want one with count >= %d %s" % (short(rows), n, lp.describe()))
    check(isinstance(rows[0]["nr"], int) and isinstance(rows[0]["ts_ns"], int),
          "row fields: %s" % short(rows[0]))


def test_syscount_failed_errno():
    n = 300
    child = Child("efail", n)
    lp = _run_json("syscount", child, "-x", "-e", "EBADF", "-p", child.pid)
    rows = _rows(lp, syscall="close")
    check(len(rows) == 1 and rows[0]["count"] >= n,
          "close rows %s, want count >= %d failed closes %s" % (short(rows), n, lp.describe()))
    child2 = Child("efail", n)
    lp2 = _run_json("syscount", child2, "-e", "ENOENT", "-p", child2.pid)
    check(not _rows(lp2, syscall="close"),
          "close(-1) (EBADF) counted under -e ENOENT: %s" % short(lp2.events()))


def test_syscount_process_latency_table():
    n = 2000
    child = Child("getppid", n)
    lp = Loupe("syscount", "-P", "-L", "-p", child.pid)
    lp.wait_attached()
    child.go()
    time.sleep(0.2)
    check(lp.stop() == 0, "exit status %s" % lp.describe())
    out = lp.lines()
    check(re.match(r"^\[\d\d:\d\d:\d\d\]$", out[0] if out else ""), "time line: %s" % short(out))
    check(out[1] == "PID    COMM               COUNT        TIME (us)", "header %r" % out[1])
    m = re.match(r"^(\d+) +(\S+) +(\d+) +(\d+\.\d{3})$", out[2])
    check(m and int(m.group(1)) == child.pid and m.group(2) == child.comm and
          int(m.group(3)) >= n and float(m.group(4)) > 0,
          "row %r is not pid %d %s with count >= %d and a time" % (out[2], child.pid, child.comm, n))


# ---------------------------------------------------------------- hardirqs / softirqs

def _irq_counts():
    """Handler name -> total count over CPUs, from /proc/interrupts."""
    counts = {}
    with open("/proc/interrupts") as f:
        ncpu = len(f.readline().split())
        for line in f:
            parts = line.split()
            if not parts or not parts[0].rstrip(":").isdigit():
                continue
            n = sum(int(p) for p in parts[1:1 + ncpu] if p.isdigit())
            names = " ".join(parts[1 + ncpu:]).split()
            for name in " ".join(names[2:]).split(", ") if len(names) > 2 else names[-1:]:
                counts[name] = counts.get(name, 0) + n
    return counts


def _disk_io(d, n=20):
    path = os.path.join(d, marker("fsync"))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for i in range(n):
            os.pwrite(fd, os.urandom(4096), i * 4096)
            os.fsync(fd)
    finally:
        os.close(fd)


def test_hardirqs_counts_match_proc_interrupts():
    d = tmpdir()
    before = _irq_counts()
    lp = Loupe("hardirqs", "-C", "-j")
    lp.wait_attached()
    _disk_io(d)
    time.sleep(0.2)
    check(lp.stop() == 0, "exit status %s" % lp.describe())
    after = _irq_counts()
    rows = [e for e in lp.events() if e.get("type") == "hardirq"]
    check(rows and all(e["count"] > 0 for e in rows), "no counts after disk I/O: %s" %
          lp.describe())
    for e in rows:
        name = e["hardirq"]
        check(name in after, "%r is not an interrupt of /proc/interrupts %s" %
              (name, sorted(after)))
        delta = after[name] - before.get(name, 0)
        check(e["count"] <= delta, "%s counted %d, /proc/interrupts grew by %d only" %
              (name, e["count"], delta))


def test_hardirqs_time_table():
    d = tmpdir()
    lp = Loupe("hardirqs", "-T", "-i", "0.5")
    lp.wait_attached(settle=0.2)
    _disk_io(d)
    got = lp.wait_line(lambda l: l.startswith("HARDIRQ"), 3)
    time.sleep(0.6)
    lp.stop()
    out = lp.lines()
    check(got == "HARDIRQ                    TOTAL_usecs", "header %r %s" % (got, lp.describe()))
    i = out.index(got)
    check(re.match(r"^\d\d:\d\d:\d\d$", out[i - 1]), "no time line before the header: %s" %
          short(out[:i + 1]))
    rows = [l for l in out if re.match(r"^\S.{25} +\d+$", l) and not l.startswith("HARDIRQ")]
    check(rows, "no HARDIRQ TOTAL_usecs rows: %s" % short(out))


def _tcp_pingpong(n=200):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    cli = socket.create_connection(srv.getsockname(), timeout=5)
    conn, _ = srv.accept()
    try:
        for _ in range(n):
            cli.sendall(b"x" * 100)
            conn.recv(4096)
            conn.sendall(b"y" * 100)
            cli.recv(4096)
    finally:
        for s in (cli, conn, srv):
            s.close()


def test_softirqs_net_rx_and_timer_counts():
    lp = Loupe("softirqs", "-C", "-j")
    lp.wait_attached()
    _tcp_pingpong()
    time.sleep(0.05)
    check(lp.stop() == 0, "exit status %s" % lp.describe())
    rows = {e["softirq"]: e for e in lp.events() if e.get("type") == "softirq"}
    check("net_rx" in rows and rows["net_rx"]["count"] >= 1 and rows["net_rx"]["vec"] == 3,
          "no NET_RX (vec 3) count after loopback TCP traffic: %s" % short(rows))
    check("timer" in rows and rows["timer"]["count"] >= 1 and rows["timer"]["vec"] == 1,
          "no TIMER (vec 1) count: %s" % short(rows))


def test_softirqs_dist():
    lp = Loupe("softirqs", "-D", "-j")
    lp.wait_attached()
    _tcp_pingpong()
    check(lp.stop() == 0, "exit status %s" % lp.describe())
    hists = {e.get("softirq"): e for e in lp.events() if e.get("type") == "hist"}
    check("net_rx" in hists and _total(hists["net_rx"]) >= 1 and hists["net_rx"]["unit"] == "usecs",
          "no net_rx histogram: %s" % short(hists))


# ---------------------------------------------------------------- runqlen

def _spinners(ms):
    """More spinning children than CPUs, so tasks must queue."""
    kids = [Child("spin", ms) for _ in range(2 * (os.cpu_count() or 1) + 1)]
    for k in kids:
        k.proc.stdin.write(b"go\n")
        k.proc.stdin.flush()
    return kids


def _wait_done(kids):
    for k in kids:
        line = k.proc.stdout.readline()
        check(line.strip() == b"done", "spinner %d did not finish" % k.pid)


def test_runqlen_per_cpu_queues_under_load():
    lp = Loupe("runqlen", "-C", "-j")
    lp.wait_attached(settle=0.2)
    kids = _spinners(400)
    _wait_done(kids)
    check(lp.stop() == 0, "exit status %s" % lp.describe())
    hists = _hists(lp)
    check(hists, "no histograms %s" % lp.describe())
    online = set(range(os.cpu_count() or 1))
    for h in hists:
        check(h["scale"] == "linear" and h["unit"] == "runqlen", "scale/unit: %s" % short(h))
        check(int(h["cpu"]) in online, "cpu %r is not online" % h["cpu"])
        for b in h["buckets"]:
            check(b["low"] == b["high"], "linear bucket of one length: %s" % b)
    queued = sum(b["count"] for h in hists for b in h["buckets"] if b["low"] >= 1)
    check(queued > 0, "no sample with a waiting task while %d spinners shared %d CPUs: %s" %
          (len(kids), len(online), short(hists, 800)))


def test_runqlen_occupancy_table():
    lp = Loupe("runqlen", "-O", "-T")
    lp.wait_attached(settle=0.2)
    kids = _spinners(300)
    _wait_done(kids)
    check(lp.stop() == 0, "exit status %s" % lp.describe())
    out = [l for l in lp.lines() if l]
    check(len(out) == 2 and re.match(r"^\d\d:\d\d:\d\d$", out[0]), "output %s" % short(out))
    m = re.match(r"^runqocc: (\d+\.\d\d)%$", out[1])
    check(m and float(m.group(1)) > 0, "occupancy line %r, want > 0%% under load" % out[1])
