"""CLI surface: usage errors, --help/--version, `loupe list`, --duration."""
import json
import os
import pwd
import re
import shutil
import stat
import time

from common import (HEADERS, LOUPE, REPO, TOOLS, Loupe, Skip, cgroup2_root, check, helper_bin,
                    marker, require_loupe, ringbuf_sizes, run_quiet, short, tmpdir)


def _usage_error(*args):
    require_loupe()
    rc, out, err = run_quiet([LOUPE] + list(args), timeout=10)
    cmd = "loupe " + " ".join(args)
    check(rc is not None, "%s did not exit within 10s (stderr: %s)" % (cmd, short(err)))
    check(rc == 2, "%s: exit status %s != 2 (stderr: %s)" % (cmd, rc, short(err)))
    check(out == "", "%s printed on stdout: %r" % (cmd, short(out)))
    lines = err.rstrip("\n").split("\n")
    check(len(lines) == 1 and err.endswith("\n"),
          "%s: stderr is not exactly one line: %r" % (cmd, short(err)))
    check(lines[0].startswith("loupe: "), "%s: stderr %r does not begin 'loupe: '" %
          (cmd, lines[0]))


def test_usage_unknown_flag():
    _usage_error("opensnoop", "--no-such-flag")


def test_usage_unknown_short_flag():
    _usage_error("execsnoop", "-Q")


def test_usage_pid_not_numeric():
    _usage_error("opensnoop", "-p", "abc")


def test_usage_pid_missing_value():
    _usage_error("opensnoop", "-p")


def test_usage_cgroup_missing():
    _usage_error("opensnoop", "--cgroup", "/nonexistent")


def test_usage_unknown_tool():
    _usage_error("nosuchtool")


def test_usage_buffer_size_not_power_of_two():
    _usage_error("opensnoop", "--buffer-size", "3000")


def test_usage_buffer_size_too_small():
    _usage_error("opensnoop", "--buffer-size", "2K")


def test_usage_duration_not_numeric():
    _usage_error("exitsnoop", "-d", "soon")


def _ok(*args):
    require_loupe()
    rc, out, err = run_quiet([LOUPE] + list(args), timeout=10)
    cmd = "loupe " + " ".join(args)
    check(rc == 0, "%s: exit status %s != 0 (stderr: %s)" % (cmd, rc, short(err)))
    check((out + err).strip(), "%s printed nothing" % cmd)
    return out, err


def test_version():
    _ok("--version")


def test_help():
    _ok("--help")
    _ok("-h")


def test_tool_help():
    for tool in TOOLS:
        _ok(tool, "--help")


def test_help_of_a_tool():
    """`loupe --help TOOL` is TOOL's help, word for word; others refused."""
    for tool in ("execsnoop", "profile", "trace"):
        out, _ = _ok("--help", tool)
        ref, _ = _ok(tool, "--help")
        check(out == ref, "loupe --help %s differs from loupe %s --help" % (tool, tool))
        check(out.startswith("usage: loupe %s" % tool),
              "loupe --help %s: %r" % (tool, short(out)))
    _usage_error("--help", "nosuchtool")
    _usage_error("--help", "execsnoop", "extra")


def test_list_table():
    out, err = _ok("list")
    lines = out.splitlines()
    for tool in TOOLS:
        check(any(l.split()[:1] == [tool] for l in lines),
              "`loupe list` has no line starting with %s: %s" % (tool, short(out, 600)))
    check("tp_btf" in out, "`loupe list` never mentions tp_btf: %s" % short(out, 600))
    check(("fentry" in out or "fexit" in out) and "kprobe" in out,
          "`loupe list` does not show rejected fentry/fexit and kprobe candidates: %s"
          % short(out, 600))


def _list_json():
    out, err = _ok("list", "-j")
    objs = {}
    for line in out.splitlines():
        if not line.strip():
            continue
        try:
            o = json.loads(line)
        except ValueError:
            check(False, "`loupe list -j` line is not JSON: %r" % short(line))
        check(isinstance(o, dict) and "tool" in o, "list -j object without tool: %r" % short(line))
        objs[o["tool"]] = o
    return objs


