"""Runtime tests of `loupe trace`, the bpftrace-language compiler.

Conformance: every program in tests/trace/cases/NAME.bt runs on the real
kernel and its stdout must equal NAME.out byte for byte (the .out files
are bpftrace 0.17's own output for the same program); NAME.err holds the
exact stderr of programs that must be refused, NAME.status their exit
status. Differential: the same deterministic programs through the
installed bpftrace, compared with loupe's output in one run.
Workloads: tracepoints, uprobes, raw tracepoints and profile probes
triggered by children the tests start, asserted by pid and marker.
"""
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

from common import (LOST_RE, LOUPE, SLOW, Cgroup, Skip, check, on_cleanup, existing_bpf_ids,
                    fdinfo_ids, helper_bin, marker, poll_until, run_quiet, short, spawn, tmpdir)

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(os.path.dirname(HERE), "trace", "cases")


def _trace(args, timeout=20, **kw):
    rc, out, err = run_quiet([LOUPE, "trace"] + args, timeout=timeout, **kw)
    check(rc is not None, "loupe trace %s did not finish within %d s" %
          (short(args), timeout))
    return rc, out, err


def _case_names():
    return sorted(os.path.basename(p)[:-3]
                  for p in glob.glob(os.path.join(CASES, "*.bt")))


def _read(path):
    with open(path) as f:
        return f.read()


def _run_case(name):
    bt = os.path.join(CASES, name + ".bt")
    args_file = os.path.join(CASES, name + ".args")
    extra = _read(args_file).split() if os.path.exists(args_file) else []
    rc, out, err = _trace([bt] + extra)
    status_file = os.path.join(CASES, name + ".status")
    want_status = int(_read(status_file)) if os.path.exists(status_file) else 0
    if os.path.exists(os.path.join(CASES, name + ".err")):
        want_err = _read(os.path.join(CASES, name + ".err"))
        want_err = want_err.replace("@CASES@", CASES)
        check(err == want_err, "%s: stderr differs:\n--- want\n%s--- got\n%s" %
              (name, want_err, err))
    else:
        check(err == "", "%s: unexpected stderr: %s" % (name, short(err, 800)))
    check(rc == want_status, "%s: exit status %s, want %d (stderr %s)" %
          (name, rc, want_status, short(err, 600)))
    out_file = os.path.join(CASES, name + ".out")
    if os.path.exists(out_file):
        want = _read(out_file)
        check(out == want, "%s: stdout differs:\n--- want\n%s--- got\n%s" %
              (name, want, out))


def _make_case(name):
    def test():
        _run_case(name)
    test.__name__ = "test_case_%s" % name
    return test


for _name in _case_names():
    globals()["test_case_%s" % _name] = _make_case(_name)


def test_differential_bpftrace():
    """The deterministic cases give the same stdout as bpftrace itself."""
    bpftrace = shutil.which("bpftrace")
    if not bpftrace:
        raise Skip("bpftrace is not installed (make deps installs it)")
    compared = 0
    for name in _case_names():
        base = os.path.join(CASES, name)
        if not os.path.exists(base + ".out") or os.path.exists(base + ".err"):
            continue
        rc, want, err = run_quiet([bpftrace, base + ".bt"], timeout=30)
        check(rc == 0, "bpftrace %s failed: %s" % (name, short(err)))
        rc, got, err = _trace([base + ".bt"])
        check(got == want, "%s: loupe and bpftrace differ:\n--- bpftrace\n%s"
              "--- loupe\n%s" % (name, want, got))
        compared += 1
    check(compared >= 5, "only %d cases compared" % compared)


test_differential_bpftrace.timeout = 120


def test_json_hist_matches_bpftrace():
    """hist/lhist slots in JSON (bounds and counts) as `bpftrace -f json`."""
    bpftrace = shutil.which("bpftrace")
    if not bpftrace:
        raise Skip("bpftrace is not installed (make deps installs it)")
    bt = os.path.join(CASES, "hist.bt")
    rc, want, err = run_quiet([bpftrace, "-f", "json", bt], timeout=30)
    check(rc == 0, "bpftrace failed: %s" % short(err))
    rc, got, err = _trace(["-j", bt])
    check(rc == 0, "exit %s: %s" % (rc, short(err)))
    check(got == want, "--- bpftrace\n%s--- loupe\n%s" % (want, got))


# ---------------------------------------------------------------- workloads

def test_tracepoint_openat_of_command():
    """-c runs the command; args->filename of its openat, then exit."""
    d = tmpdir()
    path = os.path.join(d, marker("open"))
    with open(path, "w") as f:
        f.write("x\n")
    prog = ('tracepoint:syscalls:sys_enter_openat /pid == cpid/ '
            '{ printf("open %s by %s\\n", str(args->filename), comm); }')
    rc, out, err = _trace(["-c", "cat %s" % path, "-e", prog])
    check(rc == 0, "exit %s: %s" % (rc, short(err)))
    check(out.startswith("Attaching 1 probe...\n"), "header: %s" % short(out))
    check("open %s by cat\n" % path in out, "no openat of %s in %s" %
          (path, short(out, 800)))


