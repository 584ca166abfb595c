#!/usr/bin/env python3
"""Cost per sample of `loupe profile --unwind dwarf` against `--unwind fp`
and `perf record --call-graph dwarf` (Python 3 stdlib only; run as root).

    make && bench/unwind_bench.py [--rounds 3] [--window 5] [--hz 49,999] [--offcpu-ms 1]

The workload is a C program built here at -O2 -fomit-frame-pointer (a
four-deep chain and a leaf without a frame), one busy process. For each
frequency and round, in a rotated order, each tracer samples that process
(-p) for --window seconds once it is attached:

- loupe: the CPU of every loupe thread over the window (schedstat, so the
  drain and, in dwarf mode, the walks are counted) plus the kernel run
  time of its BPF program (run_time_ns in its fdinfo; BPF statistics are
  turned on through BPF_ENABLE_STATS while the script holds the fd, never
  through the global sysctl), divided by the samples the program took of
  the workload over the window (the workload's samples / the run's);
- perf: the CPU of `perf record` over the window (it only copies, like
  loupe's kernel half; the kernel's copy is in the workload's interrupts
  and not counted) plus all the CPU of `perf script` unwinding the run
  afterwards, divided by its samples.

Off-CPU (--offcpu-ms MS, 0 to skip): the same chain whose frameless
leaf makes the nanosleep system call itself for MS ms, traced by `loupe
offcputime -p --unwind fp|dwarf`: loupe's CPU plus its sched_switch
program's run time (which runs on every switch of the machine), divided
by the workload's context switches over the window.

Prints a markdown table of medians: cost per sample in microseconds and
the share of one CPU the tracer takes over the window. Then memory: the
same program with --libs shared libraries of /usr/lib/x86_64-linux-gnu
dlopen()ed (their dependencies come along), profiled for 3 s by loupe in
each mode: peak RSS of loupe (wait4's ru_maxrss).
"""

import argparse
import ctypes
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
LOUPE = os.path.join(os.path.dirname(BENCH_DIR), "build", "loupe")

NOFP_C = r"""
#include <stdlib.h>
#include <time.h>

volatile unsigned long sink;

__attribute__((noinline)) void leaf(void)
{
	for (int i = 0; i < 1000000; i++)
		sink += i;
}

__attribute__((noinline)) void level3(void) { leaf(); sink++; }
__attribute__((noinline)) void level2(void) { level3(); sink++; }
__attribute__((noinline)) void level1(void) { level2(); sink++; }

int main(int argc, char **argv)
{
	time_t end = time(NULL) + atoi(argv[1]);

	while (time(NULL) < end)
		level1();
	return 0;
}
"""

# NOFP_C's chain, but the leaf blocks: it makes the nanosleep call itself.
BLOCK_C = r"""
#include <stdlib.h>
#include <time.h>
#include <sys/syscall.h>

volatile unsigned long sink;

__attribute__((noinline)) void leaf(long ns)
{
	struct timespec ts = { 0, ns };
	long ret;

	__asm__ volatile("syscall" : "=a"(ret)
			 : "0"((long)SYS_nanosleep), "D"(&ts), "S"(0L)
			 : "rcx", "r11", "memory");
	sink += ret;
}

__attribute__((noinline)) void level3(long ns) { leaf(ns); sink++; }
__attribute__((noinline)) void level2(long ns) { level3(ns); sink++; }
__attribute__((noinline)) void level1(long ns) { level2(ns); sink++; }

int main(int argc, char **argv)
{
	time_t end = time(NULL) + atoi(argv[1]);
	long ns = atol(argv[2]);

	while (time(NULL) < end)
		level1(ns);
	return 0;
}
"""

LIBS_C = r"""
#include <dlfcn.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>

void level1(void);

int main(int argc, char **argv)
{
	int want = atoi(argv[1]), n = 0;
	glob_t g;

	glob("/usr/lib/x86_64-linux-gnu/lib*.so.*", 0, NULL, &g);
	for (size_t i = 0; i < g.gl_pathc && n < want; i++)
		if (dlopen(g.gl_pathv[i], RTLD_LAZY | RTLD_LOCAL))
			n++;
	printf("%d\n", n);
	fflush(stdout);
	for (;;)
		level1();
}
"""

_procs = []


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def spawn(argv, **kw):
    p = subprocess.Popen(argv, start_new_session=True, **kw)
    _procs.append(p)
    return p


def stop(p, sig=signal.SIGINT, timeout=60):
    if p.poll() is None:
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    if p in _procs:
        _procs.remove(p)


def cleanup():
    for p in list(_procs):
        stop(p, signal.SIGKILL, 5)


def enable_bpf_stats():
    """BPF_ENABLE_STATS(BPF_STATS_RUN_TIME): on while the fd is open."""
    libc = ctypes.CDLL(None, use_errno=True)
    attr = ctypes.create_string_buffer(16)  # type = 0: run time
    fd = libc.syscall(321, 32, attr, 16)    # SYS_bpf, BPF_ENABLE_STATS
    if fd < 0:
        raise OSError(ctypes.get_errno(), "BPF_ENABLE_STATS")
    return fd