def test_list_json_shape():
    objs = _list_json()
    for tool in TOOLS:
        check(tool in objs, "`loupe list -j` lacks %s (has %s)" % (tool, sorted(objs)))
        o = objs[tool]
        check(isinstance(o.get("summary"), str) and o["summary"],
              "%s: summary missing/empty" % tool)
        probes = o.get("probes")
        check(isinstance(probes, list) and probes, "%s: no probes list" % tool)
        for p in probes:
            check(isinstance(p.get("probe"), str) and isinstance(p.get("hook"), str),
                  "%s: probe entry lacks probe/hook: %s" % (tool, short(p)))
            check(isinstance(p.get("programs"), list), "%s: probe lacks programs list: %s"
                  % (tool, short(p)))
            rej = p.get("rejected")
            check(isinstance(rej, list), "%s: probe lacks rejected list: %s" % (tool, short(p)))
            for r in rej:
                check(isinstance(r.get("hook"), str) and isinstance(r.get("reason"), str)
                      and r["reason"].strip(),
                      "%s: rejected entry without hook/reason: %s" % (tool, short(r)))


def test_tool_table_sorted_everywhere():
    # Tools join the table in link order (several per source file:
    # fsslower.c, irqs.c); --help, `loupe list` and `list -j` sort by name.
    out, _ = _ok("--help")
    lines = out.splitlines()
    start = lines.index("tools:") + 1
    helped = []
    for l in lines[start:]:
        if not l.strip():
            break
        helped.append(l.split()[0])
    check(len(helped) >= 40 and helped == sorted(set(helped)),
          "`loupe --help` tools not sorted or repeated: %s" % helped)
    for need in ("ext4slower", "fsslower", "hardirqs", "softirqs", "trace", "flamegraph"):
        check(need in helped, "`loupe --help` lacks %s: %s" % (need, helped))
    table = [l.split()[0] for l in _ok("list")[0].splitlines()[1:]
             if l.strip() and not l[0].isspace()]
    check(table == helped, "`loupe list` order %s != --help order %s" % (table, helped))
    listed = [json.loads(l)["tool"] for l in _ok("list", "-j")[0].splitlines() if l.strip()]
    check(listed == helped, "`loupe list -j` order %s != --help order %s" % (listed, helped))


def test_list_exitsnoop_uses_tp_btf():
    o = _list_json().get("exitsnoop")
    check(o is not None, "`loupe list -j` lacks exitsnoop")
    hooks = [p.get("hook") for p in o.get("probes", [])]
    check("tp_btf" in hooks, "exitsnoop hooks %r: expected tp_btf on this kernel" % hooks)
    check(not [h for h in hooks if h in ("fentry", "fexit", "kprobe", "kretprobe")],
          "exitsnoop chose a hook this kernel lacks: %r" % hooks)


def test_list_opensnoop_tracepoint_and_rejections():
    """Tracepoints where kprobes and fentry are missing (the development
    kernel); fexit, nothing rejected, where they work (tests/vm/)."""
    o = _list_json().get("opensnoop")
    check(o is not None, "`loupe list -j` lacks opensnoop")
    probes = o.get("probes", [])
    hooks = [p.get("hook") for p in probes]
    if os.path.isdir("/sys/bus/event_source/devices/kprobe"):
        check(hooks == ["fexit"], "opensnoop hooks %r: expected fexit on a kernel "
              "with kprobes and fentry" % hooks)
        check(not probes[0].get("rejected"), "opensnoop rejected %r although its "
              "cheapest hook works" % probes[0].get("rejected"))
        return
    check(hooks and all(h in ("tracepoint", "tp") for h in hooks),
          "opensnoop hooks %r: expected a tracepoint on this kernel" % hooks)
    rej = [r for p in probes for r in (p.get("rejected") or [])]
    rh = [str(r.get("hook")) for r in rej]
    check(any(h.startswith(("fentry", "fexit")) and r.get("reason")
              for h, r in zip(rh, rej)),
          "opensnoop rejected list %r does not mention fentry/fexit with a reason" % rej)
    check(any(h.startswith(("kprobe", "kretprobe")) and r.get("reason")
              for h, r in zip(rh, rej)),
          "opensnoop rejected list %r does not mention kprobe with a reason" % rej)


