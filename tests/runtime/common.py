"""Shared helpers for the loupe runtime tests (Python 3 stdlib only).

Every wait is bounded; everything a test creates (loupe processes, children,
temp dirs, cgroups) is registered with on_cleanup() and torn down by
run_cleanups(), which tests/run.py calls after each test even on failure.
"""
import json
import os
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
LOUPE = os.environ.get("LOUPE_BIN") or os.path.join(REPO, "build", "loupe")
SERVE = os.path.join(HERE, "helper_serve.py")
HELPERS_SRC = os.path.join(HERE, "helpers.c")

TOOLS = ("execsnoop", "opensnoop", "exitsnoop")
HEADERS = {
    "execsnoop": ["PCOMM", "PID", "PPID", "RET", "ARGS"],
    "opensnoop": ["PID", "COMM", "FD", "ERR", "PATH"],
    "exitsnoop": ["PCOMM", "PID", "PPID", "TID", "AGE(s)", "EXIT_CODE"],
}
COMMON_FIELDS = ("type", "ts_ns", "pid", "tid", "ppid", "uid", "comm",
                 "cgroup_id", "cgroup", "container_id", "container")
# Null in an event that ran in a softirq ("context":"softirq").
TASK_FIELDS = COMMON_FIELDS[2:]
# Set by tests/vm/run_vm.py: the tests run under emulation, about ten
# times slower; a test that does a fixed amount of work in a fixed time may
# do less.
SLOW = bool(os.environ.get("LOUPE_TEST_SLOW"))
LOST_RE = re.compile(r"^loupe: (\w+): (\d+) events lost; raise --buffer-size$")
MISSED_RE = re.compile(r"^loupe: (\w+): (\d+) probe runs skipped by the kernel ")


class Skip(Exception):
    """Raised by a test that cannot run here (reported as SKIP)."""


def fail(msg):
    raise AssertionError(msg)


def check(cond, msg):
    if not cond:
        fail(msg)


def short(s, n=300):
    s = str(s)
    return s if len(s) <= n else s[:n] + "..."


# ---------------------------------------------------------------- cleanup

_cleanups = []


def on_cleanup(fn):
    _cleanups.append(fn)
    return fn


def run_cleanups():
    while _cleanups:
        fn = _cleanups.pop()
        try:
            fn()
        except Exception:
            pass


# ---------------------------------------------------------------- misc

def marker(prefix="lt"):
    """A unique token, e.g. 'lt3f2a9c0d1e7b'."""
    return prefix + uuid.uuid4().hex[:12]


def unique_comm():
    """A unique 15-character comm (TASK_COMM_LEN - 1)."""
    return "lc" + uuid.uuid4().hex[:13]


def tmpdir():
    base = os.environ.get("LOUPE_TEST_TMP")
    if base and not os.path.isdir(base):
        base = None
    d = tempfile.mkdtemp(prefix="loupe-test-", dir=base)
    os.chmod(d, 0o755)
    on_cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    return d


def mount_fstype(path):
    """The kernel's name for the filesystem type holding path (s_type->name),
    from the longest matching mount point in /proc/self/mounts."""
    path = os.path.realpath(path)
    best, best_type = "", None
    with open("/proc/self/mounts") as f:
        for line in f:
            parts = line.split()
            mnt = parts[1].replace("\\040", " ")
            if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                best, best_type = mnt, parts[2]
    check(best_type, "no mount holds %s" % path)
    return best_type


def tmpdir_on(fstype):
    """tmpdir(), provided it is on a filesystem of type fstype (Skip if not:
    run the tests with TMPDIR on one)."""
    d = tmpdir()
    got = mount_fstype(d)
    if got != fstype:
        raise Skip("temp dir %s is on %s, not %s (set TMPDIR)" % (d, got, fstype))
    return d


def copy_binary(src, name, d=None):
    """Copy an executable (e.g. /bin/true) under a unique name; return its path."""
    d = d or tmpdir()
    dst = os.path.join(d, name)
    shutil.copy(src, dst)
    os.chmod(dst, 0o755)
    return dst