def cpu_ns(pid):
    tot = 0
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                tot += int(f.read().split()[0])
        except (OSError, ValueError):
            pass
    return tot


def bpf_perf_progs(pid, types=("7",)):
    """(run_time_ns, run_cnt) summed over pid's programs of these types
    (7 perf_event), or None if it has none yet."""
    found, rt, cnt = False, 0, 0
    d = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(d):
        try:
            with open(os.path.join(d, fd)) as f:
                info = dict(l.split(":", 1) for l in f if ":" in l)
        except OSError:
            continue
        if info.get("prog_type", "").strip() not in types:
            continue
        found = True
        rt += int(info.get("run_time_ns", "0"))
        cnt += int(info.get("run_cnt", "0"))
    return (rt, cnt) if found else None


def wait_for(fn, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    return None


def folded_total(text):
    return sum(int(l.rpartition(" ")[2]) for l in text.splitlines()
               if l.rpartition(" ")[2].isdigit())


def run_loupe(target, hz, mode, window):
    p = spawn([LOUPE, "profile", "-p", str(target), "-U", "--folded",
               "-F", str(hz), "--unwind", mode],
              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if not wait_for(lambda: bpf_perf_progs(p.pid), 30):
        stop(p)
        raise RuntimeError("loupe did not attach: %s" % p.stderr.read().decode())
    t_attach = time.monotonic()
    time.sleep(0.3)
    c0, (r0, _) = cpu_ns(p.pid), bpf_perf_progs(p.pid)
    t0 = time.monotonic()
    time.sleep(window)
    c1, (r1, _) = cpu_ns(p.pid), bpf_perf_progs(p.pid)
    t1 = time.monotonic()
    os.killpg(p.pid, signal.SIGINT)
    out = p.stdout.read().decode()
    t_end = time.monotonic()
    stop(p)
    # The run sampled from attach to the signal: the window's share.
    samples = folded_total(out) * (t1 - t0) / (t_end - t_attach)
    cost = (c1 - c0) + (r1 - r0)
    return cost, samples, t1 - t0


# tracing (tp_btf), raw_tracepoint, tracepoint
SWITCH_PROGS = ("26", "17", "5")


def ctxt_switches(pid):
    n = 0
    with open("/proc/%d/status" % pid) as f:
        for l in f:
            if "ctxt_switches:" in l:  # voluntary and not
                n += int(l.split()[1])
    return n


def run_offcpu(target, mode, window):
    """loupe offcputime -p: (cost ns, switches of the target, seconds)."""
    p = spawn([LOUPE, "offcputime", "-p", str(target), "-U", "--folded",
               "--unwind", mode],
              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if not wait_for(lambda: bpf_perf_progs(p.pid, SWITCH_PROGS), 30):
        stop(p)
        raise RuntimeError("loupe did not attach: %s" % p.stderr.read().decode())
    time.sleep(0.3)
    c0, (r0, _) = cpu_ns(p.pid), bpf_perf_progs(p.pid, SWITCH_PROGS)
    s0, t0 = ctxt_switches(target), time.monotonic()
    time.sleep(window)
    c1, (r1, _) = cpu_ns(p.pid), bpf_perf_progs(p.pid, SWITCH_PROGS)
    s1, t1 = ctxt_switches(target), time.monotonic()
    stop(p)
    return (c1 - c0) + (r1 - r0), s1 - s0, t1 - t0


def run_perf(target, hz, window, tmp):
    data = os.path.join(tmp, "perf.data")
    p = spawn(["perf", "record", "-q", "-e", "cpu-clock", "-F", str(hz),
               "--call-graph", "dwarf", "-p", str(target), "-o", data],
              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    c0, t0 = cpu_ns(p.pid), time.monotonic()
    time.sleep(window)
    c1, t1 = cpu_ns(p.pid), time.monotonic()
    stop(p)
    ru0 = os.times()
    r = subprocess.run(["perf", "script", "-i", data, "-F", "ip,sym"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    ru1 = os.times()
    script_ns = ((ru1.children_user - ru0.children_user) +
                 (ru1.children_system - ru0.children_system)) * 1e9
    nsamples = sum(1 for blk in r.stdout.decode(errors="replace").split("\n\n")
                   if blk.strip())
    # perf record ran 1 s before the window; its samples over the run.
    run_s = (t1 - t0) + 1.0
    samples_window = nsamples * (t1 - t0) / run_s
    cost = (c1 - c0) + script_ns * (t1 - t0) / run_s
    return cost, samples_window, t1 - t0


def memory(tmp, nlibs):
    """Peak RSS of loupe profile -p (3 s) per mode, on a process with
    nlibs libraries dlopen()ed; and the library mappings it has."""
    exe = os.path.join(tmp, "libs")
    chain = NOFP_C.replace("int main(int argc", "int unused_main(int argc")
    with open(exe + ".c", "w") as f:
        f.write(LIBS_C)
    with open(exe + "_chain.c", "w") as f:
        f.write(chain)
    subprocess.run(["gcc", "-O2", "-fomit-frame-pointer", "-o", exe,
                    exe + ".c", exe + "_chain.c", "-ldl"], check=True)
    w = spawn([exe, str(nlibs)], stdout=subprocess.PIPE,
              stderr=subprocess.DEVNULL)
    loaded = int(w.stdout.readline())
    with open("/proc/%d/maps" % w.pid) as f:
        objs = {l.split()[-1] for l in f if ".so" in l}
    out = {}
    for mode in ("fp", "dwarf"):
        p = spawn([LOUPE, "profile", "-p", str(w.pid), "-U", "--folded",
                   "-d", "3", "--unwind", mode],
                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, _, ru = os.wait4(p.pid, 0)
        _procs.remove(p)
        out[mode] = ru.ru_maxrss
    stop(w, signal.SIGKILL)
    return loaded, len(objs), out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--window", type=float, default=5)
    ap.add_argument("--hz", default="49,999")
    ap.add_argument("--libs", type=int, default=50)
    ap.add_argument("--offcpu-ms", type=float, default=1)
    a = ap.parse_args()
    if os.geteuid():
        sys.exit("run as root")
    if not os.access(LOUPE, os.X_OK):
        sys.exit("build/loupe not found: run make")
    tmp = tempfile.mkdtemp(prefix="unwind-bench-")
    exe = os.path.join(tmp, "nofp")
    with open(exe + ".c", "w") as f:
        f.write(NOFP_C)
    subprocess.run(["gcc", "-O2", "-fomit-frame-pointer", "-o", exe,
                    exe + ".c"], check=True)
    stats_fd = enable_bpf_stats()
    tracers = ["fp", "dwarf"] + (["perf"] if shutil.which("perf") else [])
    res = {}
    try:
        for hz in [int(h) for h in a.hz.split(",")]:
            for rnd in range(a.rounds):
                order = tracers[rnd % len(tracers):] + tracers[:rnd % len(tracers)]
                for t in order:
                    w = spawn([exe, str(int(a.window) + 60)])
                    time.sleep(0.2)
                    if t == "perf":
                        cost, n, secs = run_perf(w.pid, hz, a.window, tmp)
                    else:
                        cost, n, secs = run_loupe(w.pid, hz, t, a.window)
                    stop(w, signal.SIGKILL)
                    log("%s %d Hz round %d: %.0f samples, %.1f us/sample, %.2f%% CPU" %
                        (t, hz, rnd, n, cost / max(n, 1) / 1e3, 100 * cost / (secs * 1e9)))
                    res.setdefault((t, hz), []).append((cost / max(n, 1), cost / (secs * 1e9)))
        if a.offcpu_ms > 0:
            blk = os.path.join(tmp, "block")
            with open(blk + ".c", "w") as f:
                f.write(BLOCK_C)
            subprocess.run(["gcc", "-O2", "-fomit-frame-pointer", "-o", blk,
                            blk + ".c"], check=True)
            for rnd in range(a.rounds):
                for t in (["fp", "dwarf"] if rnd % 2 == 0 else ["dwarf", "fp"]):
                    w = spawn([blk, str(int(a.window) + 60),
                               str(int(a.offcpu_ms * 1e6))])
                    time.sleep(0.2)
                    cost, n, secs = run_offcpu(w.pid, t, a.window)
                    stop(w, signal.SIGKILL)
                    log("offcputime %s round %d: %d switches, %.1f us/switch, %.2f%% CPU" %
                        (t, rnd, n, cost / max(n, 1) / 1e3, 100 * cost / (secs * 1e9)))
                    res.setdefault(("off-" + t, 0), []).append(
                        (cost / max(n, 1), cost / (secs * 1e9)))
        mem = memory(tmp, a.libs)
    finally:
        cleanup()
        os.close(stats_fd)
        shutil.rmtree(tmp, ignore_errors=True)
    print("| unwinding | Hz | cost per sample (us) | CPU (% of one) |")
    print("|---|---|---|---|")
    names = {"fp": "loupe --unwind fp", "dwarf": "loupe --unwind dwarf",
             "perf": "perf --call-graph dwarf (record + script)",
             "off-fp": "loupe offcputime --unwind fp (per switch)",
             "off-dwarf": "loupe offcputime --unwind dwarf (per switch)"}
    for (t, hz), v in res.items():
        print("| %s | %s | %.1f | %.2f |" % (
            names[t], hz or "-", statistics.median(x[0] for x in v) / 1e3,
            100 * statistics.median(x[1] for x in v)))
    loaded, objs, rss = mem
    print()
    print("Peak RSS of loupe profile -p, a process with %d libraries dlopen()ed "
          "(%d shared objects mapped): fp %.1f MB, dwarf %.1f MB (of which the "
          "8 MB ring)." % (loaded, objs, rss["fp"] / 1024, rss["dwarf"] / 1024))


if __name__ == "__main__":
    main()

