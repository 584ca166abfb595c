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

from common import (LOUPE, Loupe, OomCgroup, Skip, check, check_common,
                    hms_window, on_cleanup, poll_until, run_quiet, short, spawn,
                    tmpdir, unique_comm)

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
    """A `sleep 30` child, returned once its comm is "sleep" (Popen returns
    when the exec has started, which is a little before the rename)."""
    p = spawn(["sleep", "30"])

    def renamed():
        try:
            return _read("/proc/%d/comm" % p.pid).strip() == "sleep"
        except OSError:
            return False
    check(poll_until(renamed, 5, 0.005), "sleep child never renamed itself")
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


# ---------------------------------------------------------------- mountsnoop

# Mounts a tmpfs with mount(2) and detaches it, fails an umount, then does
# the same with the new mount API; prints "CALL RESULT" (result or -errno)
# per call. Arguments: COMM DIR SOURCE [classic-only].
MOUNT_HELPER_SRC = r"""
/* loupe test helper: mount calls with known arguments and results. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static long report(const char *name, long r)
{
	printf("%s %ld\n", name, r < 0 ? -(long)errno : r);
	fflush(stdout);
	return r;
}

int main(int argc, char **argv)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
	const char *dir = argv[2], *src = argv[3];
	char src2[256];
	long fd, mfd, t;

	if (argc < 4)
		return 2;
	prctl(PR_SET_NAME, argv[1]);
	report("mount", mount(src, dir, "tmpfs", MS_NOSUID | MS_NODEV,
			      "size=1m,mode=0700"));
	report("umount", umount2(dir, MNT_DETACH));
	report("umount_fail", umount2(dir, 0));
	if (argc > 4)
		return 0;
	snprintf(src2, sizeof(src2), "%s-new", src);
	fd = report("fsopen", syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC));
	if (fd < 0)
		return 0;
	report("fsconfig_source", syscall(SYS_fsconfig, fd, FSCONFIG_SET_STRING,
					  "source", src2, 0));
	report("fsconfig_create", syscall(SYS_fsconfig, fd,
					  FSCONFIG_CMD_CREATE, NULL, NULL, 0));
	mfd = report("fsmount", syscall(SYS_fsmount, fd, FSMOUNT_CLOEXEC,
					MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID));
	report("move_mount", syscall(SYS_move_mount, (int)mfd, "", AT_FDCWD,
				     dir, MOVE_MOUNT_F_EMPTY_PATH));
	t = report("open_tree", syscall(SYS_open_tree, AT_FDCWD, dir,
					OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
	if (t >= 0)
		close(t);
	t = report("fspick", syscall(SYS_fspick, AT_FDCWD, dir,
				     FSPICK_CLOEXEC));
	if (t >= 0)
		close(t);
	report("mount_setattr", syscall(SYS_mount_setattr, AT_FDCWD, dir, 0,
					&attr, sizeof(attr)));
	report("umount_new", umount2(dir, MNT_DETACH));
	return 0;
}
"""

_mount_helper = {}


