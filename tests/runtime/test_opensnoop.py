"""opensnoop runtime tests."""
import base64
import os
import shutil
import subprocess
import time

from common import (Loupe, Server, bpf_ids_owned_by, bpftool_list, check, check_common,
                    fail, helper_bin, hms_window,
                    marker, open_row, short, spawn, table_escape, tmpdir)

O_WRONLY, O_CREAT, O_CLOEXEC = 0o1, 0o100, 0o2000000


def _warm_path():
    return "/loupe-warm-" + marker()


def _json_loupe(*extra):
    """Start `loupe opensnoop -j` and wait until a warm-up open is seen
    (failed opens of a missing path show up with and without -x)."""
    lp = Loupe("opensnoop", "-j", *extra)
    warm = _warm_path()

    def act():
        try:
            os.open(warm, os.O_RDONLY)
        except OSError:
            pass
    lp.ready(act, lambda e: e.get("path") == warm)
    return lp


def _helper(*args):
    """Run the C helper; return (pid, fd, err)."""
    p = spawn([helper_bin()] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=5)
    check(p.returncode == 0, "helper %s failed: %s" % (args, err.decode(errors="replace")))
    fd, e = out.split()
    return p.pid, int(fd), int(e)


def _by_path(path, pid=None):
    return lambda e: (e.get("type") == "open" and e.get("path") == path
                      and (pid is None or e.get("pid") == pid))


def test_open_json_basic():
    lp = _json_loupe()
    srv = Server()
    comm = marker("o")
    srv.set_comm(comm)
    path = os.path.join(tmpdir(), marker("file"))
    open(path, "w").close()
    fd = srv.open(path)
    check(fd >= 0, "helper could not open %s" % path)
    ev = lp.expect_event(_by_path(path, srv.pid), "open event for " + path)
    lp.stop()
    check_common(ev, "open")
    check(ev["pid"] == srv.pid and ev["tid"] == srv.pid,
          "pid/tid %s/%s != %d" % (ev["pid"], ev["tid"], srv.pid))
    check(ev["ppid"] == os.getpid(), "ppid %s != %d" % (ev["ppid"], os.getpid()))
    check(ev["comm"] == comm, "comm %r != %r" % (ev["comm"], comm))
    check(ev["fd"] == fd, "fd %s != %d (what open returned)" % (ev["fd"], fd))
    check(ev["ret"] == fd, "ret %s != %d" % (ev["ret"], fd))
    check(ev["err"] == 0, "err %s != 0" % ev["err"])
    check(ev["syscall"] == "openat", "syscall %r != 'openat' (glibc open)" % ev["syscall"])
    check(isinstance(ev["flags"], int) and ev["flags"] & 3 == os.O_RDONLY,
          "flags %r is not an O_RDONLY int" % ev["flags"])
    check(isinstance(ev["flags_str"], str) and "O_RDONLY" in ev["flags_str"].split("|"),
          "flags_str %r lacks O_RDONLY" % ev["flags_str"])
    check(ev["uid"] == 0, "uid %s != 0" % ev["uid"])
    check(lp.rc == 0, "exit status %s after SIGINT" % lp.rc)


def test_open_table_row():
    lp = Loupe("opensnoop")
    hdr = lp.wait_header()
    check(hdr.split() == ["PID", "COMM", "FD", "ERR", "PATH"], "header %r" % hdr)
    srv = Server()
    comm = marker("o")
    srv.set_comm(comm)
    path = os.path.join(tmpdir(), marker("file"))
    open(path, "w").close()
    missing = path + "-missing"
    fd = srv.open(path)
    check(srv.open(missing) == -2, "open of missing path did not fail with ENOENT")
    got = lp.wait_line(lambda l: l.endswith(" " + path) and l.startswith("%-7d " % srv.pid), 5)
    got2 = lp.wait_line(lambda l: l.endswith(" " + missing), 5)
    lp.stop()
    want = open_row(srv.pid, comm, fd, 0, path)
    want2 = open_row(srv.pid, comm, -1, 2, missing)
    check(got == want, "row %r != expected %r %s" % (got, want, lp.describe()))
    check(got2 == want2, "failed-open row %r != expected %r" % (got2, want2))


