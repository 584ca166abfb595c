#!/usr/bin/env python3
"""The agent's continuous profiler (--profile-hz) against `perf record` and
`loupe profile` over the same window (Python 3 stdlib only; as root).

    make && bench/agent_profile.py [--rounds 3] [--window 10] [--hz 19]

Workload: one busy C thread per CPU in a known call chain (built here at
-O0 with frame pointers), running through every measurement.

Per round, in this order:
  agent      `loupe agent --metrics none --profile-hz HZ`: its CPU time
             (all threads, /proc/PID/task/*/schedstat, so the drain and
             the symbolization are in it) over --idle seconds with no
             request, in % of one core; then one GET of
             /debug/pprof/profile?seconds=WINDOW: wall time to the last
             byte, profile size, and the agent's CPU during it; VmRSS
             after it and VmHWM (peak)
  page       with --page S: then S seconds of what the live page asks
             for (/flame.svg and /flame/targets every 5 s, a 5 s profile
             every 30 s): VmRSS at the end and VmHWM
  agent off  the same agent with --profile-hz 0: VmRSS (the baseline)
  perf       `perf record -F HZ -a -g -o FILE -- sleep WINDOW`: wall, CPU
             (user+system of perf, from wait4) and peak RSS
  loupe      `loupe profile -F HZ -d WINDOW -f`: the same figures

With --clang, a loop of `clang -O2 -c` on a generated 3,000-function C
file runs beside the busy program through every measurement: a compiler
whose libLLVM and libclang-cpp (7 MB of symbol names) the profiler must
symbolize. With --chromium, a loop of headless Chromium rendering a page
whose script spins for 5 s (a 300 MB binary with dozens of libraries,
as the live-page tests run it). --loupe PATH measures another build of
loupe (before/after); --unwind MODE passes `--unwind MODE` to the agent.

Medians over rounds are printed as a markdown table on stdout.
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

LOUPE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "loupe")

BUSY_C = r"""
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
volatile unsigned long sink;
__attribute__((noinline)) void bench_leaf(void)
{ for (int i = 0; i < 100000; i++) sink += i; }
__attribute__((noinline)) void bench_mid(void) { bench_leaf(); }
__attribute__((noinline)) void *bench_top(void *a)
{ for (;;) bench_mid(); return a; }
int main(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	pthread_t t;
	for (long i = 1; i < n; i++)
		pthread_create(&t, NULL, bench_top, NULL);
	bench_top(NULL);
}
"""


def clang_loop(d):
    """A shell loop compiling a generated C file with clang, until killed."""
    src = os.path.join(d, "gen.c")
    with open(src, "w") as f:
        for i in range(3000):
            f.write("int gen_%d(int x) { int s = 0; for (int i = 0; i < x; i++)"
                    " s += i * %d ^ (s >> 3); return s; }\n" % (i, i + 1))
    script = "while :; do clang -O2 -c -o %s/gen.o %s; done" % (d, src)
    return bl.spawn(["sh", "-c", script], subprocess.DEVNULL, subprocess.DEVNULL)


def chromium_loop(d):
    """A shell loop of headless Chromium on a busy page, until killed."""
    page = os.path.join(d, "spin.html")
    with open(page, "w") as f:
        f.write("<script>var t = Date.now(), x = 0; while (Date.now() - t < 5000) x++;"
                "document.title = x;</script>")
    script = ("while :; do chromium --headless --no-sandbox --disable-gpu "
              "--user-data-dir=%s/chromium --dump-dom file://%s; done" % (d, page))
    return bl.spawn(["sh", "-c", script], subprocess.DEVNULL, subprocess.DEVNULL)


def sched_ns(pid):
    """CPU ns of every thread of a live process (schedstat)."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total


def start_agent(d, hz, extra=()):
    err = open(os.path.join(d, "agent-%s.err" % hz), "w+")
    p = bl.spawn([LOUPE, "agent", "--listen", "127.0.0.1:0", "--metrics", "none",
                  "--profile-hz", str(hz)] + list(extra), subprocess.DEVNULL, err)
    for _ in range(200):
        err.seek(0)
        text = err.read()
        if "(port " in text:
            return p, int(text.split("(port ")[1].split(")")[0])
        if p.poll() is not None:
            bl.die("agent exited: " + text)
        time.sleep(0.05)
    bl.die("agent did not start")


def run_child(argv):
    """(wall s, CPU s, peak RSS kB) of a command run to its end."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    if status:
        bl.log("%s exited with %d" % (argv[0], status))
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss


def live_page(port, seconds):
    """What the index page's script asks for while it is open."""
    url = "http://127.0.0.1:%d" % port
    t0, n = time.monotonic(), 0
    while time.monotonic() - t0 < seconds:
        for path in ("/flame.svg?seconds=30", "/flame/targets?seconds=30") + \
                (("/debug/pprof/profile?seconds=5",) if n % 6 == 5 else ()):
            with urllib.request.urlopen(url + path, timeout=60) as u:
                u.read()
        n += 1
        time.sleep(5)