def test_command_traced_from_its_own_exec():
    """-c execs the command itself (no sh in between): the first exec
    cpid completes is the command's, as in bpftrace."""
    prog = ('t:syscalls:sys_exit_execve /pid == cpid/ '
            '{ printf("%s\\n", comm); }')
    rc, out, err = _trace(["-c", "/bin/true", "-e", prog])
    check(rc == 0 and err == "", "exit %s: %s" % (rc, short(err)))
    # bpftrace 0.17 prints exactly this for the same program
    check(out == "Attaching 1 probe...\ntrue\n\n\n", "got %r" % out)


def test_command_words_and_path():
    """-c splits its words like sh without expansions; a bare name is
    found in PATH; a command that cannot run is a usage error."""
    cmd = "printf [%s]\\\\n a 'b c' \"d e\" f\\ g '' $HOME"
    rc, out, err = _trace(["-c", cmd, "-e", "BEGIN {}"])
    check(rc == 0 and err == "", "exit %s: %s" % (rc, short(err)))
    check(out == "Attaching 1 probe...\n[a]\n[b c]\n[d e]\n[f g]\n[]\n"
          "[$HOME]\n\n\n", "got %r" % out)
    missing = "loupe-no-such-" + marker()
    rc, out, err = _trace(["-c", missing, "-e", "BEGIN {}"])
    check(rc == 2 and out == "", "exit %s, stdout %r" % (rc, out))
    check(err == "loupe: trace: -c: cannot run '%s': No such file or "
          "directory; give a path or a command in PATH\n" % missing,
          "stderr: %s" % short(err))
    rc, out, err = _trace(["-c", "echo 'a", "-e", "BEGIN {}"])
    check(rc == 2 and "no closing '" in err, "exit %s: %s" % (rc, err))


def test_nothing_printed_after_exit():
    """Events the probes queue behind exit() are not printed; END's
    output still is (bpftrace prints the same, every run)."""
    path = "/loupe-trace-exit-" + marker()
    prog = ('t:syscalls:sys_enter_openat /pid == cpid/ '
            '{ printf("open\\n"); exit(); } END { printf("end\\n"); }')
    for _ in range(3):
        rc, out, err = _trace(["-c", "%s flood 3000 %s" % (helper_bin(), path),
                               "-e", prog])
        check(rc == 0 and err == "", "exit %s: %s" % (rc, short(err)))
        check(out == "Attaching 2 probes...\nopen\nend\n\n\n", "got %r" % out)


def test_stack_limit_is_one_map_key():
    """kstack(1): stacks equal in their first frame are one key, as in
    bpftrace (a stack map one frame deep); the full stacks differ."""
    prog = ('t:sched:sched_switch /pid == cpid/ { @one[kstack(1)] = count(); '
            '@full[kstack] = count(); @n = count(); }')
    rc, out, err = _trace(["-c", "/bin/sleep 0.2", "-e", prog])
    check(rc == 0 and err == "", "exit %s: %s" % (rc, short(err)))
    n = int(re.search(r"^@n: (\d+)$", out, re.M).group(1))
    full = re.findall(r"^@full\[\n((?:    \S+\n)+)\]: (\d+)$", out, re.M)
    one = re.findall(r"^@one\[\n    (\S+)\n\]: (\d+)$", out, re.M)
    check(n >= 2 and len(full) >= 2, "want 2+ different stacks: %s" % out)
    check(sum(int(c) for _, c in full) == n, "full stacks: %s" % out)
    by_top = {}
    for frames, c in full:
        top = frames.split()[0]
        by_top[top] = by_top.get(top, 0) + int(c)
    check(len(one) < len(full), "kstack(1) merged nothing: %s" % out)
    check({f: int(c) for f, c in one} == by_top,
          "kstack(1) %r, full stacks by top frame %r" % (one, by_top))


def test_stack_modes_match_bpftrace():
    """kstack(perf, N), ustack(perf, N), kstack(N), ustack(bpftrace, N) in
    printf and as map keys: bpftrace's layout, line for line. Addresses
    and symbols are compared as ADDR and SYM: user addresses move from
    run to run, and the kernel's path into a tracepoint changes while
    another tracer is attached to it (__traceiter_sys_enter appears)."""
    d = tmpdir()
    script = os.path.join(d, "getppid.py")
    with open(script, "w") as f:
        f.write("import os\nos.getppid()\n")
    prog = ('t:syscalls:sys_enter_getppid /pid == cpid/ { '
            'printf("A%sB\\n", kstack(perf, 3)); '
            'printf("C%sD\\n", ustack(perf, 3)); '
            'printf("E%sF\\n", kstack(2)); '
            'printf("G%sH\\n", ustack(bpftrace, 2)); '
            '@[kstack(perf, 2)] = count(); @u[ustack(3)] = count(); '
            'exit(); }')
    cmd = "%s %s" % (sys.executable, script)
    rc, out, err = _trace(["-c", cmd, "-e", prog])
    check(rc == 0 and err == "", "exit %s: %s" % (rc, short(err)))
    check(re.search(r"^A\n(\t[0-9a-f]+ \S+\+\d+\n){3}B$", out, re.M),
          "kstack(perf, 3): %s" % out)
    check(re.search(r"^C\n(\t[0-9a-f]+ \S+ \(\S+\)\n){1,3}D$", out, re.M),
          "ustack(perf, 3): %s" % out)
    check(re.search(r"^E\n( {8}\S+\+\d+\n){2}F$", out, re.M),
          "kstack(2): %s" % out)
    check(re.search(r"^@\[\n(\t[0-9a-f]+ \S+\n){2}\]: 1$", out, re.M),
          "@[kstack(perf, 2)]: %s" % out)
    bpftrace = shutil.which("bpftrace")
    if not bpftrace:
        return
    rc, want, err = run_quiet([bpftrace, "-c", cmd, "-e", prog], timeout=30)
    check(rc == 0, "bpftrace failed: %s" % short(err))

    def layout(text):
        text = re.sub(r"\b(0x)?[0-9a-f]{6,16}\b", "ADDR", text)
        return re.sub(r"^(\s+(ADDR )?)[\w.]+\+\d+", r"\1SYM", text,
                      flags=re.M)
    check(layout(out) == layout(want),
          "--- bpftrace\n%s--- loupe\n%s" % (want, out))