def test_duration_exits_by_itself():
    runs = [Loupe(t, "-d", "1") for t in TOOLS]
    runs.append(Loupe("opensnoop", "-j", "--duration", "1", "--buffer-size", "1M"))
    t0 = time.monotonic()
    for lp in runs:
        if not lp.json:
            hdr = lp.wait_header()
            tool = lp.args[0]
            check(hdr.split() == HEADERS[tool], "%s header %r" % (tool, hdr))
    for lp in runs:
        rc = lp.wait_exit(max(0.1, t0 + 6 - time.monotonic()), "with -d 1")
        check(rc == 0, "exit status %s != 0 %s" % (rc, lp.describe()))
        took = time.monotonic() - lp.t_start
        check(took <= 4.0, "loupe %s took %.1fs to exit (want ~1s after start-up, <= ~3s)"
              % (" ".join(lp.args), took))
        check(took >= 0.9, "loupe %s exited after only %.2fs" % (" ".join(lp.args), took))


test_duration_exits_by_itself.serial = True  # exit times bounded, 4 s


def test_runtime_failure_exit_1():
    """Not root => BPF cannot be loaded: exit status 1, no table on stdout."""
    require_loupe()
    try:
        rc, out, err = run_quiet([LOUPE, "opensnoop", "-d", "1"], timeout=15,
                                 user=65534, group=65534, extra_groups=[])
    except PermissionError:
        raise Skip("user nobody cannot execute %s" % LOUPE)
    check(rc is not None, "unprivileged loupe did not exit within 15s")
    check(rc != 126 and rc != 127, "could not run loupe as nobody (%s): %s" % (rc, short(err)))
    check(rc == 1, "unprivileged run: exit status %s != 1 (stderr: %s)" % (rc, short(err)))
    check(out == "", "unprivileged run printed on stdout: %r" % short(out))
    check(err.startswith("loupe: "), "stderr %r does not begin 'loupe: '" % short(err))


def test_verbose_flag():
    lp = Loupe("opensnoop", "-v", "-d", "1")
    hdr = lp.wait_header()
    rc = lp.wait_exit(8, "with -v -d 1")
    check(rc == 0, "exit status %s != 0 %s" % (rc, lp.describe()))
    check(hdr.split() == HEADERS["opensnoop"], "-v: first stdout line %r is not the header"
          % hdr)
    check(lp.stderr_lines(), "-v printed no libbpf log on stderr")


def _ringbuf_size(*args):
    lp = Loupe("opensnoop", *args)
    lp.wait_header()
    sizes = ringbuf_sizes(lp.pid)
    lp.stop()
    check(len(sizes) == 1, "expected one ring buffer map, found sizes %s" % sizes)
    return sizes[0]


def test_buffer_size_applied():
    for arg, want in (("4K", 4096), ("4096", 4096), ("1M", 1 << 20), ("65536", 65536)):
        got = _ringbuf_size("--buffer-size", arg)
        check(got == want, "--buffer-size %s: ring buffer is %d bytes, want %d" % (arg, got, want))


def test_buffer_size_default_2M():
    got = _ringbuf_size()
    check(got == 2 << 20, "default ring buffer is %d bytes, README says 2M (%d)" %
          (got, 2 << 20))


# ---------------------------------------------------------------- exact messages
# Each usage error is one line naming what was wrong and how to fix it; the
# tests hold the exact text so that a change of wording is a decision.

def _exact(args, want, rc_want=2, timeout=10):
    """Run loupe ARGS; exit status rc_want, nothing on stdout, stderr == want."""
    require_loupe()
    rc, out, err = run_quiet([LOUPE] + list(args), timeout=timeout)
    cmd = "loupe " + " ".join(args)
    check(rc == rc_want, "%s: exit status %s != %d (stderr: %s)" % (cmd, rc, rc_want, short(err)))
    check(out == "", "%s printed on stdout: %r" % (cmd, short(out)))
    check(err == want + "\n", "%s:\n  stderr %r\n  want   %r" % (cmd, err, want + "\n"))


def test_switch_with_value_help():
    _exact(["opensnoop", "--help=x"],
           "loupe: opensnoop: flag --help takes no value; see 'loupe opensnoop --help'")


def test_switch_with_value_every_common_switch():
    for flag in ("json", "timestamp", "failed", "verbose"):
        _exact(["opensnoop", "--%s=1" % flag],
               "loupe: opensnoop: flag --%s takes no value; see 'loupe opensnoop --help'"
               % flag)


