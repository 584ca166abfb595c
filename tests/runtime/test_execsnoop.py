"""execsnoop runtime tests."""
import base64
import os
import subprocess

from common import (Loupe, Server, bpf_ids_owned_by, bpftool_list, check, check_common,
                    copy_binary, exec_row, helper_bin, marker, short, spawn, table_escape,
                    tmpdir)


def _json_loupe(*extra):
    """Start `loupe execsnoop -j` and wait until a warm-up exec is seen."""
    lp = Loupe("execsnoop", "-j", *extra)
    d = tmpdir()
    warm = copy_binary("/bin/true", marker("w"), d)
    lp.ready(lambda: spawn([warm]).wait(5),
             lambda e: e.get("type") == "exec" and (e.get("args") or [None])[0] == warm)
    return lp


def _run_true(name, *args):
    """exec a copy of /bin/true named `name` with args; return (path, pid)."""
    path = copy_binary("/bin/true", name)
    p = spawn([path] + list(args))
    rc = p.wait(5)
    check(rc == 0, "%s exited %s" % (path, rc))
    return path, p.pid


def test_exec_json_basic():
    lp = _json_loupe()
    name = marker("x")                     # 14 chars: fits in comm
    a1, a2 = marker("a"), marker("b")
    path, pid = _run_true(name, a1, a2)
    ev = lp.expect_event(lambda e: (e.get("args") or [None])[0] == path, "exec event of " + path)
    lp.stop()
    check_common(ev, "exec")
    check(ev["pid"] == pid, "pid %s != child pid %d: %s" % (ev["pid"], pid, short(ev)))
    check(ev["tid"] == pid, "tid %s != %d" % (ev["tid"], pid))
    check(ev["ppid"] == os.getpid(), "ppid %s != %d (the parent)" % (ev["ppid"], os.getpid()))
    check(ev["ret"] == 0, "ret %s != 0" % ev["ret"])
    check(ev["args"] == [path, a1, a2], "args %r != %r" % (ev["args"], [path, a1, a2]))
    check(ev["args_truncated"] is False, "args_truncated %r != false" % ev["args_truncated"])
    check(ev["uid"] == 0, "uid %s != 0" % ev["uid"])
    check(ev["comm"] == name, "comm %r != %r (the exec'd program)" % (ev["comm"], name))
    check(lp.rc == 0, "exit status %s after SIGINT" % lp.rc)


def test_exec_table_row():
    lp = Loupe("execsnoop")
    hdr = lp.wait_header()
    check(hdr.split() == ["PCOMM", "PID", "PPID", "RET", "ARGS"], "header %r" % hdr)
    name = marker("t")
    arg = marker("a")
    path, pid = _run_true(name, arg, "two")
    want = exec_row(name, pid, os.getpid(), 0, "%s %s two" % (path, arg))
    got = lp.wait_line(lambda l: path in l, 5)
    lp.stop()
    check(got is not None, "no table row containing %s %s" % (path, lp.describe()))
    check(got == want, "row %r != expected %r" % (got, want))


def test_exec_timestamp_column():
    import time
    from common import hms_window
    lp = Loupe("execsnoop", "-T")
    hdr = lp.wait_header()
    check(hdr.split() == ["TIME", "PCOMM", "PID", "PPID", "RET", "ARGS"], "header %r" % hdr)
    name = marker("t")
    t0 = time.time()
    path, pid = _run_true(name)
    t1 = time.time()
    got = lp.wait_line(lambda l: path in l, 5)
    lp.stop()
    check(got is not None, "no -T row for %s %s" % (path, lp.describe()))
    check(got[:8] in hms_window(t0, t1) and got[8] == " ",
          "TIME column %r not HH:MM:SS of now" % got[:9])
    want = exec_row(name, pid, os.getpid(), 0, path)
    check(got[9:] == want, "row after TIME %r != %r" % (got[9:], want))