def test_integer_pointer_casts():
    """(uint8 *), (uint32 *)... of a syscall's pointer argument: reads
    through it, indexing and pointer arithmetic in units of the pointee
    (bpftrace's results on the same path)."""
    d = tmpdir()
    path = os.path.join(d, "ABCDEFGH" + marker())
    prog = ('t:syscalls:sys_enter_openat /pid == cpid/ { '
            '$p = (uint8 *)args->filename; $w = (uint16 *)args->filename; '
            'printf("%d %x %x %d %c %d %d\\n", *(uint8 *)args->filename, '
            '*(uint32 *)args->filename, *((uint32 *)args->filename + 1), '
            '*(int8 *)args->filename, $p[5], *($w + 2), $w[3]); }')
    rc, out, err = _trace(["-c", "%s creat %s" % (helper_bin(), path),
                           "-e", prog])
    check(rc == 0 and err == "", "exit %s: %s" % (rc, short(err)))
    b = path.encode()

    def le(off, size):
        return int.from_bytes(b[off:off + size], "little")
    want = "%d %x %x %d %c %d %d\n" % (b[0], le(0, 4), le(4, 4), b[0],
                                       b[5], le(4, 2), le(6, 2))
    check(want in out, "want %r in %s" % (want, short(out, 800)))


def test_strncmp_filters_paths():
    """strncmp() on a syscall's path: only the opens under the test's
    directory (the loader's /etc and /lib opens are not printed)."""
    d = tmpdir()
    path = os.path.join(d, marker("strncmp"))
    prefix = d + "/"
    prog = ('t:syscalls:sys_enter_openat /pid == cpid && '
            'strncmp(str(args->filename), "%s", %d) == 0/ '
            '{ printf("open %%s\\n", str(args->filename)); }'
            % (prefix, len(prefix)))
    rc, out, err = _trace(["-c", "%s creat %s" % (helper_bin(), path),
                           "-e", prog])
    check(rc == 0 and err == "", "exit %s: %s" % (rc, short(err)))
    opens = [x for x in out.splitlines() if x.startswith("open ")]
    check(opens == ["open " + path], "got %s" % short(out, 800))