def test_switch_with_value_tool_switch():
    _exact(["profile", "--folded=yes"],
           "loupe: profile: flag --folded takes no value; see 'loupe profile --help'")
    _exact(["syscount", "--latency=1"],
           "loupe: syscount: flag --latency takes no value; see 'loupe syscount --help'")


def test_switch_with_value_list_and_overview():
    _exact(["list", "--json=1"], "loupe: list: flag --json takes no value; see 'loupe list --help'")
    _exact(["--help=x"],
           "loupe: overview: flag --help takes no value; see 'loupe overview --help'")
    _exact(["overview", "--json=x"],
           "loupe: overview: flag --json takes no value; see 'loupe overview --help'")


def test_version_takes_nothing():
    """--version is a switch that stands alone, like --help=x a usage error
    when given a value or followed by a word."""
    _exact(["--version=x"], "loupe: flag --version takes no value; see 'loupe --help'")
    _exact(["--version", "x"],
           "loupe: unexpected argument 'x' after --version; see 'loupe --help'")
    _exact(["-V", "-j"], "loupe: unexpected argument '-j' after -V; see 'loupe --help'")


def test_unknown_and_ambiguous_flags():
    _exact(["opensnoop", "--bogus=3"],
           "loupe: opensnoop: unknown flag '--bogus'; see 'loupe opensnoop --help'")
    _exact(["opensnoop", "-jQ"],
           "loupe: opensnoop: unknown flag '-Q'; see 'loupe opensnoop --help'")
    _exact(["opensnoop", "-jp"],
           "loupe: opensnoop: flag '-p' needs a value; see 'loupe opensnoop --help'")
    _exact(["syscount", "--t"], "loupe: syscount: flag '--t' is ambiguous "
           "(--timestamp, --top); see 'loupe syscount --help'")


def _seconds_msg(tool, flag, value, problem):
    return ("loupe: %s: invalid %s '%s': %s; expected seconds from 0.001 to 10000000"
            % (tool, flag, value, problem))


def test_duration_limits():
    for value, problem in (("1e12", "too large"), ("10000001", "too large"),
                           ("nan", "not a number"), ("inf", "not finite"),
                           ("-1", "negative"), ("", "empty"), ("0", "too small"),
                           ("soon", "not a number"), ("5s", "not a number")):
        _exact(["opensnoop", "-d", value], _seconds_msg("opensnoop", "--duration", value, problem))
    _exact(["overview", "-d", "1e12"],
           _seconds_msg("overview", "--duration", "1e12", "too large"))


def test_interval_limits():
    for value, problem in (("1e12", "too large"), ("-inf", "negative"), ("abc", "not a number")):
        _exact(["runqlat", "-i", value], _seconds_msg("runqlat", "--interval", value, problem))


def test_tool_numeric_flag_limits():
    _exact(["execsnoop", "--max-args", "1.5"], "loupe: execsnoop: invalid --max-args '1.5': "
           "not a whole number; expected a number of arguments from 1 to 64")
    _exact(["syscount", "--top", "1e30"], "loupe: syscount: invalid --top '1e30': too large; "
           "expected a number of rows from 1 to 10240")
    _exact(["memleak", "--older", "nan"], "loupe: memleak: invalid --older 'nan': not a "
           "number; expected milliseconds from 0 to 10000000000")
    _exact(["fsslower", "inf"], "loupe: fsslower: invalid MIN_MS 'inf': not finite; "
           "expected milliseconds from 0 to 10000000")
    for tool, arg, unit, top in (("fsslower", "MIN_MS", "milliseconds", "10000000"),
                                 ("ext4slower", "MIN_MS", "milliseconds", "10000000"),
                                 ("runqslower", "MIN_US", "microseconds", "1000000000")):
        _exact([tool, "--", "-5"], "loupe: %s: invalid %s '-5': negative; expected "
               "%s from 0 to %s" % (tool, arg, unit, top))
    ncpu = os.cpu_count() or 1
    with open("/sys/devices/system/cpu/possible") as f:
        last = int(f.read().strip().split(",")[-1].split("-")[-1])
    check(last + 1 >= ncpu, "possible CPUs %d < online %d" % (last + 1, ncpu))
    _exact(["profile", "-C", str(last + 1)], "loupe: profile: invalid --cpu '%d': too large; "
           "expected a CPU number from 0 to %d" % (last + 1, last))


