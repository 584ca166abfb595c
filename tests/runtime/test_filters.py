"""-p / -n / --cgroup filters (in-kernel), checked with real activity."""
import os
import sys
import time

from common import (Cgroup, Loupe, Server, check, check_common, copy_binary,
                    exit_row_prefix, marker, open_row, parse_exit_rest, same_cgroup_path,
                    short, spawn, tmpdir, unique_comm)


def _try_open(path):
    try:
        os.close(os.open(path, os.O_RDONLY))
    except OSError:
        pass


def _path_is(path):
    return lambda e: e.get("path") == path


def _open_filter_run(srv, lp, other):
    """Warm up through srv, then: `other` (not matching) opens B, srv opens A.
    Returns (event A, events with path B)."""
    warm = "/loupe-warm-" + marker()
    lp.ready(lambda: srv.open(warm), _path_is(warm))
    a, b = "/loupe-a-" + marker(), "/loupe-b-" + marker()
    other(b)                 # happens first: if unfiltered, it would show before A
    srv.open(a)
    ev = lp.expect_event(_path_is(a), "event for the filtered process (%s)" % a)
    lp.wait_event(lambda e: False, 0.3)
    lp.stop()
    return ev, [e for e in lp.events() if e.get("path") == b]


def test_pid_filter_opensnoop():
    srv = Server()
    lp = Loupe("opensnoop", "-j", "-p", srv.pid)
    ev, leaked = _open_filter_run(srv, lp, _try_open)
    check(ev["pid"] == srv.pid, "pid %s != %d" % (ev["pid"], srv.pid))
    check(not leaked, "-p %d shows another process's open: %s" % (srv.pid, short(leaked)))
    others = {e.get("pid") for e in lp.events()} - {srv.pid}
    check(not others, "-p %d shows events of pids %s" % (srv.pid, sorted(others)))


def test_pid_filter_opensnoop_table():
    srv = Server()
    comm = marker("p")
    srv.set_comm(comm)
    lp = Loupe("opensnoop", "-p", srv.pid)
    lp.wait_header()
    b = "/loupe-b-" + marker()
    a = "/loupe-a-" + marker()
    _try_open(b)
    srv.open(a)
    got = lp.wait_line(lambda l: l.endswith(" " + a), 5)
    lp.wait_line(lambda l: False, 0.3)
    lp.stop()
    check(got == open_row(srv.pid, comm, -1, 2, a),
          "row %r != %r %s" % (got, open_row(srv.pid, comm, -1, 2, a), lp.describe()))
    rows = lp.lines()[1:]
    bad = [l for l in rows if not l.startswith("%-7d " % srv.pid)]
    check(not bad, "-p %d table has rows of other pids: %s" % (srv.pid, short(bad)))


def test_pid_filter_execsnoop():
    srv = Server()
    lp = Loupe("execsnoop", "-j", "-p", srv.pid)
    py = sys.executable
    warm = marker("w")
    n = [0]

    def act():
        n[0] += 1
        srv.exec_serve(py, warm, str(n[0]))
    lp.ready(act, lambda e: warm in (e.get("args") or []))
    # another process execs first, then the filtered pid re-execs itself
    other = copy_binary("/bin/true", marker("o"))
    spawn([other]).wait(5)
    mark = marker("m")
    srv.exec_serve(py, mark)
    ev = lp.expect_event(lambda e: mark in (e.get("args") or []), "exec of pid %d" % srv.pid)
    lp.wait_event(lambda e: False, 0.3)
    lp.stop()
    check(ev["pid"] == srv.pid, "pid %s != %d" % (ev["pid"], srv.pid))
    check(ev["args"] == [py, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                          "helper_serve.py"), mark],
          "args %r" % ev["args"])
    leaked = [e for e in lp.events() if (e.get("args") or [None])[0] == other]
    check(not leaked, "-p shows another process's exec: %s" % short(leaked))


def test_pid_filter_exitsnoop():
    target, other = Server(), Server()
    lp = Loupe("exitsnoop", "-j", "-p", target.pid)
    lp.wait_attached()       # one exit per pid: no repeatable warm-up possible
    target.exit(3)           # the target exits first, the other one after it
    other.exit(4)
    ev = lp.expect_event(lambda e: e.get("pid") == target.pid, "exit of pid %d" % target.pid)
    lp.wait_event(lambda e: False, 0.5)
    lp.stop()
    check(ev["exit_code"] == 3, "exit_code %r != 3" % ev["exit_code"])
    leaked = [e for e in lp.events() if e.get("pid") != target.pid]
    check(not leaked, "-p %d shows other exits: %s" % (target.pid, short(leaked)))


