"""exitsnoop runtime tests."""
import os
import resource
import signal
import time

from common import (Loupe, Server, Skip, check, check_common, exit_row_prefix, marker,
                    parse_exit_rest, short, spawn, tmpdir)


def _json_loupe(*extra, failing=False):
    """Start `loupe exitsnoop -j` and wait until a warm-up child's exit is seen."""
    lp = Loupe("exitsnoop", "-j", *extra)
    pids = set()

    def act():
        p = spawn(["/bin/false" if failing else "/bin/true"])
        pids.add(p.pid)
        p.wait(5)
    lp.ready(act, lambda e: e.get("type") == "exit" and e.get("pid") in pids)
    return lp


def _by_pid(pid):
    return lambda e: e.get("type") == "exit" and e.get("pid") == pid


def test_exit_code_json():
    lp = _json_loupe()
    t0 = time.monotonic()
    srv = Server()
    comm = marker("e")
    srv.set_comm(comm)
    time.sleep(0.3)
    rc = srv.exit(42)
    t1 = time.monotonic()
    check(rc == 42, "helper exit status %s" % rc)
    ev = lp.expect_event(_by_pid(srv.pid), "exit event of pid %d" % srv.pid)
    lp.stop()
    check_common(ev, "exit")
    check(ev["exit_code"] == 42, "exit_code %r != 42" % ev["exit_code"])
    check(ev["signal"] == 0, "signal %r != 0" % ev["signal"])
    check(ev["signal_name"] is None, "signal_name %r != null" % ev["signal_name"])
    check(ev["core_dumped"] is False, "core_dumped %r != false" % ev["core_dumped"])
    check(ev["tid"] == srv.pid, "tid %s != %d" % (ev["tid"], srv.pid))
    check(ev["ppid"] == os.getpid(), "ppid %s != %d" % (ev["ppid"], os.getpid()))
    check(ev["comm"] == comm, "comm %r != %r" % (ev["comm"], comm))
    check(isinstance(ev["age_s"], (int, float)) and 0.25 <= ev["age_s"] <= (t1 - t0) + 0.5,
          "age_s %r not in [0.25, %.2f]" % (ev["age_s"], (t1 - t0) + 0.5))
    check(lp.rc == 0, "exit status %s after SIGINT" % lp.rc)


def test_exit_code_table():
    lp = Loupe("exitsnoop")
    hdr = lp.wait_header()
    check(hdr.split() == ["PCOMM", "PID", "PPID", "TID", "AGE(s)", "EXIT_CODE"],
          "header %r" % hdr)
    srv = Server()
    comm = marker("e")
    srv.set_comm(comm)
    time.sleep(0.3)
    srv.exit(42)
    prefix = exit_row_prefix(comm, srv.pid, os.getpid(), srv.pid)
    got = lp.wait_line(lambda l: l.startswith(prefix), 5)
    lp.stop()
    check(got is not None, "no row starting %r %s" % (prefix, lp.describe()))
    rest = parse_exit_rest(got[len(prefix):])
    check(rest is not None, "row %r: AGE(s)/EXIT_CODE not '%%-7.2f %%s'" % got)
    age, code = rest
    check(code == "code 42", "EXIT_CODE %r != 'code 42' in %r" % (code, got))
    check(0.25 <= age < 10, "AGE(s) %.2f implausible for a 0.3 s child" % age)


def test_exit_signal_json():
    lp = _json_loupe()
    srv = Server()
    os.kill(srv.pid, signal.SIGKILL)
    srv.wait()
    ev = lp.expect_event(_by_pid(srv.pid), "exit event of SIGKILLed pid %d" % srv.pid)
    lp.stop()
    check(ev["signal"] == 9, "signal %r != 9" % ev["signal"])
    check(ev["signal_name"] == "SIGKILL", "signal_name %r != 'SIGKILL'" % ev["signal_name"])
    check(ev["core_dumped"] is False, "core_dumped %r != false" % ev["core_dumped"])


def test_exit_signal_table():
    lp = Loupe("exitsnoop")
    lp.wait_header()
    srv = Server()
    comm = marker("k")
    srv.set_comm(comm)
    os.kill(srv.pid, signal.SIGKILL)
    srv.wait()
    prefix = exit_row_prefix(comm, srv.pid, os.getpid(), srv.pid)
    got = lp.wait_line(lambda l: l.startswith(prefix), 5)
    lp.stop()
    check(got is not None, "no row starting %r %s" % (prefix, lp.describe()))
    rest = parse_exit_rest(got[len(prefix):])
    check(rest is not None and rest[1] == "signal 9 (SIGKILL)",
          "EXIT_CODE of %r != 'signal 9 (SIGKILL)'" % got)