def require_loupe():
    if not os.access(LOUPE, os.X_OK):
        fail("build/loupe not found (run make)")


def spawn(argv, **kw):
    """Popen registered for cleanup (killed and reaped at test end)."""
    kw.setdefault("stdin", subprocess.DEVNULL)
    kw.setdefault("stdout", subprocess.DEVNULL)
    kw.setdefault("stderr", subprocess.DEVNULL)
    p = subprocess.Popen(argv, **kw)
    on_cleanup(lambda: _kill(p))
    return p


def _kill(p):
    if p.poll() is None:
        try:
            p.kill()
        except OSError:
            pass
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def run_quiet(argv, timeout=10, **kw):
    """Run a short command; return (rc, stdout, stderr) as text; bounded."""
    p = spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate(timeout=5)
        return None, out.decode(errors="replace"), err.decode(errors="replace")
    return p.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def hms_window(t0, t1):
    """All local HH:MM:SS strings between t0-1 and t1+1 (epoch seconds)."""
    out = set()
    t = int(t0) - 1
    while t <= int(t1) + 1:
        out.add(time.strftime("%H:%M:%S", time.localtime(t)))
        t += 1
    return out


def poll_until(fn, timeout, interval=0.05):
    """Call fn until it returns a truthy value or timeout; return last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def loupe_list_json_cached(timeout=60):
    """stdout of `loupe list -j`, run once per test run (cached in the run's
    temp dir). Modules that make one test per tool call this at import, in
    every test's worker process; under emulation (tests/vm/) each call
    takes seconds. Raises OSError/SubprocessError like subprocess.run."""
    base = os.environ.get("LOUPE_TEST_TMP")
    cache = None
    if base and os.path.isdir(base):
        st = os.stat(LOUPE)
        cache = os.path.join(base, "loupe-list-%d-%d.json" % (st.st_mtime_ns, st.st_size))
        try:
            with open(cache) as f:
                return f.read()
        except OSError:
            pass
    p = subprocess.run([LOUPE, "list", "-j"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout)
    if cache and p.returncode == 0 and p.stdout:
        with open(cache + ".%d" % os.getpid(), "w") as f:
            f.write(p.stdout)
        os.rename(cache + ".%d" % os.getpid(), cache)
    return p.stdout


# ---------------------------------------------------------------- C helpers

_helper_cache = {}


def build_helpers(dest_dir):
    """Compile helpers.c into dest_dir; return the path or None."""
    if not shutil.which("gcc"):
        return None
    out = os.path.join(dest_dir, "loupe-helpers")
    try:
        r = subprocess.run(["gcc", "-O2", "-Wall", "-o", out, HELPERS_SRC],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if r.returncode != 0:
        sys.stderr.write(r.stdout.decode(errors="replace"))
        return None
    os.chmod(dest_dir, 0o755)
    return out


def helper_bin():
    """Path of the compiled C helper; raises Skip if gcc is unavailable."""
    p = os.environ.get("LOUPE_TEST_HELPERS")
    if p and os.access(p, os.X_OK):
        return p
    if "bin" not in _helper_cache:
        _helper_cache["bin"] = build_helpers(tmpdir())
    if not _helper_cache["bin"]:
        raise Skip("gcc not available (cannot build C helper)")
    return _helper_cache["bin"]


# ---------------------------------------------------------------- line reader

class LineReader:
    """Reads a pipe line by line in a background thread."""

    def __init__(self, f):
        self.lines = []
        self.eof = False
        self.cond = threading.Condition()
        self.go = threading.Event()       # cleared => stop reading (the pipe fills up)
        self.go.set()
        self.t = threading.Thread(target=self._run, args=(f,), daemon=True)
        self.t.start()

    def _run(self, f):
        try:
            for raw in iter(f.readline, b""):
                self.go.wait()
                line = raw.decode("utf-8", errors="replace").rstrip("\n")
                with self.cond:
                    self.lines.append(line)
                    self.cond.notify_all()
        except (OSError, ValueError):
            pass
        finally:
            with self.cond:
                self.eof = True
                self.cond.notify_all()

    def wait_for(self, pred, timeout, start=0, alive=None):
        """Return (index, line) of the first line >= start with pred(line),
        or None on timeout/EOF."""
        deadline = time.monotonic() + timeout
        i = start
        with self.cond:
            while True:
                while i < len(self.lines):
                    if pred(self.lines[i]):
                        return i, self.lines[i]
                    i += 1
                if self.eof:
                    return None
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(min(left, 0.1))

    def join(self, timeout=5):
        self.t.join(timeout)

    def snapshot(self):
        with self.cond:
            return list(self.lines)


# ---------------------------------------------------------------- loupe

class Loupe:
    """A running loupe process with stdout/stderr collected line by line."""

    def __init__(self, *args, env=None):
        require_loupe()
        self.args = [str(a) for a in args]
        self.json = "-j" in self.args or "--json" in self.args
        self.t_start = time.monotonic()
        self.proc = subprocess.Popen([LOUPE] + self.args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=dict(os.environ, **(env or {})))
        self.pid = self.proc.pid
        on_cleanup(self.kill)
        self.out = LineReader(self.proc.stdout)
        self.err = LineReader(self.proc.stderr)
        self._parsed = []
        self.rc = None

    # -- diagnostics
    def describe(self):
        rc = self.proc.poll()
        err = self.err.snapshot()
        out = self.out.snapshot()
        return "[loupe %s: %s; stdout %d lines%s; stderr: %s]" % (
            " ".join(self.args),
            "running" if rc is None else "exit status %s" % rc,
            len(out), (", last: " + short(out[-1], 160)) if out else "",
            short(" | ".join(err[-4:]), 400) if err else "(empty)")

    def alive(self):
        return self.proc.poll() is None

    # -- table mode
    def wait_header(self, timeout=20):
        r = self.out.wait_for(lambda l: True, timeout)
        if r is None:
            fail("no header line on stdout within %ss %s" % (timeout, self.describe()))
        return r[1]

    def lines(self):
        return self.out.snapshot()

    def wait_line(self, pred, timeout=5, start=0):
        r = self.out.wait_for(pred, timeout, start)
        return None if r is None else r[1]

    # -- JSON mode
    def _parse_upto(self, n, lines):
        while len(self._parsed) < n:
            line = lines[len(self._parsed)]
            try:
                obj = json.loads(line)
            except ValueError:
                fail("stdout line is not JSON: %r %s" % (short(line, 200), self.describe()))
            if not isinstance(obj, dict):
                fail("stdout JSON line is not an object: %r" % short(line, 200))
            self._parsed.append(obj)

    def events(self):
        lines = self.out.snapshot()
        self._parse_upto(len(lines), lines)
        return list(self._parsed)

    def wait_event(self, pred, timeout=5, start=0):
        """First parsed JSON object (index >= start) matching pred, or None."""
        deadline = time.monotonic() + timeout
        i = start
        while True:
            lines = self.out.lines          # append-only list; read without copying
            n = len(lines)
            self._parse_upto(n, lines)
            while i < n:
                if pred(self._parsed[i]):
                    return self._parsed[i]
                i += 1
            if self.out.eof and len(self.out.lines) == n:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.out.wait_for(lambda l: True, min(0.1, left), start=i)

    def expect_event(self, pred, what, timeout=5):
        ev = self.wait_event(pred, timeout)
        if ev is None:
            fail("no %s within %ss %s" % (what, timeout, self.describe()))
        return ev

    def ready(self, action, pred, timeout=20, interval=0.3):
        """Repeat a warm-up action until an event matching pred shows up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive() and self.out.eof:
                fail("loupe exited during start-up %s" % self.describe())
            action()
            ev = self.wait_event(pred, interval)
            if ev is not None:
                return ev
        fail("warm-up events never showed up within %ss %s" % (timeout, self.describe()))

    def wait_attached(self, timeout=20, settle=1.0):
        """For filtered JSON runs where no warm-up is possible: wait until the
        process holds BPF links (or perf events), then settle a little."""
        def attached():
            if not self.alive():
                fail("loupe exited during start-up %s" % self.describe())
            _, links = fdinfo_ids(self.pid)
            if links:
                return True
            try:
                for fd in os.listdir("/proc/%d/fd" % self.pid):
                    if "perf_event" in os.readlink("/proc/%d/fd/%s" % (self.pid, fd)):
                        return True
            except OSError:
                pass
            return False
        if not poll_until(attached, timeout):
            fail("loupe never attached within %ss %s" % (timeout, self.describe()))
        time.sleep(settle)

    # -- lifecycle
    def stop(self, sig=signal.SIGINT, timeout=5):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait_exit(timeout, "after %s" % signal.Signals(sig).name)

    def wait_exit(self, timeout, why=""):
        try:
            self.rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            fail("loupe did not exit within %ss %s %s" % (timeout, why, self.describe()))
        self.out.join()
        self.err.join()
        return self.rc

    def kill(self):
        if self.proc.poll() is None:
            try:
                self.proc.kill()
            except OSError:
                pass
        try:
            self.rc = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for f in (self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except Exception:
                pass

    def stderr_lines(self):
        return self.err.snapshot()

    def lost_lines(self):
        return [l for l in self.err.snapshot() if LOST_RE.match(l)]

    def missed_lines(self):
        """loupe's own reports of probe runs the kernel skipped (another
        run of the program was active on that CPU): their events never
        existed, whatever the tool does."""
        return [l for l in self.err.snapshot() if MISSED_RE.match(l)]


def check_common(ev, type_):
    """Assert the fields every JSON event must carry."""
    missing = [k for k in COMMON_FIELDS if k not in ev]
    check(not missing, "JSON event lacks %s: %s" % (missing, short(ev)))
    check(ev["type"] == type_, "type %r != %r" % (ev["type"], type_))
    check(isinstance(ev["ts_ns"], int) and not isinstance(ev["ts_ns"], bool),
          "ts_ns not an int: %s" % short(ev))
    now = time.time_ns()
    check(abs(ev["ts_ns"] - now) < 60 * 10**9,
          "ts_ns %d is not Unix-epoch ns near now (%d)" % (ev["ts_ns"], now))
    if ev.get("context") == "softirq":
        # Ran on behalf of no task: the task's fields are there, all null.
        named = [k for k in TASK_FIELDS if ev[k] is not None]
        check(not named, "softirq event names a task (%s): %s" % (named, short(ev)))
        return
    for k in ("pid", "tid", "ppid", "uid", "cgroup_id"):
        check(isinstance(ev[k], int) and not isinstance(ev[k], bool),
              "%s not an int: %s" % (k, short(ev)))
    check(isinstance(ev["comm"], str), "comm not a string: %s" % short(ev))
    check(ev["cgroup"] is None or isinstance(ev["cgroup"], str), "cgroup: %s" % short(ev))
    check(ev["container_id"] is None or isinstance(ev["container_id"], str),
          "container_id: %s" % short(ev))


# ---------------------------------------------------------------- server child

class Server:
    """A helper_serve.py child: a process with known pid that acts on request."""

    def __init__(self, exe=None, extra=(), timeout=10):
        exe = exe or sys.executable
        self.exe = exe
        self.proc = subprocess.Popen([exe, SERVE] + list(extra), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.pid = self.proc.pid
        self._buf = b""
        on_cleanup(self.close)
        self.expect("ready", timeout)

    def readline(self, timeout=10):
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                fail("helper server %d: no reply within %ss" % (self.pid, timeout))
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 4096)
                if not chunk:
                    fail("helper server %d exited unexpectedly" % self.pid)
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode()

    def expect(self, what, timeout=10):
        line = self.readline(timeout)
        check(line == what, "helper server: expected %r, got %r" % (what, line))

    def cmd(self, line, timeout=10):
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()
        return self.readline(timeout)

    def open(self, path):
        """Open path read-only; return the fd or -errno."""
        r = self.cmd("open " + path).split()
        return int(r[1]) if r[0] == "ok" else -int(r[1])

    def set_comm(self, name):
        check(self.cmd("comm " + name) == "ok", "helper: comm failed")

    def exec_serve(self, exe, *markers):
        """Re-exec as a server through exe (python or a symlink to it)."""
        self.proc.stdin.write(("exec %s %s %s\n" % (exe, SERVE, " ".join(markers))).encode())
        self.proc.stdin.flush()
        self.expect("ready")

    def exec_fail(self, path, *args):
        """exec a path that must fail; return the errno."""
        r = self.cmd("exec " + " ".join((path,) + args)).split()
        check(r[0] == "err", "helper: exec of %s unexpectedly succeeded" % path)
        return int(r[1])

    def thread(self):
        return int(self.cmd("thread").split()[1])

    def exit(self, code):
        self.proc.stdin.write(("exit %d\n" % code).encode())
        self.proc.stdin.flush()
        return self.wait()

    def wait(self, timeout=10):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            fail("helper server %d did not exit" % self.pid)

    def close(self):
        _kill(self.proc)
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except Exception:
                pass


# ---------------------------------------------------------------- cgroups

def cgroup2_root():
    with open("/proc/mounts") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[2] == "cgroup2":
                return parts[1]
    raise Skip("no cgroup2 mount")


class Cgroup:
    """A fresh cgroup v2 directory, removed (after evacuation) at cleanup."""

    def __init__(self, parent=None):
        self.root = cgroup2_root()
        base = parent.path if parent else self.root
        run = os.environ.get("LOUPE_RUN_ID", "0")
        self.path = os.path.join(base, "loupe-test-%s-%s" % (run, uuid.uuid4().hex[:10]))
        os.mkdir(self.path)
        on_cleanup(self.remove)

    @property
    def rel(self):
        """Path relative to the cgroup2 root, with a leading '/'."""
        return "/" + os.path.relpath(self.path, self.root)

    @property
    def id(self):
        return os.stat(self.path).st_ino

    def add(self, pid):
        with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
            f.write(str(pid))

    def remove(self):
        remove_cgroup_tree(self.path, self.root)


def remove_cgroup_tree(path, root):
    if not os.path.isdir(path):
        return
    for name in os.listdir(path):
        sub = os.path.join(path, name)
        if os.path.isdir(sub):
            remove_cgroup_tree(sub, root)
    deadline = time.monotonic() + 3
    while True:
        try:
            with open(os.path.join(path, "cgroup.procs")) as f:
                pids = f.read().split()
            for pid in pids:
                try:
                    with open(os.path.join(root, "cgroup.procs"), "w") as f:
                        f.write(pid)
                except OSError:
                    pass
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)