def mount_helper():
    """Compile MOUNT_HELPER_SRC once per test process; Skip without gcc."""
    if "bin" not in _mount_helper:
        d = tmpdir()
        src, exe = os.path.join(d, "mnt.c"), os.path.join(d, "mnt-helper")
        with open(src, "w") as f:
            f.write(MOUNT_HELPER_SRC)
        try:
            r = subprocess.run(["gcc", "-O2", "-Wall", "-o", exe, src],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise Skip("cannot compile the mount helper: %s" % e)
        if r.returncode:
            raise Skip("cannot compile the mount helper: %s" % short(r.stdout.decode()))
        _mount_helper["bin"] = exe
    return _mount_helper["bin"]


def run_mount_helper(*extra):
    """Run the helper on a fresh temp dir; return (pid, comm, dir, source,
    {call: result}). Whatever stays mounted is detached at cleanup."""
    exe = mount_helper()
    d = os.path.join(tmpdir(), "mnt")
    os.mkdir(d)
    on_cleanup(lambda: subprocess.run(["umount", "-l", d], stderr=subprocess.DEVNULL))
    comm, source = unique_comm(), "loupe-" + unique_comm()
    p = spawn([exe, comm, d, source] + list(extra), stdout=subprocess.PIPE,
              stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=10)
    check(p.returncode == 0, "mount helper failed: %s" % err.decode(errors="replace"))
    res = {}
    for line in out.decode().splitlines():
        k, v = line.split()
        res[k] = int(v)
    check(res.get("mount") == 0, "the helper could not mount tmpfs: %s" % res)
    return p.pid, comm, d, source, res


def _mount_loupe(*extra):
    """`loupe mountsnoop -j`, ready once a failed umount of ours shows up."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    warm = "/loupe-warm-" + unique_comm()
    lp = Loupe("mountsnoop", "-j", *extra)
    lp.ready(lambda: libc.umount2(warm.encode(), 0),
             lambda e: e.get("call") == "umount" and e.get("target") == warm)
    return lp


def _mnt_ns():
    return os.stat("/proc/self/ns/mnt").st_ino


def _mount_events(lp, pid, n, what):
    lp.expect_event(lambda e: e.get("pid") == pid and len(
        [x for x in lp.events() if x.get("pid") == pid]) >= n, what)
    return [e for e in lp.events() if e.get("pid") == pid]


def test_mountsnoop_mount_umount_json():
    lp = _mount_loupe()
    pid, comm, d, source, res = run_mount_helper("classic")
    evs = _mount_events(lp, pid, 3, "mount, umount and failed umount events")
    lp.stop()
    check([e["call"] for e in evs] == ["mount", "umount", "umount"],
          "calls %s" % [e["call"] for e in evs])
    m, u, bad = evs
    check_common(m, "mount")
    for e in evs:
        check(e["comm"] == comm and e["tid"] == pid and e["mnt_ns"] == _mnt_ns(),
              "comm/tid/mnt_ns %r/%r/%r != %r/%d/%d" %
              (e["comm"], e["tid"], e["mnt_ns"], comm, pid, _mnt_ns()))
    want = dict(source=source, target=d, fstype="tmpfs", data="size=1m,mode=0700",
                flags=6, flags_str="MS_NOSUID|MS_NODEV", ret=0)
    for k, v in want.items():
        check(m[k] == v, "mount %s %r != %r" % (k, m[k], v))
    for k, v in dict(target=d, flags=2, flags_str="MNT_DETACH", ret=0).items():
        check(u[k] == v, "umount %s %r != %r" % (k, u[k], v))
    check(bad["ret"] == res["umount_fail"] == -22 and bad["flags_str"] == "0",
          "failed umount ret/flags_str %r/%r (helper saw %r)" %
          (bad["ret"], bad["flags_str"], res["umount_fail"]))


def test_mountsnoop_table_rows():
    lp = Loupe("mountsnoop")
    hdr = lp.wait_header()
    check(hdr == "COMM             PID     TID     MNT_NS      CALL", "header %r" % hdr)
    pid, comm, d, source, res = run_mount_helper("classic")
    prefix = "%-16s %-7d %-7d %-11d " % (comm, pid, pid, _mnt_ns())
    rows = [prefix + 'mount("%s", "%s", "tmpfs", MS_NOSUID|MS_NODEV, "size=1m,mode=0700") = 0'
            % (source, d),
            prefix + 'umount("%s", MNT_DETACH) = 0' % d,
            prefix + 'umount("%s", 0) = -EINVAL' % d]
    for row in rows:
        got = lp.wait_line(lambda l: l == row, 5)
        check(got is not None, "no row %r %s" % (row, lp.describe()))
    lp.stop()


def test_mountsnoop_new_api():
    lp = _mount_loupe()
    pid, comm, d, source, res = run_mount_helper()
    if res.get("fsopen", -38) < 0:
        lp.stop()
        raise Skip("the kernel refused fsopen(): %d" % res.get("fsopen", -38))
    calls = ["mount", "umount", "umount", "fsopen", "fsconfig", "fsconfig", "fsmount",
             "move_mount", "open_tree", "fspick", "mount_setattr", "umount"]
    evs = _mount_events(lp, pid, len(calls), "all %d mount calls" % len(calls))
    lp.stop()
    check([e["call"] for e in evs] == calls, "calls %s != %s" %
          ([e["call"] for e in evs], calls))
    by = dict(zip(["mount", "umount", "umount_fail", "fsopen", "fsconfig_source",
                   "fsconfig_create", "fsmount", "move_mount", "open_tree", "fspick",
                   "mount_setattr", "umount_new"], evs))
    for k, e in by.items():
        check(e["ret"] == res[k], "%s: ret %r != %r (what the helper got)" %
              (k, e["ret"], res[k]))
    fd, mfd = res["fsopen"], res["fsmount"]
    expect = {
        "fsopen": dict(fs_name="tmpfs", flags=1, flags_str="FSOPEN_CLOEXEC"),
        "fsconfig_source": dict(fd=fd, cmd=1, cmd_name="FSCONFIG_SET_STRING", key="source",
                                value=source + "-new", aux=0),
        "fsconfig_create": dict(fd=fd, cmd=6, cmd_name="FSCONFIG_CMD_CREATE", key=None,
                                value=None),
        "fsmount": dict(fd=fd, flags_str="FSMOUNT_CLOEXEC",
                        attr_flags_str="MOUNT_ATTR_NOSUID|MOUNT_ATTR_NODEV"),
        "move_mount": dict(from_dfd=mfd, from_path="", to_dfd=-100, to_path=d,
                           flags_str="MOVE_MOUNT_F_EMPTY_PATH"),
        "open_tree": dict(dfd=-100, path=d, flags_str="OPEN_TREE_CLONE|OPEN_TREE_CLOEXEC"),
        "fspick": dict(dfd=-100, path=d, flags_str="FSPICK_CLOEXEC"),
        "mount_setattr": dict(dfd=-100, path=d, flags=0,
                              attr=dict(attr_set=1, attr_clr=0, propagation=0, userns_fd=0)),
        "umount_new": dict(target=d, flags_str="MNT_DETACH"),
    }
    for k, want in expect.items():
        for f, v in want.items():
            check(by[k].get(f) == v, "%s: %s %r != %r" % (k, f, by[k].get(f), v))


def test_mountsnoop_failed_only():
    lp = _mount_loupe("-x")
    pid, comm, d, source, res = run_mount_helper("classic")
    ev = lp.expect_event(lambda e: e.get("pid") == pid, "failed umount under -x")
    lp.wait_event(lambda e: False, 0.3)
    lp.stop()
    check(ev["call"] == "umount" and ev["ret"] == -22,
          "first -x event %s/%r is not the failed umount" % (ev["call"], ev["ret"]))
    ok = [e for e in lp.events() if e.get("pid") == pid and e.get("ret", -1) >= 0]
    check(not ok, "successful calls under -x: %s" % short(ok[:2]))


def _umount_long_missing():
    """umount2() of a missing path of about 450 bytes (in 100-byte names)
    from this process: ENOENT, after the kernel has read the whole string."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    path = os.path.join(tmpdir(), *([unique_comm() + "m" * 85] * 4))
    check(libc.umount2(path.encode(), 0) == -1 and ctypes.get_errno() == 2,
          "umount2 of a missing path: errno %d" % ctypes.get_errno())
    return path


def test_mountsnoop_long_string_json():
    lp = _mount_loupe()
    path = _umount_long_missing()
    ev = lp.expect_event(lambda e: (e.get("pid") == os.getpid() and e.get("call") == "umount"
                                    and path.startswith(e.get("target") or "-")),
                         "umount of a %d-byte path" % len(path))
    lp.stop()
    check(ev["target"] == path[:255], "target %r is not the first 255 bytes" % ev["target"])
    check(ev["target_truncated"] is True and ev["target_unread"] is False,
          "target_truncated %r target_unread %r" % (ev["target_truncated"], ev["target_unread"]))
    check(ev["ret"] == -2, "ret %r != -2" % ev["ret"])


def test_mountsnoop_long_string_table():
    lp = Loupe("mountsnoop")
    lp.wait_header()
    path = _umount_long_missing()
    got = lp.wait_line(lambda l: path[:255] in l, 5)
    lp.stop()
    check(got is not None, "no row %s" % lp.describe())
    check(got.endswith(' umount("%s"..., 0) = -ENOENT' % path[:255]),
          "row does not show the cut string as \"...\"...: %r" % got[-80:])


# ---------------------------------------------------------------- oomkill

def _read(path):
    with open(path) as f:
        return f.read()


def _oom_loupe(*extra):
    lp = Loupe("oomkill", *extra)
    lp.wait_attached()
    return lp


def test_oomkill_victim_json():
    cg = OomCgroup(32)
    lp = _oom_loupe("-j")
    comm = unique_comm()
    hog = cg.spawn(comm, 0)
    try:
        rc = hog.wait(timeout=20)
    except subprocess.TimeoutExpired:
        lp.stop()
        check(False, "the hog was not OOM-killed within 20 s")
    check(rc == -signal.SIGKILL, "hog exit status %s, not SIGKILL" % rc)
    ev = lp.expect_event(lambda e: e.get("victim_pid") == hog.pid, "OOM kill of pid %d" % hog.pid)
    lp.stop()
    check(lp.rc == 0, "exit status %s after SIGINT" % lp.rc)
    check_common(ev, "oom_kill")
    # Alone in its cgroup, the hog both triggers the OOM kill and is its victim.
    check(ev["victim_comm"] == comm and ev["comm"] == comm and ev["pid"] == hog.pid,
          "victim/trigger %r/%r pid %r != %r, %d" % (ev["victim_comm"], ev["comm"],
                                                     ev["pid"], comm, hog.pid))
    check(ev["victim_uid"] == 0 and ev["oom_score_adj"] == 0,
          "victim_uid/oom_score_adj %r/%r != 0/0" % (ev["victim_uid"], ev["oom_score_adj"]))
    check(ev["anon_rss_kb"] >= 8 << 10 and ev["total_vm_kb"] >= ev["anon_rss_kb"],
          "anon_rss_kb %r / total_vm_kb %r implausible for a 32 MB hog" %
          (ev["anon_rss_kb"], ev["total_vm_kb"]))
    check(ev["pages"] is None or ev["pages"] > 0, "pages %r" % ev["pages"])
    check(isinstance(ev["loadavg"], list) and len(ev["loadavg"]) == 3,
          "loadavg %r" % ev["loadavg"])


def test_oomkill_trigger_and_victim_table():
    """A small process with oom_score_adj 1000 is the victim; another one,
    allocating past the limit, triggers the kill."""
    cg = OomCgroup(64)
    lp = Loupe("oomkill")
    hdr = lp.wait_header()
    check(hdr == "Tracing OOM kills... Ctrl-C to stop.", "header %r" % hdr)
    vcomm, tcomm = unique_comm(), unique_comm()
    victim = cg.spawn(vcomm, 24, "1000")
    check(victim.stdout.readline().strip() == b"held", "victim did not allocate")
    t0 = time.time()
    # Both cannot fit in 64 MB; the trigger alone (48 MB) can.
    trigger = cg.spawn(tcomm, 48)
    try:
        rc = victim.wait(timeout=20)
    except subprocess.TimeoutExpired:
        check(False, "the victim was not OOM-killed within 20 s")
    check(rc == -signal.SIGKILL, "victim exit status %s, not SIGKILL" % rc)
    t1 = time.time()
    pat = re.compile(r'^(\d\d:\d\d:\d\d) Triggered by PID %d \("%s"\), OOM kill of PID %d '
                     r'\("%s"\), (\d+|-) pages, loadavg: \d+\.\d\d \d+\.\d\d \d+\.\d\d \d+/\d+ \d+$'
                     % (trigger.pid, tcomm, victim.pid, vcomm))
    got = lp.wait_line(lambda l: pat.match(l) is not None, 5)
    lp.stop()
    check(got is not None, "no line matching %r %s" % (pat.pattern, lp.describe()))
    check(pat.match(got).group(1) in hms_window(t0, t1), "time of %r" % got)
