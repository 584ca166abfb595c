"""The agent's built-in metrics (src/agent/builtin.c): each built-in's
program, exactly as `loupe agent --list-metrics -j` gives it, runs under
`loupe trace -j` against a workload of the test's own with a known answer.

The per-task built-ins run in their --by-cgroup form, with the workload
alone in a fresh cgroup, so the series of that cgroup holds exactly the
workload's events whatever the rest of the machine does. The expected
series are written as label values ("openat", "ENOENT", "vda") and turned
into the raw map keys by each family's label kinds, the way the agent
turns keys into labels (tests/unit/test_labels.c checks those
conversions themselves)."""
import errno
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from common import (LOUPE, Cgroup, Loupe, LoopDev, OomCgroup, Skip, check,
                    fail, mount_fstype, poll_until, read_text, require_loupe,
                    run_quiet, short, spawn, tmpdir)

SOFTIRQS = ["hi", "timer", "net_tx", "net_rx", "block", "irq_poll",
            "tasklet", "sched", "hrtimer", "rcu"]
BLOCK_OPS = {"read": "R", "write": "W", "discard": "D", "flush": "F",
             "other": "N"}
UNISTD = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"

# The workload: imports and compiles everything first (so that nothing but
# the work itself runs once told to go), says "ready", waits for a line,
# runs argv[1], says "done" and waits for its stdin to close.
CHILD = r"""
import os, socket, subprocess, sys, threading, time
code = compile(sys.argv[1], "work", "exec")
print("ready", flush=True)
sys.stdin.readline()
exec(code)
print("done", flush=True)
sys.stdin.readline()
"""


def list_builtins(*extra):
    require_loupe()
    rc, out, err = run_quiet([LOUPE, "agent", "--list-metrics", "-j"] +
                             list(extra), timeout=20)
    check(rc == 0, "--list-metrics -j: status %s, %s" % (rc, short(err)))
    return {b["name"]: b for b in map(json.loads, out.splitlines())}


def _syscall_numbers():
    if not os.path.exists(UNISTD):
        fail("%s is needed to name syscall numbers" % UNISTD)
    return {name: int(nr) for name, nr in
            re.findall(r"#define __NR_(\w+) (\d+)", read_text(UNISTD))}


def _disk_dev(name):
    ma, mi = read_text("/sys/class/block/%s/dev" % name).split(":")
    return (int(ma) << 20) | int(mi)


def raw_value(kind, value):
    """The map key element the agent shows as label `value` of `kind`."""
    if kind == "cgroup":
        return os.stat(value.path).st_ino
    if kind == "syscall":
        return _syscall_numbers()[value]
    if kind == "errno":
        return getattr(errno, value)
    if kind == "disk":
        return _disk_dev(value)
    if kind == "block_op":
        return ord(BLOCK_OPS[value])
    if kind == "softirq":
        return SOFTIRQS.index(value)
    return value


def raw_key(family, *values):
    """The key of family's map for these label values, as `loupe trace -j`
    prints it (elements joined by commas); None for a map without a key."""
    kinds = [l["kind"] for l in family["labels"]]
    check(len(kinds) == len(values), "%s has labels %s, given %r" %
          (family["name"], kinds, values))
    if not kinds:
        return None
    return ",".join(str(raw_value(k, v)) for k, v in zip(kinds, values))


def family(builtin, name):
    for f in builtin["families"]:
        if f["name"] == name:
            return f
    fail("built-in %s has no family %s" % (builtin["name"], name))


class Run:
    """One built-in's program under `loupe trace -j`, attached."""

    def __init__(self, builtin):
        self.builtin = builtin
        self.lp = Loupe("trace", "-j", "-e", builtin["program"])
        self.lp.expect_event(lambda e: e.get("type") == "attached_probes",
                             "attached_probes", timeout=20)
        self.lp.wait_attached(settle=0.3)
        self.maps = None

    def stop(self):
        rc = self.lp.stop(timeout=15)
        check(rc == 0, "loupe trace: status %s %s" % (rc, self.lp.describe()))
        self.maps = {}
        # bpftrace's JSON mode has blank lines before the maps
        for line in self.lp.lines():
            ev = json.loads(line) if line.strip() else {}
            if ev.get("type") in ("map", "hist"):
                self.maps.update(ev["data"])
        return self

    def series(self, fam_name, *values):
        """The value (a number, or a histogram's buckets) of one series."""
        fam = family(self.builtin, fam_name)
        data = self.maps.get(fam["map"])
        key = raw_key(fam, *values)
        if key is None:
            return data
        return (data or {}).get(key)