def test_cgroup_missing_names_the_v2_mount():
    root = cgroup2_root()
    _exact(["opensnoop", "--cgroup", "/nonexistent"],
           "loupe: opensnoop: invalid --cgroup '/nonexistent': no such cgroup; cgroup v2 is "
           "mounted at %s: give a directory under it (e.g. %s/GROUP) or the path "
           "/proc/PID/cgroup shows (0::/GROUP)" % (root, root))


def test_cgroup_not_in_v2_hierarchy():
    root = cgroup2_root()
    tail = ("cgroup v2 is mounted at %s: give a directory under it (e.g. %s/GROUP) or the "
            "path /proc/PID/cgroup shows (0::/GROUP)" % (root, root))
    d = tmpdir()
    _exact(["opensnoop", "--cgroup", d], "loupe: opensnoop: invalid --cgroup '%s': not in the "
           "cgroup v2 hierarchy; %s" % (d, tail))
    f = os.path.join(root, "cgroup.procs")
    _exact(["opensnoop", "--cgroup", f], "loupe: opensnoop: invalid --cgroup '%s': not a "
           "directory; %s" % (f, tail))
    v1 = None
    with open("/proc/mounts") as mounts:
        for line in mounts:
            parts = line.split()
            if len(parts) >= 3 and parts[2] == "cgroup":
                v1 = parts[1]
                break
    if v1 is None:
        raise Skip("no cgroup v1 hierarchy mounted here (checked the rest)")
    _exact(["opensnoop", "--cgroup", v1], "loupe: opensnoop: invalid --cgroup '%s': a cgroup "
           "v1 directory, not cgroup v2; %s" % (v1, tail))


def test_funclatency_missing_function():
    prog = helper_bin()      # built here, with a symbol table
    _exact(["funclatency", prog + ":no_such_fn"], "loupe: funclatency: no function "
           "'no_such_fn' in %s; list its functions with: loupe trace -l 'uprobe:%s:*'"
           % (prog, prog))
    # The command the message suggests works and lists that binary's functions.
    rc, out, err = run_quiet([LOUPE, "trace", "-l", "uprobe:%s:*" % prog], timeout=20)
    check(rc == 0 and out.startswith("uprobe:%s:" % prog),
          "suggested listing failed: %s %s %s" % (rc, short(out), short(err)))


def test_funclatency_missing_binary():
    _exact(["funclatency", "/nonexistent-dir/prog:main"], "loupe: funclatency: no file "
           "'/nonexistent-dir/prog'; give the path of an executable or shared library")
    name = marker("nolib")
    _exact(["funclatency", name + ":foo"], "loupe: funclatency: no program '%s' in PATH and "
           "no library '%s' or 'lib%s' in the linker cache or library directories; give a "
           "path or a library name, e.g. /usr/bin/app:main or c:read" % (name, name, name))
    text = os.path.join(tmpdir(), "notes.txt")
    with open(text, "w") as f:
        f.write("not a program\n")
    _exact(["funclatency", text + ":foo"],
           "loupe: funclatency: '%s' is not an ELF executable or shared library" % text)


# ---------------------------------------------------------------- -p checked up front

def _pid_max():
    with open("/proc/sys/kernel/pid_max") as f:
        return int(f.read())


def test_pid_above_pid_max():
    m = _pid_max()
    _exact(["opensnoop", "-p", "99999999"], "loupe: opensnoop: invalid --pid '99999999': too "
           "large; process ids here go from 1 to %d (kernel.pid_max is %d)" % (m - 1, m))
    _exact(["trace", "-p", "99999999", "-e", "BEGIN { exit(); }"], "loupe: trace: invalid "
           "--pid '99999999': too large; process ids here go from 1 to %d (kernel.pid_max is "
           "%d)" % (m - 1, m))


def test_pid_not_running():
    free = next(p for p in range(_pid_max() - 1, 300, -1)
                if not os.path.exists("/proc/%d" % p))
    _exact(["opensnoop", "-p", str(free)],
           "loupe: opensnoop: invalid --pid '%d': no such process" % free)


