#!/usr/bin/env python3
"""`loupe trace` against bpftrace: time to attached, peak RSS, compile time
(Python 3 stdlib only; run as root after `make`).

    bench/trace_bench.py [--runs 5] [--wide-runs 3] [--compile-runs 7]

Part 1, start-up. For each one-liner of the set (ONE_LINERS below), both
tools run the same program text with `BEGIN { printf("ready\\n"); }`
appended; the tools alternate (loupe first in odd rounds, bpftrace first in
even ones). One run:

  t0; launch the tracer (stdout on a pipe, stderr to a file); read stdout
  until the line `ready`                        -> ready ms = that time - t0
  snapshot the tracer's perf_event and bpf_link fds (/proc/PID/fd)
  hold 0.5 s (still draining stdout), snapshot the fds again; if the two
  differ, the tracer was still attaching when it printed `ready` (noted)
  VmHWM from /proc/PID/status                   -> peak RSS (headline)
  SIGINT, keep draining stdout and sampling VmHWM every 5 ms until the
  tracer exits (pidfd; reaped with wait4)      -> VmHWM incl. exit (the
                                                   map print at exit), and
                                                   stop s (SIGINT->exit)

Not ru_maxrss: Linux keeps in it the RSS of the image the child had before
exec (exec_mmap() -> setmax_mm_hiwater_rss), i.e. this Python process
(~17 MB, vfork), so it cannot show a tracer smaller than the benchmark.
bpftrace's figures are those of the bpftrace process itself (an ELF binary
started directly, no wrapper; it forks nothing without -c).

Why `ready` means "attached" for both: loupe attaches every probe, then
runs BEGIN (src/trace/runtime.c). bpftrace 0.17 runs BEGIN *before*
attaching the other probes (its man page: "BEGIN is triggered before all
other probes are attached"), but BEGIN's printf goes through the perf
buffer, which bpftrace only starts reading after the last probe is
attached; its stdout is line-buffered by default, also on a pipe. The fd
snapshot above checks this on every run.

Part 2, compile time. A generated ~200-line script (GEN_SCRIPT: probes on
sys_exit_* tracepoints and sys_enter_openat, filters, $variables,
if/else, string comparison, str(), printf, count/sum/avg/min/max, hist,
lhist, tuple keys) is compiled without loading: `loupe trace --dump bpf
FILE > /dev/null` and `bpftrace --emit-elf OUT FILE` (dry run). Wall time
(pidfd, precise), CPU time (wait4) and VmHWM sampled every 2 ms,
interleaved, after one discarded warm-up.

Shared machine: everything runs at nice --nice; the CPU used by other
processes during each start-up run is recorded (not used to discard runs:
on the 2-vCPU dev VM another worktree's qemu often keeps a CPU busy); the
tables give medians. On exit (also Ctrl-C/SIGTERM) every tracer is stopped
(benchlib: process group, SIGINT then SIGKILL) and benchlib's leftover
check runs (exit status 1 if a tracer or one of its programs is left).
Progress on stderr, markdown tables on stdout.
"""

import argparse
import json
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep bench/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

LIBC = "/lib/x86_64-linux-gnu/libc.so.6"
RSS_TARGET_BYTES = 12_000_000   # issue 5: "RSS at most 12 MB"
READY = 'BEGIN { printf("ready\\n"); }'

# (key, description, program without the BEGIN marker, wide?)
# "wide" one-liners attach hundreds of programs; the kernel then needs
# ~75 ms per tracepoint to detach (an RCU synchronisation per perf event,
# the same for both tools), so they get --wide-runs runs.
ONE_LINERS = [
    ("begin", "BEGIN only", "", False),
    ("openat", "openat printf str()",
     'tracepoint:syscalls:sys_enter_openat '
     '{ printf("%s %s\\n", comm, str(args->filename)); }', False),
    ("sched", "sched_switch count by comm",
     't:sched:sched_switch { @[args->prev_comm] = count(); }', False),
    ("profile", "profile 99 Hz kstack",
     'profile:hz:99 { @[kstack] = count(); }', False),
    ("malloc", "uprobe libc malloc hist",
     f'uprobe:{LIBC}:malloc {{ @bytes = hist(arg0); }}', False),
    ("interval", "interval 1 s printf",
     'interval:s:1 { printf("%d\\n", elapsed / 1000000000); }', False),
    ("syscalls", "sys_enter_* count by probe",
     't:syscalls:sys_enter_* { @[probe] = count(); }', True),
]

