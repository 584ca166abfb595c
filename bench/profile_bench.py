#!/usr/bin/env python3
"""Benchmark `loupe profile` / `loupe offcputime` against the peers installed
here (Python 3 stdlib only; run as root from anywhere).

    make && bench/profile_bench.py [--rounds 5] [--work-s 5] [--keep DIR]

Part 1, CPU profile (bench/cpuburn.c, one busy thread per CPU, a fixed
amount of work calibrated at start to take --work-s seconds untraced). Each
round runs every configuration once, in a rotated order:

    none, loupe profile -F 49/99 --folded (system-wide), -F 99 -p PID,
    -F 99 --svg FILE, bpftrace profile:hz:49/99 { @[ustack,kstack,comm] }

For each run: start the workload (threads created, waiting on stdin), start
the tracer, wait until its perf events carry its BPF program, start the
work, read the workload's wall time, send SIGINT to the tracer while the
workload is still alive (so both tools can read its maps), and time the
signal -> exit (the symbolization and printing of the output). Tracer CPU
comes from /proc/PID/task/*/schedstat (ns) and wait4() (total), peak RSS
from wait4's ru_maxrss (= VmHWM).

Part 2, off-CPU: cpuburn -s (threads calling nanosleep in a known chain)
traced by `loupe offcputime -p PID --folded` and libbpf-tools
`/usr/sbin/offcputime -p PID`, same measurements; the off-CPU time each
tool attributes to the nanosleep chain is compared with the time the
workload measured in nanosleep.

Shared machine: before each run the script waits (up to --quiet-wait s)
until less than 20% of a CPU is busy and no foreign BPF program of the kind
measured is loaded (perf_event programs for part 1, sched_switch hooks for
part 2); it measures the CPU used by everything else during each run and
redoes a disturbed run (--retries). All processes run at nice --nice.
On exit (also Ctrl-C/SIGTERM) every process started is killed (process
group) and the script checks that none of its tracers' BPF programs is
still loaded. Progress on stderr, markdown tables on stdout.
"""

import argparse
import atexit
import json
import os
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
NCPU = os.cpu_count() or 1
TCK = os.sysconf("SC_CLK_TCK")

_procs = []          # Popen objects still to reap
_our_prog_ids = set()
_our_pids = set()


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def die(msg):
    log("error: " + msg)
    sys.exit(1)


# ---------------------------------------------------------------- processes

def spawn(argv, **kw):
    p = subprocess.Popen(argv, start_new_session=True, **kw)
    _procs.append(p)
    _our_pids.add(p.pid)
    return p


def killpg(pid, sig):
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def reap(p, timeout):
    """Wait for p to exit (pidfd, precise); returns (t_exit, rusage) or
    (None, None) after SIGKILL on timeout."""
    try:
        fd = os.pidfd_open(p.pid)
    except ProcessLookupError:
        fd = None
    ok = True
    if fd is not None:
        r, _, _ = select.select([fd], [], [], timeout)
        os.close(fd)
        ok = bool(r)
    t = time.monotonic()
    if not ok:
        killpg(p.pid, signal.SIGKILL)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    killpg(p.pid, signal.SIGKILL)  # whatever it left in its group
    if p in _procs:
        _procs.remove(p)
    return (t, ru) if ok else (None, ru)


def cleanup():
    for p in list(_procs):
        if p.poll() is None:
            killpg(p.pid, signal.SIGINT)
    deadline = time.monotonic() + 3
    for p in list(_procs):
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        killpg(p.pid, signal.SIGKILL)
        try:
            p.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass
    _procs.clear()


def on_signal(signum, _f):
    log(f"\ninterrupted by signal {signum}, cleaning up")
    cleanup()
    os._exit(128 + signum)


# ---------------------------------------------------------------- /proc, bpf

def task_cpu_ns(pid):
    """CPU time of all live threads of pid, ns (schedstat)."""
    tot = 0
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                    tot += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
    except OSError:
        return None
    return tot


