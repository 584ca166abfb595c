"""Runtime tests of the process and signal tools: killsnoop, mountsnoop,
oomkill. Each test causes the activity itself (a sender child with a unique
comm, a tmpfs mount in a temp dir, a child killed by the OOM killer in a
small memory cgroup) and asserts the exact events, filtered by its own pids
and paths since other tracers and tests run on the same machine."""
import os
import platform
import re
import signal
import subprocess
import sys
import time

from common import (LOUPE, Loupe, Skip, check, check_common, hms_window,
                    on_cleanup, run_quiet, short, spawn, tmpdir, unique_comm)

# ---------------------------------------------------------------- helpers

SYSCALLS = {
    "x86_64": {"kill": 62, "tkill": 200, "tgkill": 234},
    "aarch64": {"kill": 129, "tkill": 130, "tgkill": 131},
}

# A child that renames itself (prctl PR_SET_NAME) and then makes the raw
# kill/tkill/tgkill syscalls it is told to, replying "RET ERRNO".
SENDER = r"""
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.prctl(15, ctypes.c_char_p(sys.argv[1].encode()), 0, 0, 0)
nrs = dict(kill=int(sys.argv[2]), tkill=int(sys.argv[3]), tgkill=int(sys.argv[4]))
print("ready", flush=True)
for line in sys.stdin:
    op, *args = line.split()
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nrs[op]), *[ctypes.c_long(int(a)) for a in args])
    print(r, ctypes.get_errno(), flush=True)
"""

# Beyond pid_max (at most 2^22): kill() on it always fails with ESRCH.
NO_PID = 4194304 + 4242
ESRCH = 3