# sys_exit_* tracepoints used by the generated script (only those present)
GEN_SYSCALLS = ["read", "write", "close", "newfstatat", "mmap", "munmap",
                "brk", "ioctl", "pread64", "pwrite64", "readv", "writev",
                "access", "pipe2", "dup3", "futex", "nanosleep", "lseek",
                "getdents64", "mprotect", "rt_sigaction", "wait4", "clone",
                "socket", "connect", "sendto", "recvfrom", "ppoll"]


def gen_script(target_lines=200):
    """A bpftrace program of about target_lines lines using only features
    both tools support."""
    # no "#!/usr/bin/env bpftrace" first line: loupe trace rejects it
    out = ["// generated by bench/trace_bench.py: compile-time benchmark",
           "",
           "BEGIN",
           "{",
           '  printf("tracing\\n");',
           "  @start = nsecs;",
           "}",
           "",
           "tracepoint:syscalls:sys_enter_openat",
           "/pid != 0/",
           "{",
           "  $f = str(args->filename);",
           '  if ($f == "/etc/passwd") {',
           "    @passwd[comm, pid] = count();",
           '  } else if ($f == "/etc/hosts") {',
           "    @hosts[comm] = count();",
           "  } else {",
           "    @opens[comm] = count();",
           "  }",
           "  @flags = lhist(args->flags & 0xff, 0, 256, 16);",
           '  printf("%d %s %s\\n", pid, comm, $f);',
           "}",
           ""]
    tail = ["END",
            "{",
            '  printf("done after %d ms\\n", (nsecs - @start) / 1000000);',
            "  delete(@start);",
            "}"]
    present = [s for s in GEN_SYSCALLS
               if os.path.isdir(f"/sys/kernel/tracing/events/syscalls/sys_exit_{s}")]
    i = 0
    while len(out) + len(tail) < target_lines and i < len(present):
        s = present[i]
        block = [f"tracepoint:syscalls:sys_exit_{s}",
                 f"/comm != \"{s}_x\"/",
                 "{",
                 "  $r = args->ret;",
                 "  if ($r < 0) {",
                 f"    @{s}_err[comm, -$r] = count();",
                 "  } else {",
                 f"    @{s}_size = hist($r);",
                 f"    @{s}_bytes[pid] = sum($r);",
                 f"    @{s}_avg = avg($r);",
                 f"    @{s}_min = min($r);",
                 f"    @{s}_max = max($r);",
                 "  }",
                 f'  if (comm == "{s}-bench") {{',
                 f'    printf("{s} %s %d %d\\n", comm, pid, $r);',
                 "  }",
                 "}",
                 ""]
        if len(out) + len(block) + len(tail) > target_lines + 10:
            break
        out += block
        i += 1
    return "\n".join(out + tail) + "\n"


def fd_snapshot(pid):
    """(perf_event fds, bpf_link fds) the tracer holds: what it has attached
    (bpftrace also holds one perf_event fd per CPU for its output buffer)."""
    nperf = nlink = 0
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    for fd in fds:
        try:
            t = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if t == "anon_inode:[perf_event]":
            nperf += 1
        elif t == "anon_inode:bpf_link":
            nlink += 1
    return nperf, nlink


