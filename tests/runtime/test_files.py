"""Runtime tests of the file tools: statsnoop, filelife, fsslower (and
ext4slower), filetop, vfsstat, cachestat.

Each test loads the real tool, makes a child process with a unique marker
(a path or a comm) do file work in a temp dir, and asserts the exact
record of that child; other activity on the machine is ignored.
"""
import json
import os
import subprocess
import sys
import time

from common import (Loupe, bpf_ids_owned_by, bpftool_list, check, check_common, fail,
                    helper_bin, loupe_list_json_cached,
                    marker, mount_fstype, poll_until, short, spawn, tmpdir, tmpdir_on,
                    unique_comm)


def _child(code, *args, comm=None, wait=True):
    """Run a Python child (optionally renamed to comm) executing code with
    sys.argv[1:] = args; return its Popen (already reaped if wait)."""
    prologue = ""
    if comm:
        prologue = "open('/proc/self/comm', 'w').write(%r)\n" % comm
    p = spawn([sys.executable, "-c", prologue + code] + [str(a) for a in args],
              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if wait:
        out, err = p.communicate(timeout=15)
        check(p.returncode == 0, "child failed: %s" % short(err.decode(errors="replace")))
    return p


def _warm_stat(lp, pred_key="path"):
    warm = "/loupe-warm-" + marker()

    def act():
        try:
            os.stat(warm)
        except OSError:
            pass
    lp.ready(act, lambda e: e.get(pred_key) == warm)


# ---------------------------------------------------------------- statsnoop

def test_statsnoop_json():
    lp = Loupe("statsnoop", "-j")
    _warm_stat(lp)
    d = tmpdir()
    path = os.path.join(d, marker("st"))
    open(path, "w").close()
    missing = os.path.join(d, marker("missing"))
    comm = unique_comm()
    p = _child("import os, sys\n"
               "os.stat(sys.argv[1])\n"
               "os.lstat(sys.argv[1])\n"
               "os.statvfs(sys.argv[1])\n"
               "try:\n    os.stat(sys.argv[2])\nexcept OSError:\n    pass\n",
               path, missing, comm=comm)
    ok = lp.expect_event(lambda e: e.get("pid") == p.pid and e.get("path") == path,
                         "stat event of %s" % path)
    bad = lp.expect_event(lambda e: e.get("pid") == p.pid and e.get("path") == missing,
                          "failed stat event of %s" % missing)
    fs = lp.expect_event(lambda e: e.get("pid") == p.pid and e.get("path") == path
                         and e.get("syscall") == "statfs", "statfs event of %s" % path)
    lp.stop()
    check_common(ok, "stat")
    check(ok["ret"] == 0 and ok["err"] == 0, "ret/err %s/%s != 0/0" % (ok["ret"], ok["err"]))
    check(ok["syscall"] in ("newfstatat", "statx", "newstat"), "syscall %r" % ok["syscall"])
    check(ok["comm"] == comm, "comm %r != %r" % (ok["comm"], comm))
    check(bad["ret"] == -1 and bad["err"] == 2, "ret/err %s/%s != -1/2" % (bad["ret"], bad["err"]))
    check(fs["ret"] == 0, "statfs ret %s" % fs["ret"])
    n = len([e for e in lp.events() if e.get("pid") == p.pid and e.get("path") == path])
    check(n >= 3, "only %d events for %s (stat, lstat, statfs)" % (n, path))


def test_statsnoop_failed_table():
    lp = Loupe("statsnoop", "-x")
    hdr = lp.wait_header()
    check(hdr.split() == ["PID", "COMM", "RET", "ERR", "PATH"], "header %r" % hdr)
    time.sleep(0.5)
    d = tmpdir()
    path = os.path.join(d, marker("st"))
    open(path, "w").close()
    missing = os.path.join(d, marker("missing"))
    comm = unique_comm()

    def act():
        _child("import os, sys\nos.stat(sys.argv[1])\n"
               "try:\n    os.stat(sys.argv[2])\nexcept OSError:\n    pass\n",
               path, missing, comm=comm)
    act()
    line = lp.wait_line(lambda l: missing in l, timeout=5)
    if line is None:
        act()
        line = lp.wait_line(lambda l: missing in l, timeout=5)
    check(line is not None, "no row for %s %s" % (missing, lp.describe()))
    f = line.split()
    check(f[1] == comm and f[2] == "-1" and f[3] == "2" and f[4] == missing,
          "row %r != PID %s -1 2 %s" % (line, comm, missing))
    check(not any(path == l.split()[-1] for l in lp.lines()[1:] if l.split()),
          "-x showed the successful stat of %s" % path)
    lp.stop()


# ---------------------------------------------------------------- fsslower

_WRITE_CHILD = (
    "import os, sys\n"
    "fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)\n"
    "os.write(fd, b'x' * int(sys.argv[2]))\n"
    "os.fsync(fd)\n"
    "os.close(fd)\n")


def _warm_write(lp, d):
    warm = marker("warm")
    path = os.path.join(d, warm)

    def act():
        with open(path, "wb") as f:
            f.write(b"w")
    lp.ready(act, lambda e: e.get("file") == warm)


def test_fsslower_write_json():
    d = tmpdir()
    fstype = mount_fstype(d)
    lp = Loupe("fsslower", "-t", fstype, "0", "-j")
    _warm_write(lp, d)
    name = marker("fw")
    comm = unique_comm()
    n = 12345
    p = _child(_WRITE_CHILD, os.path.join(d, name), n, comm=comm)
    mine = lambda op: (lambda e: e.get("pid") == p.pid and e.get("file") == name
                       and e.get("op") == op)
    w = lp.expect_event(mine("write"), "write event of %s" % name)
    o = lp.expect_event(mine("open"), "open event of %s" % name)
    s = lp.expect_event(mine("fsync"), "fsync event of %s" % name)
    lp.stop()
    check_common(w, "fsslower")
    check(w["comm"] == comm, "comm %r != %r" % (w["comm"], comm))
    check(w["bytes"] == n, "BYTES %s != %d" % (w["bytes"], n))
    check(w["offset"] == 0, "offset %s != 0" % w["offset"])
    check(w["fs"] == fstype, "fs %r != %r" % (w["fs"], fstype))
    check(isinstance(w["lat_ns"], int) and w["lat_ns"] >= 0, "lat_ns %r" % w["lat_ns"])
    check(o["bytes"] == 0 and s["bytes"] == 0, "open/fsync bytes %s/%s" % (o["bytes"], s["bytes"]))
    others = [e for e in lp.events() if e.get("fs") not in (None, fstype)]
    check(not others, "-t %s let through %s" % (fstype, short(others[0]) if others else ""))


_PWRITE_CHILD = (
    "import os, sys\n"
    "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)\n"
    "os.pwrite(fd, b'x' * int(sys.argv[2]), 8192)\n"
    "os.fdatasync(fd)\n"
    "os.pread(fd, 100, 8202)\n"
    "os.close(fd)\n")


def test_fsslower_raw_syscalls():
    """--raw-syscalls (what the overview uses): the same events through two
    links on sys_enter/sys_exit, offsets from pwrite's and pread's own
    argument, and no syscall tracepoint at all."""
    d = tmpdir()
    fstype = mount_fstype(d)
    lp = Loupe("fsslower", "--raw-syscalls", "-t", fstype, "0", "-j")
    _warm_write(lp, d)
    _, links = bpf_ids_owned_by(lp.pid)
    mine = [e for e in bpftool_list("link") if e["id"] in links]
    check(sorted((e["type"], e.get("tp_name")) for e in mine)
          == [("raw_tracepoint", "sys_enter"), ("raw_tracepoint", "sys_exit")],
          "links %r, expected sys_enter and sys_exit only" % mine)
    name = marker("fr")
    comm = unique_comm()
    n = 12345
    p = _child(_PWRITE_CHILD, os.path.join(d, name), n, comm=comm)
    ev = {}
    for op in ("open", "write", "fsync", "read"):
        ev[op] = lp.expect_event(lambda e, op=op: e.get("pid") == p.pid and
                                 e.get("file") == name and e.get("op") == op,
                                 "%s event of %s" % (op, name))
    lp.stop()
    check_common(ev["write"], "fsslower")
    got = {op: (e["bytes"], e["offset"]) for op, e in ev.items()}
    want = {"open": (0, 0), "write": (n, 8192), "fsync": (0, 0),
            "read": (100, 8202)}
    check(got == want, "(bytes, offset) %r != %r" % (got, want))
    check(ev["write"]["comm"] == comm and ev["write"]["fs"] == fstype,
          "comm/fs %r/%r" % (ev["write"]["comm"], ev["write"]["fs"]))


def test_fsslower_table_and_threshold():
    d = tmpdir()
    fstype = mount_fstype(d)
    tool = "ext4slower" if fstype == "ext4" else "fsslower"
    extra = [] if tool == "ext4slower" else ["-t", fstype]
    # A threshold no write reaches: nothing of ours may show up.
    lp_high = Loupe(tool, *extra, "5000")
    lp = Loupe(tool, *extra, "0")
    hdr = lp.wait_header()
    check(hdr.split() == ["TIME", "COMM", "PID", "T", "BYTES", "OFF_KB", "LAT(ms)", "FILENAME"],
          "header %r" % hdr)
    lp_high.wait_header()
    warm = marker("warm")

    def act():
        with open(os.path.join(d, warm), "wb") as f:
            f.write(b"w")
    deadline = time.monotonic() + 20
    while lp.wait_line(lambda l: l.endswith(" " + warm), timeout=0.3) is None:
        check(time.monotonic() < deadline, "warm-up never showed %s" % lp.describe())
        act()
    name = marker("fw")
    comm = unique_comm()
    p = _child(_WRITE_CHILD, os.path.join(d, name), 4096 * 3, comm=comm)
    line = lp.wait_line(lambda l: l.endswith(" " + name) and " W " in l, timeout=5)
    check(line is not None, "no W row for %s %s" % (name, lp.describe()))
    f = line.split()
    check(f[1] == comm[:14] and f[2] == str(p.pid) and f[3] == "W" and f[4] == "12288"
          and f[5] == "0", "row %r != TIME %s %d W 12288 0 LAT %s" % (line, comm[:14], p.pid, name))
    time.sleep(0.5)
    lp.stop()
    lp_high.stop()
    check(not any(name in l for l in lp_high.lines()),
          "threshold 5000 ms showed %s" % name)


# ---------------------------------------------------------------- filelife

def _warm_filelife(lp, d):
    def act():
        name = marker("warm")
        path = os.path.join(d, name)
        open(path, "w").close()
        os.unlink(path)
        act.names.add(name)
    act.names = set()
    lp.ready(act, lambda e: e.get("file") in act.names)


def test_filelife_age():
    d = tmpdir()
    old = os.path.join(d, marker("old"))
    open(old, "w").close()          # exists before tracing: never reported
    lp = Loupe("filelife", "-j")
    _warm_filelife(lp, d)
    name = marker("fl")
    path = os.path.join(d, name)
    comm = unique_comm()
    p = _child("import os, sys, time\n"
               "fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)\n"
               "os.close(fd)\n"
               "time.sleep(0.5)\n"
               "os.unlink(sys.argv[1])\n"
               "os.unlink(sys.argv[2])\n",
               path, old, comm=comm)
    ev = lp.expect_event(lambda e: e.get("file") == name, "filelife event of %s" % name)
    time.sleep(0.3)
    lp.stop()
    check_common(ev, "filelife")
    check(ev["pid"] == p.pid and ev["comm"] == comm,
          "pid/comm %s/%r != %d/%r" % (ev["pid"], ev["comm"], p.pid, comm))
    check(ev["creator_pid"] == p.pid, "creator_pid %s != %d" % (ev["creator_pid"], p.pid))
    check(0.48 <= ev["age_s"] < 1.0, "age_s %s is not about 0.5" % ev["age_s"])
    check(ev["path"] == path, "path %r != %r" % (ev["path"], path))
    check(ev["ino"] > 0, "ino %r" % ev["ino"])
    check(not any(e.get("path") == old for e in lp.events()),
          "a file created before tracing was reported: %s" % old)


test_filelife_age.serial = True  # age of a 0.5 s file bounded


def test_filelife_table():
    d = tmpdir()
    lp = Loupe("filelife")
    hdr = lp.wait_header()
    check(hdr.split() == ["TIME", "PID", "COMM", "AGE(s)", "FILE"], "header %r" % hdr)
    comm = unique_comm()
    deadline = time.monotonic() + 20
    while True:
        name = marker("fl")
        p = _child("import os, sys, time\n"
                   "open(sys.argv[1], 'w').close()\n"
                   "time.sleep(0.2)\n"
                   "os.unlink(sys.argv[1])\n", os.path.join(d, name), comm=comm)
        line = lp.wait_line(lambda l: l.endswith(" " + name), timeout=1)
        if line or time.monotonic() > deadline:
            break
    lp.stop()
    check(line is not None, "no row for %s %s" % (name, lp.describe()))
    f = line.split()
    check(f[1] == str(p.pid) and f[2] == comm and 0.18 <= float(f[3]) < 1.0,
          "row %r != TIME %d %s ~0.20 %s" % (line, p.pid, comm, name))


test_filelife_table.serial = True  # age of a 0.2 s file bounded


# ---------------------------------------------------------------- filetop

def test_filetop_writes():
    d = tmpdir()
    lp = Loupe("filetop", "-j", "-r", "10240", "-s", "wbytes")
    lp.wait_attached()
    name = marker("ft")
    comm = unique_comm()
    p = _child("import os, sys\n"
               "fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o600)\n"
               "for i in range(16):\n"
               "    os.write(fd, b'y' * 65536)\n"
               "os.close(fd)\n", os.path.join(d, name), comm=comm)
    mine = lambda e: e.get("file") == name and e.get("tid") == p.pid

    def total():
        rows = [e for e in lp.events() if mine(e)]
        return rows if sum(e["writes"] for e in rows) >= 16 else None
    rows = poll_until(total, 5)
    lp.stop()
    check(rows, "no filetop rows adding up to 16 writes of %s %s" % (name, lp.describe()))
    r = rows[0]
    check(r["type"] == "filetop" and isinstance(r["ts_ns"], int), "row %s" % short(r))
    check(r["comm"] == comm and r["pid"] == p.pid, "comm/pid %r/%s" % (r["comm"], r["pid"]))
    check(r["file_type"] == "R", "file_type %r != 'R'" % r["file_type"])
    check(sum(e["writes"] for e in rows) >= 16, "WRITES %s < 16" % [e["writes"] for e in rows])
    check(sum(e["wbytes"] for e in rows) >= 1 << 20, "wbytes %s < 1 MB" % [e["wbytes"] for e in rows])
    check(sum(e["w_kb"] for e in rows) >= 1024, "W_Kb %s < 1024" % [e["w_kb"] for e in rows])


def test_filetop_table():
    d = tmpdir()
    lp = Loupe("filetop", "-C", "-i", "0.5", "-r", "10240")
    lp.wait_attached(settle=0.2)
    name = marker("ft")
    comm = unique_comm()
    p = _child("import os, sys\n"
               "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)\n"
               "os.write(fd, b'z' * 8192)\n"
               "os.pread(fd, 4096, 0)\n"
               "os.close(fd)\n", os.path.join(d, name), comm=comm)
    line = lp.wait_line(lambda l: l.endswith(" " + name), timeout=5)
    lp.stop()
    check(line is not None, "no row for %s %s" % (name, lp.describe()))
    lines = lp.lines()
    check(any(l.split() == ["TID", "COMM", "READS", "WRITES", "R_Kb", "W_Kb", "T", "FILE"]
              for l in lines), "no header in %s" % short(lines))
    check(any(" loadavg: " in l for l in lines), "no loadavg banner")
    check(not any("\033[" in l for l in lines), "screen cleared with -C / not a tty")
    f = line.split()
    check(f[0] == str(p.pid) and f[1] == comm and f[6] == "R", "row %r" % line)


# ---------------------------------------------------------------- vfsstat

_VFS_CHILD = (
    "import os, sys, time\n"
    "d = sys.argv[1]\n"
    "time.sleep(0.3)\n"
    "null = os.open('/dev/null', os.O_RDWR)\n"
    "for i in range(500):\n"
    "    os.write(null, b'a')\n"
    "for i in range(300):\n"
    "    os.read(null, 1)\n"
    "path = os.path.join(d, 'f')\n"
    "fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)\n"
    "for i in range(40):\n"
    "    os.fsync(fd)\n"
    "os.close(fd)\n"
    "for i in range(200):\n"
    "    os.close(os.open(path, os.O_RDONLY))\n"
    "for i in range(20):\n"
    "    os.close(os.open(os.path.join(d, 'c%d' % i), os.O_WRONLY | os.O_CREAT | os.O_EXCL))\n")


def test_vfsstat_counts():
    d = tmpdir()
    comm = unique_comm()
    # Counted only for the child's comm, so the sums are the child's own.
    lp = Loupe("vfsstat", "-j", "-i", "0.5", "-n", comm)
    lp.wait_attached(settle=0.3)
    p = _child(_VFS_CHILD, d, comm=comm)
    time.sleep(1.2)                 # let the last interval be printed
    lp.stop()
    recs = [e for e in lp.events() if e.get("type") == "vfsstat"]
    check(len(recs) >= 2, "only %d vfsstat records %s" % (len(recs), lp.describe()))
    for r in recs:
        check(isinstance(r["ts_ns"], int) and r["interval_s"] > 0, "record %s" % short(r))
    sums = {k: sum(r[k] for r in recs) for k in ("reads", "writes", "opens", "fsyncs", "creates")}
    want = {"reads": 300, "writes": 500, "opens": 221, "fsyncs": 40, "creates": 21}
    for k, n in want.items():
        # What the child did, plus a little interpreter noise at most.
        check(n <= sums[k] <= n + 100, "%s: %d, child caused %d (%s)" % (k, sums[k], n, sums))
    check(p.returncode == 0, "child failed")


def test_vfsstat_table():
    lp = Loupe("vfsstat", "-i", "0.3", "-d", "1")
    rc = lp.wait_exit(10)
    lines = lp.lines()
    check(rc == 0, "exit status %s %s" % (rc, lp.describe()))
    check(lines and lines[0].split() == ["TIME", "READ/s", "WRITE/s", "CREATE/s", "OPEN/s",
                                         "FSYNC/s"], "header %r" % (lines[:1],))
    rows = [l.split() for l in lines[1:]]
    check(len(rows) >= 2, "only %d rows" % len(rows))
    for f in rows:
        check(len(f) == 6 and all(x.isdigit() for x in f[1:]) and f[0].count(":") == 2,
              "row %r" % f)


# ---------------------------------------------------------------- cachestat

# Pages the workloads below write and read: 8 MB, written in 1 MB writes,
# which Linux 6.18's ext4 keeps in large folios (256 pages here), so the
# exact counts below also check that a folio counts as all its pages.
CACHESTAT_PAGES = 2048

# ext4 (without a journal on the development machine's root) dirties, and
# may read or create, a few of its own metadata blocks in the writer's
# context when fsync() allocates the file's blocks: block bitmap, group
# descriptor, an extent block, the inode table block. They are pages of the
# block device, not of the file; measured: none in 19 runs of 20, 2 dirties
# (bitmap, descriptor) in one, 1 miss + 1 dirty (a new extent block) in
# another.
CACHESTAT_METADATA_PAGES = 4


def _cachestat_dir():
    """A temp dir on ext4, where the figures below were measured."""
    return tmpdir_on("ext4")


def _cachestat_window(helper_args):
    """Start the C helper with helper_args, then cachestat -p on it; let
    the helper do its I/O; return (its last line, summed counters, records)."""
    p = spawn([helper_bin()] + [str(a) for a in helper_args], stdin=subprocess.PIPE,
              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ready = p.stdout.readline()
    if ready != b"ready\n":
        p.kill()
        fail("helper %s said %r: %s" % (helper_args[0], ready, short(p.stderr.read())))
    lp = Loupe("cachestat", "-j", "-i", "0.5", "-p", p.pid)
    lp.wait_attached(settle=0.3)
    p.stdin.write(b"go\n")
    p.stdin.flush()
    last = p.stdout.readline().decode().strip()
    if p.wait(15) != 0:
        fail("helper %s failed: %s" % (helper_args[0], short(p.stderr.read())))
    # The helper has exited: what it did is in the counters. cachestat
    # prints the last, partial interval when it stops.
    check(lp.stop() == 0, "cachestat exit status %s %s" % (lp.rc, lp.describe()))
    recs = [e for e in lp.events() if e.get("type") == "cachestat"]
    check(recs, "no cachestat records %s" % lp.describe())
    access = _cachestat_probes()["HITS: access"]["hook"] != "none"
    total = {}
    for r in recs:
        # Without an access hook hits are unknown, never a made-up number.
        if access:
            check(isinstance(r["hits"], int) and isinstance(r["hit_ratio"], (int, float)),
                  "hits/ratio %s" % short(r))
        else:
            check(r["hits"] is None and r["hit_ratio"] is None, "hits/ratio %s" % short(r))
        check(isinstance(r["cached_mb"], int) and isinstance(r["buffers_mb"], int),
              "meminfo fields %s" % short(r))
        for k in ("misses", "dirties", "pages_added", "pages_added_by_writes",
                  "folios_dirtied"):
            total[k] = total.get(k, 0) + (r.get(k) or 0)
    return last, total, recs


def _check_cachestat_raw(recs):
    """MISSES are the pages added other than by writes, in every interval."""
    for r in recs:
        check(r["misses"] == r["pages_added"] - r["pages_added_by_writes"],
              "misses are not the pages added by other than writes: %s" % short(r))


def test_cachestat_write_only():
    """A write of N new pages (then fsync and dropping them) is no read
    miss: it adds N pages by writes and dirties N pages."""
    path = os.path.join(_cachestat_dir(), marker("csw"))
    n = CACHESTAT_PAGES
    last, t, recs = _cachestat_window(["pagewrite", path, n])
    check(last == "done", "helper said %r" % last)
    check(t["misses"] <= CACHESTAT_METADATA_PAGES,
          "MISSES %d for a write-only workload (at most %d ext4 metadata pages) %s" %
          (t["misses"], CACHESTAT_METADATA_PAGES, short(recs, 600)))
    check(n <= t["dirties"] <= n + CACHESTAT_METADATA_PAGES,
          "DIRTIES %d for %d pages written (+ at most %d ext4 metadata pages) %s" %
          (t["dirties"], n, CACHESTAT_METADATA_PAGES, short(recs, 600)))
    check(t["pages_added_by_writes"] == n,
          "pages added by writes %d != %d written (%s)" % (t["pages_added_by_writes"], n,
                                                            short(recs, 600)))
    check(1 <= t["folios_dirtied"] <= t["dirties"],
          "folios dirtied %d vs pages %d" % (t["folios_dirtied"], t["dirties"]))
    _check_cachestat_raw(recs)


def test_cachestat_cold_read():
    """Reading N pages of a file dropped from the page cache misses exactly
    N pages, and a read adds nothing by writes and dirties nothing."""
    path = os.path.join(_cachestat_dir(), marker("csr"))
    n = CACHESTAT_PAGES
    with open(path, "wb") as f:
        f.write(os.urandom(n * 4096))
        f.flush()
        os.fsync(f.fileno())
        # Written back, so it can be dropped from the page cache.
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    # The reader opens with O_NOATIME and walks the extent map before it
    # says "ready": the reads add nothing but the file's own pages.
    last, t, recs = _cachestat_window(["pageread", path])
    check(last == str(n * 4096), "reader read %r bytes, not %d" % (last, n * 4096))
    check(t["misses"] == n and t["pages_added"] == n,
          "MISSES %d, pages added %d for %d pages read cold %s" %
          (t["misses"], t["pages_added"], n, short(recs, 600)))
    check(t["pages_added_by_writes"] == 0 and t["dirties"] == 0 and t["folios_dirtied"] == 0,
          "a read added by writes or dirtied: %s" % short(recs, 600))
    _check_cachestat_raw(recs)


def _cachestat_probes():
    """cachestat's probes from `loupe list -j`, by name."""
    out = loupe_list_json_cached()
    tool = [json.loads(l) for l in out.splitlines() if '"cachestat"' in l][0]
    return {pr["probe"]: pr for pr in tool["probes"]}


def _kernel_has_kprobes():
    # As test_hooks tells kernels apart (docs/kernels.md).
    return os.path.isdir("/sys/bus/event_source/devices/kprobe")


def test_cachestat_table_and_list():
    probes = _cachestat_probes()
    hits = probes.get("HITS: access")
    access = _kernel_has_kprobes()
    if access:
        check(hits and hits["hook"] == "fentry", "list shows HITS probe as %s" % short(hits))
    else:
        check(hits and hits["hook"] == "none" and hits["rejected"]
              and all(r["reason"] for r in hits["rejected"]),
              "list shows HITS probe as %s" % short(hits))
    # tp_btf hands over the folio: its size, and (with bpf_task_pt_regs)
    # whether a write added it. 6.1 and 6.18 both have them.
    for name in ("MISSES: add", "DIRTIES: dirty"):
        check(probes[name]["hook"] == "tp_btf", "%s hook %s" % (name, probes[name]))
    lp = Loupe("cachestat", "-i", "0.3", "-d", "1")
    rc = lp.wait_exit(10)
    lines = lp.lines()
    check(rc == 0, "exit status %s %s" % (rc, lp.describe()))
    check(lines[0].split() == ["HITS", "MISSES", "DIRTIES", "HITRATIO", "BUFFERS_MB",
                               "CACHED_MB"], "header %r" % lines[0])
    rows = [l.split() for l in lines[1:]]
    check(len(rows) >= 2, "only %d rows" % len(rows))
    for f in rows:
        check(f[1].isdigit() and f[2].isdigit(), "row %r" % f)
        if access:
            check(f[0].isdigit() and f[3].endswith("%"), "row %r: HITS, HITRATIO" % f)
        else:
            check(f[0] == "-" and f[3] == "-",
                  "row %r: HITS and HITRATIO must be '-' without an access hook" % f)