def proc_ticks(pid):
    """utime+stime of a process (all threads, also exited ones), in s."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            v = f.read().rsplit(")", 1)[1].split()
        return (int(v[11]) + int(v[12])) / TCK
    except (OSError, IndexError, ValueError):
        return None


def tracer_cpu_ms(pid):
    """CPU used so far by a tracer: schedstat of its live threads (ns), or
    /proc/PID/stat (ticks, also counts exited threads) when that is more."""
    ns = task_cpu_ns(pid) or 0
    ticks = proc_ticks(pid) or 0.0
    return max(ns / 1e6, ticks * 1e3)


def busy_s():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / TCK


def fd_info(pid):
    """(number of perf_event fds, number of perf bpf_links, prog ids) of pid."""
    nperf = nlink = 0
    progs = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return 0, 0, progs
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target == "anon_inode:[perf_event]":
            nperf += 1
        elif target.startswith("anon_inode:bpf"):
            try:
                with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                    info = f.read()
            except OSError:
                continue
            m = re.search(r"^prog_id:\s*(\d+)", info, re.M)
            if m:
                progs.add(int(m.group(1)))
            if re.search(r"^link_type:\s*perf", info, re.M):
                nlink += 1
    return nperf, nlink, progs


def bpftool_json(*args):
    r = subprocess.run(["bpftool", "-j", *args], capture_output=True,
                       text=True, check=False)
    try:
        return json.loads(r.stdout or "[]")
    except ValueError:
        return []


def foreign(kind, ours):
    """Foreign BPF programs that would disturb the measurement."""
    if kind == "perf_event":
        return sorted(p["id"] for p in bpftool_json("prog", "show")
                      if p.get("type") == "perf_event" and p["id"] not in ours)
    return sorted(f"{e.get('tracepoint')}(pid {e.get('pid')})"
                  for e in bpftool_json("perf", "show")
                  if e.get("tracepoint") == "sched_switch"
                  and e.get("pid") not in _our_pids)


def wait_quiet(kind, timeout, max_busy=20.0):
    t0 = time.monotonic()
    warned = False
    while True:
        b0, s0 = busy_s(), sum(os.times()[:2])
        time.sleep(0.5)
        busy = 100 * ((busy_s() - b0) - (sum(os.times()[:2]) - s0)) / 0.5
        fg = foreign(kind, set())
        waited = time.monotonic() - t0
        if busy < max_busy and not fg:
            if warned:
                log(f"  quiet after {waited:.0f}s")
            return None
        if waited >= timeout:
            log(f"  still busy after {waited:.0f}s (CPU {busy:.0f}%, foreign {fg}); going on")
            return f"busy {busy:.0f}%/foreign {len(fg)}"
        if not warned and waited > 1.5:
            log(f"  waiting for a quiet machine (CPU busy {busy:.0f}%, "
                f"foreign BPF: {fg or 'none'})")
            warned = True


# ---------------------------------------------------------------- workload

def build_cpuburn(outdir):
    exe = os.path.join(outdir, "cpuburn")
    src = os.path.join(BENCH_DIR, "cpuburn.c")
    cc = os.environ.get("CC", "cc")
    r = subprocess.run([cc, "-O2", "-fno-omit-frame-pointer", "-pthread",
                        "-Wall", "-o", exe, src], capture_output=True, text=True)
    if r.returncode:
        die("building cpuburn failed:\n" + r.stderr)
    return exe


def parse_result(line):
    if not line.startswith("result "):
        raise RuntimeError(f"unexpected workload output: {line!r}")
    return {k: float(v) for k, v in (kv.split("=") for kv in line.split()[1:])}


def calibrate(exe, work_s):
    """Units per thread so that the untraced job takes about work_s."""
    best = None
    for _ in range(3):
        r = subprocess.run([exe, "-u", "400"], capture_output=True, text=True)
        w = parse_result(r.stdout.strip())["wall_s"]
        best = w if best is None else min(best, w)
    return max(50, int(round(work_s / best * 400)))


# ---------------------------------------------------------------- parsing

def parse_folded(text, comm, frame):
    """(samples of comm, output lines, samples of comm through `frame`)."""
    samples = lines = resolved = 0
    for ln in text.splitlines():
        if not ln.strip():
            continue
        stack, _, cnt = ln.rpartition(" ")
        if not cnt.isdigit():
            continue
        lines += 1
        frames = stack.split(";")
        if frames[0] == comm:
            samples += int(cnt)
            if frame in frames:
                resolved += int(cnt)
    return samples, lines, resolved


def parse_bpftrace(text, comm, frame):
    """Same from bpftrace's map print: @[ustack, kstack, comm]: N."""
    samples = entries = resolved = 0
    for block in re.split(r"^@\[", text, flags=re.M)[1:]:
        m = re.search(r"(?:^|, )([^\n,\]]*)\]: (\d+)$", block, re.M)
        if not m:
            continue
        entries += 1
        if m.group(1) == comm:
            samples += int(m.group(2))
            if re.search(rf"^\s+{re.escape(frame)}\+\d+$", block, re.M):
                resolved += int(m.group(2))
    return samples, entries, resolved