def main():
    global LOUPE
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--window", type=int, default=10)
    ap.add_argument("--idle", type=float, default=20.0)
    ap.add_argument("--hz", type=int, default=19)
    ap.add_argument("--page", type=float, default=0.0,
                    help="seconds of live-page requests after the window (0: none)")
    ap.add_argument("--clang", action="store_true",
                    help="also keep clang compiling through every measurement")
    ap.add_argument("--chromium", action="store_true",
                    help="also keep headless Chromium busy through every measurement")
    ap.add_argument("--loupe", default=LOUPE, help="the loupe binary to measure")
    ap.add_argument("--unwind", help="the agent's --unwind mode (fp, dwarf, auto)")
    args = ap.parse_args()
    LOUPE = os.path.abspath(args.loupe)
    bl.ensure_root_and_tracefs()
    bl.install_cleanup()
    d = tempfile.mkdtemp(prefix="agent-profile-")
    busy = os.path.join(d, "busy")
    with open(busy + ".c", "w") as f:
        f.write(BUSY_C)
    subprocess.run(["cc", "-O0", "-fno-omit-frame-pointer", "-pthread", "-o", busy,
                    busy + ".c"], check=True)
    w = bl.spawn([busy], subprocess.DEVNULL, subprocess.DEVNULL)
    cl = clang_loop(d) if args.clang else None
    cr = chromium_loop(d) if args.chromium else None
    res = {k: [] for k in ("idle_cpu", "resp_s", "resp_cpu", "size", "rss", "hwm",
                           "page_rss", "page_hwm", "rss_off", "perf_wall", "perf_cpu", "perf_rss",
                           "loupe_wall", "loupe_cpu", "loupe_rss")}
    try:
        for r in range(args.rounds):
            a, port = start_agent(d, args.hz,
                                  ("--unwind", args.unwind) if args.unwind else ())
            time.sleep(2)
            c0 = sched_ns(a.pid)
            time.sleep(args.idle)
            res["idle_cpu"].append((sched_ns(a.pid) - c0) / 1e9 / args.idle * 100)
            c0, t0 = sched_ns(a.pid), time.monotonic()
            with urllib.request.urlopen("http://127.0.0.1:%d/debug/pprof/profile?seconds=%d"
                                        % (port, args.window), timeout=args.window + 60) as u:
                body = u.read()
            res["resp_s"].append(time.monotonic() - t0)
            res["resp_cpu"].append((sched_ns(a.pid) - c0) / 1e9)
            res["size"].append(len(body))
            res["rss"].append(bl.vm_rss_kb(a.pid))
            res["hwm"].append(bl.vm_hwm_kb(a.pid))
            if args.page:
                live_page(port, args.page)
                res["page_rss"].append(bl.vm_rss_kb(a.pid))
                res["page_hwm"].append(bl.vm_hwm_kb(a.pid))
            bl.stop(a, sig=15)
            a, port = start_agent(d, 0)
            time.sleep(1)
            res["rss_off"].append(bl.vm_rss_kb(a.pid))
            bl.stop(a, sig=15)
            out = os.path.join(d, "perf.data")
            wall, cpu, rss = run_child(["perf", "record", "-q", "-F", str(args.hz), "-a", "-g",
                                        "-o", out, "--", "sleep", str(args.window)])
            res["perf_wall"].append(wall)
            res["perf_cpu"].append(cpu)
            res["perf_rss"].append(rss)
            wall, cpu, rss = run_child([LOUPE, "profile", "-F", str(args.hz), "-d",
                                        str(args.window), "-f"])
            res["loupe_wall"].append(wall)
            res["loupe_cpu"].append(cpu)
            res["loupe_rss"].append(rss)
            bl.log("round %d: %s" % (r + 1, {k: v[-1] for k, v in res.items() if v}))
    finally:
        bl.stop(w, sig=9)
        for p in (cl, cr):
            if p:
                bl.stop(p, sig=9)
    m = {k: bl.median(v) for k, v in res.items()}
    print(bl.md_table(
        ["", "wall for a %d s window" % args.window, "CPU in that window", "CPU at rest",
         "RSS (peak)"],
        [r for r in [["loupe agent --profile-hz %d%s" % (
            args.hz, " --unwind " + args.unwind if args.unwind else ""), "%.2f s" % m["resp_s"],
          "%.3f s" % m["resp_cpu"], "%.2f %% of a core" % m["idle_cpu"],
          "%.1f MB (%.1f MB)" % (m["rss"] / 1024, m["hwm"] / 1024)],
         ["loupe agent --profile-hz %d, then %.0f s of the live page" % (args.hz, args.page),
          "", "", "", "%.1f MB (%.1f MB)" % (m["page_rss"] / 1024, m["page_hwm"] / 1024)]
         if args.page else None,
         ["loupe agent --profile-hz 0", "", "", "", "%.1f MB" % (m["rss_off"] / 1024)],
         ["perf record -F %d -a -g" % args.hz, "%.2f s" % m["perf_wall"],
          "%.3f s" % m["perf_cpu"], "", "(%.1f MB)" % (m["perf_rss"] / 1024)],
         ["loupe profile -F %d -f" % args.hz, "%.2f s" % m["loupe_wall"],
          "%.3f s" % m["loupe_cpu"], "", "(%.1f MB)" % (m["loupe_rss"] / 1024)]] if r]))
    print("\nprofile size %d bytes (gzip'd); %d rounds, medians" % (m["size"], args.rounds))


if __name__ == "__main__":
    main()
