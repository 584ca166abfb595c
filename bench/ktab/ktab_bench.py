#!/usr/bin/env python3
"""Issue 16's two designs for stacks without frame pointers, measured in
one run (Python 3 stdlib only; run as root):

    make && make -C bench && bench/ktab/ktab_bench.py [--rounds 3] [--window 5]

(a) loupe profile --unwind dwarf: the kernel copies 16 KB of stack per
    sample, user space walks it with libdw (bench/unwind_bench.py's
    measurement: loupe's CPU over the window plus its BPF run time);
(b) bench/build/ktab: unwind tables compiled from .eh_frame into a BPF
    array and walked in the kernel (kernel cost = the program's run_time_ns
    from BPF_ENABLE_STATS; user cost = ktab's CPU while sampling; set-up =
    its CPU compiling and loading the tables).

The workload is unwind_bench.py's -O2 -fomit-frame-pointer program (main
-> level1..3 -> leaf), one busy process, at 49 and 999 Hz. Correctness:
the share of samples whose stack holds main;level1;level2;level3;leaf,
for ktab (its addresses named by addr2line) and for perf record
--call-graph dwarf on the same process. Memory: ktab's tables for a
process with --libs libraries dlopen()ed, against loupe's peak RSS in
both modes (unwind_bench.py's memory()). Prints markdown tables.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import unwind_bench as ub  # noqa: E402

KTAB = os.path.join(os.path.dirname(HERE), "build", "ktab")
CHAIN = ["main", "level1", "level2", "level3", "leaf"]


def has_chain(frames, chain=CHAIN):
    n = len(chain)
    return any(frames[i:i + n] == chain for i in range(len(frames) - n + 1))


def names(addrs):
    """{(path, vaddr): function} through addr2line, one call per object."""
    by_obj, out = {}, {}
    for path, va in addrs:
        by_obj.setdefault(path, set()).add(va)
    for path, vas in by_obj.items():
        vas = sorted(vas)
        if path == "?":
            continue
        r = subprocess.run(["addr2line", "-f", "-e", path] +
                           ["%#x" % v for v in vas],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        lines = r.stdout.decode(errors="replace").splitlines()
        for i, v in enumerate(vas):
            out[(path, v)] = lines[2 * i] if 2 * i < len(lines) else "??"
    return out


def run_ktab(target, hz, window):
    p = ub.spawn([KTAB, str(target), str(hz), str(int(window))],
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=window + 120)
    ub._procs.remove(p)
    if p.returncode:
        raise RuntimeError("ktab failed: %s" % err.decode())
    stacks, summary = [], None
    for line in out.decode().splitlines():
        if line.startswith("summary "):
            summary = json.loads(line[8:])
        elif line.startswith("stack "):
            _, count, frames = line.split(" ", 2)
            fr = []
            for f in frames.split(";"):
                path, _, va = f.rpartition(":")
                # return addresses: name the call, one byte before
                fr.append((path, int(va, 16) - (1 if fr else 0)))
            stacks.append((int(count), fr))
    nm = names({f for _, fr in stacks for f in fr})
    total = sum(c for c, _ in stacks)
    whole = sum(c for c, fr in stacks
                if has_chain([nm.get(f, "??") for f in fr][::-1]))
    return summary, whole / max(total, 1), total


def perf_share(target):
    perf = shutil.which("perf")
    if not perf:
        return None
    tmp = tempfile.mkdtemp(prefix="ktab-perf-")
    data = os.path.join(tmp, "perf.data")
    try:
        subprocess.run([perf, "record", "-q", "-e", "cpu-clock", "-F", "49",
                        "--call-graph", "dwarf", "-p", str(target), "-o",
                        data, "--", "sleep", "2"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60)
        r = subprocess.run([perf, "script", "-i", data, "-F", "ip,sym"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           timeout=60)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    blocks = [b.split("\n") for b in r.stdout.decode(errors="replace").split("\n\n")]
    samples = [[l.split()[1] for l in b if len(l.split()) >= 2][::-1]
               for b in blocks if b and any(x.strip() for x in b)]
    return sum(has_chain(s) for s in samples) / max(len(samples), 1)


def tables_for_libs(tmp, nlibs):
    exe = os.path.join(tmp, "libs")
    chain = ub.NOFP_C.replace("int main(int argc", "int unused_main(int argc")
    with open(exe + ".c", "w") as f:
        f.write(ub.LIBS_C)
    with open(exe + "_chain.c", "w") as f:
        f.write(chain)
    subprocess.run(["gcc", "-O2", "-fomit-frame-pointer", "-o", exe,
                    exe + ".c", exe + "_chain.c", "-ldl"], check=True)
    w = ub.spawn([exe, str(nlibs)], stdout=subprocess.PIPE,
                 stderr=subprocess.DEVNULL)
    loaded = int(w.stdout.readline())
    p = ub.spawn([KTAB, str(w.pid), "49", "1"], stdout=subprocess.PIPE,
                 stderr=subprocess.PIPE)
    out, _ = p.communicate(timeout=120)
    ub._procs.remove(p)
    ub.stop(w, signal.SIGKILL)
    summary = [json.loads(l[8:]) for l in out.decode().splitlines()
               if l.startswith("summary ")]
    return loaded, summary[0] if summary else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--window", type=float, default=5)
    ap.add_argument("--hz", default="49,999")
    ap.add_argument("--libs", type=int, default=50)
    a = ap.parse_args()
    if os.geteuid():
        sys.exit("run as root")
    for f in (ub.LOUPE, KTAB):
        if not os.access(f, os.X_OK):
            sys.exit("%s not found: run make and make -C bench" % f)
    tmp = tempfile.mkdtemp(prefix="ktab-bench-")
    exe = os.path.join(tmp, "nofp")
    with open(exe + ".c", "w") as f:
        f.write(ub.NOFP_C)
    subprocess.run(["gcc", "-O2", "-fomit-frame-pointer", "-o", exe,
                    exe + ".c"], check=True)
    stats_fd = ub.enable_bpf_stats()
    res, setup, whole, ref = {}, [], {}, None
    try:
        for hz in [int(h) for h in a.hz.split(",")]:
            for rnd in range(a.rounds):
                order = ["dwarf", "ktab"] if rnd % 2 == 0 else ["ktab", "dwarf"]
                for t in order:
                    w = ub.spawn([exe, str(int(a.window) + 60)])
                    time.sleep(0.2)
                    if t == "dwarf":
                        cost, n, secs = ub.run_loupe(w.pid, hz, "dwarf", a.window)
                        kern = user = None
                    else:
                        s, share, n = run_ktab(w.pid, hz, a.window)
                        secs = a.window
                        kern = s["run_time_ns"]
                        user = s["run_user_cpu_s"] * 1e9
                        cost = kern + user
                        setup.append((s["build_cpu_s"], s["rows"], s["table_bytes"]))
                        whole.setdefault(hz, []).append(share)
                        if ref is None:
                            ref = perf_share(w.pid)
                    ub.stop(w, signal.SIGKILL)
                    ub.log("%s %d Hz round %d: %.0f samples, %.1f us/sample, %.3f%% CPU" %
                           (t, hz, rnd, n, cost / max(n, 1) / 1e3,
                            100 * cost / (secs * 1e9)))
                    res.setdefault((t, hz), []).append(
                        (cost / max(n, 1), cost / (secs * 1e9),
                         None if kern is None else kern / max(n, 1),
                         None if user is None else user / max(n, 1)))
        loaded, libs = tables_for_libs(tmp, a.libs)
        mem = ub.memory(tmp, a.libs)
    finally:
        ub.cleanup()
        os.close(stats_fd)
        shutil.rmtree(tmp, ignore_errors=True)
    med = statistics.median
    print("| design | Hz | cost per sample (us) | kernel (us) | user (us) | CPU (% of one) |")
    print("|---|---|---|---|---|---|")
    label = {"dwarf": "(a) loupe --unwind dwarf", "ktab": "(b) ktab (tables in BPF maps)"}
    for (t, hz), v in res.items():
        k = "%.1f" % med(x[2] for x in v) if v[0][2] is not None else "-"
        u = "%.2f" % med(x[3] for x in v) if v[0][3] is not None else "-"
        print("| %s | %d | %.1f | %s | %s | %.3f |" % (
            label[t], hz, med(x[0] for x in v) / 1e3,
            k if k == "-" else "%.1f" % (float(k) / 1e3),
            u if u == "-" else "%.2f" % (float(u) / 1e3),
            100 * med(x[1] for x in v)))
    print()
    for hz, v in whole.items():
        print("ktab at %d Hz: %.0f%% of samples hold %s (median of %d runs)" %
              (hz, 100 * med(v), ";".join(CHAIN), len(v)))
    if ref is not None:
        print("perf --call-graph dwarf: %.0f%% hold it" % (100 * ref))
    b, r, by = med(x[0] for x in setup), med(x[1] for x in setup), med(x[2] for x in setup)
    print("ktab set-up for the workload (3 objects): %.0f ms CPU, %d rows, %.1f KB" %
          (1e3 * b, r, by / 1024))
    if libs:
        print("ktab tables, a process with %d libraries dlopen()ed (%d objects): "
              "%d rows, %.1f MB, %.2f s CPU to build and load" %
              (loaded, libs["objects"], libs["rows"], libs["table_bytes"] / 2**20,
               libs["build_cpu_s"]))
    _, objs, rss = mem
    print("loupe peak RSS on the same (%d objects): fp %.1f MB, dwarf %.1f MB" %
          (objs, rss["fp"] / 1024, rss["dwarf"] / 1024))


if __name__ == "__main__":
    main()