def reap(p, timeout, drain_fd=None, poll_s=0.005, hwm=None, resignal_s=None):
    """Wait up to `timeout` s for p to exit (pidfd), reading drain_fd
    meanwhile so the tracer never blocks on a full pipe, and sampling its
    VmHWM every poll_s (the last sample is its peak RSS up to at most
    poll_s before exit). Reaps it with wait4 and sets p.returncode; then
    benchlib.stop() deregisters it and kills what is left of its group
    (SIGKILL if it did not exit).
    resignal_s: send SIGINT again every resignal_s while it is alive.
    Returns (exit time ns or None, rusage or None, last VmHWM kB, extra
    SIGINTs sent, how)."""
    fd = os.pidfd_open(p.pid)
    deadline = time.monotonic() + timeout
    t_exit = ru = None
    hwm = bl.vm_hwm_kb(p.pid) or hwm
    resent = 0
    next_sig = time.monotonic() + resignal_s if resignal_s else None
    try:
        while True:
            if next_sig is not None and time.monotonic() >= next_sig:
                try:
                    os.kill(p.pid, signal.SIGINT)
                    resent += 1
                except ProcessLookupError:
                    pass
                next_sig += resignal_s
            rl = [fd] + ([drain_fd] if drain_fd is not None else [])
            left = deadline - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select(rl, [], [], min(left, poll_s))
            if fd not in r:
                hwm = bl.vm_hwm_kb(p.pid) or hwm
            if drain_fd is not None and drain_fd in r:
                if not os.read(drain_fd, 65536):
                    drain_fd = None
            if fd in r:
                t_exit = bl.now_ns()
                _, status, ru = os.wait4(p.pid, 0)
                p.returncode = os.waitstatus_to_exitcode(status)
                break
    finally:
        os.close(fd)
    _rc, how = bl.stop(p, grace=1.0)
    if t_exit is None:
        how = "killed"
    return t_exit, ru, hwm, resent, how


def tracer_argv(tool, args, prog):
    if tool == "loupe":
        return [args.loupe, "trace", "-e", prog]
    return [args.bpftrace, "-e", prog]