def hist_count(buckets):
    return sum(b["count"] for b in buckets or [])


class Workload:
    """CHILD in a fresh cgroup, started before the trace and told to go
    once the trace is attached."""

    def __init__(self, work, cgroup=None):
        self.cg = cgroup or Cgroup()
        self.proc = spawn([sys.executable, "-c", CHILD, work],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          preexec_fn=self._enter)
        self._expect("ready")

    def _enter(self):
        with open(os.path.join(self.cg.path, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))

    def _expect(self, word):
        line = self.proc.stdout.readline().decode().strip()
        check(line == word, "workload said %r, not %r" % (line, word))

    def go(self):
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.flush()
        self._expect("done")

    def end(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def run_workload(name, work):
    """Runs work in a fresh cgroup under built-in name (--by-cgroup form)."""
    b = list_builtins("--by-cgroup")[name]
    w = Workload(work)
    r = Run(b)
    try:
        w.go()
    finally:
        r.stop()
        w.end()
    return r, w.cg


# ---------------------------------------------------------------- listing

def test_list_metrics_json_and_text():
    plain, by_cg = list_builtins(), list_builtins("--by-cgroup")
    by_ct = list_builtins("--by-container")
    want = {"runqueue", "block_io", "syscalls", "tcp", "tcp_retransmits",
            "page_cache", "page_cache_accesses", "execs", "oom_kills",
            "hardirqs", "softirqs", "tasks"}
    check(set(plain) == want, "built-ins %s" % sorted(plain))
    for name, b in plain.items():
        check(b["families"] and b["program"] and b["summary"],
              "%s: empty fields %r" % (name, b))
        for f in b["families"]:
            check(f["name"].startswith("loupe_") and
                  f["type"] in ("counter", "histogram") and
                  f["name"].endswith("_total") == (f["type"] == "counter"),
                  "%s: family %r" % (name, f))
            for prog in [b["program"]] + b["fallbacks"]:
                check(f["map"] in prog, "%s: %s not in %r" %
                      (name, f["map"], prog))
        # --by-cgroup: a cgroup label first on the per-task ones only
        for f, g in zip(b["families"], by_cg[name]["families"]):
            labels = [l["name"] for l in g["labels"]]
            if b["per_task"]:
                check(labels == ["cgroup"] + [l["name"] for l in f["labels"]] and
                      g["labels"][0]["kind"] == "cgroup",
                      "%s --by-cgroup labels %s" % (f["name"], labels))
            else:
                check(g == f, "%s changed by --by-cgroup" % f["name"])
        # --by-container: three labels of one key element (the cgroup id)
        for f, g in zip(b["families"], by_ct[name]["families"]):
            got = [(l["name"], l["kind"], l["same_key"]) for l in g["labels"]]
            rest = [(l["name"], l["kind"], l["same_key"]) for l in f["labels"]]
            if b["per_task"]:
                check(got == [("container", "container", False),
                              ("pod", "pod", True),
                              ("namespace", "namespace", True)] + rest,
                      "%s --by-container labels %s" % (f["name"], got))
            else:
                check(got == rest, "%s changed by --by-container" % f["name"])
    rc, out, err = run_quiet([LOUPE, "agent", "--list-metrics"], timeout=20)
    check(rc == 0, "--list-metrics: %s %s" % (rc, short(err)))
    for name, b in plain.items():
        check(re.search(r"^%s: " % name, out, re.M), "no %s in %s" % (name, short(out)))
        for f in b["families"]:
            check(f["name"] in out, "no %s in the text list" % f["name"])


def test_docs_show_every_builtin_program():
    """docs/agent.md shows each built-in's families and its program."""
    docs = read_text(os.path.join(os.path.dirname(LOUPE), "..", "docs", "agent.md"))
    for name, b in list_builtins().items():
        check(("### `%s`" % name) in docs, "docs/agent.md has no section for %s" % name)
        for prog in [b["program"]] + b["fallbacks"]:
            check(prog in docs, "docs/agent.md: %s's program %r differs from --list-metrics" % (name, prog))
        for f in b["families"]:
            check(f["name"] in docs, "docs/agent.md does not name %s" % f["name"])


def test_unknown_metric_refused():
    rc, out, err = run_quiet([LOUPE, "agent", "--metrics", "syscalls,nosuch"])
    check(rc == 2, "status %s" % rc)
    check("unknown metric 'nosuch'" in err and "runqueue" in err and
          "tasks" in err, "message %r does not name the metric and the valid ones" % err)


def _needs_kfunc_or_kprobe(b):
    return all(re.match(r"(kfunc|kprobe):", p)
               for p in [b["program"]] + b["fallbacks"])


def test_every_program_loads_both_forms():
    """Each built-in, plain and --by-cgroup, compiles, loads and attaches
    with its program or a fallback; one that needs a kfunc or a kprobe
    is refused, naming the kernel, where neither works."""
    kprobes = os.path.exists("/sys/bus/event_source/devices/kprobe")
    for extra in ((), ("--by-cgroup",)):
        for name, b in list_builtins(*extra).items():
            errs = []
            for prog in [b["program"]] + b["fallbacks"]:
                rc, out, err = run_quiet([LOUPE, "trace", "-d", "0.2", "-e", prog],
                                         timeout=30)
                if rc == 0:
                    break
                errs.append(err)
            if not kprobes and _needs_kfunc_or_kprobe(b):
                check(rc == 2 and all("cannot be used on this kernel" in e
                                      for e in errs),
                      "%s %s: status %s: %s" % (name, extra, rc, short(err)))
                continue
            check(rc == 0, "%s %s: status %s: %s" % (name, extra, rc, short(err)))


test_every_program_loads_both_forms.timeout = 120


# ---------------------------------------------------------------- per task

def test_syscalls_failed_opens_exact():
    missing = os.path.join(tmpdir(), "no-such-file")
    r, cg = run_workload("syscalls", """
for _ in range(77):
    try:
        os.open(%r, os.O_RDONLY)
    except FileNotFoundError:
        pass
""" % missing)
    errors = r.series("loupe_syscall_errors_total", cg, "openat", "ENOENT")
    calls = r.series("loupe_syscalls_total", cg, "openat")
    check(errors == 77, "openat ENOENT of the workload's cgroup: %r, want 77" % errors)
    check(calls == 77, "openat calls of the workload's cgroup: %r, want 77" % calls)


def test_execs_exact():
    r, cg = run_workload("execs", """
for _ in range(5):
    subprocess.run(["/bin/true"], check=True)
""")
    got = r.series("loupe_execs_total", cg)
    check(got == 5, "execs of the workload's cgroup: %r, want 5" % got)


def test_tasks_threads_and_processes_exact():
    r, cg = run_workload("tasks", """
ts = [threading.Thread(target=time.sleep, args=(0.01,)) for _ in range(3)]
for t in ts:
    t.start()
for t in ts:
    t.join()
for _ in range(2):
    pid = os.fork()
    if not pid:
        os._exit(0)
    os.waitpid(pid, 0)
""")
    threads = r.series("loupe_threads_created_total", cg)
    procs = r.series("loupe_processes_created_total", cg)
    check(threads == 3 and procs == 2,
          "threads %r processes %r of the workload's cgroup, want 3 and 2" %
          (threads, procs))


def test_tcp_loopback_opens_and_connect_latency():
    # The sockets are the workload's, so are their cgroups (an accepted
    # socket inherits its listener's).
    r, cg = run_workload("tcp", """
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(8)
for _ in range(3):
    c = socket.create_connection(srv.getsockname())
    a, _ = srv.accept()
    a.close()
    c.close()
srv.close()
""")
    active = r.series("loupe_tcp_active_opens_total", cg)
    passive = r.series("loupe_tcp_passive_opens_total", cg)
    lat = r.series("loupe_tcp_connect_latency_seconds", cg)
    check(active == 3 and passive == 3,
          "active %r passive %r opens of the workload's cgroup, want 3 and 3" %
          (active, passive))
    check(hist_count(lat) == 3, "connect latency samples %r, want 3" % lat)


def test_tcp_retransmitted_syn():
    # A listener whose accept queue is full drops a SYN: the client sends it
    # again after the initial RTO (1 s), and once more only after 3 s.
    r, cg = run_workload("tcp_retransmits", """
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(0)
queued = [socket.create_connection(srv.getsockname()) for _ in range(1)]
time.sleep(0.2)
c = socket.socket()
c.setblocking(False)
try:
    c.connect(srv.getsockname())
except BlockingIOError:
    pass
time.sleep(2)
c.close()
for q in queued:
    q.close()
srv.close()
""")
    got = r.series("loupe_tcp_retransmits_total", cg)
    check(got in (1, 2), "SYN retransmits of the workload's cgroup: %r, want 1 "
          "(2 if the machine was slow enough to reach the second RTO)" % got)


test_tcp_retransmitted_syn.timeout = 60


def test_page_cache_adds_of_written_pages():
    d = tmpdir()
    if mount_fstype(d) in ("tmpfs", "ramfs"):
        # shmem adds its pages without filemap_add_folio()
        raise Skip("temp dir %s is on %s: set TMPDIR to a disk" % (d, mount_fstype(d)))
    path = os.path.join(d, "pages")
    # created before the trace: only the ten new pages are added after
    with open(path, "wb"):
        pass
    r, cg = run_workload("page_cache", """
fd = os.open(%r, os.O_WRONLY)
for i in range(10):
    os.pwrite(fd, b"x" * 4096, i * 4096)
os.close(fd)
""" % path)
    got = r.series("loupe_page_cache_adds_total", cg)
    check(got == 10, "page-cache adds of the workload's cgroup: %r, want 10" % got)


def test_page_cache_adds_count_pages_of_large_folios():
    """One 256 KiB write to a new file adds 64 pages, however few folios
    the file system makes of them (ext4 on 6.18: one of order 6)."""
    d = tmpdir()
    if mount_fstype(d) in ("tmpfs", "ramfs"):
        raise Skip("temp dir %s is on %s: set TMPDIR to a disk" % (d, mount_fstype(d)))
    path = os.path.join(d, "big")
    with open(path, "wb"):
        pass
    r, cg = run_workload("page_cache", """
fd = os.open(%r, os.O_WRONLY)
os.write(fd, b"y" * 262144)
os.close(fd)
""" % path)
    got = r.series("loupe_page_cache_adds_total", cg)
    check(got == 64, "page-cache adds of a 256 KiB write: %r, want 64" % got)


def test_runqueue_latency_has_the_workloads_samples():
    r, cg = run_workload("runqueue", """
for _ in range(20):
    time.sleep(0.002)
""")
    got = hist_count(r.series("loupe_runqueue_latency_seconds", cg))
    # each wakeup from a sleep is one wait on a run queue (a preemption
    # adds one)
    check(got >= 20, "run-queue samples of the workload's cgroup: %d, want >= 20" % got)


# ---------------------------------------------------------------- devices

def _whole_disk_of(path):
    """The name of the whole disk that holds path (a partition's parent)."""
    st = os.stat(path)
    sysdir = os.path.realpath("/sys/dev/block/%d:%d" % (os.major(st.st_dev),
                                                         os.minor(st.st_dev)))
    if os.path.exists(os.path.join(sysdir, "partition")):
        sysdir = os.path.dirname(sysdir)
    return os.path.basename(sysdir)


def _dd_direct(of, bs, count, *extra):
    rc, out, err = run_quiet(["dd", "if=/dev/zero", "of=" + of, "bs=%d" % bs,
                              "count=%d" % count, "oflag=direct"] + list(extra),
                             timeout=30)
    check(rc == 0, "dd to %s failed: %s" % (of, err))


def test_block_io_loop_device_exact_and_real_disk():
    b = list_builtins()["block_io"]
    loop = LoopDev()
    d = tmpdir()
    disk = _whole_disk_of(d)
    r = Run(b)
    try:
        # Nothing but this test writes to its loop device: five direct
        # writes of 64 KiB, one request each.
        _dd_direct(loop.path, 65536, 5, "seek=3")
        # and 1 MiB to a file on the real disk
        _dd_direct(os.path.join(d, "direct"), 1 << 20, 1)
    finally:
        r.stop()
    got = r.series("loupe_block_io_bytes_total", loop.name, "write")
    check(got == 5 * 65536, "%s write bytes %r, want %d" % (loop.name, got, 5 * 65536))
    n = hist_count(r.series("loupe_block_io_latency_seconds", loop.name, "write"))
    check(n == 5, "%s write latency samples %d, want 5" % (loop.name, n))
    got = r.series("loupe_block_io_bytes_total", disk, "write") or 0
    check(got >= 1 << 20, "%s (holding %s) write bytes %r, want >= 1 MiB: %s" %
          (disk, d, got, short(r.maps)))


test_block_io_loop_device_exact_and_real_disk.timeout = 60


def test_softirq_time_has_timer():
    r = Run(list_builtins()["softirqs"])
    try:
        # loopback traffic runs net_rx; a busy second sees timer ticks
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for _ in range(50):
                s.sendto(b"x", ("127.0.0.1", 9))
        time.sleep(1)
    finally:
        r.stop()
    got = r.series("loupe_softirq_seconds_total", "timer")
    check(got and got > 0, "timer softirq time %r: %s" % (got, short(r.maps)))


def test_hardirq_time_by_action_name():
    r = Run(list_builtins()["hardirqs"])
    d = tmpdir()
    try:
        _dd_direct(os.path.join(d, "direct"), 1 << 20, 1)
    finally:
        r.stop()
    fam = family(r.builtin, "loupe_hardirq_seconds_total")
    got = r.maps.get(fam["map"]) or {}
    check(got, "no hard IRQ time after a direct write to disk")
    # every label is an action name of /proc/interrupts
    names = set(read_text("/proc/interrupts").split())
    for name, ns in got.items():
        check(ns > 0 and name in names,
              "IRQ %r (%r ns) is not an action of /proc/interrupts" % (name, ns))


def test_oom_kills_exact():
    cg = OomCgroup(32)
    r = Run(list_builtins()["oom_kills"])
    try:
        hog = cg.spawn("loupeoomhog", 0)
        rc = hog.wait(timeout=20)
    finally:
        r.stop()
    check(rc == -signal.SIGKILL, "hog exit status %s, not SIGKILL" % rc)
    got = r.series("loupe_oom_kills_total")
    check(got == 1, "OOM kills %r, want 1" % got)


# System-wide: another test's OOM kill (test_proc's oomkill tests) would
# count too.
test_oom_kills_exact.serial = True
test_oom_kills_exact.timeout = 60


# ---------------------------------------------------------------- served

LISTEN_RE = re.compile(r"listening on http://\S+ \(port (\d+)\)")


def _agent(*args):
    """A `loupe agent` on a free loopback port, attached: its port and
    the file of its stderr."""
    err = os.path.join(tmpdir(), "agent.err")
    with open(err, "w") as f:
        p = spawn([LOUPE, "agent", "--listen", "127.0.0.1:0"] + list(args), stderr=f)
    m = poll_until(lambda: p.poll() is not None or LISTEN_RE.search(read_text(err)), 20)
    check(m and m is not True, "agent did not start: %s" % short(read_text(err)))
    return int(m.group(1)), err


def _scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        return r.read().decode()


def test_agent_serves_builtin_failed_opens_by_cgroup():
    """The agent itself: the workload's 77 failed openat() in its cgroup's
    series of loupe_syscall_errors_total, and no other built-in loaded."""
    missing = os.path.join(tmpdir(), "no-such-file")
    w = Workload("""
for _ in range(77):
    try:
        os.open(%r, os.O_RDONLY)
    except FileNotFoundError:
        pass
""" % missing)
    port, _ = _agent("--metrics", "syscalls", "--by-cgroup")
    w.go()
    text = _scrape(port)
    w.end()
    series = 'loupe_syscall_errors_total{cgroup="%s",syscall="openat",errno="ENOENT"}' % w.cg.rel
    got = [l for l in text.splitlines() if l.startswith(series + " ")]
    check(got == [series + " 77"], "%s: %r" % (series, got))
    check(("loupe_syscalls_total{cgroup=\"%s\",syscall=\"openat\"} 77" % w.cg.rel)
          in text.splitlines(), "openat calls of the cgroup: %s" %
          [l for l in text.splitlines() if w.cg.rel in l])
    check("loupe_execs_total" not in text, "--metrics syscalls served execs too")


def test_agent_default_attaches_every_builtin():
    """With no --metrics every built-in passes the engine's checks, loads,
    attaches and has its families on /metrics (help lines at least)."""
    b = list_builtins()
    port, err = _agent()
    text = _scrape(port)
    kprobes = os.path.exists("/sys/bus/event_source/devices/kprobe")
    for name, bi in b.items():
        if not kprobes and _needs_kfunc_or_kprobe(bi):
            continue
        for f in bi["families"]:
            check("# TYPE %s %s\n" % (f["name"], f["type"]) in text,
                  "%s (%s) not served as a %s" % (f["name"], name, f["type"]))
    # page_cache_accesses needs a kfunc or kprobe: where neither works it
    # is shown as not attached, and its reason logged
    for line in text.splitlines():
        if not line.startswith("loupe_agent_probe_attached{"):
            continue
        if 'metric="page_cache_accesses"' in line and not kprobes:
            check(line.endswith('hook="none"} 0'), "not refused: %s" % line)
            check("built-in metric page_cache_accesses" in read_text(err),
                  "no reason logged for page_cache_accesses")
            continue
        check(line.endswith(" 1"), "a probe is not attached: %s" % line)