def test_exec_long_argv_truncated_json():
    lp = _json_loupe()
    args = ["a%02d" % i for i in range(40)]
    path, pid = _run_true(marker("l"), *args)
    ev = lp.expect_event(lambda e: (e.get("args") or [None])[0] == path, "exec event of " + path)
    lp.stop()
    check(ev["args_truncated"] is True, "args_truncated %r != true for 40 args" %
          ev["args_truncated"])
    got = ev["args"][1:]
    check(got == args[:len(got)], "args are not a prefix of argv: %r" % ev["args"])
    check(19 <= len(got) <= 20, "%d argv entries kept, expected ~20 (--max-args default 20)"
          % len(got))


def test_exec_long_argv_truncated_table():
    lp = Loupe("execsnoop")
    lp.wait_header()
    args = ["a%02d" % i for i in range(40)]
    path, pid = _run_true(marker("l"), *args)
    got = lp.wait_line(lambda l: path in l, 5)
    lp.stop()
    check(got is not None, "no row for %s %s" % (path, lp.describe()))
    check(got.endswith(" a18 \\[truncated]"),
          "truncated ARGS row does not end with ' a18 \\[truncated]': %r" % got)
    check(" a39" not in got, "row shows argv beyond the limit: %r" % got)


def test_exec_max_args_flag():
    lp = _json_loupe("--max-args", "5")
    args = ["m%d" % i for i in range(10)]
    path, _ = _run_true(marker("m"), *args)
    short_path, _ = _run_true(marker("s"), "x1", "x2")
    ev = lp.expect_event(lambda e: (e.get("args") or [None])[0] == path, "exec of " + path)
    ev2 = lp.expect_event(lambda e: (e.get("args") or [None])[0] == short_path, "exec of " + short_path)
    lp.stop()
    got = ev["args"][1:]
    check(ev["args_truncated"] is True and got == args[:len(got)] and 4 <= len(got) <= 5,
          "--max-args 5 with 10 args gave %r truncated=%r" % (ev["args"], ev["args_truncated"]))
    check(ev2["args"] == [short_path, "x1", "x2"] and ev2["args_truncated"] is False,
          "short argv under --max-args 5: %r" % ev2)


def test_exec_failed_shown_with_x():
    lp = _json_loupe("-x")
    srv = Server()
    missing = os.path.join(tmpdir(), marker("missing"))
    a1 = marker("f")
    err = srv.exec_fail(missing, a1)
    check(err == 2, "exec of missing path gave errno %d" % err)
    ev = lp.expect_event(lambda e: (e.get("args") or [None])[0] == missing, "failed exec event")
    lp.stop()
    check_common(ev, "exec")
    check(ev["ret"] == -2, "ret %s != -2 (ENOENT)" % ev["ret"])
    check(ev["pid"] == srv.pid, "pid %s != %d" % (ev["pid"], srv.pid))
    check(ev["ppid"] == os.getpid(), "ppid %s != %d" % (ev["ppid"], os.getpid()))
    check(ev["args"] == [missing, a1], "args %r != %r" % (ev["args"], [missing, a1]))


def test_exec_failed_table_with_x():
    lp = Loupe("execsnoop", "-x")
    lp.wait_header()
    srv = Server()
    comm = marker("c")
    srv.set_comm(comm)
    missing = os.path.join(tmpdir(), marker("missing"))
    srv.exec_fail(missing)
    got = lp.wait_line(lambda l: missing in l, 5)
    lp.stop()
    want = exec_row(comm, srv.pid, os.getpid(), -2, missing)
    check(got == want, "row %r != expected %r %s" % (got, want, lp.describe()))


def test_exec_failed_hidden_without_x():
    lp = _json_loupe()
    srv = Server()
    missing = os.path.join(tmpdir(), marker("missing"))
    srv.exec_fail(missing)
    # a successful exec afterwards: once it is seen, the failed one would have been too
    path, _ = _run_true(marker("ok"))
    lp.expect_event(lambda e: (e.get("args") or [None])[0] == path, "exec event of " + path)
    lp.wait_event(lambda e: False, 0.3)
    lp.stop()
    bad = [e for e in lp.events() if missing in (e.get("args") or [])]
    check(not bad, "failed exec reported without -x: %s" % short(bad))