def test_name_filter_opensnoop():
    comm = unique_comm()                  # exactly 15 characters
    srv = Server()
    srv.set_comm(comm)
    lp = Loupe("opensnoop", "-j", "-n", comm)
    ev, leaked = _open_filter_run(srv, lp, _try_open)
    check(ev["comm"] == comm and ev["pid"] == srv.pid,
          "comm/pid %r/%s != %r/%d" % (ev["comm"], ev["pid"], comm, srv.pid))
    check(not leaked, "-n %s shows another comm's open: %s" % (comm, short(leaked)))
    others = {e.get("comm") for e in lp.events()} - {comm}
    check(not others, "-n %s shows events of comms %s" % (comm, sorted(others)))


def test_name_filter_prefix_does_not_match():
    comm = unique_comm()
    srv = Server()
    srv.set_comm(comm)
    other = Server()
    other.set_comm(comm[:10])             # a prefix of the filter: must not match
    lp = Loupe("opensnoop", "-j", "-n", comm)
    ev, leaked = _open_filter_run(srv, lp, other.open)
    check(not leaked, "-n %s matched comm %r: %s" % (comm, comm[:10], short(leaked)))


def test_name_filter_execsnoop():
    comm = unique_comm()
    d = tmpdir()
    link = os.path.join(d, comm)          # exec through it => comm == its name
    os.symlink(sys.executable, link)
    srv = Server(exe=link)
    lp = Loupe("execsnoop", "-j", "-n", comm)
    warm = marker("w")
    n = [0]

    def act():
        n[0] += 1
        srv.exec_serve(link, warm, str(n[0]))
    lp.ready(act, lambda e: warm in (e.get("args") or []))
    other = copy_binary("/bin/true", marker("o"), d)
    spawn([other]).wait(5)
    mark = marker("m")
    srv.exec_serve(link, mark)
    ev = lp.expect_event(lambda e: mark in (e.get("args") or []), "exec by comm " + comm)
    lp.wait_event(lambda e: False, 0.3)
    lp.stop()
    check(ev["comm"] == comm and ev["pid"] == srv.pid,
          "comm/pid %r/%s != %r/%d" % (ev["comm"], ev["pid"], comm, srv.pid))
    check(ev["args"][0] == link and ev["args"][-1] == mark, "args %r" % ev["args"])
    leaked = [e for e in lp.events() if e.get("comm") != comm]
    check(not leaked, "-n %s shows other comms: %s" % (comm, short(leaked)))


def test_name_filter_exitsnoop():
    comm = unique_comm()
    d = tmpdir()
    true_copy = copy_binary("/bin/true", comm, d)   # exits with comm == comm
    lp = Loupe("exitsnoop", "-j", "-n", comm)
    pids = set()

    def act():
        p = spawn([true_copy])
        pids.add(p.pid)
        p.wait(5)
    lp.ready(act, lambda e: e.get("pid") in pids)
    other = Server()
    other.exit(6)
    srv = Server()
    srv.set_comm(comm)
    srv.exit(7)
    ev = lp.expect_event(lambda e: e.get("pid") == srv.pid, "exit of comm %s" % comm)
    lp.wait_event(lambda e: False, 0.3)
    lp.stop()
    check(ev["exit_code"] == 7 and ev["comm"] == comm, "event %s" % short(ev))
    leaked = [e for e in lp.events() if e.get("comm") != comm]
    check(not leaked, "-n %s shows other comms: %s" % (comm, short(leaked)))


def test_name_filter_table():
    comm = unique_comm()
    d = tmpdir()
    true_copy = copy_binary("/bin/true", comm, d)
    lp = Loupe("exitsnoop", "-n", comm)
    lp.wait_header()
    other = copy_binary("/bin/true", marker("o"), d)
    spawn([other]).wait(5)
    p = spawn([true_copy])
    p.wait(5)
    prefix = exit_row_prefix(comm, p.pid, os.getpid(), p.pid)
    got = lp.wait_line(lambda l: l.startswith(prefix), 5)
    lp.wait_line(lambda l: False, 0.3)
    lp.stop()
    check(got is not None, "no row starting %r %s" % (prefix, lp.describe()))
    rest = parse_exit_rest(got[len(prefix):])
    check(rest is not None and rest[1] == "0", "EXIT_CODE of %r != '0'" % got)
    check(len(lp.lines()) == 2, "-n %s table has extra rows: %s" % (comm, short(lp.lines()[2:])))


