"""Runtime tests of the user-space probe tools: funclatency, gethostlatency,
bashreadline, memleak; and that uprobes leave nothing in tracefs."""
import os
import pty
import select
import signal
import subprocess
import sys
import time

from common import (Loupe, Skip, check, check_common, copy_binary, fail, fdinfo_ids,
                    helper_bin, marker, poll_until, short, spawn, tmpdir)

UPROBE_EVENTS = "/sys/kernel/tracing/uprobe_events"

# A function that sleeps ~2 ms, called N times once "go" arrives on stdin.
SLOW_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

__attribute__((noinline)) void loupe_slow_fn(void)
{
	struct timespec t = { 0, 2000000 };

	nanosleep(&t, NULL);
}

int main(int argc, char **argv)
{
	char line[16];
	int n = atoi(argv[1]);

	printf("ready\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		for (int i = 0; i < n; i++)
			loupe_slow_fn();
		printf("done\n");
		fflush(stdout);
	}
	return 0;
}
"""

# Leaks exactly 7 x 4096 bytes from leaky_alloc; frees all else; then waits.
LEAK_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *kept[7];

__attribute__((noinline)) void *leaky_alloc(size_t n)
{
	return malloc(n);
}

__attribute__((noinline)) void churn(void)
{
	for (int i = 0; i < 50; i++) {
		void *a = malloc(100 + i), *b = calloc(3, 64), *c;
		void *d = NULL;

		c = realloc(NULL, 32);
		c = realloc(c, 4000);
		if (posix_memalign(&d, 64, 512) == 0)
			free(d);
		d = aligned_alloc(128, 1024);
		free(d);
		free(a);
		free(b);
		free(c);
	}
}

int main(void)
{
	char line[16];

	printf("ready\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	churn();
	for (int i = 0; i < 7; i++) {
		kept[i] = leaky_alloc(4096);
		memset(kept[i], 1, 4096);
	}
	churn();
	printf("done\n");
	fflush(stdout);
	pause();
	return 0;
}
"""