class Sender:
    """A child with a unique comm that sends signals on request."""

    def __init__(self):
        nrs = SYSCALLS.get(platform.machine())
        if not nrs:
            raise Skip("no syscall numbers for %s" % platform.machine())
        self.comm = unique_comm()
        self.proc = spawn([sys.executable, "-c", SENDER, self.comm, str(nrs["kill"]),
                           str(nrs["tkill"]), str(nrs["tgkill"])],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.pid = self.proc.pid
        check(self.proc.stdout.readline().strip() == b"ready", "sender did not start")

    def call(self, op, *args):
        """Make the syscall; return its result as the kernel gives it
        (0 or -errno)."""
        self.proc.stdin.write(("%s %s\n" % (op, " ".join(map(str, args)))).encode())
        self.proc.stdin.flush()
        r, err = self.proc.stdout.readline().split()
        return -int(err) if int(r) < 0 else int(r)


def sleeper():
    p = spawn(["sleep", "30"])
    return p


def _warm_kill(sig=0):
    """A kill() from this process that fails with ESRCH: seen by every mode
    of killsnoop except -s (a failed kill generates nothing)."""
    def act():
        try:
            os.kill(NO_PID, sig)
        except OSError:
            pass
    return act


def _kill_loupe(*extra, sig=0):
    lp = Loupe("killsnoop", "-j", *extra)
    me = os.getpid()
    lp.ready(_warm_kill(sig), lambda e: e.get("pid") == me and e.get("tpid") == NO_PID)
    return lp


def _by_sender(snd, **kv):
    def pred(e):
        if e.get("type") != "kill" or e.get("pid") != snd.pid:
            return False
        return all(e.get(k) == v for k, v in kv.items())
    return pred


# ---------------------------------------------------------------- killsnoop

def test_killsnoop_json_kill_tkill_tgkill():
    lp = _kill_loupe()
    snd, target = Sender(), sleeper()
    check(snd.call("kill", target.pid, signal.SIGURG) == 0, "kill failed")
    check(snd.call("tkill", target.pid, signal.SIGWINCH) == 0, "tkill failed")
    check(snd.call("tgkill", target.pid, target.pid, signal.SIGCONT) == 0,
          "tgkill failed")
    evs = {}
    for sc, sig in (("kill", signal.SIGURG), ("tkill", signal.SIGWINCH),
                    ("tgkill", signal.SIGCONT)):
        evs[sc] = lp.expect_event(_by_sender(snd, syscall=sc), "%s event" % sc)
    lp.stop()
    check(lp.rc == 0, "exit status %s after SIGINT" % lp.rc)
    for sc, sig in (("kill", signal.SIGURG), ("tkill", signal.SIGWINCH),
                    ("tgkill", signal.SIGCONT)):
        ev = evs[sc]
        check_common(ev, "kill")
        check(ev["comm"] == snd.comm, "%s: comm %r != %r" % (sc, ev["comm"], snd.comm))
        check(ev["tid"] == snd.pid and ev["ppid"] == os.getpid(),
              "%s: tid/ppid %s/%s" % (sc, ev["tid"], ev["ppid"]))
        check(ev["sig"] == int(sig), "%s: sig %r != %d" % (sc, ev["sig"], sig))
        check(ev["sig_name"] == sig.name, "%s: sig_name %r != %r" %
              (sc, ev["sig_name"], sig.name))
        check(ev["tpid"] == target.pid, "%s: tpid %r != %d" % (sc, ev["tpid"], target.pid))
        check(ev["result"] == 0, "%s: result %r != 0" % (sc, ev["result"]))
        want_tgid = target.pid if sc == "tgkill" else None
        check(ev["tgid"] == want_tgid, "%s: tgid %r != %r" % (sc, ev["tgid"], want_tgid))


def test_killsnoop_table_row():
    lp = Loupe("killsnoop")
    hdr = lp.wait_header()
    check(hdr == "TIME     PID     COMM             SIG  TPID    RESULT",
          "header %r" % hdr)
    snd = Sender()
    t0 = time.time()
    r = snd.call("kill", NO_PID, signal.SIGTERM)
    t1 = time.time()
    check(r == -ESRCH, "kill of a missing pid returned %s" % r)
    body = "%-7d %-16s %-4d %-7d %d" % (snd.pid, snd.comm, signal.SIGTERM, NO_PID, -ESRCH)
    got = lp.wait_line(lambda l: l[9:] == body, 5)
    lp.stop()
    check(got is not None, "no row ending %r %s" % (body, lp.describe()))
    check(got[:8] in hms_window(t0, t1) and got[8] == " ",
          "TIME %r of %r is not HH:MM:SS of the call" % (got[:8], got))


def test_killsnoop_failed_only():
    lp = _kill_loupe("-x")
    snd, target = Sender(), sleeper()
    check(snd.call("kill", target.pid, signal.SIGURG) == 0, "kill failed")
    check(snd.call("kill", NO_PID, signal.SIGURG) == -ESRCH, "kill of NO_PID")
    ev = lp.expect_event(_by_sender(snd), "failed kill under -x")
    lp.wait_event(lambda e: False, 0.3)
    lp.stop()
    check(ev["tpid"] == NO_PID and ev["result"] == -ESRCH,
          "tpid/result %r/%r != %d/%d" % (ev["tpid"], ev["result"], NO_PID, -ESRCH))
    ok = [e for e in lp.events() if e.get("type") == "kill" and e.get("result") == 0]
    check(not ok, "successful kills reported under -x: %s" % short(ok[:2]))


def test_killsnoop_sig_filter():
    lp = _kill_loupe("--sig", "URG", sig=signal.SIGURG)
    snd, target = Sender(), sleeper()
    check(snd.call("kill", target.pid, signal.SIGWINCH) == 0, "kill WINCH")
    check(snd.call("kill", target.pid, signal.SIGURG) == 0, "kill URG")
    ev = lp.expect_event(_by_sender(snd), "SIGURG event under --sig URG")
    lp.wait_event(lambda e: False, 0.3)
    lp.stop()
    check(ev["sig"] == signal.SIGURG, "first event of the sender is sig %r" % ev["sig"])
    other = [e for e in lp.events() if e.get("type") == "kill" and e.get("sig") != signal.SIGURG]
    check(not other, "other signals under --sig URG: %s" % short(other[:2]))


def test_killsnoop_generated():
    lp = Loupe("killsnoop", "-s", "-j")
    me = os.getpid()

    def warm():
        os.kill(me, signal.SIGURG)      # generated, ignored by default
    lp.ready(warm, lambda e: e.get("pid") == me and e.get("tpid") == me
             and e.get("sig") == signal.SIGURG)
    snd, target = Sender(), sleeper()
    check(snd.call("kill", target.pid, signal.SIGTERM) == 0, "kill TERM")
    target.wait(timeout=5)
    ev = lp.expect_event(_by_sender(snd, sig=int(signal.SIGTERM)), "generated SIGTERM")
    # The dying sleeper itself notifies its parent (us): SIGCHLD, CLD_KILLED.
    chld = lp.expect_event(lambda e: e.get("pid") == target.pid and
                           e.get("sig") == signal.SIGCHLD, "SIGCHLD from the sleeper")
    lp.stop()
    check_common(ev, "kill")
    check(ev["tpid"] == target.pid and ev["tcomm"] == "sleep",
          "tpid/tcomm %r/%r != %d/'sleep'" % (ev["tpid"], ev["tcomm"], target.pid))
    check(ev["result"] == 0 and ev["result_name"] == "delivered",
          "result %r/%r != 0/delivered" % (ev["result"], ev["result_name"]))
    check(ev["code"] == 0 and ev["group"] is True and ev["syscall"] is None,
          "code/group/syscall %r/%r/%r != 0 (SI_USER)/true/null" %
          (ev["code"], ev["group"], ev["syscall"]))
    check(chld["tpid"] == me and chld["comm"] == "sleep" and chld["code"] == 2,
          "SIGCHLD tpid/comm/code %r/%r/%r != %d/'sleep'/2 (CLD_KILLED)" %
          (chld["tpid"], chld["comm"], chld["code"], me))


def test_killsnoop_bad_signal():
    for args in (["--sig", "NOPE"], ["--sig", "65"], ["--sig", "0"]):
        rc, out, err = run_quiet([LOUPE, "killsnoop"] + args, timeout=10)
        check(rc == 2, "%s: exit status %s != 2" % (args, rc))
        lines = err.strip().splitlines()
        check(len(lines) == 1 and lines[0].startswith("loupe: killsnoop: "),
              "%s: stderr %r is not one loupe error line" % (args, err))