def one_start(args, tool, ol):
    key, _desc, body, _wide = ol
    prog = (body + " " + READY) if body else READY
    res = dict(tool=tool, key=key)
    r_fd, w_fd = os.pipe()
    err_f = tempfile.TemporaryFile()
    b0, c0, s0 = bl.busy_s(), bl.children_cpu_s(), sum(os.times()[:2])
    p = None
    buf = b""
    try:
        t0 = bl.now_ns()
        p = bl.spawn(tracer_argv(tool, args, prog), stdout=w_fd, stderr=err_f)
        os.close(w_fd)
        w_fd = None
        deadline = t0 + int(args.timeout * 1e9)
        t_ready = None
        while t_ready is None:
            left = (deadline - bl.now_ns()) / 1e9
            if left <= 0:
                raise RuntimeError(f"no 'ready' within {args.timeout:g}s")
            r, _, _ = select.select([r_fd], [], [], min(left, 0.5))
            if not r:
                if p.poll() is not None:
                    raise RuntimeError(f"exited with {p.returncode} before 'ready'")
                continue
            chunk = os.read(r_fd, 65536)
            if not chunk:
                p.wait(timeout=5)
                raise RuntimeError(f"stdout closed (rc {p.returncode}) before 'ready'")
            buf += chunk
            for line in buf.split(b"\n")[:-1]:
                if line.strip() == b"ready":
                    t_ready = bl.now_ns()
                    break
            buf = buf[buf.rfind(b"\n") + 1:]
        snap_ready = fd_snapshot(p.pid)
        res["ready_ms"] = (t_ready - t0) / 1e6
        # steady state: keep draining
        hold_end = bl.now_ns() + int(args.hold * 1e9)
        while bl.now_ns() < hold_end:
            r, _, _ = select.select([r_fd], [], [], max(0, hold_end - bl.now_ns()) / 1e9)
            if r and not os.read(r_fd, 65536):
                break
        snap_late = fd_snapshot(p.pid)
        res["fds"] = snap_late
        if snap_ready != snap_late:
            res.setdefault("notes", []).append(
                f"still attaching at 'ready': perf/link fds {snap_ready} -> {snap_late}")
        res["hwm_kb"] = bl.vm_hwm_kb(p.pid)
        tracer_cpu = bl.proc_cpu_s(p.pid) or 0.0
        wall = (bl.now_ns() - t0) / 1e9
        other = (bl.busy_s() - b0) - (bl.children_cpu_s() - c0) \
            - (sum(os.times()[:2]) - s0) - tracer_cpu
        res["other_pct"] = max(0.0, 100.0 * other / wall)
        t_int = bl.now_ns()
        os.kill(p.pid, signal.SIGINT)
        # bpftrace 0.17 only notices SIGINT in epoll_wait() (EINTR) or when
        # it handles an output event: a SIGINT that lands elsewhere is lost
        # for a program that prints nothing, and it runs on. Repeat it.
        t_exit, ru, hwm_exit, resent, how = reap(
            p, max(args.stop_timeout, 60.0) if ol[3] else args.stop_timeout,
            r_fd, hwm=res["hwm_kb"],
            resignal_s=args.resignal if tool == "bpftrace" else None)
        res["hwm_exit_kb"] = hwm_exit
        if resent:
            res["resent"] = resent
            res.setdefault("notes", []).append("needed a repeated SIGINT to exit")
        res["maxrss_kb"] = ru.ru_maxrss if ru else None
        if t_exit is not None:
            res["stop_s"] = (t_exit - t_int) / 1e9
        if how != "exited" or p.returncode != 0:
            res.setdefault("notes", []).append(f"exit rc={p.returncode} ({how})")
        p = None
    except Exception as e:  # noqa: BLE001 - report and continue
        res["error"] = str(e)
    finally:
        if p is not None:
            res["hwm_kb"] = res.get("hwm_kb") or bl.vm_hwm_kb(p.pid)
            bl.stop(p, grace=args.stop_timeout)
        if w_fd is not None:
            os.close(w_fd)
        os.close(r_fd)
        err_f.seek(0)
        err = err_f.read().decode(errors="replace").strip()
        err_f.close()
        if err:
            res["stderr_tail"] = err.splitlines()[-1][:160]
    return res