def test_sizeof_offsetof_from_btf():
    """sizeof(struct X) and offsetof(struct X, field) are the kernel's
    BTF figures (as bpftool dumps them)."""
    bpftool = shutil.which("bpftool") or "/usr/sbin/bpftool"
    rc, raw, err = run_quiet([bpftool, "btf", "dump", "file",
                              "/sys/kernel/btf/vmlinux"], timeout=60)
    if rc != 0:
        raise Skip("bpftool cannot dump the kernel's BTF: %s" % short(err))
    m = re.search(r"^\[\d+\] STRUCT 'file' size=(\d+) vlen=\d+\n"
                  r"((?:\t.*\n)+)", raw, re.M)
    check(m, "no struct file in the BTF dump")
    off = re.search(r"'f_mode' type_id=\d+ bits_offset=(\d+)", m.group(2))
    check(off, "no f_mode in struct file")
    rc, out, err = _trace(["-e", 'BEGIN { printf("%d %d %d\\n", '
                           "sizeof(struct file), offsetof(struct file, f_mode), "
                           "sizeof(struct file *)); exit(); }"])
    check(rc == 0 and err == "", "exit %s: %s" % (rc, short(err)))
    want = "%s %d 8\n" % (m.group(1), int(off.group(1)) // 8)
    check(out == "Attaching 1 probe...\n" + want + "\n\n", "got %r, want %r"
          % (out, want))
    rc, out, err = _trace(["-e", "BEGIN { @ = offsetof(struct file, nosuch); }"])
    check(rc == 2 and "struct file has no field 'nosuch'" in err,
          "exit %s: %s" % (rc, short(err)))


def test_cgroupid_cgroup_path_and_cgroup_filter():
    """--cgroup keeps a task in the test's cgroup (below it) and drops a
    host task's opens of the same path; cgroup_path(cgroup) is the task's
    path in the v2 hierarchy as bpftrace names it ("unified:/..."), also
    as a map key; cgroupid("DIR") is the directory's id."""
    top = Cgroup()
    sub = Cgroup(top)
    mark = os.path.join("/", marker("cg"))
    loop = "while true; do cat %s 2>/dev/null; sleep 0.1; done" % mark
    spawn(["sh", "-c", "echo $$ > %s/cgroup.procs; %s" % (sub.path, loop)])
    spawn(["sh", "-c", loop])
    prog = ('t:syscalls:sys_enter_openat /str(args->filename) == "%s"/ '
            '{ @[cgroup_path(cgroup)] = count(); '
            'printf("%%s %%s\\n", cgroup_path(cgroup, "unified"), '
            'str(args->filename)); if (@[cgroup_path(cgroup)] == 2) '
            '{ exit(); } }' % mark)
    rc, out, err = _trace(["--cgroup", top.path, "-e", prog])
    check(rc == 0 and err == "", "exit %s: %s" % (rc, short(err)))
    # the probes may fire again before exit() is seen: 2 or more, and
    # what they queue after it is not printed
    line = "unified:%s %s" % (sub.rel, mark)
    m = re.match(r"Attaching 1 probe\.\.\.\n((?:%s\n){2,})\n\n"
                 r"@\[unified:%s\]: (\d+)\n$" % (re.escape(line),
                                                 re.escape(sub.rel)), out)
    check(m and int(m.group(2)) >= m.group(1).count("\n"),
          "got %r, want %r lines and their count" % (out, line))
    rc, out, err = _trace(["-e", 'BEGIN { printf("%%d\\n", cgroupid("%s")); '
                           'exit(); }' % sub.path])
    check(rc == 0 and out == "Attaching 1 probe...\n%d\n\n\n" % sub.id,
          "exit %s: %r %s" % (rc, out, short(err)))
    rc, out, err = _trace(["-e", 'BEGIN { @ = cgroupid("/nonexistent"); }'])
    check(rc == 2 and "cgroupid: cannot read cgroup '/nonexistent': No such "
          "file or directory" in err, "exit %s: %s" % (rc, short(err)))


def test_string_heavy_probe_past_the_stack():
    """A tracepoint probe with more strings live at once than the 512-byte
    BPF stack holds (a nested ternary of literals, a tuple key of seven
    strings) runs, its objects in the per-CPU scratch map; the exact
    map comes out."""
    d = tmpdir()
    path = os.path.join(d, marker("scr"))
    arms = " : ".join('$n == %d ? "word%d"' % (i, i) for i in range(1, 9))
    prog = ('t:syscalls:sys_enter_openat /pid == cpid && '
            'str(args->filename) == "%s"/ { $n = 6; $w = %s : "none"; '
            '@[str(args->filename), comm, $w, "a", "b", "c", "d"] = '
            'count(); }' % (path, arms))
    rc, out, err = _trace(["-c", "%s creat %s" % (helper_bin(), path),
                           "-e", prog])
    check(rc == 0 and err == "", "exit %s: %s" % (rc, short(err)))
    comm = os.path.basename(helper_bin())[:15]
    want = "\n\n@[%s, %s, word6, a, b, c, d]: 1\n" % (path, comm)
    # the helper's own line comes between
    check(out.startswith("Attaching 1 probe...\n") and out.endswith(want),
          "got %r, want %r at the end" % (out, want))


def test_buf_reg_macaddr_on_workloads():
    """buf(args->buf, args->count) of a command's write with %r (bytes
    that are not printable as \\xNN, as bpftrace); reg("ip") in a uprobe
    is the probed function (usym names it) and reg("di") its first
    argument; macaddr() of a bridge's new forwarding entry (in a network
    namespace of the test's own) as bpftrace prints it."""
    prog = ('t:syscalls:sys_enter_write /pid == cpid/ '
            '{ printf("<%r>\\n", buf(args->buf, args->count)); }')
    rc, out, err = _trace(["-c", "/usr/bin/printf 'a\\tb\\001'", "-e", prog])
    check(rc == 0 and err == "", "exit %s: %s" % (rc, short(err)))
    check("<a\\x09b\\x01>\n" in out, "got %r" % out)
    libc = _libc()
    name = marker("LOUPE_REG_")
    prog = ('uprobe:%s:getenv /pid == cpid/ { printf("%%s %%d\\n", '
            'usym(reg("ip")), reg("di") == arg0); }' % libc)
    cmd = ("%s -c 'import ctypes; ctypes.CDLL(None).getenv(b\"%s\")'"
           % (sys.executable, name))
    rc, out, err = _trace(["-c", cmd, "-e", prog])
    check(rc == 0 and err == "", "exit %s: %s" % (rc, short(err)))
    check("getenv 1\n" in out, "got %s" % short(out, 600))
    rc, out, err = _trace(["-e", 't:syscalls:sys_enter_getpid { reg("ip"); }'])
    check(rc == 2 and "reg() needs the task's registers" in err,
          "exit %s: %s" % (rc, short(err)))
    if not shutil.which("bridge"):
        raise Skip("no bridge command (iproute2)")
    ns = marker("trace18")
    ip = ["ip", "-n", ns]
    check(subprocess.run(["ip", "netns", "add", ns]).returncode == 0,
          "cannot make a netns")
    on_cleanup(lambda: subprocess.run(["ip", "netns", "del", ns]))
    for cmd in (["link", "add", "lbr0", "type", "bridge"],
                ["link", "add", "lv0", "type", "veth", "peer", "name", "lv1"],
                ["link", "set", "lv0", "master", "lbr0"],
                ["link", "set", "lbr0", "up"], ["link", "set", "lv0", "up"]):
        r = subprocess.run(ip + cmd, capture_output=True, text=True)
        check(r.returncode == 0, "ip %s: %s" % (" ".join(cmd), r.stderr))
    mac = "02:ab:0c:%02x:ee:0f" % (os.getpid() % 256)
    prog = ('t:bridge:br_fdb_add /str(args->dev) == "lv0"/ '
            '{ printf("%s\\n", macaddr(args->addr)); exit(); }')
    rc, out, err = _trace(["-c", "ip netns exec %s bridge fdb add %s dev lv0 "
                           "master static" % (ns, mac), "-e", prog])
    check(rc == 0 and err == "", "exit %s: %s" % (rc, short(err)))
    check(out == "Attaching 1 probe...\n%s\n\n\n" % mac.upper(),
          "got %r" % out)


_POINTS = r"""
#include <string.h>
struct point { int x; char tag; long y; char name[8]; struct point *next; };
__attribute__((noinline)) int loupe_visit(struct point *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
	return p->x;
}
int main(void)
{
	struct point b = { -7, 'b', 0, "second", 0 };
	struct point a = { 42, 'a', 1234567890123L, "first", &b };

	return loupe_visit(&a) == 42 ? 0 : 1;
}
"""


def test_struct_defined_in_script():
    """A struct defined in the script types a uprobe's argument: its
    members at C's offsets, a char array as a string, a pointer to the
    struct itself followed with ->."""
    d = tmpdir()
    src = os.path.join(d, "points.c")
    binary = os.path.join(d, "points")
    with open(src, "w") as f:
        f.write(_POINTS)
    r = subprocess.run(["gcc", "-O0", "-o", binary, src],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "gcc: %s" % short(r.stderr))
    prog = ("struct point { int x; char tag; long y; char name[8]; "
            "struct point *next; } "
            "uprobe:%s:loupe_visit { $p = (struct point *)arg0; "
            'printf("%%d %%c %%ld %%s %%d %%s\\n", $p->x, $p->tag, $p->y, '
            "$p->name, $p->next->x, $p->next->name); }" % binary)
    rc, out, err = _trace(["-c", binary, "-e", prog])
    check(rc == 0 and err == "", "exit %s: %s" % (rc, short(err)))
    check(out == "Attaching 1 probe...\n42 a 1234567890123 first -7 second"
          "\n\n\n", "got %r" % out)


def test_tp_btf_typed_probe():
    """tp_btf:NAME loads as a BTF-typed tracing program (the hook that
    works here where fentry does not): args.p is the exec'ing task, arg1
    its pid; -l lists tp_btf probes."""
    prog = ('tp_btf:sched_process_exec /args.p->pid == cpid/ '
            '{ printf("%s %d %d\\n", comm, args.p->pid == cpid, '
            'arg1 == cpid); @[probe] = count(); exit(); }')
    rc, out, err = _trace(["-c", "/bin/true", "-e", prog])
    check(rc == 0 and err == "", "exit %s: %s" % (rc, short(err)))
    check(out == "Attaching 1 probe...\ntrue 1 1\n\n\n"
          "@[tp_btf:sched_process_exec]: 1\n", "got %r" % out)
    rc, out, err = _trace(["-l", "tp_btf:sched_process_ex*"])
    check(rc == 0 and "tp_btf:sched_process_exec\n" in out,
          "exit %s: %s %s" % (rc, short(out), short(err)))


def test_unsafe_functions():
    """signal(), system(), override() are refused without --unsafe; with
    it, system() runs its command in order with printf (bpftrace's
    output), signal() kills the traced command, override() says it
    needs a kprobe."""
    for call in ('system("true")', 'signal("KILL")', "override(0)"):
        rc, out, err = _trace(["-e", "t:syscalls:sys_enter_getppid "
                               "{ %s; }" % call])
        name = call.split("(")[0]
        check(rc == 2 and "error: %s() is unsafe: run loupe trace --unsafe"
              % name in err, "%s: exit %s: %s" % (name, rc, short(err)))
    rc, out, err = _trace(["--unsafe", "-e", 'BEGIN { printf("a\\n"); '
                           'system("echo hi %d", 42); printf("b\\n"); exit(); }'])
    check(rc == 0 and err == "", "exit %s: %s" % (rc, short(err)))
    check(out == "Attaching 1 probe...\na\nhi 42\nb\n\n\n", "got %r" % out)
    prog = ('t:syscalls:sys_enter_clock_nanosleep /pid == cpid/ '
            '{ signal("KILL"); printf("sent\\n"); }')
    rc, out, err = _trace(["--unsafe", "-c", "/bin/sleep 60", "-e", prog],
                          timeout=20)
    check(rc == 0 and err == "", "exit %s: %s" % (rc, short(err)))
    check(out == "Attaching 1 probe...\nsent\n\n\n", "got %r" % out)
    rc, out, err = _trace(["--unsafe", "-e", "t:syscalls:sys_enter_getppid "
                           "{ override(-1); }"])
    check(rc == 2 and "override() needs a kprobe" in err,
          "exit %s: %s" % (rc, short(err)))


def test_tracepoint_wildcard_counts_by_probe():
    """t:syscalls:sys_enter_* expands; probe names each instance."""
    prog = ('t:syscalls:sys_enter_openat*,t:syscalls:sys_enter_close '
            '/pid == cpid/ { @[probe] = count(); }')
    rc, out, err = _trace(["-c", "cat /etc/hostname", "-e", prog])
    check(rc == 0, "exit %s: %s" % (rc, short(err)))
    m = re.search(r"^Attaching (\d+) probes\.\.\.$", out, re.M)
    check(m and int(m.group(1)) >= 2, "attach line: %s" % short(out))
    check(re.search(r"^@\[tracepoint:syscalls:sys_enter_openat\]: \d+$", out,
                    re.M), "no openat count: %s" % short(out, 800))
    check(re.search(r"^@\[tracepoint:syscalls:sys_enter_close\]: \d+$", out,
                    re.M), "no close count: %s" % short(out, 800))


def _libc():
    for p in ("/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6",
              "/lib/aarch64-linux-gnu/libc.so.6"):
        if os.path.exists(p):
            return p
    raise Skip("libc.so.6 not found")


def test_uprobe_args_and_uretprobe_retval():
    """uprobe on libc's getenv sees the marker name, the uretprobe its value."""
    libc = _libc()
    name = marker("LOUPE_ENV_")
    prog = ('uprobe:%s:getenv /pid == cpid/ { printf("arg %%s\\n", str(arg0)); }'
            ' uretprobe:%s:getenv /pid == cpid && retval != 0/ '
            '{ printf("ret %%s\\n", str(retval)); }' % (libc, libc))
    env = dict(os.environ, **{name: "value42"})
    cmd = "%s -c 'import os; os.getenv(\"%s\")'" % (sys.executable, name)
    # python's os.getenv reads os.environ; call libc directly instead
    cmd = ("%s -c 'import ctypes; ctypes.CDLL(None).getenv(b\"%s\")'"
           % (sys.executable, name))
    rc, out, err = _trace(["-c", cmd, "-e", prog], env=env)
    check(rc == 0, "exit %s: %s" % (rc, short(err)))
    check("arg %s\n" % name in out, "no uprobe event: %s" % short(out, 800))
    check("ret value42\n" in out, "no uretprobe event: %s" % short(out, 800))


def test_rawtracepoint_typed_args():
    """rawtracepoint args come typed from BTF: a task's pid through ->."""
    prog = ('rawtracepoint:sched_process_exec /pid == cpid/ '
            '{ printf("exec %d %d\\n", args.p->pid == cpid, args.old_pid == cpid); }')
    rc, out, err = _trace(["-c", "/bin/true", "-e", prog])
    check(rc == 0, "exit %s: %s" % (rc, short(err)))
    check("exec 1 1\n" in out, "no typed exec event: %s" % short(out, 800))


def test_profile_kstack_and_interval():
    """profile:hz samples a busy command; interval ends the run."""
    prog = ('profile:hz:99 /pid == cpid/ { @samples = count(); @s[ustack] = count(); }'
            ' interval:s:1 { exit(); }')
    rc, out, err = _trace(["-c", "%s -c 'while True: pass'" % sys.executable,
                           "-e", prog])
    check(rc == 0, "exit %s: %s" % (rc, short(err)))
    m = re.search(r"^@samples: (\d+)$", out, re.M)
    check(m and int(m.group(1)) >= 20, "too few samples: %s" % short(out, 800))


test_profile_kstack_and_interval.serial = True  # sample count of a timed run


def test_kprobe_refused_with_reason():
    """kprobes are not compiled into this kernel: a clear refusal, status 2."""
    if os.path.exists("/sys/bus/event_source/devices/kprobe"):
        raise Skip("this kernel has kprobes")
    rc, out, err = _trace(["-e", "kprobe:vfs_read { @ = count(); }"])
    check(rc == 2, "exit %s" % rc)
    check(re.search(r"^-e:1:1: error: kprobe:vfs_read cannot be used on this "
                    r"kernel: .+; use a tracepoint or rawtracepoint probe", err,
                    re.M), "message: %s" % short(err))


def test_json_output():
    """-j prints bpftrace's JSON records."""
    rc, out, err = _trace(["-j", "-e", 'BEGIN { printf("hi %d\\n", 5); @x[1] = 2; exit(); }'])
    check(rc == 0, "exit %s: %s" % (rc, short(err)))
    recs = [json.loads(l) for l in out.splitlines() if l.strip()]
    types = [r["type"] for r in recs]
    check(types[0] == "attached_probes" and recs[0]["data"]["probes"] == 1,
          "first record: %s" % short(out))
    check({"type": "printf", "data": "hi 5\n"} in recs, "printf: %s" % short(out))
    check({"type": "map", "data": {"@x": {"1": 2}}} in recs, "map: %s" % short(out))


def test_list_tracepoints():
    rc, out, err = _trace(["-l", "tracepoint:syscalls:sys_enter_openat*"])
    check(rc == 0, "exit %s: %s" % (rc, short(err)))
    check("tracepoint:syscalls:sys_enter_openat\n" in out, short(out))
    check("tracepoint:syscalls:sys_enter_openat2\n" in out, short(out))


def test_dump_stages():
    prog = "BEGIN { @x = 1 + 2; }"
    for stage, want in (("ast", r"probe"), ("ir", r"call"), ("bpf", r"exit")):
        rc, out, err = _trace(["--dump", stage, "-e", prog])
        check(rc == 0, "--dump %s exit %s: %s" % (stage, rc, short(err)))
        check(re.search(want, out), "--dump %s: %s" % (stage, short(out)))


def test_syntax_error_caret():
    rc, out, err = _trace(["-e", "BEGIN { printf(\"x\") exit(); }"])
    check(rc == 2, "exit %s" % rc)
    lines = err.splitlines()
    check(lines and re.match(r"^-e:1:\d+: error: ", lines[0]), short(err))
    check(len(lines) >= 3 and lines[2].strip() == "^", "caret: %s" % short(err))


def test_sigint_detaches_everything():
    prog = "tracepoint:sched:sched_switch { @[cpu] = count(); }"
    p = spawn([LOUPE, "trace", "-e", prog], stdout=subprocess.PIPE,
              stderr=subprocess.PIPE, text=True)
    ids = [set(), set()]

    def attached():
        progs, links = fdinfo_ids(p.pid)
        ids[0] |= progs
        ids[1] |= links
        return links
    check(poll_until(attached, 10), "no BPF link appeared")
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=10)
    check(p.returncode == 0, "exit %s: %s" % (p.returncode, short(err)))
    check(re.search(r"^@\[\d+\]: \d+$", out, re.M), "no map printed: %s" % short(out))

    def gone():
        progs, links = existing_bpf_ids()
        return not (ids[0] & progs) and not (ids[1] & links)
    check(poll_until(gone, 5), "BPF objects left behind")