def test_open_timestamp_column():
    lp = Loupe("opensnoop", "-T")
    hdr = lp.wait_header()
    check(hdr.split() == ["TIME", "PID", "COMM", "FD", "ERR", "PATH"], "header %r" % hdr)
    srv = Server()
    comm = marker("o")
    srv.set_comm(comm)
    missing = "/loupe-missing-" + marker()
    t0 = time.time()
    srv.open(missing)
    t1 = time.time()
    got = lp.wait_line(lambda l: l.endswith(" " + missing), 5)
    lp.stop()
    check(got is not None, "no -T row for %s %s" % (missing, lp.describe()))
    check(got[:8] in hms_window(t0, t1) and got[8] == " ",
          "TIME column %r not HH:MM:SS of now" % got[:9])
    want = open_row(srv.pid, comm, -1, 2, missing)
    check(got[9:] == want, "row after TIME %r != %r" % (got[9:], want))


def test_open_failed_only_with_x():
    lp = _json_loupe("-x")
    srv = Server()
    d = tmpdir()
    ok_path = os.path.join(d, marker("exists"))
    open(ok_path, "w").close()
    missing = os.path.join(d, marker("missing"))
    check(srv.open(ok_path) >= 0, "could not open " + ok_path)
    check(srv.open(missing) == -2, "missing path did not fail with ENOENT")
    ev = lp.expect_event(_by_path(missing), "failed open event for " + missing)
    lp.wait_event(lambda e: False, 0.3)
    lp.stop()
    check_common(ev, "open")
    check(ev["fd"] == -1, "fd %s != -1" % ev["fd"])
    check(ev["err"] == 2, "err %s != 2 (ENOENT)" % ev["err"])
    check(ev["ret"] == -2, "ret %s != -2" % ev["ret"])
    check(ev["pid"] == srv.pid, "pid %s != %d" % (ev["pid"], srv.pid))
    okev = [e for e in lp.events() if e.get("path") == ok_path]
    check(not okev, "successful open reported under -x: %s" % short(okev))
    succ = [e for e in lp.events() if e.get("type") == "open" and e.get("err") == 0]
    check(not succ, "%d successful opens reported under -x, e.g. %s" %
          (len(succ), short(succ[:1])))


def test_open_failed_json_without_x():
    lp = _json_loupe()
    missing = "/loupe-missing-" + marker()
    try:
        os.open(missing, os.O_RDONLY)
    except OSError:
        pass
    ev = lp.expect_event(_by_path(missing), "failed open event without -x")
    lp.stop()
    check(ev["fd"] == -1 and ev["err"] == 2 and ev["ret"] == -2,
          "failed open: fd %s err %s ret %s, want -1 2 -2" % (ev["fd"], ev["err"], ev["ret"]))
    check(ev["pid"] == os.getpid(), "pid %s != %d" % (ev["pid"], os.getpid()))


def test_open_creat_flags():
    lp = _json_loupe()
    path = os.path.join(tmpdir(), marker("new"))
    pid, fd, err = _helper("creat", path)
    check(fd >= 0, "creat helper failed errno %d" % err)
    ev = lp.expect_event(_by_path(path, pid), "open(O_CREAT) event for " + path)
    lp.stop()
    want = O_WRONLY | O_CREAT | O_CLOEXEC
    check(ev["flags"] == want, "flags %r != %#o (O_WRONLY|O_CREAT|O_CLOEXEC)" %
          (ev["flags"], want))
    parts = ev["flags_str"].split("|")
    for f in ("O_WRONLY", "O_CREAT", "O_CLOEXEC"):
        check(f in parts, "flags_str %r lacks %s" % (ev["flags_str"], f))
    check(ev["pid"] == pid and ev["fd"] == fd and ev["err"] == 0,
          "pid/fd/err %s/%s/%s != %d/%d/0" % (ev["pid"], ev["fd"], ev["err"], pid, fd))
    check(ev["syscall"] == "openat", "syscall %r != 'openat'" % ev["syscall"])