def one_compile(args, tool, script, outdir):
    if tool == "loupe":
        argv = [args.loupe, "trace", "--dump", "bpf", script]
        out = subprocess.DEVNULL
    else:
        argv = [args.bpftrace, "--emit-elf", os.path.join(outdir, "gen.o"), script]
        out = subprocess.DEVNULL
    err_f = tempfile.TemporaryFile()
    t0 = bl.now_ns()
    p = bl.spawn(argv, stdout=out, stderr=err_f)
    t_exit, ru, hwm, _resent, how = reap(p, args.timeout, poll_s=0.002)
    res = dict(tool=tool, rc=p.returncode, how=how, hwm_kb=hwm,
               maxrss_kb=ru.ru_maxrss if ru else None,
               user_ms=ru.ru_utime * 1e3 if ru else None,
               sys_ms=ru.ru_stime * 1e3 if ru else None)
    if t_exit is not None:
        res["ms"] = (t_exit - t0) / 1e6
    err_f.seek(0)
    err = err_f.read().decode(errors="replace").strip()
    err_f.close()
    if p.returncode != 0 or how != "exited":
        res["error"] = f"rc={p.returncode} ({how}): " + " | ".join(err.splitlines()[-3:])
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5,
                    help="interleaved runs per one-liner and tool (default 5)")
    ap.add_argument("--wide-runs", type=int, default=3,
                    help="runs for the wide one-liners (sys_enter_*: ~27 s of "
                    "kernel detach per run and tool; default 3, 0 to skip)")
    ap.add_argument("--compile-runs", type=int, default=7)
    ap.add_argument("--only", help="comma-separated one-liner keys: "
                    + ",".join(o[0] for o in ONE_LINERS) + " (compile: 'compile')")
    ap.add_argument("--hold", type=float, default=0.5,
                    help="seconds the tracer runs after 'ready' (default 0.5)")
    ap.add_argument("--loupe", default=os.path.join(bl.REPO_DIR, "build", "loupe"))
    ap.add_argument("--bpftrace", default="/usr/bin/bpftrace")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--stop-timeout", type=float, default=10.0,
                    help="SIGINT -> exit limit before SIGKILL (default 10 s; "
                    "60 s for the wide one-liners: detaching 360 tracepoints "
                    "takes ~27 s)")
    ap.add_argument("--resignal", type=float, default=2.0, metavar="SEC",
                    help="repeat SIGINT to bpftrace every SEC s until it exits "
                    "(default 2; its stop time then counts from the first)")
    ap.add_argument("--lines", type=int, default=200,
                    help="length of the generated script (default 200)")
    ap.add_argument("--keep", metavar="DIR", help="keep the generated script, "
                    "bpftrace's ELF and raw.json in DIR")
    ap.add_argument("--nice", type=int, default=-20)
    args = ap.parse_args()

    bl.ensure_root_and_tracefs()
    bl.install_cleanup()
    if not os.access(args.loupe, os.X_OK):
        bl.die(f"{args.loupe} missing: run `make` at the repo root")
    if not os.access(args.bpftrace, os.X_OK):
        bl.die(f"{args.bpftrace} missing")
    if args.nice:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)
    want = {w.strip() for w in args.only.split(",")} if args.only else None
    ols = [o for o in ONE_LINERS if (want is None or o[0] in want)
           and (args.wide_runs > 0 or not o[3])]
    do_compile = want is None or "compile" in want
    tools = ["loupe", "bpftrace"]
    outdir = args.keep or tempfile.mkdtemp(prefix="trace-bench-")
    os.makedirs(outdir, exist_ok=True)
    before = bl.bpf_prog_ids()
    t_start = time.monotonic()
    recs = []

    # part 1: start-up
    if ols:
        bl.log("warm-up (discarded): BEGIN only, each tool once")
        for tool in tools:
            r = one_start(args, tool, ONE_LINERS[0])
            bl.log(f"  {tool:<8} ready {bl.fmt(r.get('ready_ms'), '{:.0f}')} ms"
                   + (f"  ERROR {r['error']}" if "error" in r else ""))
    for rnd in range(1, max(args.runs, args.wide_runs) + 1):
        order = tools if rnd % 2 else tools[::-1]
        for ol in ols:
            if rnd > (args.wide_runs if ol[3] else args.runs):
                continue
            for tool in order:
                r = one_start(args, tool, ol)
                r["round"] = rnd
                recs.append(r)
                bl.log(f"round {rnd} {ol[0]:<9} {tool:<8} "
                       + (f"ready {r['ready_ms']:6.1f} ms" if "ready_ms" in r else
                          f"ERROR {r.get('error')}")
                       + f"  VmHWM {bl.fmt(r.get('hwm_kb'), '{:,} kB')}"
                       + f"  at exit {bl.fmt(r.get('hwm_exit_kb'), '{:,} kB')}"
                       + f"  stop {bl.fmt(r.get('stop_s'), '{:.2f}')} s"
                       + f"  fds {r.get('fds')}"
                       + f"  other CPU {bl.fmt(r.get('other_pct'), '{:.0f}')}%"
                       + ("  " + "; ".join(r["notes"]) if r.get("notes") else ""))
                time.sleep(0.2)

    # part 2: compile time
    crecs = []
    script = os.path.join(outdir, "gen.bt")
    text = gen_script(args.lines)
    nlines = text.count("\n")
    with open(script, "w") as f:
        f.write(text)
    if do_compile:
        bl.log(f"compile: {script} ({nlines} lines, "
               f"{len(re.findall(r'^(tracepoint|BEGIN|END)', text, re.M))} probes)")
        for rnd in range(0, args.compile_runs + 1):
            order = tools if rnd % 2 else tools[::-1]
            for tool in order:
                r = one_compile(args, tool, script, outdir)
                r["round"] = rnd
                if rnd > 0:
                    crecs.append(r)
                bl.log(f"  {'warm-up' if rnd == 0 else f'round {rnd}':<8} {tool:<8} "
                       + (f"{r['ms']:7.1f} ms" if "ms" in r else "")
                       + f"  VmHWM {bl.fmt(r.get('hwm_kb'), '{:,} kB')}"
                       + (f"  ERROR {r['error']}" if "error" in r else ""))

    elapsed = time.monotonic() - t_start
    if args.keep:
        with open(os.path.join(outdir, "raw.json"), "w") as f:
            json.dump(dict(start=recs, compile=crecs), f, indent=1)
    report(args, ols, recs, crecs, nlines, elapsed)
    ok = bl.check_bpf_leftovers(before)
    if not args.keep:
        for fn in ("gen.bt", "gen.o"):
            try:
                os.unlink(os.path.join(outdir, fn))
            except OSError:
                pass
        os.rmdir(outdir)
    return 0 if ok else 1


