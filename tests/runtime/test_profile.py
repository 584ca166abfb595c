"""Runtime tests of profile and offcputime (docs/profiling.md).

The workloads are C programs built here with frame pointers, whose time is
in a known chain of functions: main -> outer -> inner -> spin on CPU, and
main -> rest -> napper off CPU (napper makes the nanosleep system call
itself, so it is the first user frame of the blocked stack). Every loupe
run is filtered on the workload's pid or unique comm.
"""
import os
import shutil
import subprocess
import sys
import time

from common import folded_rows, LOUPE, Loupe, Skip, check, fail, marker, short, spawn, tmpdir

WORK_C = r"""
#include <stdlib.h>
#include <time.h>
#include <sys/syscall.h>

volatile unsigned long sink;

__attribute__((noinline)) void spin(void)
{
	for (int i = 0; i < 1000000; i++)
		sink += i;
}

__attribute__((noinline)) void inner(void) { spin(); }
__attribute__((noinline)) void outer(void) { inner(); }

/* nanosleep(10 ms) without libc, which has no frame pointers. */
__attribute__((noinline)) void napper(void)
{
	struct timespec ts = { 0, 10000000 };
	long ret;

	__asm__ volatile ("syscall" : "=a"(ret)
			  : "0"((long)SYS_nanosleep), "D"(&ts), "S"(0L)
			  : "rcx", "r11", "memory");
}

__attribute__((noinline)) void rest(void) { napper(); }

int main(int argc, char **argv)
{
	struct timespec now, end;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += atoi(argv[2]);
	do {
		if (argv[1][0] == 's')
			outer();
		else
			rest();
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec < end.tv_sec ||
		 (now.tv_sec == end.tv_sec && now.tv_nsec < end.tv_nsec));
	return 0;
}
"""

CHAIN = "main;outer;inner;spin"


