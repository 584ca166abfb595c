#!/usr/bin/env python3
"""Start-up latency and peak RSS of exec snoopers.

For each run: record t0, launch the tracer (stdout on a pseudo-terminal, as
an interactive user would run it), then exec a marker command every ~2 ms:
a per-run symlink to /bin/true named m<seq>, run as `<dir>/m<seq> marker-<seq>`,
so that the sequence number is both in the exec'd filename (all bpftrace
sees) and in argv. The launch time of every marker is recorded just before
it is spawned. Once a marker shows up in the tracer's output, the loop
stops; 100 ms later the smallest reported sequence number is taken.

  ready    = launch time of the earliest reported marker - t0
             (when the tracer was demonstrably attached; does not include
             output delivery latency)
  seen     = when we first read a marker from the tracer's output - t0
  peak RSS = VmHWM of the tracer process (/proc/PID/status), read just
             before stopping it

One warm-up run per tracer is made first and discarded (page cache), then
the tracers are interleaved for --runs runs; medians are reported.

loupe runs three ways: with its kernel BTF cache warm (the usual case:
primed by the warm-up run), cold (a fresh cache directory every run: it
cuts the kernel BTF and writes the cache) and off (LOUPE_BTF_CACHE=off:
libbpf parses the whole kernel BTF, as before the cache).
"""

import argparse
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
import tty

sys.dont_write_bytecode = True  # keep bench/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

BPFTRACE_PROG = ('tracepoint:syscalls:sys_enter_execve '
                 '{ printf("%s\\n", str(args->filename)); }')


def loupe_env(cache):
    """loupe's kernel BTF cache (src/lib/kbtf.c) at `cache`, or "off"."""
    return dict(os.environ, LOUPE_BTF_CACHE=cache)


def cold_cache(args):
    """A fresh, empty cache directory: loupe cuts the kernel BTF again."""
    d = tempfile.mkdtemp(prefix="lsb-kbtf-cold-", dir=args.cache_root)
    return loupe_env(d)


def tracers(args):
    warm = os.path.join(args.cache_root, "warm")
    os.makedirs(warm, mode=0o755, exist_ok=True)
    return [
        # Primed by its warm-up run (or the first run with --no-warmup).
        dict(name="loupe execsnoop", argv=[args.loupe, "execsnoop"],
             env=lambda: loupe_env(warm)),
        dict(name="loupe execsnoop (cold cache)",
             argv=[args.loupe, "execsnoop"], env=lambda: cold_cache(args)),
        dict(name="loupe execsnoop (no cache)",
             argv=[args.loupe, "execsnoop"], env=lambda: loupe_env("off")),
        dict(name="libbpf-tools execsnoop", argv=[args.execsnoop]),
        dict(name="bpftrace", argv=[args.bpftrace, "-e", BPFTRACE_PROG]),
    ]


