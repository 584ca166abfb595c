#!/usr/bin/env python3
"""What the agent's /debug/pprof/offcpu costs with each --unwind mode, and
what copying every switched-out thread's stack would cost (Python 3
stdlib only; as root).

    make && bench/agent_offcpu.py [--rounds 3] [--window 10] [--pairs 2]

Workload, running through every measurement: --pairs pairs of processes
passing a byte to and fro through two pipes (each pass a context switch:
a busy machine's switch rate), and one -O2 -fomit-frame-pointer program
napping 2 ms at a time in a frameless leaf (test_unwind.py's BLOCK_C:
the blocks worth a walk).

Per round and mode:
  agent fp|dwarf  `loupe agent --metrics none --unwind MODE`, one GET of
                  /debug/pprof/offcpu?seconds=WINDOW: the agent's CPU
                  during it (all threads, schedstat) and its BPF
                  programs' run time (bpftool's run_time_ns, with
                  kernel.bpf_stats_enabled), both in % of one core
  switch-out copy `loupe offcputime --unwind dwarf -d WINDOW -f`, machine
                  wide: it copies every switched-out thread's registers
                  and stack top, the other design; the same figures
                  (its CPU from wait4)
and the context switches per second (/proc/stat ctxt) in the window.

Medians over rounds are printed as a markdown table on stdout.
"""

import argparse
import ast
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agent_profile as ap  # noqa: E402
import benchlib as bl  # noqa: E402
from agent_profile import sched_ns  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
LOUPE = os.path.join(ROOT, "build", "loupe")

PINGPONG_C = r"""
#include <unistd.h>
int main(void)
{
	int a[2], b[2];
	char c = 0;
	if (pipe(a) || pipe(b))
		return 1;
	if (fork() == 0)
		for (;;) {
			if (read(a[0], &c, 1) != 1)
				return 0;
			write(b[1], &c, 1);
		}
	for (;;) {
		write(a[1], &c, 1);
		if (read(b[0], &c, 1) != 1)
			return 0;
	}
}
"""

def block_c():
    """The program tests/runtime/test_unwind.py naps in (BLOCK_C: 2 ms in
    a frameless leaf, main -> level1 -> level2 -> level3 -> leaf), read
    from the test without importing it."""
    path = os.path.join(ROOT, "tests", "runtime", "test_unwind.py")
    with open(path) as f:
        for node in ast.parse(f.read()).body:
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "BLOCK_C":
                return ast.literal_eval(node.value)
    bl.die("no BLOCK_C in " + path)


def ctxt():
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("ctxt "):
                return int(line.split()[1])
    return 0


AGENT_PROGS = {"offcpu_switch", "offcpu_return", "sample"}
OFFCPUTIME_PROGS = {"switch_btf", "switch_raw", "switch_tp"}


def bpf_ns(names, before):
    """run_time_ns summed over the programs loaded since `before` (a set of
    ids) that have one of these names."""
    return sum(p.get("run_time_ns", 0) for p in bl.bpf_progs()
               if p.get("id") not in before and p.get("name") in names)


def prog_ids():
    return {p.get("id") for p in bl.bpf_progs()}


def agent_round(d, mode, window):
    before = prog_ids()
    a, port = ap.start_agent(d, 19, ("--unwind", mode))
    time.sleep(2)
    c0, x0, t0 = sched_ns(a.pid), ctxt(), time.monotonic()
    b0 = bpf_ns(AGENT_PROGS, before)
    with urllib.request.urlopen("http://127.0.0.1:%d/debug/pprof/offcpu?seconds=%d"
                                % (port, window), timeout=window + 120) as u:
        u.read()
    wall = time.monotonic() - t0
    r = ((sched_ns(a.pid) - c0) / 1e9 / wall * 100, (bpf_ns(AGENT_PROGS, before) - b0) / 1e9 / wall * 100,
         (ctxt() - x0) / wall)
    bl.stop(a, sig=15)
    return r


def switch_out_round(window):
    before = prog_ids()
    x0, t0, u0 = ctxt(), time.monotonic(), bl.children_cpu_s()
    p = subprocess.Popen([LOUPE, "offcputime", "--unwind", "dwarf", "-d", str(window), "-f"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen = []   # (time, run time so far) while its programs are loaded
    while p.poll() is None:
        time.sleep(0.5)
        ns = bpf_ns(OFFCPUTIME_PROGS, before)
        if ns:
            seen.append((time.monotonic(), ns))
    wall = time.monotonic() - t0
    bpf = ((seen[-1][1] - seen[0][1]) / (seen[-1][0] - seen[0][0])
           if len(seen) > 1 else 0.0)
    return (bl.children_cpu_s() - u0) / wall * 100, bpf / 1e9 * 100, (ctxt() - x0) / wall


def main():
    global LOUPE
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--loupe", default=LOUPE, help="the loupe binary to measure")
    args = parser.parse_args()
    LOUPE = ap.LOUPE = os.path.abspath(args.loupe)
    bl.ensure_root_and_tracefs()
    bl.install_cleanup()
    with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
        f.write("1")
    d = tempfile.mkdtemp(prefix="agent-offcpu-")
    work = []
    for name, src, flags in (("pingpong", PINGPONG_C, ["-O2"]),
                             ("nap", block_c(), ["-O2", "-fomit-frame-pointer"])):
        with open(os.path.join(d, name + ".c"), "w") as f:
            f.write(src)
        subprocess.run(["cc"] + flags + ["-o", os.path.join(d, name),
                                         os.path.join(d, name + ".c")], check=True)
    for _ in range(args.pairs):
        work.append(bl.spawn([os.path.join(d, "pingpong")], subprocess.DEVNULL,
                             subprocess.DEVNULL))
    work.append(bl.spawn([os.path.join(d, "nap"), "1000000"], subprocess.DEVNULL,
                         subprocess.DEVNULL))
    res = {k: [] for k in ("fp", "dwarf", "switch-out copy")}
    try:
        for r in range(args.rounds):
            for mode in ("fp", "dwarf"):
                res[mode].append(agent_round(d, mode, args.window))
            res["switch-out copy"].append(switch_out_round(args.window))
            bl.log("round %d: %s" % (r + 1, {k: v[-1] for k, v in res.items()}))
    finally:
        for w in work:
            bl.stop(w, sig=9)
    rows = []
    for k, v in res.items():
        cpu, bpf, sw = (bl.median([x[i] for x in v]) for i in range(3))
        what = ("loupe agent --unwind %s, /debug/pprof/offcpu" % k if k != "switch-out copy"
                else "loupe offcputime --unwind dwarf (copy at every switch-out)")
        rows.append([what, "%.0f" % sw, "%.2f %%" % cpu, "%.2f %%" % bpf])
    print(bl.md_table(["", "switches/s", "user-space CPU", "BPF run time"], rows))
    print("\n%d s windows, %d rounds, medians; %% of one core" % (args.window, args.rounds))


if __name__ == "__main__":
    main()