def build_c(src, name, *flags):
    """Compile a C program into a temp dir; return its path."""
    d = tmpdir()
    c = os.path.join(d, name + ".c")
    exe = os.path.join(d, name)
    with open(c, "w") as f:
        f.write(src)
    try:
        r = subprocess.run(["gcc", "-g", "-o", exe, c] + list(flags),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise Skip("cannot compile a test program: %s" % e)
    check(r.returncode == 0, "gcc failed: %s" % r.stdout.decode(errors="replace"))
    return exe


class Child:
    """A test program driven line by line over stdin/stdout."""

    def __init__(self, argv):
        self.proc = spawn(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.pid = self.proc.pid
        self.expect("ready")

    def expect(self, what, timeout=10):
        fd = self.proc.stdout.fileno()
        r, _, _ = select.select([fd], [], [], timeout)
        check(r, "test program %d: no %r within %ss" % (self.pid, what, timeout))
        line = self.proc.stdout.readline().decode().strip()
        check(line == what, "test program: expected %r, got %r" % (what, line))

    def go(self, timeout=10):
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.flush()
        self.expect("done", timeout)


def wait_links(lp, n, timeout=20):
    """Wait until loupe holds all n of its BPF links (every probe attached)."""
    def attached():
        check(lp.alive(), "loupe exited during start-up %s" % lp.describe())
        return len(fdinfo_ids(lp.pid)[1]) >= n
    check(poll_until(attached, timeout), "loupe did not attach %d probes within %ss %s"
          % (n, timeout, lp.describe()))
    time.sleep(0.2)


def uprobe_event_lines(needle):
    try:
        with open(UPROBE_EVENTS) as f:
            return [l for l in f.read().splitlines() if needle in l]
    except OSError:
        return []


# ------------------------------------------------------------ funclatency

N_CALLS = 25


def test_funclatency_histogram():
    exe = build_c(SLOW_C, marker("slow"), "-O1")
    child = Child([exe, str(N_CALLS)])
    lp = Loupe("funclatency", "-j", "-p", child.pid, exe + ":loupe_slow_fn")
    wait_links(lp, 2)
    child.go()
    check(lp.stop() == 0, "exit status %s %s" % (lp.rc, lp.describe()))
    evs = lp.events()
    hists = [e for e in evs if e.get("type") == "hist"]
    stats = [e for e in evs if e.get("type") == "funclatency"]
    check(len(hists) == 1 and len(stats) == 1, "expected one hist and one summary: %s"
          % short(evs, 600))
    h = hists[0]
    check(h["unit"] == "usecs" and h["scale"] == "log2", "unit/scale: %s" % short(h))
    counts = {b["low"]: b["count"] for b in h["buckets"]}
    total = sum(counts.values())
    check(total == N_CALLS, "histogram count %d != %d calls: %s" % (total, N_CALLS, short(h, 800)))
    in_range = counts.get(1024, 0) + counts.get(2048, 0)
    check(in_range >= N_CALLS * 0.8,
          "only %d of %d calls in 1024-4095 usecs: %s" % (in_range, N_CALLS, short(h, 800)))
    s = stats[0]
    check(s["count"] == N_CALLS and s["unit"] == "usecs", "summary: %s" % short(s))
    check(1800 <= s["avg"] < 10000, "average %s usecs for a 2 ms sleep" % s["avg"])


test_funclatency_histogram.serial = True  # latency of a 2 ms sleep bounded


def test_funclatency_table_ms():
    exe = build_c(SLOW_C, marker("slow"), "-O1")
    child = Child([exe, "5"])
    lp = Loupe("funclatency", "-m", "-p", child.pid, exe + ":loupe_slow_fn")
    wait_links(lp, 2)
    child.go()
    check(lp.stop() == 0, "exit status %s %s" % (lp.rc, lp.describe()))
    out = lp.lines()
    check(out and out[0].split()[:4] == ["msecs", ":", "count", "distribution"],
          "histogram header: %s" % short(out, 400))
    rows = [l for l in out if "->" in l]
    got = sum(int(l.split(":")[1].split()[0]) for l in rows)
    check(got == 5, "table counts %d != 5: %s" % (got, short(out, 600)))
    check(any(l.startswith("avg = ") and l.endswith("count: 5") for l in out),
          "no 'avg = ... count: 5' line: %s" % short(out, 600))


def test_funclatency_bad_input():
    for args, what in ((["nosuchbinary-xyz:foo"], "binary"),
                       (["/bin/true:no_such_function_xyz"], "function"),
                       (["justaname"], "spec"), ([], "missing")):
        lp = Loupe("funclatency", *args)
        rc = lp.wait_exit(10)
        err = lp.stderr_lines()
        check(rc == 2, "%s: exit status %s != 2 (%s)" % (what, rc, err))
        check(len(err) == 1 and err[0].startswith("loupe: funclatency: "),
              "%s: not one error line: %s" % (what, err))


def test_uprobe_sigkill_leaves_no_tracefs_entries():
    exe = build_c(SLOW_C, marker("slow"), "-O1")
    child = Child([exe, "1"])
    lp = Loupe("funclatency", exe + ":loupe_slow_fn")
    wait_links(lp, 2)
    name = os.path.basename(exe)
    check(not uprobe_event_lines(name),
          "uprobe attached through tracefs: %s" % uprobe_event_lines(name))
    lp.proc.kill()
    lp.wait_exit(5, "after SIGKILL")
    check(not uprobe_event_lines(name) and not uprobe_event_lines("libbpf_%d_" % lp.pid),
          "uprobe_events has leftovers after SIGKILL: %s" % uprobe_event_lines(name))
    with open(UPROBE_EVENTS) as f:
        check(not f.read().strip(), "uprobe_events is not empty after SIGKILL")
    # The probe is really gone: the child runs the function without a trap.
    child.go()


test_uprobe_sigkill_leaves_no_tracefs_entries.serial = True  # all of uprobe_events empty


# ------------------------------------------------------------ gethostlatency

# A Python child with a marked comm; each stdin line triggers one lookup.
RESOLVER_PY = r"""
import ctypes, socket, sys
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)   # PR_SET_NAME
print("ready", flush=True)
for line in sys.stdin:
    socket.getaddrinfo("localhost", 80)
    print("done", flush=True)
"""


def _resolver_child():
    comm = marker("gh")[:15]
    child = Child([sys.executable, "-c", RESOLVER_PY, comm])
    return child, comm


def _libc_of(pid):
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            path = line.split()[-1]
            if os.path.basename(path).startswith("libc.so"):
                st = os.stat("/proc/%d/root%s" % (pid, path))
                return path, (st.st_dev, st.st_ino)
    fail("pid %d maps no libc" % pid)


def test_gethostlatency_json():
    child, comm = _resolver_child()
    lp = Loupe("gethostlatency", "-j")
    wait_links(lp, 6)
    # The system-wide probe sits on the libc the child really maps.
    path, ident = _libc_of(child.pid)
    st = os.stat("/proc/%d/root%s" % (lp.pid, path))
    check((st.st_dev, st.st_ino) == ident, "child's libc %s differs from the system's" % path)
    child.go()
    ev = lp.expect_event(lambda e: e.get("pid") == child.pid, "lookup by pid %d" % child.pid)
    lp.stop()
    check_common(ev, "gethost")
    check(ev["comm"] == comm, "comm %r != %r" % (ev["comm"], comm))
    check(ev["host"] == "localhost", "host %r != 'localhost'" % ev["host"])
    check(ev["function"] == "getaddrinfo", "function %r" % ev["function"])
    check(isinstance(ev["lat_ms"], float) and ev["lat_ms"] >= 0, "lat_ms %r" % ev["lat_ms"])
    check(isinstance(ev["lat_ns"], int) and 0 < ev["lat_ns"] < 10 * 10**9,
          "lat_ns %r" % ev["lat_ns"])


def test_gethostlatency_table_pid():
    child, comm = _resolver_child()
    lp = Loupe("gethostlatency", "-p", child.pid)
    hdr = lp.wait_header()
    check(hdr.split() == ["TIME", "PID", "COMM", "LATms", "HOST"], "header %r" % hdr)
    wait_links(lp, 6)
    child.go()
    row = lp.wait_line(lambda l: l[10:].startswith("%-7d %-16s " % (child.pid, comm)), 5)
    check(row is not None, "no row for pid %d %s" % (child.pid, lp.describe()))
    parts = row.split()
    check(len(parts) == 5 and parts[4] == "localhost", "row %r" % row)
    check(float(parts[3]) >= 0 and len(row.split("localhost")[0]) == 10 + 8 + 17 + 11,
          "LATms column: %r" % row)
    time.strptime(parts[0], "%H:%M:%S")
    lp.stop()
    check(all(l[10:].startswith("%-7d " % child.pid) for l in lp.lines()[1:]),
          "-p let other processes through: %s" % short(lp.lines(), 500))


def test_gethostlatency_unpaged_host():
    """The host name sits in a page nobody has touched (helpers.c gai-unpaged):
    the entry uprobe cannot read it, the return reads it again."""
    comm = marker("g")
    exe = copy_binary(helper_bin(), comm)
    child = Child([exe, "gai-unpaged", "localhost"])
    lp = Loupe("gethostlatency", "-j")
    wait_links(lp, 6)
    child.go()
    ev = lp.expect_event(lambda e: e.get("pid") == child.pid, "lookup by pid %d" % child.pid)
    lp.stop()
    check_common(ev, "gethost")
    check(ev["comm"] == comm, "comm %r != %r" % (ev["comm"], comm))
    check(ev["host"] == "localhost", "host %r != 'localhost'" % ev["host"])
    check(ev["host_unread"] is False and ev["host_truncated"] is False,
          "host_unread %r host_truncated %r" % (ev["host_unread"], ev["host_truncated"]))
    check(ev["function"] == "getaddrinfo", "function %r" % ev["function"])
    check(isinstance(ev["lat_ns"], int) and 0 < ev["lat_ns"] < 10 * 10**9,
          "lat_ns %r" % ev["lat_ns"])


# ------------------------------------------------------------ bashreadline

class PtyBash:
    """An interactive bash on a pseudo-terminal (so it really uses readline)."""

    def __init__(self):
        master, slave = pty.openpty()
        env = dict(os.environ, PS1="$ ", TERM="dumb", HISTFILE="/dev/null")
        self.proc = spawn(["/bin/bash", "--norc", "--noprofile", "-i"],
                          stdin=slave, stdout=slave, stderr=slave,
                          env=env, start_new_session=True)
        os.close(slave)
        self.fd = master
        self.pid = self.proc.pid
        self.buf = b""

        def close():
            try:
                os.close(master)
            except OSError:
                pass
        from common import on_cleanup
        on_cleanup(close)
        self.read_until(b"$ ")

    def read_until(self, what, timeout=10):
        deadline = time.monotonic() + timeout
        while what not in self.buf:
            left = deadline - time.monotonic()
            check(left > 0, "bash on the pty: no %r within %ss (got %r)"
                  % (what, timeout, self.buf[-200:]))
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    chunk = b""
                check(chunk, "bash on the pty exited: %r" % self.buf[-200:])
                self.buf += chunk
        self.buf = self.buf.split(what, 1)[1]

    def type(self, line):
        os.write(self.fd, line.encode() + b"\r")

    def warm_up(self):
        """bash already waits inside readline() when the probe arrives, so
        the return of that call is missed: finish it with an empty line."""
        self.type("")
        self.read_until(b"$ ")


def test_bashreadline_row():
    sh = PtyBash()
    lp = Loupe("bashreadline")
    hdr = lp.wait_header()
    check(hdr.split() == ["TIME", "PID", "COMMAND"], "header %r" % hdr)
    wait_links(lp, 1)
    sh.warm_up()
    mark = marker("brl")
    cmd = "echo %s" % mark
    sh.type(cmd)
    sh.read_until(mark.encode() + b"\r\n")
    row = lp.wait_line(lambda l: mark in l, 5)
    check(row is not None, "no row for %r %s" % (cmd, lp.describe()))
    time.strptime(row[:8], "%H:%M:%S")
    check(row[10:] == "%-7d %s" % (sh.pid, cmd), "row %r != pid %d + %r" % (row, sh.pid, cmd))
    lp.stop()


def test_bashreadline_json_pid():
    sh = PtyBash()
    lp = Loupe("bashreadline", "-j", "-p", sh.pid)
    wait_links(lp, 1)
    sh.warm_up()
    mark = marker("brl")
    sh.type(": %s" % mark)
    ev = lp.expect_event(lambda e: mark in e.get("command", ""), "readline event")
    lp.stop()
    check_common(ev, "readline")
    check(ev["pid"] == sh.pid and ev["comm"] == "bash", "pid/comm %s/%s" % (ev["pid"], ev["comm"]))
    check(ev["command"] == ": %s" % mark, "command %r" % ev["command"])


# ------------------------------------------------------------ memleak

def _leaker():
    exe = build_c(LEAK_C, marker("leak"), "-O0", "-fno-omit-frame-pointer")
    return Child([exe]), os.path.basename(exe)


def test_memleak_json_leaky_alloc():
    child, name = _leaker()
    lp = Loupe("memleak", "-j", "-i", "1", "-p", child.pid)
    wait_links(lp, 11)
    child.go()
    t_done = time.monotonic()

    def leak_record(e):
        return e.get("type") == "memleak" and any(
            f.startswith("leaky_alloc+") for f in e.get("stack", []))
    ev = lp.expect_event(leak_record, "memleak record with leaky_alloc", timeout=5)
    # Wait for a whole interval that started after the child finished.
    while time.monotonic() - t_done < 1.2 and lp.alive():
        time.sleep(0.1)
    first = len(lp.events())
    ev = lp.expect_event(leak_record, "a later memleak record", timeout=5)
    lp.stop()
    later = [e for e in lp.events()[first:] if e.get("type") == "memleak"]
    batch = [e for e in later if e["ts_ns"] == ev["ts_ns"]]
    check(ev["bytes"] == 7 * 4096 and ev["allocations"] == 7,
          "leaky_alloc stack: %s bytes in %s allocations, want 28672 in 7: %s"
          % (ev["bytes"], ev["allocations"], short(ev, 500)))
    check(ev["pid"] == child.pid and isinstance(ev["stack_id"], int), "record: %s" % short(ev))
    i = [k for k, f in enumerate(ev["stack"]) if f.startswith("leaky_alloc+")][0]
    check(ev["stack"][i].endswith("[%s]" % name), "frame %r lacks the module" % ev["stack"][i])
    check(any(f.startswith("main+") for f in ev["stack"][i + 1:]),
          "main is not below leaky_alloc: %s" % ev["stack"])
    # Everything else (malloc, calloc, realloc, posix_memalign,
    # aligned_alloc churn) was freed: nothing else is outstanding.
    others = [e for e in batch if e is not ev]
    check(not others, "freed allocations reported as outstanding: %s" % short(others, 600))


def test_memleak_table():
    child, name = _leaker()
    lp = Loupe("memleak", "-i", "1", "--top", "5", "-p", child.pid)
    wait_links(lp, 11)
    child.go()
    line = "\t28672 bytes in 7 allocations from stack"
    got = lp.wait_line(lambda l: l == line, 5)
    check(got is not None, "no %r line %s" % (line, lp.describe()))
    lp.stop()
    out = lp.lines()
    i = out.index(line)
    frames = []
    for l in out[i + 1:]:
        if not l.startswith("\t\t"):
            break
        frames.append(l[2:])
    check(frames and frames[0].startswith("leaky_alloc+0x") and frames[0].endswith(" [%s]" % name),
          "first frame is not leaky_alloc: %s" % frames)
    heads = [l for l in out if l.startswith("[")]
    check(heads and all(l.endswith("] Top 5 stacks with outstanding allocations:")
                        for l in heads), "interval headers: %s" % short(heads))
    time.strptime(heads[0][1:9], "%H:%M:%S")


def test_memleak_kernel_mode():
    lp = Loupe("memleak", "-j", "-i", "1", "-d", "2.5", "--top", "3")
    rc = lp.wait_exit(15)
    check(rc == 0, "exit status %s %s" % (rc, lp.describe()))
    evs = [e for e in lp.events() if e.get("type") == "memleak"]
    check(evs, "no kernel allocation stacks in 2.5 s %s" % lp.describe())
    check(len({e["ts_ns"] for e in evs}) >= 2, "not printed every second: %s" % short(evs))
    for e in evs:
        check(e["bytes"] > 0 and e["allocations"] > 0 and "pid" not in e, "record %s" % short(e))
        # A stack the kernel could not record (map full, or another
        # stack in its hash bucket: likely on a busy machine) is null,
        # never an empty or made-up list, and is told on stderr.
        if e["stack"] is None:
            check(e["stack_id"] < 0, "null stack with id %s" % e["stack_id"])
            check(any("stacks not recorded" in l for l in lp.stderr_lines()),
                  "missed stacks not told on stderr %s" % lp.describe())
            continue
        check(e["stack"] and all(f.endswith("]") for f in e["stack"]),
              "kernel frames: %s" % e["stack"])
    check(any(f.endswith(" [kernel]") for e in evs for f in e["stack"] or []),
          "no frame symbolized from kallsyms: %s" % short(evs, 600))


def test_memleak_bad_input():
    for args in (["-p", "99999999"], ["--top", "0"], ["-z", "abc"], ["-z", "10", "-Z", "5"]):
        lp = Loupe("memleak", *args)
        rc = lp.wait_exit(10)
        err = lp.stderr_lines()
        check(rc == 2 and len(err) == 1 and err[0].startswith("loupe: memleak: "),
              "%s: exit status %s, stderr %s" % (args, rc, err))


def test_funclatency_other_mount_namespace():
    """A binary visible only inside another mount namespace (as in a
    container) is found through /proc/PID/root."""
    import shutil
    if not shutil.which("unshare"):
        raise Skip("unshare not installed")
    exe = build_c(SLOW_C, marker("slow"), "-O1")
    hidden = tmpdir()
    inner = os.path.join(hidden, "inner-slow")
    script = 'mount -t tmpfs none "$1" && cp "$2" "$3" && exec "$3" 3'
    child = Child(["unshare", "-m", "--propagation", "private", "sh", "-c", script,
                   "sh", hidden, exe, inner])
    check(not os.path.exists(inner), "%s leaked into the test's namespace" % inner)
    lp = Loupe("funclatency", "-j", "-p", child.pid, inner + ":loupe_slow_fn")
    wait_links(lp, 2)
    child.go()
    check(lp.stop() == 0, "exit status %s %s" % (lp.rc, lp.describe()))
    stats = [e for e in lp.events() if e.get("type") == "funclatency"]
    check(stats and stats[0]["count"] == 3, "calls seen in the other namespace: %s"
          % short(lp.events(), 500))
