"""Shared helpers for the loupe benchmarks (Python 3 stdlib only).

Every tracer is started in its own session (process group) and registered
here; on normal exit, on an exception and on SIGINT/SIGTERM/SIGHUP all
registered groups are stopped (SIGINT, then SIGKILL after a grace period).
`check_bpf_leftovers()` compares `bpftool prog show` against the set taken
at start-up.
"""

import atexit
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
BUILD_DIR = os.path.join(BENCH_DIR, "build")

_children = []  # subprocess.Popen objects we started (session leaders)
_started = set()  # every tracer pid we started


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def die(msg):
    log("error: " + msg)
    sys.exit(1)


def now_ns():
    return time.monotonic_ns()


def ensure_root_and_tracefs():
    if os.geteuid() != 0:
        die("must run as root")
    if not os.path.isdir("/sys/kernel/tracing/events"):
        subprocess.run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"],
                       check=False)
        if not os.path.isdir("/sys/kernel/tracing/events"):
            die("tracefs is not mounted at /sys/kernel/tracing")
    if shutil.which("bpftool") is None:
        die("bpftool not found")


def bpf_progs():
    """List of dicts from `bpftool -j prog show`."""
    r = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True,
                       text=True, check=False)
    try:
        return json.loads(r.stdout or "[]")
    except ValueError:
        return []


def bpf_prog_ids():
    """Set of (id, name) of loaded BPF programs."""
    return {(p.get("id"), p.get("name", "")) for p in bpf_progs()}


# hooks on the paths the benchmarks measure
OPEN_HOOKS = re.compile(r"^(sys_(enter|exit)_(open|openat|openat2|creat)|sys_enter|sys_exit)$")
EXEC_HOOKS = re.compile(r"^(sys_(enter|exit)_execve(at)?|sched_process_(exec|fork)|"
                        r"sys_enter|sys_exit)$")


def path_hooks(hook_re, exclude_pids=()):
    """BPF programs of other processes attached (tracepoint, raw tracepoint,
    kprobe) to a hook matching `hook_re`, as a set of "hook(pid N)"."""
    r = subprocess.run(["bpftool", "-j", "perf", "show"], capture_output=True,
                       text=True, check=False)
    try:
        entries = json.loads(r.stdout or "[]")
    except ValueError:
        return set()
    out = set()
    for e in entries:
        name = e.get("tracepoint") or e.get("func") or ""
        if e.get("pid") not in exclude_pids and hook_re.search(name):
            out.add(f"{name}(pid {e.get('pid')})")
    return out


def wait_quiet(timeout, hook_re, max_busy=20.0):
    """Wait until the machine is quiet: nobody else has BPF programs on the
    measured path (e.g. a concurrent test suite) and less than `max_busy`%
    of a CPU is busy over 0.5 s. Gives up after `timeout` seconds. Returns
    the foreign hooks still attached (empty set when quiet)."""
    start = time.monotonic()
    warned = False
    while True:
        b0, s0 = busy_s(), sum(os.times()[:2])
        time.sleep(0.5)
        busy = 100.0 * ((busy_s() - b0) - (sum(os.times()[:2]) - s0)) / 0.5
        hooks = path_hooks(hook_re)
        waited = time.monotonic() - start
        if not hooks and busy < max_busy:
            if warned:
                log(f"machine quiet after {waited:.0f}s")
            return hooks
        if waited >= timeout:
            log(f"machine still busy after {waited:.0f}s, going on")
            return hooks
        if not warned and waited > 2:
            log("waiting for the machine to be quiet: "
                + (f"foreign BPF on the path: {names(hooks)}; " if hooks else "")
                + f"CPU busy {busy:.0f}%")
            warned = True


def names(hooks):
    return ",".join(sorted(hooks))


def spawn(argv, stdout, stderr, **kw):
    """Start a tracer in a new session and register it for cleanup."""
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout,
                         stderr=stderr, start_new_session=True, **kw)
    _children.append(p)
    _started.add(p.pid)
    return p


def stop(p, grace=10.0, sig=signal.SIGINT):
    """Stop a registered child: `sig`, wait `grace` s, then SIGKILL the group.

    Returns (returncode, how) where how is "exited" (died on its own before
    we signalled it), "signal" (stopped by `sig`) or "killed" (needed SIGKILL).
    """
    how = "signal"
    if p.poll() is not None:
        how = "exited"
    else:
        try:
            os.kill(p.pid, sig)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            how = "killed"
            _killpg(p.pid, signal.SIGKILL)
            p.wait()
    # whatever the leader left behind in its group
    _killpg(p.pid, signal.SIGKILL)
    if p in _children:
        _children.remove(p)
    return p.returncode, how


def _killpg(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def cleanup_all():
    for p in list(_children):
        try:
            stop(p, grace=3.0)
        except Exception:  # noqa: BLE001 - best effort at exit
            _killpg(p.pid, signal.SIGKILL)
    _children.clear()


def _on_signal(signum, _frame):
    log(f"\ninterrupted by signal {signum}, cleaning up")
    cleanup_all()
    sys.exit(128 + signum)


def install_cleanup():
    atexit.register(cleanup_all)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, _on_signal)


def check_bpf_leftovers(before):
    """After the benchmark: no process we started may be alive, and the BPF
    programs loaded since `before` are listed unless another (live) process
    holds them via a perf event. Returns True when clean."""
    alive = [pid for pid in _started if os.path.exists(f"/proc/{pid}")
             and not _is_zombie(pid)]
    deadline = time.monotonic() + 5
    while True:
        extra = bpf_prog_ids() - before
        r = subprocess.run(["bpftool", "-j", "perf", "show"], capture_output=True,
                           text=True, check=False)
        try:
            held = {e.get("prog_id"): e.get("pid") for e in json.loads(r.stdout or "[]")}
        except ValueError:
            held = {}
        ours = {x for x in extra if held.get(x[0]) in _started}
        unknown = {x for x in extra if x[0] not in held}
        if not (ours or unknown) or time.monotonic() > deadline:
            break
        time.sleep(0.2)  # program release after close() can lag a little
    ok = not alive and not ours
    if alive:
        log(f"WARNING: processes we started are still alive: {alive}")
    if ours:
        log("WARNING: BPF programs held by our tracers: " + _fmt_progs(ours))
    if unknown:
        log("note: BPF programs loaded since start and still loaded, not ours as far "
            "as bpftool can tell (other users of this machine?): " + _fmt_progs(unknown))
    if ok:
        others = len(extra - unknown)
        log(f"cleanup check: no tracer left running, no BPF program of ours left "
            f"loaded (bpftool prog show; {others} new program(s) held by other processes)")
    return ok


def _fmt_progs(progs):
    return ", ".join(f"{i}:{n}" for i, n in sorted(progs, key=lambda x: x[0] or 0))


def _is_zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def busy_s():
    """System-wide busy CPU seconds so far (all CPUs, from /proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf("SC_CLK_TCK")


def children_cpu_s():
    import resource
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, spec="{:,.0f}", none="n/a"):
    return none if x is None else spec.format(x)


def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out)


def vm_hwm_kb(pid):
    """Peak RSS (VmHWM) of a live process in KiB, or None."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def vm_rss_kb(pid):
    """Resident memory (VmRSS) of a live process in KiB, or None."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def proc_cpu_s(pid):
    """User + system CPU seconds of a live process, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None