def read_text(path):
    with open(path) as f:
        return f.read()


# Renames itself, optionally sets its oom_score_adj, then allocates and
# touches MB megabytes (forever if MB is 0), says "held" and sleeps.
HOG = r"""
import ctypes, sys, time
ctypes.CDLL(None).prctl(15, ctypes.c_char_p(sys.argv[1].encode()), 0, 0, 0)
if sys.argv[3] != "-":
    with open("/proc/self/oom_score_adj", "w") as f:
        f.write(sys.argv[3])
mb, held = int(sys.argv[2]), []
while not mb or len(held) < mb:
    held.append(b"\x01" * (1 << 20))
print("held", flush=True)
time.sleep(30)
"""


class OomCgroup:
    """A child memory cgroup with a hard limit: cgroup v2 if the memory
    controller is there, else cgroup v1 (hybrid hierarchies)."""

    def __init__(self, limit_mb):
        self.path = None
        try:
            root = cgroup2_root()
            if "memory" in read_text(os.path.join(root, "cgroup.controllers")).split():
                if "memory" not in read_text(os.path.join(root, "cgroup.subtree_control")).split():
                    with open(os.path.join(root, "cgroup.subtree_control"), "w") as f:
                        f.write("+memory")
                cg = Cgroup()
                self.path = cg.path
                self._write("memory.max", "%dM" % limit_mb)
                try:
                    self._write("memory.swap.max", "0")
                except OSError:
                    pass
                return
        except (Skip, OSError):
            pass
        v1 = "/sys/fs/cgroup/memory"
        if not os.path.exists(os.path.join(v1, "memory.limit_in_bytes")):
            raise Skip("no memory controller: not in cgroup v2 (%s) nor mounted as v1" %
                       "cgroup.controllers")
        self.path = os.path.join(v1, "loupe-test-" + unique_comm())
        os.mkdir(self.path)
        on_cleanup(self._remove_v1)
        self._write("memory.limit_in_bytes", str(limit_mb << 20))
        try:
            self._write("memory.memsw.limit_in_bytes", str(limit_mb << 20))
        except OSError:
            pass

    def _write(self, name, val):
        with open(os.path.join(self.path, name), "w") as f:
            f.write(val)

    def _remove_v1(self):
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                for pid in read_text(os.path.join(self.path, "cgroup.procs")).split():
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except OSError:
                        pass
                os.rmdir(self.path)
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.05)

    def spawn(self, comm, mb, adj="-"):
        procs = os.path.join(self.path, "cgroup.procs")

        def enter():
            with open(procs, "w") as f:
                f.write(str(os.getpid()))
        return spawn([sys.executable, "-c", HOG, comm, str(mb), adj],
                     preexec_fn=enter, stdout=subprocess.PIPE)