def test_pid_is_a_thread():
    import threading
    stop = threading.Event()
    t = threading.Thread(target=stop.wait, args=(20,))
    t.start()
    try:
        _exact(["opensnoop", "-p", str(t.native_id)], "loupe: opensnoop: invalid --pid '%d': "
               "%d is a thread of process %d; give -p %d"
               % (t.native_id, t.native_id, os.getpid(), os.getpid()))
    finally:
        stop.set()
        t.join()


def test_pid_zombie():
    import subprocess
    p = subprocess.Popen(["true"])
    try:
        def zombie():
            try:
                with open("/proc/%d/stat" % p.pid) as f:
                    return f.read().rsplit(")", 1)[1].split()[0] == "Z"
            except OSError:
                return False
        deadline = time.monotonic() + 5
        while not zombie() and time.monotonic() < deadline:
            time.sleep(0.02)
        check(zombie(), "child %d never became a zombie" % p.pid)
        _exact(["opensnoop", "-p", str(p.pid)], "loupe: opensnoop: invalid --pid '%d': process "
               "%d has already exited (its parent has not reaped it yet)" % (p.pid, p.pid))
    finally:
        p.wait()


# ---------------------------------------------------------------- short letters

COMMON_LETTERS = {"p": "pid", "n": "name", "d": "duration", "i": "interval", "j": "json",
                  "T": "timestamp", "x": "failed", "v": "verbose", "h": "help"}
# A tool's own flag on a common letter: none (BCC's hardirqs/softirqs
# -d/--dist are -D/--dist, tcprtt's -p/--lport is -l/--lport).
# tcpdump's letters, which issue 17 makes the packet tools' contract:
# -i the interface (--interval keeps its long name there), filter's -d
# tcpdump's dump (filter runs nothing for a time).
KNOWN_CLASHES = {
    ("capture", "i", "interface"), ("count", "i", "interface"),
    ("drop", "i", "interface"), ("filter", "d", "dump-classic"),
}


def _tool_names():
    rc, out, err = run_quiet([LOUPE, "--help"], timeout=10)
    check(rc == 0, "loupe --help: %s %s" % (rc, short(err)))
    tools, on = [], False
    for line in out.splitlines():
        if line == "tools:":
            on = True
        elif on and not line.strip():
            break
        elif on:
            tools.append(line.split()[0])
    check(len(tools) > 10, "tool list from --help: %s" % tools)
    return tools


def test_no_tool_takes_a_common_letter():
    clashes = set()
    for tool in _tool_names():
        rc, out, err = run_quiet([LOUPE, tool, "--help"], timeout=10)
        check(rc == 0, "loupe %s --help: %s %s" % (tool, rc, short(err)))
        for m in re.finditer(r"^  -(\w), --([\w-]+)", out, re.M):
            letter, name = m.group(1), m.group(2)
            if letter in COMMON_LETTERS and COMMON_LETTERS[letter] != name:
                clashes.add((tool, letter, name))
    new = clashes - KNOWN_CLASHES
    check(not new, "tools giving a common short letter another meaning: %s" % sorted(new))


def test_irqs_d_is_duration_D_is_dist():
    for tool in ("hardirqs", "softirqs"):
        rc, out, err = run_quiet([LOUPE, tool, "-D", "-d", "0.5", "-j"], timeout=15)
        check(rc == 0, "%s -D -d 0.5: exit status %s (stderr: %s)" % (tool, rc, short(err)))
        for l in out.splitlines():
            e = json.loads(l)
            check(e.get("type") in ("hist", "lost"), "%s -D: %s" % (tool, short(l)))


def test_syscount_top_is_r_and_T_is_timestamp():
    rc, out, err = run_quiet([LOUPE, "syscount", "-T", "-r", "3", "-d", "0.5"], timeout=15)
    check(rc == 0, "syscount -T -r 3: exit status %s (stderr: %s)" % (rc, short(err)))
    lines = out.splitlines()
    check(len(lines) >= 2 and re.match(r"^\[\d\d:\d\d:\d\d\]$", lines[0]) and
          lines[1].split() == ["TIME", "SYSCALL", "COUNT"],
          "syscount -T: want a time line then TIME SYSCALL COUNT: %s" % short(out, 600))
    rows = [l for l in lines[2:] if l.strip()]
    check(1 <= len(rows) <= 3 and all(re.match(r"^\d\d:\d\d:\d\d \S+ +\d+$", r) for r in rows),
          "syscount -r 3: want 1 to 3 rows with a TIME column: %s" % short(rows, 600))
    rc, out, err = run_quiet([LOUPE, "syscount", "-j", "--top", "2", "-d", "0.5"], timeout=15)
    rows = [json.loads(l) for l in out.splitlines() if l.strip()]
    check(rc == 0 and 1 <= len(rows) <= 2, "syscount --top 2: %s rows %s" % (rc, short(rows)))


