"""CLI surface: usage errors, --help/--version, `loupe list`, --duration."""
import json
import os
import time

from common import (HEADERS, LOUPE, TOOLS, Loupe, Skip, check, require_loupe, ringbuf_sizes,
                    run_quiet, short)


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