def _build(d=None):
    """Compile the workload under a unique name; return its path."""
    if not shutil.which("gcc"):
        raise Skip("gcc not available")
    d = d or tmpdir()
    src = os.path.join(d, "work.c")
    exe = os.path.join(d, marker("pw"))
    with open(src, "w") as f:
        f.write(WORK_C)
    r = subprocess.run(["gcc", "-O0", "-fno-omit-frame-pointer", "-o", exe, src],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    check(r.returncode == 0, "gcc failed: %s" % r.stdout.decode(errors="replace"))
    return exe


def _start(exe, mode="spin", secs=8):
    return spawn([exe, mode, str(secs)])


def _folded(lp, timeout=15):
    return folded_rows(lp, timeout, need_rows=False)


def _user_frames(frames):
    return [f for f in frames[1:] if not f.endswith("_[k]")]


def _check_chain(rows, comm, what):
    check(rows, "no stacks %s" % what)
    comms = {r[0][0] for r in rows}
    check(comms == {comm}, "comms %s, want only %s %s" % (comms, comm, what))
    total = sum(c for _, c in rows)
    chain = sum(c for f, c in rows if CHAIN in ";".join(f))
    in_spin = sum(c for f, c in rows if _user_frames(f)[-1:] == ["spin"])
    check(chain, "no %s chain in %s %s" % (CHAIN, short(rows, 800), what))
    check(in_spin >= 0.7 * total,
          "%d of %d samples end in spin %s: %s" % (in_spin, total, what, short(rows, 800)))
    return total


# ---------------------------------------------------------------- profile

def test_profile_folded_chain():
    exe = _build()
    p = _start(exe)
    lp = Loupe("profile", "-p", p.pid, "--folded", "-d", "3")
    rows = _folded(lp)
    total = _check_chain(rows, os.path.basename(exe)[:15], "for pid %d" % p.pid)
    # One CPU-bound thread at 49 Hz for 3 s is about 147 samples.
    check(total >= 60, "only %d samples in 3 s at 49 Hz" % total)
    check(not [l for l in lp.stderr_lines() if "not recorded" in l],
          "stacks lost: %s" % lp.stderr_lines())


test_profile_folded_chain.serial = True  # sample count of a timed run


def test_profile_svg():
    """--svg draws the same stacks as --folded: a frame per function."""
    import xml.etree.ElementTree as ET
    exe = _build()
    p = _start(exe)
    out = os.path.join(tmpdir(), "cpu.svg")
    lp = Loupe("profile", "-p", p.pid, "--svg", out, "-d", "2")
    rc = lp.wait_exit(20, "profile --svg")
    check(rc == 0, "exit status %s %s" % (rc, lp.describe()))
    check(lp.lines() == [], "--svg printed on stdout: %s" % short(lp.lines()))
    root = ET.parse(out).getroot()
    titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")]
    names = [t.split(" (")[0] for t in titles if t]
    for fn in ("main", "outer", "inner", "spin"):
        check(fn in names, "no %s frame in the SVG (frames: %s)" % (fn, short(names)))
    spin = [t for t in titles if t and t.startswith("spin (")]
    check(spin and "samples" in spin[0], "spin frame title: %s" % short(spin))


def test_profile_other_mount_namespace():
    """The binary is on a tmpfs mounted only in the workload's namespace."""
    if not shutil.which("unshare"):
        raise Skip("unshare not available")
    exe = _build()
    d = tmpdir()
    hidden = os.path.join(d, "mnt")
    os.mkdir(hidden)
    name = os.path.basename(exe)
    script = ("mount -t tmpfs none %s && cp %s %s/ && exec %s/%s spin 8"
              % (hidden, exe, hidden, hidden, name))
    p = spawn(["unshare", "-m", "--propagation", "private", "sh", "-c", script])
    inner = os.path.join(hidden, name)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            if os.readlink("/proc/%d/exe" % p.pid) == inner:
                break
        except OSError:
            pass
        time.sleep(0.05)
    check(os.readlink("/proc/%d/exe" % p.pid) == inner,
          "workload did not start in its namespace")
    check(not os.path.exists(inner), "%s is visible from the root namespace" % inner)
    lp = Loupe("profile", "-p", p.pid, "--folded", "-d", "2")
    _check_chain(_folded(lp), name[:15], "in another mount namespace")


def test_profile_deleted_binary_and_exited_process():
    """One workload's binary is deleted while it runs; another exits
    before loupe symbolizes (its mappings were captured while it lived)."""
    exe = _build()
    p = _start(exe, secs=8)
    time.sleep(0.2)
    os.unlink(exe)
    exe2 = _build()
    lp_del = Loupe("profile", "-p", p.pid, "--folded", "-d", "2")
    lp_exit = Loupe("profile", "-n", os.path.basename(exe2)[:15], "--folded", "-d", "4")
    time.sleep(0.5)
    p2 = _start(exe2, secs=1)
    _check_chain(_folded(lp_del), os.path.basename(exe)[:15], "of a deleted binary")
    check(p2.wait(timeout=5) == 0, "workload 2 failed")
    _check_chain(_folded(lp_exit), os.path.basename(exe2)[:15], "of an exited process")


def test_profile_default_output_and_json():
    exe = _build()
    p = _start(exe)
    comm = os.path.basename(exe)[:15]
    lp = Loupe("profile", "-p", p.pid, "-d", "2")
    lj = Loupe("profile", "-p", p.pid, "-d", "2", "-j")
    rc = lp.wait_exit(15)
    check(rc == 0, "exit status %s %s" % (rc, lp.describe()))
    out = lp.lines()
    want = "Sampling at 49 Hertz of PID %d by user + kernel stack for 2 secs." % p.pid
    check(out and out[0] == want, "banner %r, want %r" % (out[:1], want))
    tail = "    %-16s %s (%d)" % ("-", comm, p.pid)
    ends = [i for i, l in enumerate(out) if l == tail]
    check(ends, "no %r line in %s" % (tail, short(out, 600)))
    starts = [1] + [i + 3 for i in ends[:-1]]
    blocks = ["\n" + "\n".join(out[a:b]) + "\n" for a, b in zip(starts, ends)]
    check(len(blocks) == len(set(blocks)), "identical stacks not merged: %s" % blocks)
    check(any("\n    spin\n    inner\n    outer\n    main\n" in b for b in blocks),
          "no spin/inner/outer/main block above %r: %s" % (tail, short(out, 800)))
    for i in ends:
        check(out[i + 1].startswith("        ") and out[i + 1].strip().isdigit(),
              "count line %r" % out[i + 1])
    check(lj.wait_exit(15) == 0, "json run: %s" % lj.describe())
    recs = [e for e in lj.events() if e.get("type") == "stack"]
    check(recs, "no stack records %s" % lj.describe())
    for e in recs:
        check(e["pid"] == p.pid and e["comm"] == comm and e["unit"] == "samples" and
              isinstance(e["count"], int) and e["count"] > 0 and
              isinstance(e["ts_ns"], int), "record %s" % short(e))
        check("user_stack" in e and "kernel_stack" in e, "halves: %s" % short(e))
    spin = sum(e["count"] for e in recs if e["user_stack"] and
               e["user_stack"][0]["name"] == "spin")
    check(spin >= 0.7 * sum(e["count"] for e in recs), "spin leaf: %s" % short(recs, 800))
    f = next(e["user_stack"][0] for e in recs if e["user_stack"] and
             e["user_stack"][0]["name"] == "spin")
    check(f["module"].endswith(os.path.basename(exe)) and f["kind"] == "user" and
          isinstance(f["addr"], int) and isinstance(f["offset"], int), "frame %s" % f)


def test_profile_user_or_kernel_only():
    exe = _build()
    p = _start(exe)
    lu = Loupe("profile", "-p", p.pid, "--folded", "-d", "2", "-U")
    lk = Loupe("profile", "-p", p.pid, "--folded", "-d", "2", "-K")
    rows = _folded(lu)
    check(rows and not [f for f, _ in rows if any(x.endswith("_[k]") for x in f)],
          "-U printed kernel frames: %s" % short(rows, 600))
    check([f for f, _ in rows if CHAIN in ";".join(f)], "-U lost the chain: %s" % short(rows))
    rows = _folded(lk)
    check(rows, "-K: no samples %s" % lk.describe())
    check(not [f for f, _ in rows if any(not x.endswith("_[k]") for x in f[1:])],
          "-K printed user frames: %s" % short(rows, 600))


def test_profile_missed_stacks_reported():
    exe = _build()
    p = _start(exe)
    lp = Loupe("profile", "-p", p.pid, "--folded", "-d", "2", "--stack-storage-size", "1")
    rows = _folded(lp)
    missed = sum(c for f, c in rows if "[Missed User Stack]" in f)
    check(missed > 0, "no [Missed User Stack] line with a 1-entry stack map: %s" % short(rows))
    err = [l for l in lp.stderr_lines() if "stacks not recorded" in l]
    check(len(err) == 1 and err[0].startswith("loupe: profile: ") and
          "--stack-storage-size" in err[0], "stderr %s" % lp.stderr_lines())
    n = int(err[0].split()[2])
    check(n >= missed, "%d reported < %d shown" % (n, missed))


def test_profile_nothing_sampled_says_so():
    """A -p process that never runs is sampled zero times: folded and JSON
    output have no header, so stderr must say so (they once ended with
    nothing at all, exit status 0), and how long it ran: not at all."""
    sleeper = spawn(["sleep", "60"])
    for mode in ("--folded", "-j"):
        lp = Loupe("profile", "-p", sleeper.pid, mode, "-d", "1")
        rc = lp.wait_exit(15)
        check(rc == 0, "%s: exit status %s %s" % (mode, rc, lp.describe()))
        check(lp.lines() == [], "%s: stdout %s" % (mode, short(lp.lines())))
        want = ("loupe: profile: no samples counted: PID %d was on CPU for "
                "0.000 s meanwhile" % sleeper.pid)
        check(lp.stderr_lines() == [want],
              "%s: stderr %s" % (mode, lp.stderr_lines()))


def test_profile_busy_but_unsampled_says_how_long_it_ran():
    """The reported empty `profile -p PID -f` of a busy Python loop: it
    happens when the process gets (almost) no CPU while sampled, as on a
    loaded machine (2 of 12 one-second runs with three CPU burners here).
    The same made certain: a busy loop pinned to CPU 1, sampled on CPU 0
    only. stderr must say that it ran, so that the empty output is
    explained and not taken for a broken profiler."""
    if len(os.sched_getaffinity(0)) < 2 or 1 not in os.sched_getaffinity(0):
        raise Skip("needs CPUs 0 and 1")
    busy = spawn([sys.executable, "-c", "while True: pass"],
                 preexec_fn=lambda: os.sched_setaffinity(0, {1}))
    time.sleep(0.2)
    lp = Loupe("profile", "-p", busy.pid, "--folded", "--cpu", "0",
               "-d", "1")
    rc = lp.wait_exit(15)
    check(rc == 0, "exit status %s %s" % (rc, lp.describe()))
    check(lp.lines() == [], "stdout %s" % short(lp.lines()))
    err = lp.stderr_lines()
    prefix = ("loupe: profile: no samples counted: PID %d was on CPU for "
              % busy.pid)
    check(len(err) == 1 and err[0].startswith(prefix) and
          err[0].endswith(" s meanwhile"), "stderr %s" % err)
    secs = float(err[0][len(prefix):-len(" s meanwhile")])
    # It ran for most of the second (unless starved); never more.
    check(0 < secs <= 1.2, "on CPU %.3f s" % secs)


def test_profile_python_busy_loop_folded():
    """The reported case: a Python busy loop (no frame pointers) started
    just before `profile -p PID -f` is sampled and printed."""
    py = spawn([sys.executable, "-c", "while True: pass"])
    lp = Loupe("profile", "-p", py.pid, "--folded", "-d", "2")
    rows = _folded(lp)
    total = sum(c for _, c in rows)
    check(total > 0 and {f[0] for f, _ in rows} <= {"python3", "python3.11",
                                                    os.path.basename(sys.executable)[:15]},
          "rows %s %s" % (short(rows, 600), lp.describe()))
    check("no samples counted" not in " ".join(lp.stderr_lines()),
          "stderr %s" % lp.stderr_lines())


def test_profile_usage_errors():
    for args in (["-U", "-K"], ["-F", "0"], ["-F", "abc"], ["--cpu", "99999"],
                 ["--folded", "-j"], ["--stack-storage-size", "0"], ["-x"]):
        lp = Loupe("profile", *args)
        rc = lp.wait_exit(10)
        err = lp.stderr_lines()
        check(rc == 2 and len(err) == 1 and err[0].startswith("loupe: profile: "),
              "%s: exit status %s, stderr %s" % (args, rc, err))


# ---------------------------------------------------------------- offcputime

def test_offcputime_napper_above_schedule():
    exe = _build()
    p = _start(exe, "nap")
    comm = os.path.basename(exe)[:15]
    lp = Loupe("offcputime", "-p", p.pid, "--folded", "-d", "2")
    lm = Loupe("offcputime", "-p", p.pid, "--folded", "-d", "2", "-M", "1000")
    lj = Loupe("offcputime", "-p", p.pid, "-j", "-d", "2", "-m", "5000")
    rows = _folded(lp)
    check(rows and {f[0] for f, _ in rows} == {comm}, "comms: %s" % short(rows))
    naps = [(f, c) for f, c in rows if "main;rest;napper" in ";".join(f)]
    check(naps, "no main;rest;napper stack: %s" % short(rows, 800))
    f, us = max(naps, key=lambda r: r[1])
    i = f.index("napper")
    kern = f[i + 1:]
    check(kern and all(x.endswith("_[k]") for x in kern) and "schedule_[k]" in kern,
          "frames above napper are not the kernel's schedule path: %s" % f)
    # 2 s of 10 ms naps: nearly all of it off CPU.
    check(us >= 1000000, "%d us off CPU in napper over 2 s" % us)
    # -M 1000: 10 ms naps are longer than the maximum. A busy machine may
    # still take napper off the CPU for less than 1 ms, between naps or
    # in nanosleep's own path (woken before it slept, then preempted in
    # schedule()): those are kept, and are a sliver of the naps' 2 s.
    rows = _folded(lm)
    slept = [r for r in rows if "napper" in r[0] and
             any("nanosleep" in x for x in r[0])]
    kept = sum(c for _, c in slept)
    check(kept < us // 20, "-M 1000 kept %d us of the %d us of naps: %s" %
          (kept, us, short(slept)))
    check(lj.wait_exit(15) == 0, "json run %s" % lj.describe())
    recs = [e for e in lj.events() if e.get("type") == "stack"]
    nap = [e for e in recs if e["user_stack"] and e["user_stack"][0]["name"] == "napper"]
    check(nap and nap[0]["unit"] == "us" and nap[0]["pid"] == p.pid and
          nap[0]["count"] >= 5000, "-m 5000 -j napper records: %s" % short(recs, 800))
    check(any(k["name"] == "schedule" for k in nap[0]["kernel_stack"]),
          "no schedule in %s" % short(nap[0]))


def test_offcputime_state_filter():
    """--state 1: napper's nanosleep (TASK_INTERRUPTIBLE) is counted;
    --state 2 (uninterruptible) and --state 0 (preempted) leave it out."""
    exe = _build()
    p = _start(exe, "nap")
    runs = {st: Loupe("offcputime", "-p", p.pid, "-U", "--folded", "-d", "2",
                      "--state", st) for st in ("1", "2", "0")}
    naps = {}
    for st, lp in runs.items():
        rc = lp.wait_exit(15)
        check(rc == 0, "--state %s: exit status %s %s" % (st, rc, lp.describe()))
        naps[st] = 0
        for line in lp.lines():
            stack, _, count = line.rpartition(" ")
            if stack.endswith("main;rest;napper"):
                naps[st] += int(count)
    # 2 s of 10 ms naps: nearly all of it asleep.
    check(naps["1"] >= 1000000, "--state 1: %d us in napper" % naps["1"])
    # Preempted in napper (runnable) happens on a busy machine, briefly.
    check(naps["2"] == 0 and naps["0"] < naps["1"] // 20,
          "--state 2/0 counted napper: %s" % naps)


def test_offcputime_default_output():
    exe = _build()
    p = _start(exe, "nap")
    lp = Loupe("offcputime", "-p", p.pid, "-d", "2", "-K")
    rc = lp.wait_exit(15)
    check(rc == 0, "exit status %s %s" % (rc, lp.describe()))
    out = lp.lines()
    want = "Tracing off-CPU time (us) of PID %d by kernel stack for 2 secs." % p.pid
    check(out and out[0] == want, "banner %r, want %r" % (out[:1], want))
    tail = "    %-16s %s (%d)" % ("-", os.path.basename(exe)[:15], p.pid)
    check(tail in out, "no %r in %s" % (tail, short(out, 600)))
    i = out.index(tail)
    check("    schedule" in out[:i] and "    --" not in out,
          "kernel-only block: %s" % short(out[:i + 2], 600))


def test_offcputime_usage_errors():
    for args in (["-m", "10", "-M", "5"], ["-U", "-K"], ["-u", "-k"], ["-m", "x"],
                 ["--folded", "-j"], ["--state", "x"], ["--state", "65536"]):
        lp = Loupe("offcputime", *args)
        rc = lp.wait_exit(10)
        err = lp.stderr_lines()
        check(rc == 2 and len(err) == 1 and err[0].startswith("loupe: offcputime: "),
              "%s: exit status %s, stderr %s" % (args, rc, err))


def _kallsyms_code():
    """Sorted (start, name, module) of every code symbol in /proc/kallsyms."""
    syms = []
    with open("/proc/kallsyms") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 3 or parts[1] not in "tTwW":
                continue
            addr = int(parts[0], 16)
            if addr:
                mod = parts[3].strip("[]") if len(parts) > 3 else None
                syms.append((addr, parts[2], mod))
    syms.sort()
    return syms


def test_profile_kernel_frames_match_kallsyms():
    """Every kernel frame of a system-wide profile names the symbol that
    really holds its address (a freed name table once gave frames the
    right offset and another symbol's name)."""
    import bisect
    d = tmpdir()
    # kernel-heavy work on both CPUs: metadata walks, page-cache copies
    work = [spawn(["sh", "-c", "end=$(($(date +%s)+5)); "
                   "while [ $(date +%s) -lt $end ]; do "
                   "ls -laR /usr/share/doc >/dev/null 2>&1; done"]),
            spawn(["dd", "if=/dev/zero", "of=%s/z" % d, "bs=64k",
                   "count=20000", "conv=notrunc"],
                  stderr=subprocess.DEVNULL)]
    lp = Loupe("profile", "-K", "-j", "-F", "199", "-d", "4")
    rc = lp.wait_exit(30)
    for w in work:
        w.kill()
    check(rc == 0, "exit status %s %s" % (rc, lp.describe()))
    syms = _kallsyms_code()
    starts = [s[0] for s in syms]
    checked, bad = 0, []
    for e in lp.events():
        if e.get("type") != "stack":
            continue
        for i, fr in enumerate(e.get("kernel_stack") or []):
            # BPF programs come and go (other tools' too) before kallsyms
            # is read here
            if not fr.get("name") or fr.get("module") == "bpf":
                continue
            # non-leaf frames are return addresses, resolved by the byte
            # before them (the offset still counts from the address)
            look = fr["addr"] - (1 if i else 0)
            j = bisect.bisect_right(starts, look) - 1
            check(j >= 0, "frame below every symbol: %s" % fr)
            start = syms[j][0]
            names = {s[1] for s in syms[bisect.bisect_left(starts, start):
                                        bisect.bisect_right(starts, start)]}
            ok = (fr["name"] in names and
                  fr["addr"] - fr["offset"] == start)
            checked += 1
            if not ok:
                bad.append((fr, sorted(names), hex(start)))
    check(checked >= 100, "only %d kernel frames checked: %s" %
          (checked, lp.describe()))
    check(not bad, "%d of %d kernel frames misnamed, e.g. %s" %
          (len(bad), checked, short(bad[:3], 900)))


test_profile_kernel_frames_match_kallsyms.timeout = 60
test_profile_kernel_frames_match_kallsyms.serial = True  # system-wide, both CPUs busy


def test_profile_escapes_a_command_name_of_any_bytes():
    """A command name is whatever bytes a process chose: the text output
    shows an invalid byte as \\xNN, as every table does, never raw."""
    code = ("import ctypes, time\n"
            "ctypes.CDLL(None).prctl(15, b'lp\\xffbusy\\x01', 0, 0, 0)\n"
            "print('ready', flush=True)\n"
            "end = time.time() + 6\n"
            "while time.time() < end: pass\n")
    p = spawn([sys.executable, "-c", code], stdout=subprocess.PIPE)
    check(p.stdout.readline() == b"ready\n", "the busy process did not start")
    r = subprocess.run([LOUPE, "profile", "-p", str(p.pid), "-U", "-d", "2"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    check(r.returncode == 0, "exit status %s: %s" % (r.returncode, r.stderr[-300:]))
    try:
        out = r.stdout.decode("utf-8")
    except UnicodeDecodeError as e:
        fail("raw bytes in the table output: %s" % e)
    want = "    %-16s lp\\xffbusy\\x01 (%d)" % ("-", p.pid)
    check(want in out.splitlines(), "no %r line in %s" % (want, short(out, 600)))