def test_timestamp_stamps_each_report_of_interval_tools():
    """-T in a histogram or per-interval table tool: BCC's blank line and an
    HH:MM:SS line above each report, and no TIME column in its tables."""
    require_loupe()
    for tool, header in (("hardirqs", "HARDIRQ"), ("softirqs", "SOFTIRQ"),
                         ("runqlen", "runqlen"), ("cpudist", "usecs"),
                         ("runqlat", "usecs")):
        rc, out, err = run_quiet([LOUPE, tool, "-T", "-i", "0.4", "-d", "0.9"], timeout=20)
        check(rc == 0, "%s -T: exit status %s (stderr: %s)" % (tool, rc, short(err)))
        lines = out.split("\n")
        stamps = [i for i, l in enumerate(lines) if re.match(r"^\d\d:\d\d:\d\d$", l)]
        check(len(stamps) >= 2 and all(lines[i - 1] == "" for i in stamps),
              "%s -T: want a blank line and a time line per interval: %s" %
              (tool, short(out, 600)))
        heads = [l for l in lines if l.split()[:1] in (["TIME"], [header])]
        check(heads and all(l.split()[0] == header for l in heads),
              "%s -T: a TIME column in a report stamped by its time line: %s" %
              (tool, short(out, 600)))


def test_top_tools_print_their_header_above_each_table():
    """Tools whose table is per interval (header_per_interval): the header
    stands once above each report, never alone at start."""
    require_loupe()
    for tool, args, report, header in (
            ("hardirqs", ["-T"], r"^\d\d:\d\d:\d\d$", "HARDIRQ"),
            ("syscount", ["-T"], r"^\[\d\d:\d\d:\d\d\]$", "TIME"),
            ("filetop", ["-C"], r"^\d\d:\d\d:\d\d loadavg: ", "TID")):
        rc, out, err = run_quiet([LOUPE, tool, "-i", "0.4", "-d", "0.9"] + args,
                                 timeout=20)
        check(rc == 0, "%s: exit status %s (stderr: %s)" % (tool, rc, short(err)))
        lines = [l for l in out.split("\n") if l]
        reports = [i for i, l in enumerate(lines) if re.match(report, l)]
        heads = [i for i, l in enumerate(lines) if l.split()[:1] == [header]]
        check(len(reports) >= 2 and len(heads) == len(reports) and
              all(r < h for r, h in zip(reports, heads)),
              "%s: want one header after each report's first line: %s" %
              (tool, short(out, 600)))


# What may write to the writer's stream or stdout other than src/lib/out.c:
# the SVG renderer (flame.c writes the file flamegraph opens).
_WRITERS_ALLOWED = {"lib/out.c", "lib/flame.c"}
_WRITE_RE = re.compile(r"\b(?:printf|puts|putchar)\s*\(|"
                       r"\b(?:fprintf|fputs|fputc|fwrite)\s*\([^;]*(?:->file|\.file|stdout)")
# Any clock, not only the wall clock: a private "now" on CLOCK_MONOTONIC
# or CLOCK_BOOTTIME is the same copy of out.c's helpers.
_CLOCK_RE = re.compile(r"\b(?:clock_gettime|gettimeofday|timespec_get)\s*\(|"
                       r"\btime\s*\(\s*(?:NULL|0)\s*\)|\blocaltime(?:_r)?\s*\(|"
                       r"\bstrftime\s*\(")
# Comments, strings and character literals ('"' would open a string).
_NOT_CODE_RE = re.compile(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|'
                          r"'(?:\\.|[^'\\\n])+'", re.S)