def test_execveat():
    helpers = helper_bin()
    lp = _json_loupe()
    d = tmpdir()
    name = marker("v")
    path = copy_binary("/bin/true", name, d)
    a1 = marker("a")
    p = spawn([helpers, "execveat", d, name, a1], stdout=subprocess.PIPE,
              stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=5)
    check(p.returncode == 0, "execveat helper failed: %s" % err.decode(errors="replace"))

    def is_ours(e):
        a = e.get("args") or []
        return len(a) == 2 and a[1] == a1
    ev = lp.expect_event(is_ours, "execveat event (argv marker %s)" % a1)
    lp.stop()
    check_common(ev, "exec")
    check(ev["pid"] == p.pid, "pid %s != %d" % (ev["pid"], p.pid))
    check(ev["ret"] == 0, "ret %s != 0" % ev["ret"])
    f = ev["args"][0]
    check(f in (name, path) or (f.startswith("/dev/fd/") and f.endswith("/" + name)),
          "filename %r is neither %r nor %r" % (f, name, path))


def test_exec_raw_syscalls():
    """--raw-syscalls (what the overview uses): two links, on sys_enter and
    sys_exit, that pick execve and execveat by number; an exec, a failed
    one and an execveat come out as with the four syscall tracepoints."""
    lp = _json_loupe("--raw-syscalls", "-x")
    _, links = bpf_ids_owned_by(lp.pid)
    mine = sorted((e["type"], e.get("tp_name")) for e in bpftool_list("link")
                  if e["id"] in links)
    check(mine == [("raw_tracepoint", "sys_enter"), ("raw_tracepoint", "sys_exit")],
          "links %r, expected sys_enter and sys_exit" % mine)
    a1 = marker("a")
    path, pid = _run_true(marker("r"), a1)
    srv = Server()
    missing = os.path.join(tmpdir(), marker("missing"))
    check(srv.exec_fail(missing, a1) == 2, "exec of a missing path did not fail")
    d = tmpdir()
    name = marker("v")
    copy_binary("/bin/true", name, d)
    at = spawn([helper_bin(), "execveat", d, name, a1])
    check(at.wait(5) == 0, "execveat helper failed")
    want = {"execve": (path, pid, 0, [path, a1]),
            "failed": (missing, srv.pid, -2, [missing, a1])}
    for what, (first, wpid, ret, args) in want.items():
        ev = lp.expect_event(lambda e, f=first: (e.get("args") or [None])[0] == f,
                             "%s event" % what)
        check(ev["pid"] == wpid and ev["ret"] == ret and ev["args"] == args,
              "%s: pid/ret/args %s/%s/%r, want %d/%d/%r" %
              (what, ev["pid"], ev["ret"], ev["args"], wpid, ret, args))
    ev = lp.expect_event(lambda e: e.get("pid") == at.pid and (e.get("args") or [])[1:] == [a1],
                         "execveat event")
    lp.stop()
    check(ev["ret"] == 0, "execveat ret %s != 0" % ev["ret"])


# ---------------------------------------------------------------- strings not paged in

def _unpaged_exec(where, path, *args):
    """Run the C helper (copied under a unique name: its comm) to exec path
    with args in a never-touched file mapping (see helpers.c exec-unpaged).
    Returns (pid, comm, reply) where reply is (errno, page_present) if the
    exec failed, None if it succeeded."""
    comm = marker("h")
    exe = copy_binary(helper_bin(), comm)
    p = spawn([exe, "exec-unpaged", where, path] + list(args),
              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=5)
    check(p.returncode != 3, "helper: the fresh mapping was resident already")
    check(p.returncode == 0, "helper exited %s: %s" % (p.returncode, err.decode(errors="replace")))
    words = out.decode().split()
    reply = None
    if words:
        check(words[0] == "err" and len(words) == 3, "helper said %r" % out)
        reply = int(words[1]), int(words[2])
    return p.pid, comm, reply