def parse_bcc_stacks(text, comm, frame):
    """libbpf-tools multi-line output: frames, '-  comm (pid)', count."""
    total = entries = resolved = 0
    block = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        s = lines[i].strip()
        m = re.match(r"^-\s+(\S.*?)\s+\((\d+)\)$", s)
        if m and i + 1 < len(lines) and lines[i + 1].strip().isdigit():
            entries += 1
            names = [re.sub(r"\+0x[0-9a-f]+$|\+\d+$", "", b) for b in block]
            if m.group(1) == comm:
                total += int(lines[i + 1].strip())
                if frame in names:
                    resolved += int(lines[i + 1].strip())
            block = []
            i += 2
            continue
        if s:
            block.append(s.split()[-1] if s.startswith("#") else s)
        i += 1
    return total, entries, resolved


# ---------------------------------------------------------------- runs

class StdoutReader(threading.Thread):
    """Reads a tracer's stdout pipe, remembering when each chunk arrived
    (the last one after SIGINT = when the output was complete)."""

    def __init__(self, pipe):
        super().__init__(daemon=True)
        self.pipe, self.chunks = pipe, []
        self.start()

    def run(self):
        fd = self.pipe.fileno()
        while True:
            b = os.read(fd, 1 << 16)
            if not b:
                break
            self.chunks.append((time.monotonic(), b))
        self.pipe.close()


class Cfg:
    def __init__(self, name, argv_fn, kind, wait, parse, hz=None, tool=""):
        self.name, self.argv_fn, self.kind = name, argv_fn, kind
        self.wait, self.parse, self.hz, self.tool = wait, parse, hz, tool


