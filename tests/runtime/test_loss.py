"""Lost-event reporting with a tiny ring buffer under an open() flood."""
import json
import os
import re
import signal
import subprocess
import sys
import time

from common import LOST_RE, SLOW, Loupe, check, marker, short, spawn

# tests/run.py runs these alone: the floods are sized to take the CPUs,
# and the loss figures depend on nothing else competing for them.
SERIAL = True

# A 4 KB ring holds a dozen events. Emulated (tests/vm/), 200k opens take
# longer than the test may, and one flooder can be too slow to outrun the
# reader: two flooders of 20k each there.
FLOOD_N = 20000 if SLOW else 200000
FLOOD_PROCS = 2 if SLOW else 1
# PATH may be empty: some tasks pass a path BPF cannot read (page not present).
ROW_RE = re.compile(r"^(\d+) +(.*?) +(-?\d+) +(-?\d+)(?: (.+))?$")


def _flood(path):
    """Open a missing path FLOOD_N times as fast as possible (C helper if
    available, else a Python loop in a separate process)."""
    helpers = os.environ.get("LOUPE_TEST_HELPERS")
    if helpers and os.access(helpers, os.X_OK):
        argv = [helpers, "flood", str(FLOOD_N), path]
    else:
        code = ("import os\nfor i in range(%d):\n    try: os.open(%r, 0)\n"
                "    except OSError: pass\n" % (FLOOD_N, path))
        argv = [sys.executable, "-c", code]
    procs = [spawn(argv, stdout=subprocess.DEVNULL) for _ in range(FLOOD_PROCS)]
    for p in procs:
        rc = p.wait(20)
        check(rc == 0, "flood helper failed (%s)" % rc)


def _warm(lp):
    warm = "/loupe-warm-" + marker()

    def act():
        try:
            os.open(warm, os.O_RDONLY)
        except OSError:
            pass
    if lp.json:
        lp.ready(act, lambda e: e.get("path") == warm)
    else:
        lp.wait_header()


def _check_stderr(lp):
    lost = lp.lost_lines()
    check(lost, "no 'loupe: opensnoop: N events lost; raise --buffer-size' line on stderr; "
          "stderr: %s" % short(" | ".join(lp.stderr_lines()[-5:])))
    for l in lost:
        m = LOST_RE.match(l)
        check(m.group(1) == "opensnoop", "lost line names tool %r: %r" % (m.group(1), l))
    check(max(int(LOST_RE.match(l).group(2)) for l in lost) > 0,
          "lost lines all report 0: %s" % lost)


def test_loss_json():
    lp = Loupe("opensnoop", "-j", "--buffer-size", "4096")
    _warm(lp)
    path = "/loupe-flood-" + marker()
    _flood(path)
    lp.wait_event(lambda e: e.get("type") == "lost", 3)
    rc = lp.stop(timeout=10)
    check(rc == 0, "exit status %s after SIGINT %s" % (rc, lp.describe()))
    evs = lp.events()            # fails if any stdout line is not a JSON object
    _check_stderr(lp)
    lost = [e for e in evs if e.get("type") == "lost"]
    check(lost, "no {\"type\":\"lost\"} record on stdout (%d lines)" % len(evs))
    for e in lost:
        check(e.get("tool") == "opensnoop", "lost record tool %r" % e.get("tool"))
        check(isinstance(e.get("count"), int) and e["count"] > 0,
              "lost record count %r not > 0" % e.get("count"))
        check(isinstance(e.get("ts_ns"), int), "lost record ts_ns %r" % e.get("ts_ns"))
    seen = sum(1 for e in evs if e.get("path") == path)
    check(seen > 0, "no flood events made it through at all")
    check(seen < FLOOD_N * FLOOD_PROCS, "all %d flood events arrived with a 4 KiB buffer?"
          % (FLOOD_N * FLOOD_PROCS))