def test_duration_ends_run():
    t0 = time.monotonic()
    rc, out, err = _trace(["-d", "1", "-e", "interval:ms:100 { @t = count(); }"])
    check(rc == 0, "exit %s: %s" % (rc, short(err)))
    check(time.monotonic() - t0 < 5, "took too long")
    m = re.search(r"^@t: (\d+)$", out, re.M)
    check(m and 5 <= int(m.group(1)) <= 12, "ticks: %s" % short(out))


test_duration_ends_run.serial = True  # ticks of a 1 s run bounded


def test_pid_exit_ends_run():
    """-p: the run ends when the process exits, like every tool's, with
    the maps printed and the same message on stderr."""
    target = spawn(["sleep", "1.5"])
    t0 = time.monotonic()
    rc, out, err = _trace(["-p", str(target.pid), "-e",
                           "t:sched:sched_switch { @n = count(); }"], timeout=15)
    target.wait(5)
    check(rc == 0, "exit %s: %s" % (rc, short(err)))
    check(time.monotonic() - t0 < 6, "took %.1f s" % (time.monotonic() - t0))
    check(err == "loupe: trace: process %d exited; tracing ended\n" % target.pid,
          "stderr: %s" % short(err))
    check(re.search(r"^@n: \d+$", out, re.M), "no map printed: %s" % short(out))