def wait_attached(p, how, timeout=30.0):
    """Until the tracer's BPF program is attached; returns its prog ids."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if p.poll() is not None:
            return None
        nperf, nlink, progs = fd_info(p.pid)
        ok = False
        if how == "loupe-profile":
            ok = nlink >= NCPU_SAMPLED
        elif how == "bpftrace-profile":
            # its output perf buffer (one event per CPU) + one event per CPU
            ok = nperf >= 2 * NCPU_SAMPLED and progs
        elif how == "sched_switch":
            ok = any(e.get("pid") == p.pid and e.get("tracepoint") == "sched_switch"
                     for e in bpftool_json("perf", "show"))
        if ok:
            time.sleep(0.25)  # the last CPU's attach, the reader loop
            _, _, progs = fd_info(p.pid)
            loaded = {x["id"]: x.get("type") for x in bpftool_json("prog", "show")}
            if not progs or not all(i in loaded for i in progs):
                return None
            return progs
        time.sleep(0.02)
    return None


def one_run(cfg, burn_argv, outdir, tag, args):
    rec = {"cfg": cfg.name, "tag": tag}
    burn = spawn(burn_argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                 stderr=subprocess.DEVNULL, text=True, bufsize=1)
    ready = burn.stdout.readline().split()
    if len(ready) != 2 or ready[0] != "ready":
        raise RuntimeError(f"workload did not start: {ready}")
    bpid = int(ready[1])
    tr = None
    out_path = os.path.join(outdir, f"{tag}.out")
    err_path = os.path.join(outdir, f"{tag}.err")
    svg_path = os.path.join(outdir, f"{tag}.svg")
    progs = set()
    if cfg.argv_fn:
        argv = cfg.argv_fn(bpid, svg_path)
        with open(err_path, "w") as fe:
            t_spawn = time.monotonic()
            tr = spawn(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=fe)
        reader = StdoutReader(tr.stdout)
        progs = wait_attached(tr, cfg.wait)
        if progs is None:
            raise RuntimeError(f"{cfg.name}: tracer did not attach "
                               f"(see {err_path})")
        rec["attach_s"] = time.monotonic() - t_spawn
        _our_prog_ids.update(progs)
        rec["tracer_start_cpu_ms"] = tracer_cpu_ms(tr.pid)
    kind = "perf_event" if cfg.kind == "profile" else "sched_switch"
    fg0 = foreign(kind, progs)
    # the measured window
    c_tr0 = task_cpu_ns(tr.pid) if tr else 0
    c_b0, busy0 = proc_ticks(bpid), busy_s()
    burn.stdin.write("go\n")
    burn.stdin.flush()
    res = parse_result(burn.stdout.readline().strip())
    c_tr1 = task_cpu_ns(tr.pid) if tr else 0
    c_b1, busy1 = proc_ticks(bpid), busy_s()
    fg1 = foreign(kind, progs)
    rec.update(res)
    rec["tracer_sampling_cpu_ms"] = (c_tr1 - c_tr0) / 1e6 if tr else 0.0
    other = (busy1 - busy0) - (c_b1 - c_b0) - rec["tracer_sampling_cpu_ms"] / 1e3
    rec["other_cpu_pct"] = max(0.0, 100 * other / res["wall_s"])
    rec["foreign"] = sorted(set(map(str, fg0)) | set(map(str, fg1)))
    if tr:
        t_sig = time.monotonic()
        c_sig = tracer_cpu_ms(tr.pid)
        os.kill(tr.pid, signal.SIGINT)
        t_exit, ru = reap(tr, 60.0)
        if t_exit is None:
            raise RuntimeError(f"{cfg.name}: tracer did not exit within 60 s")
        reader.join()
        rec["stop_ms"] = (t_exit - t_sig) * 1e3
        after = [t for t, _ in reader.chunks if t >= t_sig]
        rec["stop_output_ms"] = (after[-1] - t_sig) * 1e3 if after else None
        rec["tracer_rc"] = tr.returncode
        total = (ru.ru_utime + ru.ru_stime) * 1e3
        rec["tracer_total_cpu_ms"] = total
        rec["tracer_stop_cpu_ms"] = max(0.0, total - c_sig)
        rec["rss_mb"] = ru.ru_maxrss / 1024
        text = b"".join(c for _, c in reader.chunks).decode(errors="replace")
        with open(out_path, "w") as fo:
            fo.write(text)
        rec["out_bytes"] = len(text)
        if cfg.parse:
            rec["samples"], rec["out_entries"], rec["resolved"] = cfg.parse(text)
        if os.path.exists(svg_path):
            rec["svg_bytes"] = os.path.getsize(svg_path)
        with open(err_path) as f:
            rec["stderr"] = [ln for ln in f.read().splitlines()
                             if ln.strip() and "RLIMIT_MEMLOCK" not in ln][:5]
        if tr.returncode not in (0, 130, -2):
            log(f"  warning: {cfg.name} exited with {tr.returncode}: {rec['stderr']}")
    burn.stdin.close()
    reap(burn, 10.0)
    if not args.keep:
        for pth in (out_path, err_path, svg_path):
            if os.path.exists(pth):
                os.unlink(pth)
    return rec


def disturbed(rec, args):
    why = []
    if rec["other_cpu_pct"] > args.max_other:
        why.append(f"other CPU {rec['other_cpu_pct']:.0f}%")
    if rec["foreign"]:
        why.append("foreign BPF " + ",".join(rec["foreign"][:3]))
    return why


def run_part(name, cfgs, burn_argv, outdir, args, kind):
    recs = {c.name: [] for c in cfgs}
    for rnd in range(args.rounds):
        order = cfgs[rnd % len(cfgs):] + cfgs[:rnd % len(cfgs)]
        log(f"{name} round {rnd + 1}/{args.rounds}: " + " ".join(c.name for c in order))
        for c in order:
            for attempt in range(args.retries + 1):
                note = wait_quiet(kind, args.quiet_wait)
                rec = one_run(c, burn_argv, outdir, f"{name}-r{rnd}-{c.name}-{attempt}", args)
                rec["round"] = rnd
                why = disturbed(rec, args)
                if note:
                    why.append("not quiet before: " + note)
                rec["disturbed"] = why
                extra = ""
                if "stop_ms" in rec:
                    extra = (f" stop {rec['stop_ms']:.0f} ms, tracer "
                             f"{rec['tracer_sampling_cpu_ms']:.0f} ms CPU, "
                             f"samples {rec.get('samples', '-')}")
                log(f"  {c.name:16s} wall {rec['wall_s']:.3f}s other "
                    f"{rec['other_cpu_pct']:.0f}%{extra}"
                    + (f"  DISTURBED: {'; '.join(why)}" if why else ""))
                if not why or attempt == args.retries:
                    break
                log("  redoing it")
            recs[c.name].append(rec)
    return recs


# ---------------------------------------------------------------- report

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def f(x, spec="{:.0f}"):
    return "n/a" if x is None else spec.format(x)


def rng(xs, spec="{:.0f}"):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "n/a"
    return f"{spec.format(statistics.median(xs))} ({spec.format(min(xs))}..{spec.format(max(xs))})"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def slowdowns(recs, name, key="wall_s"):
    base = {r["round"]: r[key] for r in recs["none"]}
    return [100 * (r[key] / base[r["round"]] - 1) for r in recs[name]
            if r["round"] in base]


def report_profile(cfgs, recs, units, args):
    rows = []
    for c in cfgs:
        rs = recs[c.name]
        sd = slowdowns(recs, c.name) if c.name != "none" else None
        dist = sum(1 for r in rs if r["disturbed"])
        rows.append([
            c.name, f(med(r["wall_s"] for r in rs), "{:.3f}"),
            "-" if sd is None else rng(sd, "{:+.2f}"),
            f(med(r.get("tracer_sampling_cpu_ms") for r in rs), "{:.1f}") if c.argv_fn else "-",
            f(med(r.get("tracer_start_cpu_ms") for r in rs)) if c.argv_fn else "-",
            f(med(r.get("tracer_total_cpu_ms") for r in rs)) if c.argv_fn else "-",
            f(med(r.get("rss_mb") for r in rs), "{:.1f}") if c.argv_fn else "-",
            f(med(r.get("attach_s") for r in rs), "{:.2f}") if c.argv_fn else "-",
            f(med(r["other_cpu_pct"] for r in rs), "{:.1f}"),
            f"{dist}/{len(rs)}"])
    t1 = table(["config", "workload wall s", "slowdown % median (min..max)",
                "tracer CPU while sampling ms", "tracer CPU to start ms",
                "tracer CPU total ms", "tracer peak RSS MB", "start→attached s", "other CPU %",
                "disturbed"], rows)
    rows = []
    for c in cfgs:
        if not c.argv_fn:
            continue
        rs = recs[c.name]
        out = ("SVG file" if "svg" in c.name else
               "folded lines" if c.tool == "loupe" else "map entries")
        rows.append([
            c.name, rng([r.get("stop_ms") for r in rs]),
            rng([r.get("stop_output_ms") for r in rs]) if c.parse else "n/a (file)",
            f(med(r.get("tracer_stop_cpu_ms") for r in rs)),
            f(med(r.get("out_entries") for r in rs)) + " " + out
            if c.parse else f"{f(med(r.get('svg_bytes', 0) / 1024 for r in rs))} KB svg",
            f(med(r.get("out_bytes", 0) / 1024 for r in rs), "{:.1f}") + " KB"])
    t2 = table(["config", "SIGINT→exit ms median (min..max)",
                "SIGINT→last output byte ms", "tracer CPU after SIGINT ms",
                "output", "stdout size"], rows)
    svg = recs.get("loupe-99-svg")
    fold = recs.get("loupe-99")
    extra = ""
    if svg and fold:
        b = {r["round"]: r["stop_ms"] for r in fold}
        d = [r["stop_ms"] - b[r["round"]] for r in svg if r["round"] in b]
        extra = (f"\n`--svg` extra time (SIGINT→exit of `-F 99 --svg` minus `-F 99 --folded`, "
                 f"same round): median {rng(d, '{:+.0f}')} ms\n")
    rows = []
    for c in cfgs:
        if not c.parse or not c.hz:
            continue
        rs = recs[c.name]
        exp_wall = [NCPU_SAMPLED * c.hz * r["wall_s"] for r in rs]
        exp_cpu = [c.hz * r["cpu_s"] for r in rs]
        got = [r.get("samples") for r in rs]
        res = [100 * r["resolved"] / r["samples"] for r in rs if r.get("samples")]
        rows.append([c.name, f(med(got)), f(med(exp_wall)), f(med(exp_cpu)),
                     f(med(100 * g / e for g, e in zip(got, exp_wall) if g is not None), "{:.1f}"),
                     f(med(100 * g / e for g, e in zip(got, exp_cpu) if g is not None), "{:.1f}"),
                     rng(res, "{:.1f}")])
    t3 = table(["config", "cpuburn samples", f"expected {NCPU_SAMPLED}×Hz×wall",
                "expected Hz×workload CPU s", "% of wall-based", "% of CPU-based",
                "% with burn_outer resolved (min..max)"], rows)
    return (f"### CPU profile: overhead ({args.rounds} rounds, cpuburn {NCPU} threads × "
            f"{units} units)\n\n{t1}\n\n### Symbolization: SIGINT → exit\n\n{t2}\n{extra}\n"
            f"### Samples attributed to cpuburn\n\n{t3}\n")


def report_offcpu(cfgs, recs, args, sleep_us, count):
    rows = []
    for c in cfgs:
        rs = recs[c.name]
        sd = slowdowns(recs, c.name) if c.name != "none" else None
        per_call = [r["wall_s"] / count * 1e6 for r in rs]
        acc = [100 * (r.get("resolved") or 0) / 1e6 / r["slept_s"] for r in rs] if c.argv_fn else []
        rows.append([
            c.name, f(med(r["wall_s"] for r in rs), "{:.3f}"), f(med(per_call), "{:.1f}"),
            "-" if sd is None else rng(sd, "{:+.2f}"),
            f(med(r.get("tracer_sampling_cpu_ms") for r in rs), "{:.1f}") if c.argv_fn else "-",
            f(med(r.get("tracer_start_cpu_ms") for r in rs)) if c.argv_fn else "-",
            f(med(r.get("rss_mb") for r in rs), "{:.1f}") if c.argv_fn else "-",
            rng([r.get("stop_ms") for r in rs]) if c.argv_fn else "-",
            f(med(r.get("tracer_stop_cpu_ms") for r in rs)) if c.argv_fn else "-",
            f(med(r.get("tracer_total_cpu_ms") for r in rs)) if c.argv_fn else "-",
            f(med(acc), "{:.1f}") if acc else "-",
            f"{sum(1 for r in rs if r['disturbed'])}/{len(rs)}"])
    t = table(["config", "workload wall s", "µs per nanosleep call", "slowdown % (min..max)",
               "tracer CPU while tracing ms", "tracer CPU to start ms", "peak RSS MB",
               "SIGINT→exit ms", "tracer CPU after SIGINT ms", "tracer CPU total ms",
               "off-CPU under nap_outer / time slept %", "disturbed"], rows)
    return (f"### Off-CPU ({args.rounds} rounds, cpuburn -s {sleep_us}: {NCPU} threads × "
            f"{count} nanosleep({sleep_us} µs))\n\n{t}\n")


# ---------------------------------------------------------------- main

NCPU_SAMPLED = NCPU


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--work-s", type=float, default=5.0,
                    help="untraced duration of the CPU job (default 5)")
    ap.add_argument("--sleep-us", type=int, default=200)
    ap.add_argument("--sleep-count", type=int, default=6000)
    ap.add_argument("--loupe", default=os.path.join(REPO_DIR, "build", "loupe"))
    ap.add_argument("--bpftrace", default=shutil.which("bpftrace") or "/usr/bin/bpftrace")
    ap.add_argument("--offcputime", default="/usr/sbin/offcputime")
    ap.add_argument("--skip-offcpu", action="store_true")
    ap.add_argument("--skip-profile", action="store_true")
    ap.add_argument("--nice", type=int, default=-20)
    ap.add_argument("--quiet-wait", type=float, default=20.0)
    ap.add_argument("--max-other", type=float, default=5.0,
                    help="%% of one CPU used by other processes above which a run is redone")
    ap.add_argument("--retries", type=int, default=2)
    ap.add_argument("--keep", help="keep tracer outputs and raw JSON in this directory")
    args = ap.parse_args()

    if os.geteuid() != 0:
        die("must run as root")
    for tool in ("bpftool",):
        if not shutil.which(tool):
            die(f"{tool} not found")
    if not os.access(args.loupe, os.X_OK):
        die(f"{args.loupe} not found: run make first")
    have_bt = os.access(args.bpftrace, os.X_OK)
    have_oc = os.access(args.offcputime, os.X_OK)
    if not have_bt:
        log(f"note: {args.bpftrace} not found, bpftrace skipped")
    if not os.path.exists("/usr/sbin/profile"):
        log("note: libbpf-tools `profile` is not installed (not packaged in Debian 12)")

    atexit.register(cleanup)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    try:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)
    except OSError as e:
        log(f"warning: cannot set nice {args.nice}: {e}")

    outdir = args.keep or tempfile.mkdtemp(prefix="profile-bench-")
    os.makedirs(outdir, exist_ok=True)
    exe = build_cpuburn(outdir)
    t_start = time.monotonic()
    lp = args.loupe
    report = []
    raw = {}

    info = (f"machine: {NCPU} CPUs, {os.uname().release}; loupe {lp}; "
            f"bpftrace {args.bpftrace if have_bt else 'absent'}; nice {args.nice}")
    log(info)

    if not args.skip_profile:
        units = calibrate(exe, args.work_s)
        log(f"calibrated: {units} units per thread ≈ {args.work_s} s untraced")
        comm = "cpuburn"

        def lparse(text):
            return parse_folded(text, comm, "burn_outer")

        def bparse(text):
            return parse_bpftrace(text, comm, "burn_outer")

        bt_prog = "profile:hz:{} {{ @[ustack, kstack, comm] = count(); }}"
        cfgs = [Cfg("none", None, "profile", None, None)]
        for hz in (49, 99):
            cfgs.append(Cfg(f"loupe-{hz}", (lambda hz: lambda pid, svg:
                            [lp, "profile", "-F", str(hz), "--folded"])(hz),
                            "profile", "loupe-profile", lparse, hz, "loupe"))
        cfgs.append(Cfg("loupe-99-p", lambda pid, svg:
                        [lp, "profile", "-F", "99", "-p", str(pid), "--folded"],
                        "profile", "loupe-profile", lparse, 99, "loupe"))
        cfgs.append(Cfg("loupe-99-svg", lambda pid, svg:
                        [lp, "profile", "-F", "99", "--svg", svg],
                        "profile", "loupe-profile", None, 99, "loupe"))
        if have_bt:
            for hz in (49, 99):
                cfgs.append(Cfg(f"bpftrace-{hz}", (lambda hz: lambda pid, svg:
                                [args.bpftrace, "-e", bt_prog.format(hz)])(hz),
                                "profile", "bpftrace-profile", bparse, hz, "bpftrace"))
        recs = run_part("profile", cfgs, [exe, "-w", "-u", str(units)], outdir, args,
                        "perf_event")
        raw["profile"] = recs
        report.append(report_profile(cfgs, recs, units, args))
        bt_cmd = bt_prog.format("HZ")
        report.append(f"Commands: `loupe profile -F HZ --folded` (system-wide), "
                      f"`loupe profile -F 99 -p PID --folded`, `loupe profile -F 99 --svg FILE`, "
                      f"`bpftrace -e '{bt_cmd}'`.\n")

    if not args.skip_offcpu:
        # nap_inner calls libc's clock_nanosleep, which has no frame pointer:
        # a frame-pointer unwind skips nap_inner, nap_outer is the marker.
        nap = "nap_outer"

        def loparse(text):
            return parse_folded(text, "cpuburn", nap)

        def ocparse(text):
            return parse_bcc_stacks(text, "cpuburn", nap)

        cfgs = [Cfg("none", None, "offcpu", None, None),
                Cfg("loupe-offcputime", lambda pid, svg:
                    [lp, "offcputime", "-p", str(pid), "--folded"],
                    "offcpu", "sched_switch", loparse, None, "loupe")]
        if have_oc:
            cfgs.append(Cfg("libbpf-offcputime", lambda pid, svg:
                            [args.offcputime, "-p", str(pid)],
                            "offcpu", "sched_switch", ocparse, None, "libbpf-tools"))
        recs = run_part("offcpu", cfgs, [exe, "-w", "-s", str(args.sleep_us), "-n",
                                         str(args.sleep_count)], outdir, args,
                        "sched_switch")
        raw["offcpu"] = recs
        report.append(report_offcpu(cfgs, recs, args, args.sleep_us, args.sleep_count))

    elapsed = time.monotonic() - t_start
    # nothing of ours may be left
    cleanup()
    alive = [p for p in _our_pids if os.path.exists(f"/proc/{p}")
             and proc_ticks(p) is not None]
    deadline = time.monotonic() + 5
    while True:
        left = _our_prog_ids & {p["id"] for p in bpftool_json("prog", "show")}
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    clean = not alive and not left
    log(f"cleanup check: {len(_our_pids)} processes started, alive now: {alive or 'none'}; "
        f"{len(_our_prog_ids)} BPF programs used by our tracers, still loaded: "
        f"{sorted(left) or 'none'}")
    report.append(f"{info}. Total time {elapsed:.0f} s. Cleanup: "
                  f"{'no tracer left, no BPF program of ours left loaded' if clean else 'LEFTOVERS'}.")
    if args.keep:
        with open(os.path.join(outdir, "raw.json"), "w") as fo:
            json.dump(raw, fo, indent=1)
        log(f"outputs and raw.json kept in {outdir}")
    else:
        shutil.rmtree(outdir, ignore_errors=True)
    print("\n".join(report))
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