def test_cgroup_filter_opensnoop():
    cg = Cgroup()
    srv = Server()
    cg.add(srv.pid)
    lp = Loupe("opensnoop", "-j", "--cgroup", cg.path)
    ev, leaked = _open_filter_run(srv, lp, _try_open)
    check_common(ev, "open")
    check(ev["pid"] == srv.pid, "pid %s != %d" % (ev["pid"], srv.pid))
    check(same_cgroup_path(ev["cgroup"], cg.rel),
          "cgroup %r != %r (path relative to the cgroup2 root)" % (ev["cgroup"], cg.rel))
    check(ev["cgroup_id"] == cg.id, "cgroup_id %s != %d (inode of %s)" %
          (ev["cgroup_id"], cg.id, cg.path))
    check(not leaked, "--cgroup shows an open from outside the cgroup: %s" % short(leaked))
    others = {e.get("pid") for e in lp.events()} - {srv.pid}
    check(not others, "--cgroup shows events of pids %s" % sorted(others))


def test_cgroup_filter_includes_descendants():
    cg = Cgroup()
    sub = Cgroup(parent=cg)
    srv, inner = Server(), Server()
    cg.add(srv.pid)
    sub.add(inner.pid)
    lp = Loupe("opensnoop", "-j", "--cgroup", cg.path)
    warm = "/loupe-warm-" + marker()
    lp.ready(lambda: srv.open(warm), _path_is(warm))
    b, c = "/loupe-b-" + marker(), "/loupe-c-" + marker()
    _try_open(b)             # outside the cgroup: must not show
    inner.open(c)            # in a child cgroup: must show
    ev = lp.expect_event(_path_is(c), "open from the nested cgroup %s" % sub.path)
    lp.wait_event(lambda e: False, 0.3)
    lp.stop()
    check(ev["pid"] == inner.pid, "pid %s != %d" % (ev["pid"], inner.pid))
    check(same_cgroup_path(ev["cgroup"], sub.rel), "cgroup %r != %r" % (ev["cgroup"], sub.rel))
    check(ev["cgroup_id"] == sub.id, "cgroup_id %s != %d" % (ev["cgroup_id"], sub.id))
    leaked = [e for e in lp.events() if e.get("path") == b]
    check(not leaked, "--cgroup shows an open from outside: %s" % short(leaked))


def test_cgroup_filter_exitsnoop_table():
    cg = Cgroup()
    srv, out = Server(), Server()
    comm = marker("g")
    srv.set_comm(comm)
    cg.add(srv.pid)
    lp = Loupe("exitsnoop", "--cgroup", cg.path)
    lp.wait_header()
    out.exit(1)
    srv.exit(9)
    prefix = "%-16s %-7d " % (comm, srv.pid)
    got = lp.wait_line(lambda l: l.startswith(prefix), 5)
    lp.wait_line(lambda l: False, 0.3)
    lp.stop()
    check(got is not None and got.endswith(" code 9"), "row %r %s" % (got, lp.describe()))
    check(len(lp.lines()) == 2, "--cgroup table has extra rows: %s" % short(lp.lines()[2:]))


def test_cgroup_field_without_cgroup_filter():
    """The cgroup / cgroup_id fields are filled in even when not filtering by cgroup."""
    cg = Cgroup()
    srv = Server()
    cg.add(srv.pid)
    lp = Loupe("opensnoop", "-j", "-p", srv.pid)
    warm = "/loupe-warm-" + marker()
    lp.ready(lambda: srv.open(warm), _path_is(warm))
    a = "/loupe-a-" + marker()
    srv.open(a)
    ev = lp.expect_event(_path_is(a), "open event " + a)
    lp.stop()
    check(same_cgroup_path(ev["cgroup"], cg.rel), "cgroup %r != %r" % (ev["cgroup"], cg.rel))
    check(ev["cgroup_id"] == cg.id, "cgroup_id %s != %d" % (ev["cgroup_id"], cg.id))


# ---------------------------------------------------------------- -p ends with its process