def test_pid_exit_ends_run_with_quiet_count():
    """-p of a process that never triggers the probe: the run still ends
    when it exits, and the keyless count() prints "@: 0" as bpftrace."""
    target = spawn(["sleep", "1"])
    rc, out, err = _trace(["-p", str(target.pid), "-e",
                           "t:syscalls:sys_enter_getppid /pid == %d/ "
                           "{ @ = count(); }" % target.pid], timeout=15)
    target.wait(5)
    check(rc == 0, "exit %s: %s" % (rc, short(err)))
    check(out == "Attaching 1 probe...\n\n\n@: 0\n", "got %r" % out)


test_pid_exit_ends_run_with_quiet_count.serial = True  # ends with sleep


def test_loss_reported_like_every_tool():
    """A full ring: each open of the flood is printed or counted lost, on
    stderr and in {"type":"lost"} records, as every tool reports it."""
    n = 5000 if SLOW else 100000
    path = "/loupe-trace-flood-" + marker()
    prog = ('t:syscalls:sys_enter_openat /str(args->filename) == "%s"/ '
            '{ printf("open %%s\\n", str(args->filename)); }' % path)
    rc, out, err = _trace(["-j", "--buffer-size", "4K", "-c",
                           "%s flood %d %s" % (helper_bin(), n, path), "-e", prog],
                          timeout=80)
    check(rc == 0, "exit %s: %s" % (rc, short(err)))
    recs = [json.loads(l) for l in out.splitlines() if l.strip()]
    printed = sum(1 for r in recs if r.get("type") == "printf" and
                  r.get("data") == "open %s\n" % path)
    lost_json = [r for r in recs if r.get("type") == "lost"]
    for r in lost_json:
        check(r.get("tool") == "trace" and isinstance(r.get("ts_ns"), int),
              "lost record %r" % r)
    lost_err = [LOST_RE.match(l) for l in err.splitlines()]
    check(all(lost_err), "stderr has other lines: %s" % short(err))
    lost = sum(int(m.group(2)) for m in lost_err)
    check(all(m.group(1) == "trace" for m in lost_err), short(err))
    check(lost == sum(r["count"] for r in lost_json),
          "stderr says %d lost, JSON records %r" % (lost, lost_json))
    check(SLOW or lost > 0, "nothing lost with a 4 KiB ring")
    check(printed + lost == n, "%d opens: %d printed + %d lost" % (n, printed, lost))


