#!/usr/bin/env python3
"""Per-open overhead of open snoopers, measured with bench/build/openloop.

Rounds are interleaved: each round runs openloop once with no tracer, then
once under each tracer. Overhead of a tracer in a round = its openloop median
ns/call minus the same round's no-tracer median; the reported figure is the
median of that over rounds.

Readiness: the floor programs print "ready" after attaching; the others are
considered attached once a probe path we keep opening shows up in their
stdout file (this works whatever their stdout buffering is).

See bench/README.md for what each column means.
"""

import argparse
import atexit
import os
import re
import shutil
import sys
import subprocess
import tempfile
import time

sys.dont_write_bytecode = True  # keep bench/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

BPFTRACE_PROG = ('tracepoint:syscalls:sys_enter_openat '
                 '{ printf("%d %s %s\\n", pid, comm, str(args->filename)); }')

LOUPE_LOST_RE = re.compile(rb"loupe: opensnoop: (\d+) events lost")
LIBBPF_LOST_RE = re.compile(rb"Lost (\d+) events on CPU")
BPFTRACE_LOST_RE = re.compile(rb"Lost (\d+) events")
FLOOR_RE = re.compile(rb"records=(\d+) matched=(\d+) lost=(\d+)")


def lost_loupe(out, err):
    # each line carries the events lost since the previous line (periodic
    # lines, one last at exit), so the run's total is the sum
    vals = [int(v) for v in LOUPE_LOST_RE.findall(err)]
    return sum(vals), len(vals)


def lost_libbpf(out, err):
    vals = [int(v) for v in LIBBPF_LOST_RE.findall(out + err)]
    return sum(vals), len(vals)


def lost_bpftrace(out, err):
    vals = [int(v) for v in BPFTRACE_LOST_RE.findall(out + err)]
    return sum(vals), len(vals)


def tracers(args):
    b = bl.BUILD_DIR
    return [
        dict(name="none"),
        dict(name="floor_empty", argv=lambda m: [f"{b}/floor_empty"],
             ready="floor_empty: ready"),
        dict(name="floor_snoop",
             argv=lambda m: [f"{b}/floor_snoop", "-m", m],
             ready="floor_snoop: ready", floor_counts=True),
        dict(name="loupe opensnoop", argv=lambda m: [args.loupe, "opensnoop"],
             probe=True, lost=lost_loupe),
        dict(name="libbpf-tools opensnoop", argv=lambda m: [args.opensnoop],
             probe=True, lost=lost_libbpf),
        dict(name="bpftrace", argv=lambda m: [args.bpftrace, "-e", BPFTRACE_PROG],
             probe=True, lost=lost_bpftrace),
    ]


class Tail:
    """Incremental search for a byte string in a growing file."""

    def __init__(self, path, needle):
        self.path, self.needle, self.off, self.keep = path, needle, 0, b""

    def found(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.off)
                data = f.read()
        except FileNotFoundError:
            return False
        if not data:
            return False
        self.off += len(data)
        buf = self.keep + data
        if self.needle in buf:
            return True
        self.keep = buf[-len(self.needle):]
        return False


def wait_ready(p, t, stdout_path, probe_path, timeout):
    """Block until the tracer is attached. Returns seconds waited."""
    t0 = time.monotonic()
    if "ready" in t:
        tail = Tail(stdout_path, t["ready"].encode())
    else:
        tail = Tail(stdout_path, probe_path.encode())
    while True:
        if p.poll() is not None:
            raise RuntimeError(f"{t['name']} exited with {p.returncode} before it was ready")
        if time.monotonic() - t0 > timeout:
            raise RuntimeError(f"{t['name']} not ready after {timeout}s")
        if t.get("probe"):
            # a burst, so that block-buffered stdout fills and gets flushed
            for _ in range(20):
                try:
                    os.close(os.open(probe_path, os.O_RDONLY))
                except OSError:
                    pass
        if tail.found():
            return time.monotonic() - t0
        time.sleep(0.02)


def wait_settled(p, stdout_path, marker, opens, quiet=1.0, timeout=120.0):
    """Wait until the tracer has written all `opens` marker lines, or none
    for `quiet` s (it has drained what it had; the rest was lost or sits in
    its stdio buffer until exit). Other processes' opens are ignored: on a
    busy machine the output never stops growing."""
    needle = marker.encode()
    t0 = time.monotonic()
    off, keep, count, since = 0, b"", -1, time.monotonic()
    n = 0
    while time.monotonic() - t0 < timeout and p.poll() is None:
        with open(stdout_path, "rb") as f:
            f.seek(off)
            data = f.read()
        if data:
            off += len(data)
            buf = keep + data
            cut = buf.rfind(b"\n") + 1  # count complete lines only
            n += buf[:cut].count(needle)
            keep = buf[cut:]
        if n != count:
            count, since = n, time.monotonic()
        if n >= opens or time.monotonic() - since >= quiet:
            return time.monotonic() - t0
        time.sleep(0.1)
    return time.monotonic() - t0