def _code_lines(rel):
    """(number, line, code) of src/REL: code is the line with its strings
    and comments blanked (a comment may name strftime())."""
    with open(os.path.join(REPO, "src", rel)) as f:
        text = f.read()
    code = _NOT_CODE_RE.sub(lambda m: "\n" * m.group().count("\n"), text)
    return zip(range(1, text.count("\n") + 2), text.split("\n"), code.split("\n"))


def test_only_the_writer_prints_and_tells_the_time():
    """Tools and the runtime print through src/lib/out.c, which also owns the
    clocks: a second writer or clock is where table, JSON and -T part. The
    clock rule holds in the whole of src/ (trace, agent included)."""
    src = os.path.join(REPO, "src")
    printers = [os.path.join(d, f) for d in ("lib", "tools") for f in
                sorted(os.listdir(os.path.join(src, d))) if f.endswith(".c")]
    printers.append("overview.c")
    every = sorted(os.path.relpath(os.path.join(d, f), src)
                   for d, _, fs in os.walk(src) for f in fs
                   if f.endswith(".c") and not f.endswith(".bpf.c"))
    check("lib/out.c" in every, "src/lib/out.c not found below %s" % src)
    found = []
    for rel in printers:
        if rel in _WRITERS_ALLOWED:
            continue
        for n, line, code in _code_lines(rel):
            if _WRITE_RE.search(code):
                found.append("src/%s:%d: %s" % (rel, n, line.strip()))
    for rel in every:
        if rel == "lib/out.c":
            continue
        for n, line, code in _code_lines(rel):
            if _CLOCK_RE.search(code):
                found.append("src/%s:%d: %s" % (rel, n, line.strip()))
    check(not found, "printing or reading a clock outside src/lib/out.c:\n  %s" %
          "\n  ".join(found))


# ---------------------------------------------------------------- not root

def _as_nobody(*args):
    """Run loupe ARGS as user nobody through setpriv; (rc, out, err)."""
    if not shutil.which("setpriv"):
        raise Skip("setpriv (util-linux) is not installed")
    require_loupe()
    cmd = ["setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups", LOUPE]
    rc, out, err = run_quiet(cmd + list(args), timeout=20)
    check(rc is not None, "loupe %s as nobody did not exit within 20s" % " ".join(args))
    check(rc not in (126, 127), "could not run loupe as nobody (%s): %s" % (rc, short(err)))
    return rc, out, err


def _denied_msg(tool, tracefs, uprobes):
    """The message a user without any capability gets, built from this host."""
    nobody = pwd.getpwnam("nobody").pw_uid
    exe = os.path.realpath(LOUPE)
    parts, caps = ["loading BPF programs needs CAP_BPF and CAP_PERFMON"], ["cap_bpf", "cap_perfmon"]
    st = os.stat("/sys/kernel/tracing")
    if tracefs and not st.st_mode & stat.S_IXOTH:
        parts.append("reading tracefs at /sys/kernel/tracing (mode %04o, owner uid %d) needs "
                     "CAP_DAC_READ_SEARCH" % (stat.S_IMODE(st.st_mode), st.st_uid))
        caps.append("cap_dac_read_search")
    if uprobes:
        parts.append("attaching uprobes needs CAP_SYS_ADMIN")
        caps.append("cap_sys_admin")
    return ("loupe: %s: permission denied (uid %d): %s; run loupe as root or give it the "
            "capabilities it needs (setcap %s+ep %s)" % (tool, nobody, "; ".join(parts),
                                                        ",".join(caps), exe))


def _check_denied(args, want):
    rc, out, err = _as_nobody(*args)
    cmd = "loupe " + " ".join(args)
    check(rc == 1, "%s as nobody: exit status %s != 1 (stderr: %s)" % (cmd, rc, short(err)))
    check(out == "", "%s as nobody printed on stdout: %r" % (cmd, short(out)))
    check(err == want + "\n", "%s as nobody:\n  stderr %r\n  want   %r" % (cmd, err, want + "\n"))


def test_not_root_snoop_says_permission_denied():
    _check_denied(["execsnoop", "-d", "1"], _denied_msg("execsnoop", True, False))


def test_not_root_list_says_permission_denied():
    _check_denied(["list"], _denied_msg("list", True, False))


def test_not_root_uprobe_tool_names_its_needs():
    _check_denied(["funclatency", "c:read", "-d", "1"], _denied_msg("funclatency", False, True))
