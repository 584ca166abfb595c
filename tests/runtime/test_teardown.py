"""Clean teardown: no BPF programs/links or probe events survive loupe."""
import signal
import time

from common import (TOOLS, Loupe, bpftool_list, check, fdinfo_ids, poll_until, short)

PROBE_EVENT_FILES = ("/sys/kernel/tracing/kprobe_events", "/sys/kernel/tracing/uprobe_events")


def _owned(pids):
    """{pid: (prog ids, link ids)} from fdinfo plus bpftool's pids info."""
    res = {pid: fdinfo_ids(pid) for pid in pids}
    for kind, idx in (("prog", 0), ("link", 1)):
        for e in bpftool_list(kind):
            for p in e.get("pids", []) or []:
                if p.get("pid") in res:
                    res[p["pid"]][idx].add(e["id"])
    return res


def _probe_event_leftovers(pids):
    bad = []
    for path in PROBE_EVENT_FILES:
        try:
            with open(path) as f:
                txt = f.read()
        except OSError:
            continue
        for line in txt.splitlines():
            if "loupe" in line.lower() or any("libbpf_%d_" % pid in line for pid in pids):
                bad.append("%s: %s" % (path, line))
    return bad


def _record(lp):
    """Record the prog/link ids of a loupe whose header has appeared."""
    lp.wait_header()
    # fdinfo at once (a --duration run may end while bpftool walks its
    # lists under load), then what bpftool's pids info adds
    ids = fdinfo_ids(lp.pid)
    check(lp.alive(), "loupe %s exited before its BPF objects could be recorded %s"
          % (lp.args[0], lp.describe()))
    more = _owned([lp.pid])[lp.pid]
    ids = (ids[0] | more[0], ids[1] | more[1])
    check(ids[0], "no BPF programs found for loupe %s (pid %d)" % (lp.args[0], lp.pid))
    return ids


def _finish(lp, mode):
    if mode == "duration":
        rc = lp.wait_exit(5, "with --duration 1")
    elif mode == "sigkill":
        lp.proc.kill()
        rc = lp.wait_exit(5, "after SIGKILL")
    else:
        rc = lp.stop(mode, timeout=5)
    if mode != "sigkill":
        check(rc == 0, "loupe %s: exit status %s != 0 %s" % (lp.args[0], rc, lp.describe()))


def _teardown(mode):
    owned = {}
    if mode == "duration":
        lps = []
        for tool in TOOLS:       # one at a time: each exits by itself after 1 s
            lp = Loupe(tool, "--duration", "1")
            lps.append(lp)
            owned[lp.pid] = _record(lp)
            _finish(lp, mode)
    else:
        lps = [Loupe(tool) for tool in TOOLS]
        for lp in lps:
            owned[lp.pid] = _record(lp)
        for lp in lps:
            _finish(lp, mode)

    def leftovers():
        progs_now = {e["id"] for e in bpftool_list("prog")}
        links_now = {e["id"] for e in bpftool_list("link")}
        left = []
        for lp in lps:
            progs, links = owned[lp.pid]
            if progs & progs_now:
                left.append("%s progs %s" % (lp.args[0], sorted(progs & progs_now)))
            if links & links_now:
                left.append("%s links %s" % (lp.args[0], sorted(links & links_now)))
        return left
    left = leftovers()
    deadline = time.monotonic() + 3
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = leftovers()
    check(not left, "BPF objects still exist after loupe exited (%s): %s" % (mode, left))
    clean = poll_until(lambda: not _probe_event_leftovers([lp.pid for lp in lps]), 2)
    check(clean, "probe events left behind: %s" %
          short(_probe_event_leftovers([lp.pid for lp in lps])))


def test_teardown_sigint():
    _teardown(signal.SIGINT)


def test_teardown_sigterm():
    _teardown(signal.SIGTERM)


def test_teardown_duration():
    _teardown("duration")


def test_teardown_sigkill():
    _teardown("sigkill")