def test_exit_zero_table():
    lp = Loupe("exitsnoop")
    lp.wait_header()
    srv = Server()
    comm = marker("z")
    srv.set_comm(comm)
    srv.exit(0)
    prefix = exit_row_prefix(comm, srv.pid, os.getpid(), srv.pid)
    got = lp.wait_line(lambda l: l.startswith(prefix), 5)
    lp.stop()
    check(got is not None, "no row starting %r %s" % (prefix, lp.describe()))
    rest = parse_exit_rest(got[len(prefix):])
    check(rest is not None and rest[1] == "0", "EXIT_CODE of %r != '0'" % got)


def test_exit_failed_only_with_x():
    lp = _json_loupe("-x", failing=True)
    zero, three, killed = Server(), Server(), Server()
    zero.exit(0)
    three.exit(3)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    ev3 = lp.expect_event(_by_pid(three.pid), "exit 3 event under -x")
    evk = lp.expect_event(_by_pid(killed.pid), "SIGKILL exit event under -x")
    lp.wait_event(lambda e: False, 0.3)
    lp.stop()
    check(ev3["exit_code"] == 3, "exit_code %r != 3" % ev3["exit_code"])
    check(evk["signal"] == 9, "signal %r != 9" % evk["signal"])
    z = [e for e in lp.events() if e.get("pid") == zero.pid]
    check(not z, "exit 0 reported under -x: %s" % short(z))
    z = [e for e in lp.events() if e.get("type") == "exit" and e.get("exit_code") == 0
         and e.get("signal") == 0]
    check(not z, "%d clean exits reported under -x, e.g. %s" % (len(z), short(z[:1])))


def test_exit_threads_hidden_by_default():
    lp = _json_loupe()
    srv = Server()
    tid = srv.thread()
    srv.exit(5)
    lp.expect_event(_by_pid(srv.pid), "exit event of pid %d" % srv.pid)
    lp.wait_event(lambda e: False, 0.3)
    lp.stop()
    evs = [e for e in lp.events() if e.get("pid") == srv.pid]
    check(len(evs) == 1, "expected exactly one exit event for pid %d, got %s" %
          (srv.pid, short(evs)))
    check(evs[0]["tid"] == srv.pid, "process exit event has tid %s != %d" %
          (evs[0]["tid"], srv.pid))
    check(not [e for e in lp.events() if e.get("tid") == tid],
          "thread %d exit reported without --threads" % tid)


def test_exit_threads_flag():
    lp = _json_loupe("--threads")
    srv = Server()
    tid = srv.thread()
    srv.exit(5)
    lp.expect_event(_by_pid(srv.pid), "exit event of pid %d" % srv.pid)
    ev = lp.expect_event(lambda e: e.get("tid") == tid, "exit event of thread %d" % tid)
    lp.stop()
    check(ev["pid"] == srv.pid, "thread event pid %s != %d" % (ev["pid"], srv.pid))
    check(tid != srv.pid, "helper thread id equals pid?")


def _core_dumping_child():
    """A /bin/sleep child with RLIMIT_CORE unlimited in a temp cwd, killed by
    SIGQUIT; returns its pid, or raises Skip if the kernel did not dump core."""
    d = tmpdir()

    def unlimited():
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY,
                                                  resource.RLIM_INFINITY))
    p = spawn(["/bin/sleep", "10"], cwd=d, preexec_fn=unlimited)
    time.sleep(0.05)
    os.kill(p.pid, signal.SIGQUIT)
    _, status = os.waitpid(p.pid, 0)
    p.returncode = -signal.SIGQUIT
    if not os.WCOREDUMP(status):
        raise Skip("kernel did not write a core dump (core_pattern %r)" %
                   open("/proc/sys/kernel/core_pattern").read().strip())
    return p.pid


def test_exit_core_dumped_json():
    lp = _json_loupe()
    pid = _core_dumping_child()
    ev = lp.expect_event(_by_pid(pid), "exit event of core-dumping pid %d" % pid)
    lp.stop()
    check(ev["signal"] == 3 and ev["signal_name"] == "SIGQUIT",
          "signal/signal_name %r/%r != 3/'SIGQUIT'" % (ev["signal"], ev["signal_name"]))
    check(ev["core_dumped"] is True, "core_dumped %r != true" % ev["core_dumped"])


def test_exit_core_dumped_table():
    lp = Loupe("exitsnoop")
    lp.wait_header()
    pid = _core_dumping_child()
    prefix = exit_row_prefix("sleep", pid, os.getpid(), pid)
    got = lp.wait_line(lambda l: l.startswith(prefix), 5)
    lp.stop()
    check(got is not None, "no row starting %r %s" % (prefix, lp.describe()))
    rest = parse_exit_rest(got[len(prefix):])
    check(rest is not None and rest[1] == "signal 3 (SIGQUIT), core dumped",
          "EXIT_CODE of %r != 'signal 3 (SIGQUIT), core dumped'" % got)