def run_openloop(args, path, tracer_pid=None):
    """Run openloop; returns (median ns, min ns, opens, other CPU %) where
    other CPU % is CPU used during the run by anything but openloop and the
    tracer process (100 = one CPU), to detect a busy machine."""
    t0, b0, c0 = time.monotonic(), bl.busy_s(), bl.children_cpu_s()
    p0 = bl.proc_cpu_s(tracer_pid) if tracer_pid else 0.0
    med, mn, opens = _openloop(args, path)
    p1 = bl.proc_cpu_s(tracer_pid) if tracer_pid else 0.0
    wall = time.monotonic() - t0
    other = (bl.busy_s() - b0) - (bl.children_cpu_s() - c0) - ((p1 or 0) - (p0 or 0))
    return med, mn, opens, max(0.0, 100.0 * other / wall)


def _openloop(args, path):
    pin = ["-C", str(args.pin)] if args.pin is not None else []
    r = subprocess.run([f"{bl.BUILD_DIR}/openloop", "-n", str(args.calls),
                        "-c", str(args.chunks)] + pin + [path],
                       capture_output=True, text=True, check=True)
    kv = dict(x.split("=", 1) for x in r.stdout.split())
    return float(kv["median_ns"]), float(kv["min_ns"]), int(kv["opens"])


def one_run(args, t, rnd, workdir, token):
    tag = re.sub(r"[^a-z0-9]+", "_", t["name"].lower())
    marker = f"/tmp/lbo-{token}-r{rnd}-{tag}"  # openloop's missing path
    res = dict(name=t["name"], round=rnd)
    foreign = bl.wait_quiet(args.quiet_wait, bl.OPEN_HOOKS)
    if "argv" not in t:
        res["median"], res["min"], res["opens"], res["other_pct"] = run_openloop(args, marker)
        res["foreign"] = foreign | bl.path_hooks(bl.OPEN_HOOKS)
        return res

    out_path = os.path.join(workdir, f"r{rnd}-{tag}.out")
    err_path = os.path.join(workdir, f"r{rnd}-{tag}.err")
    probe = f"/tmp/lbo-{token}-probe-r{rnd}-{tag}"
    with open(out_path, "wb") as fo, open(err_path, "wb") as fe:
        p = bl.spawn(t["argv"](marker), stdout=fo, stderr=fe)
    try:
        res["ready_s"] = wait_ready(p, t, out_path, probe, args.ready_timeout)
        cpu0 = bl.proc_cpu_s(p.pid)
        res["median"], res["min"], res["opens"], res["other_pct"] = \
            run_openloop(args, marker, p.pid)
        res["foreign"] = foreign | bl.path_hooks(bl.OPEN_HOOKS, {p.pid})
        if not t.get("ready"):
            res["drain_s"] = wait_settled(p, out_path, marker, res["opens"])
        cpu1 = bl.proc_cpu_s(p.pid)
        if cpu0 is not None and cpu1 is not None:
            res["cpu_s"] = cpu1 - cpu0
    except Exception as e:  # noqa: BLE001 - keep going, with its stderr
        res.setdefault("notes", []).append(f"FAILED: {e}")
    finally:
        rc, how = bl.stop(p, grace=args.stop_timeout)
    res["rc"], res["how"] = rc, how
    if how != "signal" or rc not in (0, None):
        res.setdefault("notes", []).append(f"exit rc={rc} ({how})")

    with open(out_path, "rb") as f:
        out = f.read()
    with open(err_path, "rb") as f:
        err = f.read()
    if t.get("floor_counts"):
        m = FLOOR_RE.search(out)
        if m:
            res["captured"], res["lost"] = int(m.group(2)), int(m.group(3))
            res["lost_lines"] = 0
        else:
            res.setdefault("notes", []).append("no floor_snoop summary")
    elif t.get("lost"):
        res["captured"] = out.count(marker.encode())
        res["lost"], res["lost_lines"] = t["lost"](out, err)
        if t["name"].startswith("loupe") and re.search(rb"events lost|\"lost\"", out):
            res.setdefault("notes", []).append("'lost' text inside stdout table")
    errtxt = err.decode(errors="replace").strip()
    if errtxt:
        res["stderr_tail"] = errtxt.splitlines()[-3:]
    if not args.keep:
        os.unlink(out_path)
        os.unlink(err_path)
    return res