def test_loss_table():
    lp = Loupe("opensnoop", "--buffer-size", "4K")
    _warm(lp)
    path = "/loupe-flood-" + marker()
    _flood(path)
    lp.wait_line(lambda l: False, 1.0)
    rc = lp.stop(timeout=10)
    check(rc == 0, "exit status %s after SIGINT %s" % (rc, lp.describe()))
    lines = lp.lines()
    check(lines and lines[0].split() == ["PID", "COMM", "FD", "ERR", "PATH"],
          "first stdout line is not the header: %r" % (lines[:1],))
    bad = []
    for l in lines[1:]:
        m = ROW_RE.match(l)
        if not m or "events lost" in l or l.startswith("loupe:"):
            bad.append(l)
            continue
        fd, err = int(m.group(3)), int(m.group(4))
        if not ((fd == -1 and err > 0) or (fd >= 0 and err == 0)):
            bad.append(l)
    check(not bad, "%d malformed table rows, e.g. %s" % (len(bad), short(bad[:3], 400)))
    check(any(l.endswith(" " + path) for l in lines), "no flood rows at all")
    _check_stderr(lp)


def _start_flood(lp, procs=1):
    """Warm up, then start `procs` endless open() flooders; return (stop fn, path)."""
    _warm(lp)
    path = "/loupe-flood-" + marker()
    argv = [os.environ.get("LOUPE_TEST_HELPERS") or "", "flood", "100000000", path]
    if not os.access(argv[0], os.X_OK):
        argv = [sys.executable, "-c", "import os\nwhile True:\n    try: os.open(%r, 0)\n"
                "    except OSError: pass\n" % path]
    floods = [spawn(argv) for _ in range(procs)]

    def stop():
        for f in floods:
            f.kill()
        for f in floods:
            f.wait(5)
    seen = lp.wait_line(lambda l: path in l, 10)
    check(seen is not None, "flood events never showed up %s" % lp.describe())
    lp.wait_line(lambda l: False, 0.3)
    return stop, path


def _interrupt_during_flood(*args):
    """SIGINT loupe while it is blocked writing a flood of events to a full
    stdout pipe (as with a slow consumer such as `loupe ... | ssh`); the flood
    is stopped right after the signal.  Returns the finished Loupe."""
    lp = Loupe("opensnoop", *args)
    stop_flood, _ = _start_flood(lp)
    lp.out.go.clear()            # stop reading: loupe blocks in write(2) on stdout
    time.sleep(0.3)
    lp.proc.send_signal(signal.SIGINT)
    time.sleep(0.2)
    lp.out.go.set()
    stop_flood()
    rc = lp.wait_exit(10, "after SIGINT")
    check(rc == 0, "exit status %s after SIGINT during a flood %s" % (rc, lp.describe()))
    return lp


def test_sigint_exits_while_events_keep_coming():
    lp = Loupe("opensnoop", "-j")
    stop_flood, _ = _start_flood(lp, procs=2)
    lp.proc.send_signal(signal.SIGINT)
    try:
        lp.proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    still = lp.alive()
    stop_flood()
    check(not still, "loupe opensnoop -j still running 5 s after SIGINT while an open() "
          "flood (2 processes) continues (%d lines so far)" % len(lp.out.lines))
    rc = lp.wait_exit(10, "after SIGINT")
    check(rc == 0, "exit status %s after SIGINT %s" % (rc, lp.describe()))


def test_duration_honored_while_events_keep_coming():
    lp = Loupe("opensnoop", "-j", "-d", "2")
    t0 = time.monotonic()
    stop_flood, _ = _start_flood(lp, procs=2)
    try:
        lp.proc.wait(timeout=max(0.1, t0 + 5 - time.monotonic()))
    except subprocess.TimeoutExpired:
        pass
    still = lp.alive()
    stop_flood()
    check(not still, "loupe opensnoop -j -d 2 still running %.1f s after start while an "
          "open() flood continues" % (time.monotonic() - t0))
    rc = lp.wait_exit(10, "after -d 2")
    check(rc == 0, "exit status %s with -d 2 %s" % (rc, lp.describe()))


ROUNDS = 4     # the truncation does not happen every time: try a few times