test_loss_reported_like_every_tool.timeout = 90


test_pid_exit_ends_run.serial = True  # ends within 6 s of the exit


PYTHON_USDT = "/usr/bin/python3.11"


def test_usdt_arguments_match_bpftrace():
    """USDT probes (with a semaphore) of Debian's python: the modules it
    imports, read from the probe's arguments; bpftrace sees the same."""
    if not os.path.exists(PYTHON_USDT):
        raise Skip("%s not installed" % PYTHON_USDT)
    prog = ('usdt:%s:python:import__find__load__start /pid == cpid/ '
            '{ printf("import %%s\\n", str(arg0)); }' % PYTHON_USDT)
    cmd = "%s -c 'import json'" % PYTHON_USDT
    rc, out, err = _trace(["-c", cmd, "-e", prog])
    check(rc == 0, "exit %s: %s" % (rc, short(err)))
    check("import json\n" in out, "json import not seen: %s" % short(out, 800))
    bpftrace = shutil.which("bpftrace")
    if bpftrace:
        rc, want, err = run_quiet([bpftrace, "-c", cmd, "-e", prog], timeout=30)
        check(rc == 0, "bpftrace failed: %s" % short(err))
        # bpftrace 0.17 stops reading when the command exits and can drop
        # the last events (here: the json imports); what it did print
        # must be what loupe printed, in the same order.
        got = [l for l in out.splitlines() if l.startswith("import ")]
        ref = [l for l in want.splitlines() if l.startswith("import ")]
        check(len(ref) >= 10 and got[:len(ref)] == ref,
              "loupe and bpftrace differ:\n--- bpftrace\n%s--- loupe\n%s" % (want, out))