def _ended_by_exit(lp, pid, t_exit, tool):
    """loupe ended by itself soon after pid exited, with exit status 0 and
    the reason as its last stderr line."""
    rc = lp.wait_exit(5, "after pid %d exited" % pid)
    took = time.monotonic() - t_exit
    check(rc == 0, "exit status %s != 0 %s" % (rc, lp.describe()))
    check(took < 3, "loupe %s ended %.1fs after its process exited" % (tool, took))
    err = lp.stderr_lines()
    want = "loupe: %s: process %d exited; tracing ended" % (tool, pid)
    check(err and err[-1] == want, "last stderr line %r != %r" % (err[-1:] or None, want))


def test_pid_exit_ends_opensnoop():
    srv = Server()
    lp = Loupe("opensnoop", "-j", "-p", srv.pid)
    warm = "/loupe-warm-" + marker()
    lp.ready(lambda: srv.open(warm), _path_is(warm))
    last = "/loupe-last-" + marker()
    srv.open(last)
    srv.exit(0)
    t_exit = time.monotonic()
    _ended_by_exit(lp, srv.pid, t_exit, "opensnoop")
    check([e for e in lp.events() if e.get("path") == last and e.get("pid") == srv.pid],
          "the child's last open (%s) is missing %s" % (last, lp.describe()))


test_pid_exit_ends_opensnoop.serial = True  # ends < 3 s after the process


def test_pid_exit_ends_opensnoop_table():
    srv = Server()
    comm = marker("t")
    srv.set_comm(comm)
    lp = Loupe("opensnoop", "-p", srv.pid)
    lp.wait_header()
    lp.wait_attached()
    path = "/loupe-t-" + marker()
    srv.open(path)
    srv.exit(0)
    t_exit = time.monotonic()
    _ended_by_exit(lp, srv.pid, t_exit, "opensnoop")
    check(open_row(srv.pid, comm, -1, 2, path) in lp.lines(),
          "row for the child's open missing: %s" % short(lp.lines()))


test_pid_exit_ends_opensnoop_table.serial = True  # ends < 3 s after the process


def test_pid_exit_ends_exitsnoop_with_its_exit():
    srv = Server()
    lp = Loupe("exitsnoop", "-j", "-p", srv.pid)
    lp.wait_attached()
    srv.exit(7)
    t_exit = time.monotonic()
    _ended_by_exit(lp, srv.pid, t_exit, "exitsnoop")
    mine = [e for e in lp.events() if e.get("pid") == srv.pid and e.get("tid") == srv.pid]
    check(len(mine) == 1 and mine[0].get("exit_code") == 7,
          "want the child's own exit (code 7), got %s %s" % (short(mine), lp.describe()))


test_pid_exit_ends_exitsnoop_with_its_exit.serial = True  # ends < 3 s after the process


def test_pid_exit_ends_syscount_with_final_counts():
    srv = Server()
    n = 50
    lp = Loupe("syscount", "-j", "-p", srv.pid)
    lp.wait_attached()
    for i in range(n):
        srv.open("/loupe-sc-%d-%s" % (i, marker()))
    srv.exit(0)
    t_exit = time.monotonic()
    _ended_by_exit(lp, srv.pid, t_exit, "syscount")
    rows = [e for e in lp.events() if e.get("type") == "syscount" and e.get("syscall") == "openat"]
    check(len(rows) == 1 and rows[0]["count"] >= n,
          "final table: want openat counted >= %d, got %s" % (n, short(lp.events(), 600)))


test_pid_exit_ends_syscount_with_final_counts.serial = True  # ends < 3 s after the process


def test_trace_pid_still_filters():
    """trace parses -p with the common parser but has its own loop (not
    ended by the process's exit yet): a run with -p still works."""
    srv = Server()
    lp = Loupe("trace", "-p", srv.pid, "-d", "3", "-e",
               "tracepoint:syscalls:sys_enter_openat /pid == %d/ "
               "{ printf(\"%%s\\n\", str(args->filename)); }" % srv.pid)
    check(lp.wait_line(lambda l: l.startswith("Attaching"), 15) is not None,
          "trace never attached %s" % lp.describe())
    time.sleep(0.5)
    path = "/loupe-trace-" + marker()
    srv.open(path)
    check(lp.wait_line(lambda l: l == path, 5) is not None,
          "trace -p %d did not print the open of %s %s" % (srv.pid, path, lp.describe()))
    rc = lp.wait_exit(10, "with -d 3")
    check(rc == 0, "exit status %s %s" % (rc, lp.describe()))