def test_open_python_creat_flags_str():
    lp = _json_loupe()
    path = os.path.join(tmpdir(), marker("py"))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    ev = lp.expect_event(_by_path(path), "open event for " + path)
    lp.stop()
    check(ev["flags"] & O_CREAT, "flags %r lacks O_CREAT" % ev["flags"])
    check("O_CREAT" in ev["flags_str"].split("|"), "flags_str %r lacks O_CREAT" % ev["flags_str"])


def test_openat2():
    lp = _json_loupe()
    path = os.path.join(tmpdir(), marker("o2"))
    open(path, "w").close()
    pid, fd, err = _helper("openat2", path)
    check(fd >= 0, "openat2 helper failed errno %d" % err)
    ev = lp.expect_event(_by_path(path, pid), "openat2 event for " + path)
    lp.stop()
    check_common(ev, "open")
    check(ev["syscall"] == "openat2", "syscall %r != 'openat2'" % ev["syscall"])
    check(ev["pid"] == pid, "pid %s != %d" % (ev["pid"], pid))
    check(ev["fd"] == fd and ev["err"] == 0, "fd/err %s/%s != %d/0" % (ev["fd"], ev["err"], fd))
    check(ev["flags"] == O_CLOEXEC, "flags %r != %#o (O_RDONLY|O_CLOEXEC from open_how)" %
          (ev["flags"], O_CLOEXEC))
    check(ev["flags_str"] == "O_RDONLY|O_CLOEXEC", "flags_str %r != 'O_RDONLY|O_CLOEXEC'" %
          ev["flags_str"])


def test_openat2_failed():
    lp = _json_loupe("-x")
    missing = "/loupe-missing-" + marker()
    pid, fd, err = _helper("openat2", missing)
    check(fd == -1 and err == 2, "openat2 of missing path: %d %d" % (fd, err))
    ev = lp.expect_event(_by_path(missing), "failed openat2 event")
    lp.stop()
    check(ev["syscall"] == "openat2" and ev["fd"] == -1 and ev["err"] == 2,
          "syscall/fd/err %r/%s/%s != openat2/-1/2" % (ev["syscall"], ev["fd"], ev["err"]))


def test_open_legacy_syscall():
    lp = _json_loupe()
    path = os.path.join(tmpdir(), marker("lg"))
    open(path, "w").close()
    pid, fd, err = _helper("open", path)
    check(fd >= 0, "open helper failed errno %d" % err)
    ev = lp.expect_event(_by_path(path, pid), "open(2) event for " + path)
    lp.stop()
    check(ev["syscall"] == "open", "syscall %r != 'open'" % ev["syscall"])
    check(ev["pid"] == pid and ev["fd"] == fd, "pid/fd %s/%s != %d/%d" %
          (ev["pid"], ev["fd"], pid, fd))


def test_open_uid():
    lp = _json_loupe()
    missing = "/loupe-missing-" + marker()
    p = spawn(["/bin/cat", missing], user=65534)
    p.wait(5)
    ev = lp.expect_event(_by_path(missing), "open event of uid 65534 cat")
    lp.stop()
    check(ev["uid"] == 65534, "uid %s != 65534" % ev["uid"])
    check(ev["pid"] == p.pid and ev["comm"] == "cat",
          "pid/comm %s/%r != %d/'cat'" % (ev["pid"], ev["comm"], p.pid))
    check(ev["err"] == 2, "err %s != 2" % ev["err"])


# ---------------------------------------------------------------- long paths

PATH_MAX = 4096
ENAMETOOLONG = 36


def _long_path(total):
    """A path of about `total` bytes below a temp dir: nested directories of
    60-byte names (made, if below PATH_MAX), then a file name."""
    d = tmpdir()
    while len(d) + 62 < total - 20:
        d = os.path.join(d, (marker("d") + "_" * 60)[:60])
    if total < PATH_MAX:
        os.makedirs(d)
    path = os.path.join(d, marker("f"))
    if total < PATH_MAX:
        open(path, "w").close()
    return path


def _server_with_comm():
    srv = Server()
    comm = marker("o")
    srv.set_comm(comm)
    return srv, comm