class LoopDev:
    """A loop device over a fresh 64 MB file; detached at cleanup."""

    def __init__(self, size_mb=64):
        if not shutil.which("losetup"):
            fail("losetup not installed")
        d = tmpdir()
        self.backing = os.path.join(d, "disk.img")
        with open(self.backing, "wb") as f:
            f.truncate(size_mb << 20)
        rc, out, err = run_quiet(["losetup", "--find", "--show", self.backing])
        check(rc == 0 and out.strip().startswith("/dev/loop"),
              "losetup failed: %s %s" % (out, err))
        self.path = out.strip()
        self.name = os.path.basename(self.path)
        on_cleanup(self.detach)

    def detach(self):
        subprocess.run(["losetup", "-d", self.path], timeout=10,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            os.unlink(self.backing)
        except OSError:
            pass


def same_cgroup_path(got, rel):
    """cgroup field vs expected relative path; a leading '/' is optional."""
    return isinstance(got, str) and got.strip("/") == rel.strip("/")


# ---------------------------------------------------------------- BPF objects

def fdinfo_texts(pid):
    """The /proc fdinfo text of every fd pid holds (fds closed meanwhile
    are left out; nothing if pid is gone)."""
    d = "/proc/%d/fdinfo" % pid
    try:
        names = os.listdir(d)
    except OSError:
        return
    for name in names:
        try:
            with open(os.path.join(d, name)) as f:
                yield f.read()
        except OSError:
            continue


def fdinfo_ids(pid):
    """(prog ids, link ids) referenced by the fds of pid, from /proc fdinfo."""
    progs, links = set(), set()
    for txt in fdinfo_texts(pid):
        m = re.search(r"^link_id:\s*(\d+)", txt, re.M)
        if m:
            links.add(int(m.group(1)))
        m = re.search(r"^prog_id:\s*(\d+)", txt, re.M)
        if m:
            progs.add(int(m.group(1)))
    return progs, links


def ringbuf_sizes(pid):
    """max_entries (bytes) of every BPF ring buffer map held open by pid."""
    sizes = []
    for txt in fdinfo_texts(pid):
        if re.search(r"^map_type:\s*27$", txt, re.M):        # BPF_MAP_TYPE_RINGBUF
            m = re.search(r"^max_entries:\s*(\d+)", txt, re.M)
            if m:
                sizes.append(int(m.group(1)))
    return sizes


def bpftool_list(kind):
    """Parsed `bpftool -j KIND show` (list of dicts)."""
    if not shutil.which("bpftool"):
        raise Skip("bpftool not installed")
    # An object freed while bpftool walks the list makes it fail (7.1
    # gives up on an id that vanished between "next id" and "get fd"):
    # with tests in parallel creating and closing links, retry, spread out.
    for attempt in range(25):
        rc, out, err = run_quiet(["bpftool", "-j", kind, "show"], timeout=20)
        if rc == 0:
            break
        time.sleep(0.05 + random.random() * 0.2)
    if rc != 0:
        fail("bpftool %s show failed: %s %s" % (kind, short(err), short(out)))
    out = out.strip()
    return json.loads(out) if out else []


def bpf_ids_owned_by(pid):
    """(prog ids, link ids) owned by pid: bpftool "pids" info plus fdinfo."""
    progs, links = fdinfo_ids(pid)
    for kind, acc in (("prog", progs), ("link", links)):
        for e in bpftool_list(kind):
            if any(p.get("pid") == pid for p in e.get("pids", []) or []):
                acc.add(e["id"])
    return progs, links


def existing_bpf_ids():
    return ({e["id"] for e in bpftool_list("prog")},
            {e["id"] for e in bpftool_list("link")})


# ---------------------------------------------------------------- table rows

def table_escape(raw):
    """bytes as a table cell shows them (src/lib/out.c table_escape): printable
    ASCII and valid UTF-8 as is, backslash as \\\\, anything else (C1
    controls too) as \\xNN; the bidi marks out.c also escapes are not
    mirrored here."""
    out, i = [], 0
    while i < len(raw):
        c = raw[i]
        if c == 0x5c:
            out.append("\\\\")
            i += 1
            continue
        if 0x20 <= c < 0x7f:
            out.append(chr(c))
            i += 1
            continue
        for n in (2, 3, 4):
            try:
                ch = raw[i:i + n].decode("utf-8")
            except UnicodeDecodeError:
                continue
            if len(ch) == 1 and ord(ch) >= 0xa0:
                out.append(ch)
                i += n
                break
        else:
            out.append("\\x%02x" % c)
            i += 1
    return "".join(out)


def exec_row(comm, pid, ppid, ret, args):
    return "%-16s %-7d %-7d %3d %s" % (comm, pid, ppid, ret, args)


def open_row(pid, comm, fd, err, path):
    return "%-7d %-16s %4d %3d %s" % (pid, comm, fd, err, path)


def exit_row_prefix(comm, pid, ppid, tid):
    return "%-16s %-7d %-7d %-7d " % (comm, pid, ppid, tid)


def parse_exit_rest(rest):
    """Split the 'AGE(s) EXIT_CODE' tail of an exitsnoop row ('%-7.2f %s')."""
    m = re.match(r"^(\d+\.\d\d)( *) (\S.*)$", rest)
    if not m or len(m.group(1)) + len(m.group(2)) != max(7, len(m.group(1))):
        return None
    return float(m.group(1)), m.group(3)


def folded_rows(lp, timeout=20, need_rows=True):
    """A stack tool's --folded output once it exited by itself: a list of
    (frames, count), every line checked to be "a;b;c N"."""
    rc = lp.wait_exit(timeout)
    check(rc == 0, "exit status %s %s" % (rc, lp.describe()))
    rows = []
    for line in lp.lines():
        stack, _, count = line.rpartition(" ")
        check(stack and count.isdigit(), "not a folded line: %r" % line)
        rows.append((stack.split(";"), int(count)))
    check(rows or not need_rows, "no stacks %s" % lp.describe())
    return rows
