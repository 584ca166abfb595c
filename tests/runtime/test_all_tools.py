"""Every tool in the table: starts on this kernel, attaches, runs for its
--duration, exits 0 and leaves no BPF program or link behind."""
import json
import re
import shutil
import subprocess
import time
import uuid

from common import (LOUPE, Cgroup, Skip, check, existing_bpf_ids, fdinfo_ids,
                    loupe_list_json_cached, on_cleanup, poll_until, run_quiet, short,
                    spawn)

# Tools that need an argument to have something to trace.
ARGS = {
    "funclatency": ["libc:getpid"],
}


# Packet tools: on lo of a network namespace of the test's own, with an
# expression nothing there matches (drop drops nothing).
PACKET_TOOLS = ("capture", "count", "drop")


def _argv(name):
    """The command line that gives tool name something to attach to."""
    argv = [LOUPE, name] + ARGS.get(name, []) + ["--duration", "1"]
    if name == "sockmap":
        return argv + ["--cgroup", Cgroup().path]
    if name not in PACKET_TOOLS:
        return argv
    if not shutil.which("ip"):
        raise Skip("iproute2 'ip' not available")
    ns = "loupe-all-" + uuid.uuid4().hex[:8]
    rc, _, err = run_quiet(["ip", "netns", "add", ns])
    if rc != 0:
        raise Skip("cannot create a network namespace: %s" % err.strip())
    on_cleanup(lambda: run_quiet(["ip", "netns", "del", ns]))
    if name in ("capture", "count"):
        # TC needs the clsact qdisc: a module the test VM's kernel lacks
        rc, _, err = run_quiet(["ip", "netns", "exec", ns, "tc", "qdisc", "add",
                                "dev", "lo", "clsact"])
        if rc != 0 and "unknown" in err:
            raise Skip("this kernel has no clsact qdisc: %s" % err.strip())
        run_quiet(["ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", "lo",
                   "clsact"])
    # ip netns exec execs loupe: the pid is loupe's.
    return ["ip", "netns", "exec", ns] + argv + ["-i", "lo", "udp port 9"]


def _tools():
    """The tools of `loupe list -j`, or the reason there are none."""
    try:
        # Seconds under emulation (tests/vm/), more on a loaded host.
        out = loupe_list_json_cached(timeout=60)
        tools = [json.loads(l) for l in out.splitlines() if l.strip()]
    except (OSError, ValueError, subprocess.SubprocessError) as e:
        return [], "%s: %s" % (type(e).__name__, e)
    return tools, None if tools else "it printed nothing"


def _run_tool(entry):
    name = entry["tool"]
    hooks = [p["hook"] for p in entry["probes"]]
    if not entry["probes"]:
        return      # no BPF (flamegraph): covered by its own tests
    p = spawn(_argv(name), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ids = [set(), set()]

    # Collect what it holds while it runs (links appear after programs):
    # at least 0.8 s and until it holds links; start-up takes seconds under
    # emulation (tests/vm/). Then communicate(), before a pipe fills up.
    t0 = time.monotonic()
    while p.poll() is None and time.monotonic() < t0 + 15:
        progs, links = fdinfo_ids(p.pid)
        ids[0] |= progs
        ids[1] |= links
        if ids[1] and time.monotonic() >= t0 + 0.8:
            break
        time.sleep(0.05)
    try:
        out, err = p.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        check(False, "%s did not exit within 15 s of a 1 s --duration" % name)
    check(p.returncode == 0, "loupe %s exited %s (hooks %s): %s" %
          (name, p.returncode, hooks, short(err, 600)))
    check(ids[0], "loupe %s loaded no BPF program" % name)
    # What a busy machine made the tool miss is reported, not a complaint
    # (lost events, skipped probe runs, colliding stacks), nor is a 1 s
    # system-wide profile of an idle machine that counted no sample.
    errors = [l for l in err.splitlines() if l.startswith("loupe:")
              and not re.search(r"events lost|probe runs skipped|not recorded"
                                r"|could not be symbolized| counted$", l)]
    check(not errors, "loupe %s complained: %s" % (name, short(errors, 600)))

    def gone():
        progs, links = existing_bpf_ids()
        return not (ids[0] & progs) and not (ids[1] & links)
    check(poll_until(gone, 5), "loupe %s left BPF objects behind: progs %s links %s" %
          (name, sorted(ids[0] & existing_bpf_ids()[0]),
           sorted(ids[1] & existing_bpf_ids()[1])))


def _make(entry):
    def test():
        _run_tool(entry)
    test.__name__ = "test_tool_%s" % entry["tool"]
    test.timeout = 30
    return test


_entries, _why = _tools()
for _entry in _entries:
    globals()["test_tool_%s" % _entry["tool"]] = _make(_entry)
if _why:
    # Without the list there would be no test here at all: fail instead.
    def test_tool_list():
        check(False, "cannot list the tools (loupe list -j): %s" % _why)