def _bad_json_lines(lines):
    bad = []
    for l in lines:
        try:
            if not isinstance(json.loads(l), dict):
                bad.append(l)
        except ValueError:
            bad.append(l)
    return bad


def _truncation_report(runs):
    """runs: list of (bad lines, total lines, last line is bad)."""
    hit = [r for r in runs if r[0]]
    if not hit:
        return None
    last = sum(1 for r in hit if r[2])
    eg = [l for r in hit for l in r[0]][:2]
    return ("%d of %d runs ended with a malformed stdout line (%d of them the last line), "
            "e.g. %s" % (len(hit), len(runs), last, short(eg, 400)))


def test_sigint_during_flood_json_lines_complete():
    runs = []
    for _ in range(ROUNDS):
        lines = _interrupt_during_flood("-j").lines()
        bad = _bad_json_lines(lines)
        runs.append((bad, len(lines), bool(lines) and bad[-1:] == lines[-1:]))
    msg = _truncation_report(runs)
    check(msg is None, "after SIGINT while blocked writing JSON: " + (msg or ""))


def test_sigint_during_flood_table_lines_complete():
    runs = []
    for _ in range(ROUNDS):
        lines = _interrupt_during_flood().lines()
        bad = [l for l in lines[1:] if not ROW_RE.match(l)]
        runs.append((bad, len(lines), bool(lines) and bad[-1:] == lines[-1:]))
    msg = _truncation_report(runs)
    check(msg is None, "after SIGINT while blocked writing the table: " + (msg or ""))


test_sigint_during_flood_json_lines_complete.timeout = 60
test_sigint_during_flood_table_lines_complete.timeout = 60


def _exact_accounting(json_mode, buffer_size, n, slice_ms=None):
    """A flooder with a unique comm opens a missing path n times; after it
    ends and loupe is interrupted, every open is either printed or counted
    as lost: nothing vanishes (not at a drain's time slice, not at exit).
    slice_ms shortens loupe's drain time slices (and its final drain) so
    that both are cut many times."""
    from common import copy_binary, unique_comm
    helpers = os.environ.get("LOUPE_TEST_HELPERS")
    if not helpers:
        from common import Skip
        raise Skip("C helper not built")
    comm = unique_comm()
    exe = copy_binary(helpers, comm)
    args = ["-n", comm, "--buffer-size", buffer_size] + (["-j"] if json_mode else [])
    env = {"LOUPE_DRAIN_SLICE_MS": str(slice_ms)} if slice_ms else None
    lp = Loupe("opensnoop", *args, env=env)
    lp.wait_attached()
    path = "/loupe-exact-" + marker()
    p = spawn([exe, "flood", str(n), path])
    check(p.wait(60) == 0, "flooder failed")
    lp.wait_line(lambda l: False, 0.5)
    rc = lp.stop(timeout=20)
    check(rc == 0, "exit status %s %s" % (rc, lp.describe()))
    if json_mode:
        evs = lp.events()
        printed = sum(1 for e in evs if e.get("path") == path)
        lost_json = sum(e["count"] for e in evs if e.get("type") == "lost")
    else:
        printed = sum(1 for l in lp.lines() if l.endswith(" " + path))
        lost_json = None
    lost = sum(int(LOST_RE.match(l).group(2)) for l in lp.lost_lines())
    if json_mode:
        check(lost == lost_json, "stderr says %d lost, JSON records %d" % (lost, lost_json))
    check(printed + lost == n, "%d opens: %d printed + %d lost = %d (%+d)" %
          (n, printed, lost, printed + lost, printed + lost - n))
    return printed, lost


def test_loss_exact_accounting_json():
    _exact_accounting(True, "256K", FLOOD_N)
    _exact_accounting(True, "256K", FLOOD_N, slice_ms=1)


def test_loss_exact_accounting_table():
    _exact_accounting(False, "256K", FLOOD_N, slice_ms=1)


test_loss_exact_accounting_json.timeout = 120
test_loss_exact_accounting_table.timeout = 60