def run_round(args, ts, rnd, workdir, token):
    """One interleaved round. Returns (results, reason-if-disturbed or "")."""
    rows, dirty = [], []
    base = None
    for t in ts:
        try:
            r = one_run(args, t, rnd, workdir, token)
        except Exception as e:  # noqa: BLE001 - report and continue
            r = dict(name=t["name"], round=rnd, notes=[f"FAILED: {e}"])
        if t["name"] == "none":
            base = r
        elif r.get("median") is not None and base and base.get("median") is not None:
            r["overhead"] = r["median"] - base["median"]
            r["overhead_min"] = r["min"] - base["min"]
        if r.get("foreign"):
            dirty.append(f"{t['name']}: foreign BPF on open path {bl.names(r['foreign'])}")
        if r.get("other_pct", 0) > args.max_other:
            dirty.append(f"{t['name']}: other processes used {r['other_pct']:.0f}% CPU")
        rows.append(r)
        bl.log(f"round {rnd} {t['name']:<24} "
               f"median {bl.fmt(r.get('median'), '{:,.1f}')} ns"
               + (f"  overhead {r['overhead']:,.0f}" if "overhead" in r else "")
               + (f"  captured {r['captured']}/{r['opens']}" if "captured" in r else "")
               + (f"  lost {r['lost']}" if "lost" in r else "")
               + (f"  ready {r['ready_s']:.2f}s" if "ready_s" in r else "")
               + (f"  drain {r['drain_s']:.1f}s" if "drain_s" in r else "")
               + (f"  other CPU {r['other_pct']:.0f}%" if "other_pct" in r else "")
               + ("  " + "; ".join(r["notes"]) if r.get("notes") else ""))
        time.sleep(0.3)
    return rows, "; ".join(dirty)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=200000)
    ap.add_argument("--chunks", type=int, default=100)
    ap.add_argument("--pin", type=int, metavar="CPU",
                    help="pin openloop to this CPU (default: not pinned)")
    ap.add_argument("--loupe", default=os.path.join(bl.REPO_DIR, "build", "loupe"))
    ap.add_argument("--opensnoop", default="/usr/sbin/opensnoop")
    ap.add_argument("--bpftrace", default="bpftrace")
    ap.add_argument("--only", help="comma-separated tracer names to run "
                    "(besides 'none'), e.g. floor_snoop,bpftrace")
    ap.add_argument("--skip-loupe", action="store_true",
                    help="run without build/loupe (peers and floors only)")
    ap.add_argument("--ready-timeout", type=float, default=30.0)
    ap.add_argument("--stop-timeout", type=float, default=15.0)
    ap.add_argument("--quiet-wait", type=float, default=60.0, metavar="SEC",
                    help="before each run, wait up to SEC (default 60) for the "
                    "machine to be quiet: no other BPF program on the open "
                    "tracepoints, <20%% CPU busy")
    ap.add_argument("--max-other", type=float, default=25.0, metavar="PCT",
                    help="a round is disturbed if, during an openloop run, other "
                    "processes used more than PCT%% of a CPU (default 25)")
    ap.add_argument("--retries", type=int, default=2,
                    help="times a disturbed round is run again (default 2)")
    ap.add_argument("--keep", metavar="DIR", help="keep tracer outputs in DIR")
    ap.add_argument("--nice", type=int, default=-20,
                    help="niceness for this script, the tracers and the workload "
                    "(inherited; default -20, shields the measurement from other "
                    "load on a shared machine; 0 to leave it)")
    args = ap.parse_args()

    bl.ensure_root_and_tracefs()
    bl.install_cleanup()
    if args.nice:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)
    for exe in ("openloop", "floor_empty", "floor_snoop"):
        if not os.access(f"{bl.BUILD_DIR}/{exe}", os.X_OK):
            bl.die(f"bench/build/{exe} missing: run `make -C bench`")

    ts = tracers(args)
    if args.skip_loupe:
        ts = [t for t in ts if not t["name"].startswith("loupe")]
    elif not os.access(args.loupe, os.X_OK):
        bl.die(f"{args.loupe} missing: run `make` at the repo root (or --skip-loupe)")
    if args.only:
        want = {w.strip() for w in args.only.split(",")}
        ts = [t for t in ts if t["name"] == "none" or t["name"] in want
              or t["name"].split()[0] in want]

    before = bl.bpf_prog_ids()
    token = f"{os.getpid()}{int(time.time()) % 100000}"
    workdir = args.keep or tempfile.mkdtemp(prefix="loupe-bench-")
    os.makedirs(workdir, exist_ok=True)
    if not args.keep:
        atexit.register(shutil.rmtree, workdir, True)
    bl.log(f"opensnoop overhead: {args.rounds} rounds x {len(ts)} runs, "
           f"{args.calls} opens each; outputs in {workdir}")

    results = {t["name"]: [] for t in ts}
    discarded, kept_dirty = 0, []
    for rnd in range(1, args.rounds + 1):
        for attempt in range(args.retries + 1):
            rows, dirty = run_round(args, ts, rnd, workdir, token)
            if not dirty or attempt == args.retries:
                break
            discarded += 1
            bl.log(f"round {rnd}: discarded ({dirty}), running it again")
        if dirty:
            kept_dirty.append((rnd, dirty))
        for r in rows:
            r["disturbed"] = bool(dirty)
            results[r["name"]].append(r)

    floor = bl.median([r.get("overhead") for r in results.get("floor_snoop", [])])
    rows = []
    for t in ts:
        rs = results[t["name"]]
        med = bl.median([r.get("median") for r in rs])
        ov = bl.median([r.get("overhead") for r in rs])
        ov_min = bl.median([r.get("overhead_min") for r in rs])
        if t["name"] == "none":  # show the baseline's own spread
            per_round = "medians: " + ", ".join(bl.fmt(r.get("median")) for r in rs)
        else:
            per_round = ", ".join(bl.fmt(r.get("overhead")) for r in rs)
        ratio = "" if t["name"] == "none" or ov is None or not floor else f"{ov / floor:.1f}x"
        opens = sum(r.get("opens", 0) for r in rs)
        if any("captured" in r for r in rs):
            cap = sum(r.get("captured", 0) for r in rs)
            lost = sum(r.get("lost", 0) for r in rs)
            lost_s = f"{lost:,}"
            miss = opens - cap
            cap_s = f"{cap:,} / {opens:,} ({100.0 * miss / opens:.2f}% missing)" if opens else "n/a"
        else:
            lost_s, cap_s = "n/a", "n/a"
        cpu = bl.median([r.get("cpu_s") for r in rs])
        notes = sorted({n for r in rs for n in r.get("notes", [])})
        rows.append([t["name"], f"{sum(r.get('disturbed', False) for r in rs)}/{len(rs)}",
                     bl.fmt(med), "baseline" if t["name"] == "none" else bl.fmt(ov, "{:+,.0f}"),
                     per_round, ratio,
                     bl.fmt(bl.median([r.get("min") for r in rs])) if t["name"] == "none"
                     else bl.fmt(ov_min, "{:+,.0f}"),
                     lost_s, cap_s, bl.fmt(cpu, "{:.2f}", ""),
                     "; ".join(notes)])
    print()
    pin = f", openloop pinned to CPU {args.pin}" if args.pin is not None else ""
    print(f"### opensnoop overhead ({args.rounds} rounds, {args.calls:,} opens of a "
          f"missing path per run, median over {args.chunks} chunks{pin}; "
          f"{discarded} disturbed round(s) discarded and re-run)")
    print()
    print(bl.md_table(["tracer", "disturbed rounds", "ns/open", "overhead ns/open (median)",
                       "overhead per round", "vs floor_snoop",
                       "fastest-chunk overhead", "lost (reported)",
                       "markers captured / opens", "tracer CPU s", "notes"], rows))
    if kept_dirty:
        print()
        print(f"Disturbed rounds kept after {args.retries} retries:")
        for rnd, why in kept_dirty:
            print(f"- round {rnd}: {why}")
    seen = {}  # (tracer, stderr tail) -> rounds, identical tails merged
    for t in ts:
        for r in results[t["name"]]:
            if r.get("stderr_tail"):
                key = (t["name"], " | ".join(r["stderr_tail"]))
                seen.setdefault(key, []).append(str(r["round"]))
    if seen:
        print()
        print("stderr (last lines of each run):")
        for (name, text), rounds in seen.items():
            print(f"- {name}, round {','.join(rounds)}: {text}")
    print(flush=True)
    return 0 if bl.check_bpf_leftovers(before) else 1


if __name__ == "__main__":
    sys.exit(main())