def test_open_long_path_json():
    lp = _json_loupe()
    srv, comm = _server_with_comm()
    path = _long_path(900)
    check(255 < len(path) < PATH_MAX, "test path has %d bytes" % len(path))
    fd = srv.open(path)
    check(fd >= 0, "could not open %s" % path)
    ev = lp.expect_event(_by_path(path, srv.pid), "open of a %d-byte path" % len(path))
    lp.stop()
    check_common(ev, "open")
    check(ev["comm"] == comm and ev["fd"] == fd and ev["ret"] == fd and ev["err"] == 0,
          "comm/fd/ret/err %r/%r/%r/%r" % (ev["comm"], ev["fd"], ev["ret"], ev["err"]))
    check(ev["path_truncated"] is False and ev["path_unread"] is False,
          "path_truncated %r path_unread %r" % (ev["path_truncated"], ev["path_unread"]))


def test_open_long_path_table():
    lp = Loupe("opensnoop")
    lp.wait_header()
    srv, comm = _server_with_comm()
    path = _long_path(900)
    fd = srv.open(path)
    check(fd >= 0, "could not open %s" % path)
    got = lp.wait_line(lambda l: l.startswith("%-7d " % srv.pid) and path in l, 5)
    lp.stop()
    want = open_row(srv.pid, comm, fd, 0, path)
    check(got == want, "row %r != expected %r" % (got, want))


def test_open_path_too_long_truncated_json():
    """A path longer than PATH_MAX (refused with ENAMETOOLONG) is the only
    kind that is cut: its first 4096 bytes, marked."""
    lp = _json_loupe()
    srv, comm = _server_with_comm()
    path = _long_path(PATH_MAX + 900)
    check(srv.open(path) == -ENAMETOOLONG, "open of %d bytes did not fail with ENAMETOOLONG"
          % len(path))
    ev = lp.expect_event(lambda e: (e.get("pid") == srv.pid and e.get("type") == "open"
                                    and path.startswith(e.get("path") or "-")
                                    and len(e["path"]) > 255),
                         "open of a %d-byte path" % len(path))
    lp.stop()
    check(ev["path"] == path[:PATH_MAX], "path has %d bytes, want the first %d"
          % (len(ev["path"]), PATH_MAX))
    check(ev["path_truncated"] is True, "path_truncated %r != true" % ev["path_truncated"])
    check(ev["path_unread"] is False, "path_unread %r" % ev["path_unread"])
    check(ev["ret"] == -ENAMETOOLONG and ev["err"] == ENAMETOOLONG and ev["fd"] == -1,
          "ret/err/fd %r/%r/%r" % (ev["ret"], ev["err"], ev["fd"]))


def test_open_path_too_long_truncated_table():
    lp = Loupe("opensnoop")
    lp.wait_header()
    srv, comm = _server_with_comm()
    path = _long_path(PATH_MAX + 900)
    check(srv.open(path) == -ENAMETOOLONG, "open did not fail with ENAMETOOLONG")
    got = lp.wait_line(lambda l: l.startswith("%-7d " % srv.pid) and path[:300] in l, 5)
    lp.stop()
    want = open_row(srv.pid, comm, -1, ENAMETOOLONG, path[:PATH_MAX] + "\\[truncated]")
    check(got == want, "row (%d chars) != expected (%d chars): ...%r vs ...%r"
          % (len(got or ""), len(want), (got or "")[-60:], want[-60:]))


# ---------------------------------------------------------------- bytes that are not UTF-8