def one_run(args, t, run, token):
    mdir = tempfile.mkdtemp(prefix=f"lsb-{token}-{run}-")
    pat = re.compile(re.escape(mdir).encode() + rb"/m(\d+)")
    master, slave = pty.openpty()
    tty.setraw(slave)
    err_f = tempfile.TemporaryFile()
    launched = {}        # seq -> launch time (ns since t0)
    markers = []         # Popen of running markers
    seen_seqs = set()
    buf = b""
    res = dict(name=t["name"], run=run)
    p = None
    foreign = bl.wait_quiet(args.quiet_wait, bl.EXEC_HOOKS)
    b0, c0, s0 = bl.busy_s(), bl.children_cpu_s(), sum(os.times()[:2])
    try:
        t0 = bl.now_ns()
        p = bl.spawn(t["argv"], stdout=slave, stderr=err_f,
                     env=t["env"]() if "env" in t else None)
        os.close(slave)
        slave = None
        seq, next_launch = 0, t0
        first_seen = None
        deadline = t0 + int(args.timeout * 1e9)
        while True:
            now = bl.now_ns()
            if first_seen is None and now >= next_launch:
                path = f"{mdir}/m{seq}"
                os.symlink("/bin/true", path)
                launched[seq] = bl.now_ns() - t0
                markers.append(subprocess.Popen([path, f"marker-{seq}"],
                                                stdin=subprocess.DEVNULL,
                                                stdout=subprocess.DEVNULL,
                                                stderr=subprocess.DEVNULL))
                seq += 1
                next_launch += args.interval_ms * 1_000_000
                now = bl.now_ns()
            if first_seen is not None and now - first_seen > 100_000_000:
                break
            if now > deadline:
                raise RuntimeError(f"no marker reported within {args.timeout}s")
            if p.poll() is not None:
                raise RuntimeError(f"exited with {p.returncode} before reporting a marker")
            wait = max(0, next_launch - now) / 1e9 if first_seen is None else 0.01
            r, _, _ = select.select([master], [], [], wait)
            if r:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    chunk = b""
                buf += chunk
                cut = buf.rfind(b"\n") + 1  # complete lines only: a line cut
                found = {int(s) for s in pat.findall(buf[:cut])}  # as ".../m1" is not m1
                buf = buf[cut:][-65536:]
                if found:
                    seen_seqs |= found
                    if first_seen is None:
                        first_seen = bl.now_ns()
                        foreign |= bl.path_hooks(bl.EXEC_HOOKS, {p.pid})
            markers = [m for m in markers if m.poll() is None]
        res["hwm_kb"] = bl.vm_hwm_kb(p.pid)
        tracer_cpu = bl.proc_cpu_s(p.pid)
        for m in markers:
            m.wait()
        wall = (bl.now_ns() - t0) / 1e9
        other = (bl.busy_s() - b0) - (bl.children_cpu_s() - c0) \
            - (sum(os.times()[:2]) - s0) - (tracer_cpu or 0)
        res["other_pct"] = max(0.0, 100.0 * other / wall)
        res["foreign"] = foreign
        first = min(seen_seqs)
        res["ready_ms"] = launched[first] / 1e6
        res["seen_ms"] = (first_seen - t0) / 1e6
        res["markers"] = seq
        res["first_seq"] = first
    except Exception as e:  # noqa: BLE001 - report and continue
        res["error"] = str(e)
        if p is not None and p.poll() is None:
            res["hwm_kb"] = bl.vm_hwm_kb(p.pid)
    finally:
        if p is not None:
            rc, how = bl.stop(p, grace=args.stop_timeout)
            res["rc"], res["how"] = rc, how
            if how != "signal" or rc not in (0, None):
                res.setdefault("notes", []).append(f"exit rc={rc} ({how})")
        for m in markers:
            m.wait()
        if slave is not None:
            os.close(slave)
        os.close(master)
        err_f.seek(0)
        err = err_f.read().decode(errors="replace").strip()
        err_f.close()
        if err:
            res["stderr_tail"] = err.splitlines()[-2:]
        shutil.rmtree(mdir, ignore_errors=True)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--interval-ms", type=float, default=2.0)
    ap.add_argument("--loupe", default=os.path.join(bl.REPO_DIR, "build", "loupe"))
    ap.add_argument("--execsnoop", default="/usr/sbin/execsnoop")
    ap.add_argument("--bpftrace", default="bpftrace")
    ap.add_argument("--only", help="comma-separated tracer names "
                    "(loupe, libbpf-tools, bpftrace)")
    ap.add_argument("--skip-loupe", action="store_true")
    ap.add_argument("--no-warmup", action="store_true")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--max-other", type=float, default=50.0, metavar="PCT",
                    help="a run is disturbed if other processes used more than "
                    "PCT%% of a CPU meanwhile (default 50)")
    ap.add_argument("--retries", type=int, default=2,
                    help="times a disturbed run is made again (default 2)")
    ap.add_argument("--quiet-wait", type=float, default=60.0, metavar="SEC",
                    help="before each run, wait up to SEC (default 60) for the "
                    "machine to be quiet: no other BPF program on the exec "
                    "tracepoints, <20%% CPU busy")
    ap.add_argument("--stop-timeout", type=float, default=15.0)
    ap.add_argument("--cache-root", default=None, metavar="DIR",
                    help="where loupe's kernel BTF caches go: DIR/warm, and a "
                    "fresh directory per cold run (default: a temporary "
                    "directory, removed at the end)")
    ap.add_argument("--nice", type=int, default=-20,
                    help="niceness for this script, the tracers and the workload "
                    "(inherited; default -20, shields the measurement from other "
                    "load on a shared machine; 0 to leave it)")
    args = ap.parse_args()

    bl.ensure_root_and_tracefs()
    bl.install_cleanup()
    if args.nice:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)
    own_root = args.cache_root is None
    if own_root:
        args.cache_root = tempfile.mkdtemp(prefix="lsb-kbtf-")
    ts = tracers(args)
    if args.skip_loupe:
        ts = [t for t in ts if not t["name"].startswith("loupe")]
    elif not os.access(args.loupe, os.X_OK):
        bl.die(f"{args.loupe} missing: run `make` at the repo root (or --skip-loupe)")
    if args.only:
        want = {w.strip() for w in args.only.split(",")}
        ts = [t for t in ts if t["name"] in want or t["name"].split()[0] in want]

    before = bl.bpf_prog_ids()
    token = f"{os.getpid()}"
    results = {t["name"]: [] for t in ts}
    runs = ([0] if not args.no_warmup else []) + list(range(1, args.runs + 1))
    discarded = 0
    for run in runs:
        for t in ts:
            for attempt in range(args.retries + 1):
                r = one_run(args, t, run, token)
                dirty = []
                if r.get("foreign"):
                    dirty.append("foreign BPF on exec path " + bl.names(r["foreign"]))
                if r.get("other_pct", 0) > args.max_other:
                    dirty.append(f"other processes used {r['other_pct']:.0f}% CPU")
                if not dirty:
                    break
                if attempt < args.retries:
                    discarded += 1
                    bl.log(f"run {run} {t['name']}: discarded ({'; '.join(dirty)}), again")
                    time.sleep(0.3)
                else:
                    r["disturbed"] = "; ".join(dirty)
            label = "warm-up" if run == 0 else f"run {run}"
            bl.log(f"{label:<8} {t['name']:<24} "
                   + (f"ready {r['ready_ms']:.0f} ms  seen {r['seen_ms']:.0f} ms  "
                      f"(marker {r['first_seq']}/{r['markers']})" if "ready_ms" in r else
                      f"ERROR {r.get('error')}")
                   + f"  VmHWM {bl.fmt(r.get('hwm_kb'), '{:,} kB')}"
                   + (f"  other CPU {r['other_pct']:.0f}%" if "other_pct" in r else "")
                   + ("  " + "; ".join(r["notes"]) if r.get("notes") else "")
                   + (f"  DISTURBED: {r['disturbed']}" if r.get("disturbed") else ""))
            if run > 0:
                results[t["name"]].append(r)
            time.sleep(0.3)

    rows = []
    for t in ts:
        rs = results[t["name"]]
        ready = [r.get("ready_ms") for r in rs]
        okr = [x for x in ready if x is not None]
        hwm = bl.median([r.get("hwm_kb") for r in rs])
        notes = sorted({n for r in rs for n in r.get("notes", [])}
                       | {"ERROR: " + r["error"] for r in rs if "error" in r})
        rows.append([t["name"],
                     f"{sum(bool(r.get('disturbed')) for r in rs)}/{len(rs)}",
                     bl.fmt(bl.median(ready)),
                     f"{min(okr):.0f}–{max(okr):.0f}" if okr else "n/a",
                     bl.fmt(bl.median([r.get("seen_ms") for r in rs])),
                     bl.fmt(hwm / 1024 if hwm else None, "{:.1f}"),
                     f"{len(okr)}/{len(rs)}",
                     "; ".join(notes)])
    print()
    warm = "no warm-up" if args.no_warmup else "after one discarded warm-up"
    print(f"### startup ({args.runs} runs each, interleaved, {warm}; "
          f"marker exec every {args.interval_ms:g} ms; "
          f"{discarded} disturbed run(s) discarded and re-run)")
    print()
    print(bl.md_table(["tracer", "disturbed runs", "ready ms (median)", "ready ms (min–max)",
                       "first marker seen ms (median)", "peak RSS MiB (VmHWM, median)",
                       "ok runs", "notes"], rows))
    kept = [(t["name"], r["run"], r["disturbed"]) for t in ts
            for r in results[t["name"]] if r.get("disturbed")]
    if kept:
        print()
        print(f"Disturbed runs kept after {args.retries} retries:")
        for name, run, why in kept:
            print(f"- {name} run {run}: {why}")
    stderr_notes = sorted({(t["name"], " | ".join(r["stderr_tail"])) for t in ts
                           for r in results[t["name"]] if r.get("stderr_tail")})
    if stderr_notes:
        print()
        print("stderr (distinct last lines):")
        for name, lines in stderr_notes:
            print(f"- {name}: {lines}")
    print(flush=True)
    if own_root:
        shutil.rmtree(args.cache_root, ignore_errors=True)
    return 0 if bl.check_bpf_leftovers(before) else 1


if __name__ == "__main__":
    sys.exit(main())
