"""The main job: `loupe` with no arguments runs the checklist and reports."""
import json
import os
import re
import subprocess
import time

from common import (LOUPE, SLOW, Skip, bpftool_list, check, copy_binary, fail, fdinfo_texts,
                    helper_bin, marker, poll_until, require_loupe, short, spawn, tmpdir,
                    tmpdir_on)

# tests/run.py runs these alone: the main job's sections are
# system-wide (the page-cache bounds count everyone's reads) and must
# start within their 8 s.
SERIAL = True


def _own_comm():
    with open("/proc/self/comm") as f:
        return f.read().strip()


def _run_overview(*args, during=None, secs="3"):
    """Run `loupe [args] -d secs`; call during() once it watches; return (rc, out, err)."""
    require_loupe()
    p = subprocess.Popen([LOUPE] + list(args) + ["-d", secs], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    if during:
        time.sleep(1.2)       # every section attached (they start one by one)
        during()
    try:
        out, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    return p.returncode, out, err


def test_overview_table_report():
    rc, out, err = _run_overview(secs="2.5", during=lambda: spawn(["/bin/true"]).wait(5))
    check(rc == 0, "exit status %s (stderr: %s)" % (rc, short(err)))
    check(out.startswith("loupe overview: "), "report header missing: %r" % short(out))
    for title in ("== New processes (execsnoop) ==", "== Failed opens (opensnoop) ==",
                  "== Process exits with errors (exitsnoop) =="):
        check(title in out, "section %r missing:\n%s" % (title, short(out, 1500)))
    execs = out.split("== New processes (execsnoop) ==")[1].split("\n== ")[0]
    lines = [l for l in execs.splitlines() if l]
    check(lines and lines[0].split() == ["PCOMM", "PID", "PPID", "RET", "ARGS"],
          "execsnoop section header: %r" % lines[:1])
    check(len(lines) <= 1 + 20 + 1, "event table not cut to 20 rows: %d lines" % len(lines))
    opens = out.split("== Failed opens (opensnoop) ==")[1].split("\n== ")[0]
    first = [l for l in opens.splitlines() if l][0]
    check(first.split() in (["COUNT", "COMM", "ERR", "PATH"], ["(nothing", "seen)"]),
          "opens top table header: %r" % first)


def test_overview_json_document():
    path = os.path.join(tmpdir(), marker("missing"))
    name = marker("ov")[:15]
    exe = copy_binary("/bin/true", name, tmpdir())
    seen = {}

    def act():
        child = spawn([exe, "overview-arg"])
        seen["exec"] = child.pid
        child.wait(5)
        bad = spawn(["/bin/sh", "-c", "exit 7"])
        seen["exit"] = bad.pid
        bad.wait(5)
        for _ in range(300):     # enough to rank high in the top table
            try:
                open(path)
            except OSError:
                pass
    rc, out, err = _run_overview("-j", during=act, secs="2.5")
    check(rc == 0, "exit status %s (stderr: %s)" % (rc, short(err)))
    lines = out.splitlines()
    check(len(lines) == 1, "JSON overview is %d lines, want one document" % len(lines))
    doc = json.loads(lines[0])
    check(doc["type"] == "overview", "type %r" % doc.get("type"))
    by_tool = {s["tool"]: s for s in doc["sections"]}
    for tool in ("execsnoop", "opensnoop", "exitsnoop"):
        check(tool in by_tool and by_tool[tool]["status"] == "ok",
              "section %s missing or not ok: %s" % (tool, short(by_tool.get(tool))))
    top = [r for r in by_tool["opensnoop"]["top"] if r.get("path") == path]
    check(top, "failed opens of %s not in the opensnoop top table: %s" %
          (path, short(by_tool["opensnoop"]["top"][:5])))
    check(top[0]["count"] == 300 and top[0]["err"] == 2 and top[0]["comm"] == _own_comm(),
          "top row: %s" % short(top[0]))
    execs = [r for r in by_tool["execsnoop"]["records"] if r.get("pid") == seen["exec"]]
    check(execs and execs[0]["args"] == [exe, "overview-arg"] and execs[0]["comm"] == name,
          "exec of pid %s: %s" % (seen["exec"], short(execs)))
    exits = [r for r in by_tool["exitsnoop"]["records"] if r.get("pid") == seen["exit"]]
    check(exits and exits[0]["exit_code"] == 7, "exit 7 of pid %s: %s" %
          (seen["exit"], short(exits)))


def _linked_prog_names(pid):
    """Names of the BPF programs that pid holds links to (attached); the
    hook chooser's test programs, attached for a moment, have none."""
    ids = set()
    for txt in fdinfo_texts(pid):
        m = re.search(r"^prog_id:\s*(\d+)", txt, re.M)
        if m and re.search(r"^link_id:", txt, re.M):
            ids.add(int(m.group(1)))
    return {p.get("name", "") for p in bpftool_list("prog") if p["id"] in ids}


def _own_overview(secs):
    """Start a copy of loupe under a unique name (its comm) running the
    overview as JSON; return (Popen, name)."""
    require_loupe()
    name = marker("ov")[:15]
    exe = copy_binary(LOUPE, name, tmpdir())
    p = spawn([exe, "-j", "-d", secs], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
              text=True)
    return p, name


def _finish(p):
    out, err = p.communicate(timeout=60)
    check(p.returncode == 0, "exit status %s (stderr: %s)" % (p.returncode, short(err)))
    return {s["tool"]: s for s in json.loads(out)["sections"]}


def test_overview_leaves_itself_out():
    """Loupe's own activity is not in the report: the hook chooser of a
    section starting late opens /sys/bus/event_source/devices/kprobe/type
    (and fails here) while opensnoop already watches, and the sections poll,
    read /proc and make system calls throughout."""
    p, name = _own_overview("3")
    by_tool = _finish(p)
    check(by_tool["opensnoop"]["status"] == "ok", "opensnoop section %s" %
          short(by_tool["opensnoop"]))
    for tool, sec in by_tool.items():
        own = [r for r in sec["records"]
               if r.get("pid") == p.pid or r.get("comm") == name]
        check(not own, "section %s reports loupe itself (pid %d): %s" %
              (tool, p.pid, short(own, 600)))
    own = [r for r in by_tool["opensnoop"]["top"] if r.get("comm") == name]
    check(not own, "failed opens of loupe itself in the top table: %s" % short(own, 600))


def test_overview_page_cache():
    """The page-cache section counts a write of W new pages as no miss and a
    cold read of R pages as R misses. The section is system-wide, so other
    activity adds to the figures: they are checked as bounds, MISSES below
    R + W/2 (other cold reads of up to 16 MB in those 8 s are tolerated;
    counting the write as misses is not)."""
    w_pages, r_pages = 8192, 1024
    d = tmpdir_on("ext4")       # where the page cache fills (not tmpfs)
    cold = os.path.join(d, marker("cold"))
    with open(cold, "wb") as f:
        f.write(os.urandom(r_pages * 4096))
        f.flush()
        os.fsync(f.fileno())
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    # Under emulation (tests/vm/) the sections take seconds each to start.
    secs = 30 if SLOW else 8
    p, _ = _own_overview(str(secs))
    t0 = time.monotonic()
    def cachestat_attached():
        names = _linked_prog_names(p.pid)
        return (any(n.startswith("added_") for n in names) and
                any(n.startswith("dirtied_") for n in names))
    if not poll_until(cachestat_attached, secs - 3):
        fail("the overview's cachestat never attached")
    helper = helper_bin()
    for args in (["pagewrite", os.path.join(d, marker("new")), str(w_pages)],
                 ["pageread", cold]):
        h = spawn([helper] + args, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        check(h.stdout.readline() == b"ready\n", "helper %s not ready" % args[0])
        h.stdin.write(b"go\n")
        h.stdin.flush()
        h.stdout.readline()
        check(h.wait(15) == 0, "helper %s failed" % args[0])
    if time.monotonic() - t0 > secs - 1:
        raise Skip("the workload ended after the %d s overview (a slow start)" % secs)
    recs = [r for r in _finish(p)["cachestat"]["records"] if r.get("type") == "cachestat"]
    check(recs, "no page-cache records")
    total = {k: sum(r.get(k) or 0 for r in recs)
             for k in ("misses", "dirties", "pages_added", "pages_added_by_writes")}
    check(total["pages_added_by_writes"] >= w_pages and total["dirties"] >= w_pages,
          "%d pages written: %s" % (w_pages, short(recs, 800)))
    check(r_pages <= total["misses"] < r_pages + w_pages // 2,
          "MISSES %d for %d pages read cold and %d written: %s" %
          (total["misses"], r_pages, w_pages, short(recs, 800)))
    for r in recs:
        check(r["misses"] == r["pages_added"] - r["pages_added_by_writes"],
              "misses are not the pages added by other than writes: %s" % short(r))


test_overview_page_cache.timeout = 90


def test_overview_usage_error():
    require_loupe()
    p = subprocess.run([LOUPE, "-d", "soon"], capture_output=True, text=True, timeout=10)
    check(p.returncode == 2, "exit status %s != 2" % p.returncode)
    check(p.stderr.startswith("loupe: ") and p.stdout == "", "stderr %r stdout %r" %
          (p.stderr, p.stdout))


FLOOD_PY = r"""
import os, sys, time
end = time.monotonic() + float(sys.argv[2])
n = 0
while time.monotonic() < end:
    try:
        os.open(sys.argv[1], os.O_RDONLY)
    except OSError:
        n += 1
print(n)
"""


def test_overview_flood_keeps_memory_flat():
    """A flood of failed opens (about 100k in 2 s) is counted as it comes:
    the report once held every captured event as text until the end
    (45-78 MB peak RSS against 12 MB). The flood's row counts at least
    the events not reported lost, and peak RSS stays under 25 MB."""
    require_loupe()
    # The first run of a build writes its kernel BTF cache (a 50 MB peak).
    _run_overview(secs="0.1")
    missing = "/loupe-flood-" + marker()
    p = subprocess.Popen([LOUPE, "-j", "-d", "2.5"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    time.sleep(0.5 if not SLOW else 10)
    flood = spawn(["python3", "-c", FLOOD_PY, missing, "1.5"], stdout=subprocess.PIPE,
                  text=True)
    opened = int(flood.communicate(timeout=30)[0])
    out = p.stdout.read()       # bounded: the overview ends after -d
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    check(p.returncode == 0, "exit status %s (stderr: %s)" % (p.returncode, short(err)))
    check(ru.ru_maxrss < 25 * 1024, "peak RSS %.1f MB" % (ru.ru_maxrss / 1024.0))
    top = {s["tool"]: s for s in json.loads(out)["sections"]}["opensnoop"]["top"]
    rows = [r for r in top if r.get("path") == missing]
    check(len(rows) == 1 and 0 < rows[0]["count"] <= opened,
          "flood rows %s for %d failed opens" % (short(rows), opened))
    lost = sum(int(m) for m in re.findall(r"(\d+) events lost", err))
    check(rows[0]["count"] + lost >= opened,
          "%d counted + %d lost < %d failed opens" % (rows[0]["count"], lost, opened))