def test_usdt_probe_names_and_wildcard():
    if not os.path.exists(PYTHON_USDT):
        raise Skip("%s not installed" % PYTHON_USDT)
    rc, out, err = _trace(["-c", "%s -c 'import json'" % PYTHON_USDT, "-e",
                           'usdt:%s:python:import* /pid == cpid/ { @[probe] = count(); }'
                           % PYTHON_USDT])
    check(rc == 0, "exit %s: %s" % (rc, short(err)))
    for name in ("import__find__load__start", "import__find__load__done"):
        check(re.search(r"^@\[usdt:%s:python:%s\]: \d+$" % (re.escape(PYTHON_USDT), name),
                        out, re.M), "no %s count: %s" % (name, short(out, 800)))


def test_software_page_faults():
    prog = 'software:page-faults:1 /pid == cpid/ { @faults = count(); }'
    rc, out, err = _trace(["-c", "cat /etc/hostname", "-e", prog])
    check(rc == 0, "exit %s: %s" % (rc, short(err)))
    m = re.search(r"^@faults: (\d+)$", out, re.M)
    check(m and int(m.group(1)) >= 10, "faults: %s" % short(out))


def _kernel_has_kprobes():
    return os.path.exists("/sys/bus/event_source/devices/kprobe")


def test_kprobe_and_kretprobe_where_available():
    """On kernels with kprobes (the VM matrix): arguments and retval."""
    if not _kernel_has_kprobes():
        raise Skip("no kprobes on this kernel (test_kprobe_refused_with_reason covers it)")
    d = tmpdir()
    path = os.path.join(d, marker("kp"))
    with open(path, "w") as f:
        f.write("x\n")
    prog = ('kprobe:do_sys_openat2 /pid == cpid/ { printf("open %s\\n", str(arg1)); }'
            ' kretprobe:do_sys_openat2 /pid == cpid/ { @ret[retval >= 0] = count(); }')
    rc, out, err = _trace(["-c", "cat %s" % path, "-e", prog], timeout=60)
    check(rc == 0, "exit %s: %s" % (rc, short(err)))
    check("open %s\n" % path in out, "no kprobe event: %s" % short(out, 800))
    check(re.search(r"^@ret\[1\]: \d+$", out, re.M), "no kretprobe: %s" % short(out, 800))


test_kprobe_and_kretprobe_where_available.timeout = 90


def test_kfunc_typed_args_where_available():
    """On kernels where fentry attaches: arguments typed through BTF."""
    if not _kernel_has_kprobes():
        raise Skip("no kprobes/fentry on this kernel")
    d = tmpdir()
    path = os.path.join(d, marker("kf"))
    with open(path, "w") as f:
        f.write("x\n")
    prog = ('kfunc:do_sys_openat2 /pid == cpid/ { printf("open %s\\n", str(args.filename)); }'
            ' kretfunc:do_sys_openat2 /pid == cpid/ { @ret[retval >= 0] = count(); }')
    rc, out, err = _trace(["-c", "cat %s" % path, "-e", prog], timeout=60)
    if rc == 2 and "cannot be used on this kernel" in err:
        raise Skip("fentry refused here: %s" % short(err))
    check(rc == 0, "exit %s: %s" % (rc, short(err)))
    check("open %s\n" % path in out, "no kfunc event: %s" % short(out, 800))
    check(re.search(r"^@ret\[1\]: \d+$", out, re.M), "no kretfunc: %s" % short(out, 800))


test_kfunc_typed_args_where_available.timeout = 90