def _exec_event(lp, pid, path):
    """The exec of path by pid (the helper's own exec has the same pid)."""
    return lp.expect_event(lambda e: (e.get("type") == "exec" and e.get("pid") == pid
                                      and (e.get("args") or [None])[0] == path),
                           "exec of %s by %d" % (path, pid))


def _exec_line(lp, path):
    return lp.wait_line(lambda l: path in l and " exec-unpaged " not in l, 5)


def test_exec_failed_unpaged_args_reread():
    """A failed exec whose strings were not resident at entry: getname() pages
    them in (filename and args share the page), the exit reads them again."""
    lp = _json_loupe("-x")
    missing = os.path.join(tmpdir(), marker("missing"))
    a1, a2 = marker("a"), marker("b")
    pid, comm, reply = _unpaged_exec("same", missing, a1, a2)
    check(reply == (2, 1), "helper reply %r != (ENOENT, page present)" % (reply,))
    ev = _exec_event(lp, pid, missing)
    lp.stop()
    check_common(ev, "exec")
    check(ev["ppid"] == os.getpid(), "ppid %s != %d" % (ev["ppid"], os.getpid()))
    check(ev["comm"] == comm, "comm %r != %r (the caller)" % (ev["comm"], comm))
    check(ev["ret"] == -2, "ret %s != -2" % ev["ret"])
    check(ev["args"] == [missing, a1, a2], "args %r != %r" % (ev["args"], [missing, a1, a2]))
    check(ev["args_unread"] is False and ev["args_truncated"] is False,
          "args_unread %r args_truncated %r, want false" % (ev["args_unread"], ev["args_truncated"]))


def test_exec_failed_unpaged_args_script():
    """Args alone in an untouched page; the exec fails after the kernel copied
    them (a script whose interpreter is missing): exact args at exit."""
    lp = _json_loupe("-x")
    d = tmpdir()
    script = os.path.join(d, marker("s"))
    with open(script, "w") as f:
        f.write("#!%s/%s\n" % (d, marker("nointerp")))
    os.chmod(script, 0o755)
    a1, a2 = marker("a"), marker("b")
    pid, comm, reply = _unpaged_exec("apart", script, a1, a2)
    check(reply == (2, 1), "helper reply %r != (ENOENT, page present)" % (reply,))
    ev = _exec_event(lp, pid, script)
    lp.stop()
    check(ev["comm"] == comm and ev["ret"] == -2, "comm/ret %r/%r" % (ev["comm"], ev["ret"]))
    check(ev["args"] == [script, a1, a2], "args %r != %r" % (ev["args"], [script, a1, a2]))
    check(ev["args_unread"] is False, "args_unread %r" % ev["args_unread"])


def _untouched_expect(missing, a1, present):
    """Whether the kernel read the args before failing depends on the kernel
    (6.1 copies argv before opening the file, 6.18 opens it first): the
    helper reports it, and the args are whole, or flagged."""
    if present:
        return [missing, a1], False, "%s %s" % (missing, a1)
    return [missing], True, missing + " \\[unread]"


def test_exec_failed_untouched_args_flagged():
    lp = _json_loupe("-x")
    missing = os.path.join(tmpdir(), marker("missing"))
    a1 = marker("a")
    pid, comm, reply = _unpaged_exec("apart", missing, a1)
    check(reply is not None and reply[0] == 2, "helper reply %r" % (reply,))
    ev = _exec_event(lp, pid, missing)
    lp.stop()
    args, unread, _ = _untouched_expect(missing, a1, reply[1])
    check(ev["ret"] == -2 and ev["comm"] == comm, "ret/comm %r/%r" % (ev["ret"], ev["comm"]))
    check(ev["args"] == args and ev["args_unread"] is unread,
          "args %r unread %r != %r %r (page present: %d)"
          % (ev["args"], ev["args_unread"], args, unread, reply[1]))