def _raw_open():
    """The C helper, copied under a name that is not UTF-8 (its comm), creates
    a file whose name is not UTF-8 and holds a newline and an ESC."""
    d = os.fsencode(tmpdir())
    comm = b"o\xff\x1b" + marker("")[:12].encode()
    exe = os.path.join(d, comm)
    shutil.copy(os.fsencode(helper_bin()), exe)
    os.chmod(exe, 0o755)
    path = os.path.join(d, marker("p").encode() + b"\xff\xfe\n\x1b[1m\\x")
    p = spawn([exe, b"creat", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=5)
    check(p.returncode == 0, "helper failed: %r" % err)
    fd, e = (int(x) for x in out.split())
    check(fd >= 0, "creat failed: errno %d" % e)
    return p.pid, comm, path, fd


def test_open_invalid_utf8_json():
    lp = _json_loupe()
    pid, comm, path, fd = _raw_open()

    def ours(e):
        return (e.get("pid") == pid and e.get("type") == "open"
                and base64.b64decode(e.get("path_b64") or "") == path)
    ev = lp.expect_event(ours, "open of %r" % path)
    lp.stop()
    check_common(ev, "open")
    check(ev["path"] == path.decode(errors="replace"), "path display %r" % ev["path"])
    check("\n\x1b[1m\\x" in ev["path"], "newline/ESC not kept in %r" % ev["path"])
    check(ev["comm"] == comm.decode(errors="replace"), "comm %r" % ev["comm"])
    check(base64.b64decode(ev.get("comm_b64") or "") == comm,
          "comm_b64 %r does not decode to %r" % (ev.get("comm_b64"), comm))
    check(ev["fd"] == fd and ev["ret"] == fd, "fd %r != %d" % (ev["fd"], fd))


def test_open_invalid_utf8_table():
    lp = Loupe("opensnoop")
    lp.wait_header()
    pid, comm, path, fd = _raw_open()
    want = open_row(pid, table_escape(comm), fd, 0, table_escape(path))
    got = lp.wait_line(lambda l: l.startswith("%-7d " % pid) and "\\xff\\xfe" in l, 5)
    lp.stop()
    check(got == want, "row %r != expected %r %s" % (got, want, lp.describe()))
    check("\x1b" not in got and "\\x0a\\x1b[1m\\\\x" in got, "bytes not escaped: %r" % got)


def test_open_path_lengths_around_short_record():
    """A path that fits the ring record reserved up front is read straight
    into it; one byte longer goes through the PATH_MAX area: both whole."""
    lp = _json_loupe()
    srv, _ = _server_with_comm()
    d = tmpdir()
    paths = []
    for total in range(72, 80):
        name = marker("s")
        path = os.path.join(d, name + "_" * (total - len(d) - 1 - len(name)))
        check(len(path) == total, "test path has %d bytes, not %d" % (len(path), total))
        open(path, "w").close()
        check(srv.open(path) >= 0, "could not open %s" % path)
        paths.append(path)
    evs = [lp.expect_event(_by_path(p, srv.pid), "open of a %d-byte path" % len(p))
           for p in paths]
    lp.stop()
    for p, ev in zip(paths, evs):
        check(ev["path_truncated"] is False and ev["path_unread"] is False,
              "%d-byte path: truncated %r unread %r" % (len(p), ev["path_truncated"],
                                                       ev["path_unread"]))


def test_open_raw_syscalls():
    """--raw-syscalls (what the overview uses): one link on sys_exit that
    tells open, openat and openat2 apart by number, same events."""
    lp = _json_loupe("--raw-syscalls")
    _, links = bpf_ids_owned_by(lp.pid)
    mine = [e for e in bpftool_list("link") if e["id"] in links]
    check([(e["type"], e.get("tp_name")) for e in mine] == [("raw_tracepoint", "sys_exit")],
          "links %r, expected one on sys_exit" % mine)
    d = tmpdir()
    got = {}
    for call in ("open", "openat2"):
        path = os.path.join(d, marker(call))
        open(path, "w").close()
        pid, fd, err = _helper(call, path)
        check(fd >= 0, "%s helper failed errno %d" % (call, err))
        got[call] = (lp.expect_event(_by_path(path, pid), "%s event" % call), pid, fd)
    missing = "/loupe-missing-" + marker()
    try:
        os.open(missing, os.O_RDONLY)
        fail("%s exists" % missing)
    except FileNotFoundError:
        pass
    got["openat"] = (lp.expect_event(_by_path(missing, os.getpid()), "failed openat event"),
                     os.getpid(), -1)
    lp.stop()
    for call, (ev, pid, fd) in got.items():
        check(ev["syscall"] == call and ev["pid"] == pid and ev["fd"] == fd
              and ev["err"] == (2 if fd < 0 else 0),
              "%s: syscall/pid/fd/err %r/%s/%s/%s" % (call, ev["syscall"], ev["pid"],
                                                      ev["fd"], ev["err"]))
    check(got["openat2"][0]["flags"] == O_CLOEXEC, "openat2 flags %r != O_CLOEXEC"
          % got["openat2"][0]["flags"])