def report(args, ols, recs, crecs, nlines, elapsed):
    def col(tool, key, field):
        return [r.get(field) for r in recs if r["tool"] == tool and r["key"] == key]

    def mib(kb):
        return None if kb is None else kb / 1024

    rows, ready_ok, rss_ok = [], [], []
    for key, desc, _body, wide in ols:
        lr = bl.median(col("loupe", key, "ready_ms"))
        br = bl.median(col("bpftrace", key, "ready_ms"))
        lh = bl.median(col("loupe", key, "hwm_kb"))
        bh = bl.median(col("bpftrace", key, "hwm_kb"))
        lm = bl.median(col("loupe", key, "hwm_exit_kb"))
        bm = bl.median(col("bpftrace", key, "hwm_exit_kb"))
        ls = bl.median(col("loupe", key, "stop_s"))
        bs = bl.median(col("bpftrace", key, "stop_s"))
        ratio = br / lr if lr and br else None
        if ratio is not None:
            ready_ok.append(ratio >= 10)
        if lh is not None:
            rss_ok.append(lh * 1024 <= RSS_TARGET_BYTES)
        n = len([x for x in col("loupe", key, "ready_ms") if x is not None])
        nb = len([x for x in col("bpftrace", key, "ready_ms") if x is not None])
        lrs = [x for x in col("loupe", key, "ready_ms") if x is not None]
        brs = [x for x in col("bpftrace", key, "ready_ms") if x is not None]
        rng = (lambda xs: f"{min(xs):.0f}–{max(xs):.0f}" if xs else "n/a")
        rows.append([desc, f"{n}/{nb}",
                     bl.fmt(lr, "{:.1f}"), rng(lrs), bl.fmt(br, "{:.0f}"), rng(brs),
                     bl.fmt(ratio, "{:.1f}x"),
                     bl.fmt(mib(lh), "{:.1f}"), bl.fmt(mib(bh), "{:.1f}"),
                     bl.fmt(mib(lm), "{:.1f}"), bl.fmt(mib(bm), "{:.1f}"),
                     bl.fmt(ls, "{:.2f}"), bl.fmt(bs, "{:.2f}")])
    print()
    wide_note = (f", {args.wide_runs} for sys_enter_*" if any(o[3] for o in ols) else "")
    print(f"### start-up ({args.runs} interleaved runs per one-liner and tool{wide_note}; "
          f"medians; stdout on a pipe; {args.hold:g} s held after ready; "
          f"total {elapsed / 60:.1f} min)")
    print()
    print(bl.md_table(
        ["one-liner (+ BEGIN ready)", "ok runs loupe/bpftrace",
         "loupe ready ms", "(min–max)", "bpftrace ready ms", "(min–max)",
         "ready bpftrace/loupe",
         "loupe VmHWM MiB", "bpftrace VmHWM MiB",
         "loupe VmHWM incl. exit MiB", "bpftrace VmHWM incl. exit MiB",
         "loupe stop s", "bpftrace stop s"], rows))
    print()
    print("Programs: " + "; ".join(
        f"{d}: `{(b + ' ' + READY) if b else READY}`" for _k, d, b, _w in ols))
    other = [r.get("other_pct") for r in recs if r.get("other_pct") is not None]
    if other:
        print()
        print(f"Other processes' CPU during the start-up runs: median "
              f"{bl.median(other):.0f}% of a CPU, max {max(other):.0f}%.")
    notes = sorted({(r["tool"], r["key"], n) for r in recs for n in r.get("notes", [])}
                   | {(r["tool"], r["key"], "ERROR: " + r["error"]) for r in recs
                      if "error" in r})
    if notes:
        print()
        print("Notes:")
        for tool, key, n in notes:
            cnt = sum(1 for r in recs if r["tool"] == tool and r["key"] == key
                      and (n in r.get("notes", []) or n == "ERROR: " + r.get("error", "")))
            print(f"- {tool} {key} ({cnt} run(s)): {n}")
    errs = sorted({(r["tool"], r["stderr_tail"]) for r in recs if r.get("stderr_tail")})
    if errs:
        print()
        print("stderr (distinct last lines):")
        for tool, line in errs:
            print(f"- {tool}: {line}")

    if crecs:
        print()
        print(f"### compile time of a generated {nlines}-line script "
              f"({len(crecs) // 2} interleaved runs after a warm-up; medians)")
        print()
        crows = []
        med = {}
        for tool, how in (("loupe", "`loupe trace --dump bpf FILE > /dev/null`"),
                          ("bpftrace", "`bpftrace --emit-elf OUT FILE` (dry run)")):
            ms = [r.get("ms") for r in crecs if r["tool"] == tool and "error" not in r]
            ms = [x for x in ms if x is not None]
            med[tool] = bl.median(ms)
            rss = bl.median([r.get("hwm_kb") for r in crecs if r["tool"] == tool])
            usr = bl.median([r.get("user_ms") for r in crecs if r["tool"] == tool])
            syst = bl.median([r.get("sys_ms") for r in crecs if r["tool"] == tool])
            nerr = sum(1 for r in crecs if r["tool"] == tool and "error" in r)
            crows.append([tool, how, bl.fmt(med[tool], "{:.1f}"),
                          f"{min(ms):.1f}–{max(ms):.1f}" if ms else "n/a",
                          bl.fmt(usr, "{:.0f}"), bl.fmt(syst, "{:.0f}"),
                          bl.fmt(mib(rss), "{:.1f}"),
                          f"{len(ms)}/{len(ms) + nerr}"])
        print(bl.md_table(["tool", "command", "wall ms (median)", "min–max",
                           "user CPU ms", "system CPU ms",
                           "peak RSS MiB (VmHWM)", "ok runs"], crows))
        if med.get("loupe") and med.get("bpftrace"):
            print()
            print(f"Compile time bpftrace/loupe: {med['bpftrace'] / med['loupe']:.1f}x")
        cerr = sorted({(r["tool"], r["error"]) for r in crecs if "error" in r})
        for tool, e in cerr:
            print(f"- {tool} ERROR: {e}")

    print()
    print("### targets (issue 5)")
    print()
    trows = []
    if ready_ok:
        trows.append(["ready in at most a tenth of bpftrace's time",
                      f"{sum(ready_ok)}/{len(ready_ok)} one-liners at >= 10x",
                      "met" if all(ready_ok) else "not met"])
    if rss_ok:
        trows.append(["peak RSS at most 12 MB = 11.44 MiB (VmHWM before SIGINT)",
                      f"{sum(rss_ok)}/{len(rss_ok)} one-liners within",
                      "met" if all(rss_ok) else "not met"])
    print(bl.md_table(["target", "measured", ""], trows))
    print(flush=True)


if __name__ == "__main__":
    sys.exit(main())