def test_exec_failed_untouched_args_table():
    lp = Loupe("execsnoop", "-x")
    lp.wait_header()
    missing = os.path.join(tmpdir(), marker("missing"))
    a1 = marker("a")
    pid, comm, reply = _unpaged_exec("apart", missing, a1)
    check(reply is not None and reply[0] == 2, "helper reply %r" % (reply,))
    got = _exec_line(lp, missing)
    lp.stop()
    want = exec_row(comm, pid, os.getpid(), -2, _untouched_expect(missing, a1, reply[1])[2])
    check(got == want, "row %r != expected %r %s" % (got, want, lp.describe()))


def test_exec_ok_unpaged_args_flagged():
    """A successful exec replaces the image: args unread at entry are lost,
    and the event says so instead of showing the filename alone."""
    lp = _json_loupe()
    name = marker("k")
    path = copy_binary("/bin/true", name)
    pid, _, reply = _unpaged_exec("apart", path, marker("a"), marker("b"))
    check(reply is None, "exec of %s failed: %r" % (path, reply))
    ev = _exec_event(lp, pid, path)
    lp.stop()
    check_common(ev, "exec")
    check(ev["comm"] == name and ev["ret"] == 0, "comm/ret %r/%r" % (ev["comm"], ev["ret"]))
    check(ev["args"] == [path], "args %r != [%r]" % (ev["args"], path))
    check(ev["args_unread"] is True, "args_unread %r != true" % ev["args_unread"])
    check(ev["args_truncated"] is False, "args_truncated %r" % ev["args_truncated"])


def test_exec_ok_unpaged_args_table():
    lp = Loupe("execsnoop")
    lp.wait_header()
    name = marker("k")
    path = copy_binary("/bin/true", name)
    pid, _, reply = _unpaged_exec("apart", path, marker("a"))
    check(reply is None, "exec of %s failed: %r" % (path, reply))
    got = _exec_line(lp, path)
    lp.stop()
    want = exec_row(name, pid, os.getpid(), 0, path + " \\[unread]")
    check(got == want, "row %r != expected %r %s" % (got, want, lp.describe()))


# ---------------------------------------------------------------- bytes that are not UTF-8

def _run_raw(path, *args):
    p = spawn([path] + list(args))
    check(p.wait(5) == 0, "%s failed" % path)
    return p.pid


def test_exec_invalid_utf8_args_json():
    lp = _json_loupe()
    path = copy_binary("/bin/true", marker("u"))
    raw = marker("r").encode() + b"\xff\xfe\n\x1b[1m\\"
    pid = _run_raw(path, raw, "plain")
    ev = _exec_event(lp, pid, path)
    lp.stop()
    want = [path.encode(), raw, b"plain"]
    check(ev["args"] == [w.decode(errors="replace") for w in want],
          "args display %r" % ev["args"])
    check("args_b64" in ev, "no args_b64 for an argument that is not UTF-8: %s" % short(ev))
    got = [base64.b64decode(x) for x in ev["args_b64"]]
    check(got == want, "args_b64 decodes to %r != %r" % (got, want))


def test_exec_invalid_utf8_args_table():
    lp = Loupe("execsnoop")
    lp.wait_header()
    name = marker("u")
    path = copy_binary("/bin/true", name)
    raw = marker("r").encode() + b"\xff\xfe\n\x1b[1m\\"
    pid = _run_raw(path, raw)
    got = lp.wait_line(lambda l: path in l, 5)
    lp.stop()
    want = exec_row(name, pid, os.getpid(), 0, path + " " + table_escape(raw))
    check(got == want, "row %r != expected %r" % (got, want))
    check("\\xff\\xfe\\x0a\\x1b[1m\\\\" in got, "bytes not escaped in %r" % got)
