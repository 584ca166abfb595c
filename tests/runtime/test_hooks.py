"""The hook chooser on the running kernel, seen through `loupe list -j`.

Two kinds of kernel are expected, told apart by the kprobe PMU
(/sys/bus/event_source/devices/kprobe):

- without it (the development kernel: no CONFIG_KPROBES, fentry refused
  with EPERM), every probe that declares fentry/fexit/kprobe/kretprobe
  candidates falls back to its tracepoint-family candidate (or to "none"
  if it has none and is optional), and each rejection carries its reason;
- with it (Debian's 6.1 in tests/vm/), every such probe picks its
  cheapest candidate and nothing is rejected.

Either way the tools then really run on the chosen hook: the programs a
running loupe holds are the chosen candidate's, of the BPF program type
that hook needs, and opensnoop (fexit) and filelife (kprobe on vfs_unlink)
report the file a test opens or deletes.
"""
import json
import os
import signal
import subprocess
import time

from common import (LOUPE, Loupe, bpftool_list, check, fail, fdinfo_ids,
                    loupe_list_json_cached, marker, poll_until, run_quiet, short, spawn,
                    tmpdir)

CHEAP = ("fentry", "fexit", "kprobe", "kretprobe")
FALLBACK = ("tp_btf", "raw_tp", "tracepoint")
# The reason a cheap hook is rejected on a kernel without kprobes/fentry.
REASONS = {
    "fentry": "Operation not permitted",
    "fexit": "Operation not permitted",
    "kprobe": "no kprobe PMU",
    "kretprobe": "no kprobe PMU",
}
# bpftool's program type for each hook kind.
PROG_TYPES = {
    "fentry": "tracing", "fexit": "tracing", "tp_btf": "tracing",
    "kprobe": "kprobe", "kretprobe": "kprobe",
    "raw_tp": "raw_tracepoint", "tracepoint": "tracepoint",
}
# Tools that need an argument to have something to trace.
ARGS = {"funclatency": ["libc:getpid"]}
# Flags that switch on a probe which is off by default (and which needs a
# cheap hook: given only where kprobes work).
ARGS_FULL = {"tcpretrans": ["-l"]}
BPF_OBJ_NAME_LEN = 16


def kernel_has_kprobes():
    return os.path.isdir("/sys/bus/event_source/devices/kprobe")


def list_json(cached=False):
    if cached:
        out = loupe_list_json_cached()
    else:
        rc, out, err = run_quiet([LOUPE, "list", "-j"], timeout=60)
        check(rc == 0, "loupe list -j: exit status %s: %s" % (rc, short(err)))
    return {o["tool"]: o for o in (json.loads(l) for l in out.splitlines() if l.strip())}


def cheap_probes(tools):
    """[(tool, probe entry)] for every probe declaring a cheap candidate."""
    return [(t, p) for t, o in sorted(tools.items()) for p in o["probes"]
            if any(c in CHEAP for c in p.get("candidates", []))]


def test_hooks_choice_matches_kernel():
    tools = list_json()
    probes = cheap_probes(tools)
    check(len(probes) >= 10, "only %d probes declare fentry/kprobe candidates: %s"
          % (len(probes), [(t, p["probe"]) for t, p in probes]))
    full = kernel_has_kprobes()
    bad = []
    for tool, p in probes:
        where = "%s/%s (candidates %s)" % (tool, p["probe"], p["candidates"])
        cands, hook, rej = p["candidates"], p["hook"], p["rejected"]
        if full:
            # Cheapest first: the first candidate must have worked.
            if hook != cands[0] or rej:
                bad.append("%s: chose %s, rejected %s" % (where, hook, rej))
            continue
        fallback = [c for c in cands if c in FALLBACK]
        want = fallback[0] if fallback else "none"
        if hook != want:
            bad.append("%s: chose %s, want %s" % (where, hook, want))
        # Every cheap candidate was tried and rejected for the known reason.
        for i, c in enumerate(cands):
            if c not in CHEAP:
                continue
            r = rej[i] if i < len(rej) else None
            if not r or r["hook"] != c or REASONS[c] not in r["reason"]:
                bad.append("%s: candidate %d (%s) rejected as %s, want reason %r"
                           % (where, i, c, r, REASONS[c]))
    check(not bad, "%s kernel (kprobe PMU %s): %d wrong choices:\n  %s"
          % ("full" if full else "restricted", "present" if full else "absent",
             len(bad), "\n  ".join(bad)))


def test_hooks_table_shows_choices():
    """`loupe list` (table) shows the same hook per probe as -j."""
    tools = list_json(cached=True)
    rc, out, err = run_quiet([LOUPE, "list"], timeout=60)
    check(rc == 0, "loupe list: exit status %s" % rc)
    rows = {}
    tool = None
    for line in out.splitlines()[2:]:
        if not line.startswith(" "):
            tool = line.split()[0]
            rows[tool] = []
        elif "rejected:" not in line:
            rows[tool].append(line)
    for t, p in cheap_probes(tools):
        row = next((r for r in rows.get(t, []) if r[2:].startswith(p["probe"] + " ")), None)
        check(row is not None, "`loupe list` has no row for %s/%s" % (t, p["probe"]))
        check(row[2:].split(None, len(p["probe"].split()))[-1].startswith(p["hook"]),
              "`loupe list` row %r: hook is not %s" % (row, p["hook"]))


def _prog_info(ids):
    """{id: (name, type)} of BPF programs, from bpftool."""
    return {e["id"]: (e.get("name", ""), e.get("type", "")) for e in bpftool_list("prog")
            if e["id"] in ids}


def _runs_on_chosen_hook(tool, entry):
    argv = [LOUPE, tool] + ARGS.get(tool, [])
    if kernel_has_kprobes():
        argv += ARGS_FULL.get(tool, [])
    p = spawn(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def attached():
        return fdinfo_ids(p.pid)[1] or p.poll() is not None
    poll_until(attached, 30)
    # Read what it holds while it runs, then stop it like Ctrl-C.
    progs, links = fdinfo_ids(p.pid)
    info = _prog_info(progs)
    p.send_signal(signal.SIGINT)
    try:
        _, err = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        fail("loupe %s did not exit after SIGINT" % tool)
    check(p.returncode == 0, "loupe %s exited %s: %s" % (tool, p.returncode,
                                                         short(err.decode(errors="replace"))))
    check(links, "loupe %s never held a BPF link" % tool)
    held = {name: typ for name, typ in info.values()}
    for probe in entry["probes"]:
        hook = probe["hook"]
        if hook == "none" or not any(c in CHEAP for c in probe.get("candidates", [])):
            continue
        types = []
        for prog in probe["programs"]:
            # bpftool shows the full name from BTF, else the kernel's 15 chars.
            name = prog if prog in held else prog[:BPF_OBJ_NAME_LEN - 1]
            check(name in held, "%s/%s on %s: program %s not loaded (held: %s)"
                  % (tool, probe["probe"], hook, name, sorted(held)))
            types.append(held[name])
        # The hook is named after a candidate's first program; a fallback
        # candidate may mix tracepoints with tp_btf programs.
        allowed = {PROG_TYPES[hook]} if hook in CHEAP else \
            {PROG_TYPES[h] for h in FALLBACK}
        check(PROG_TYPES[hook] in types and set(types) <= allowed,
              "%s/%s on %s: program types %s, want %s" % (tool, probe["probe"], hook,
                                                         types, sorted(allowed)))


def _make(tool, entry):
    def test():
        _runs_on_chosen_hook(tool, entry)
    test.__name__ = "test_hooks_runs_on_chosen_%s" % tool
    test.timeout = 60
    return test


def _tools_with_cheap_candidates():
    try:
        return {t: o for t, o in list_json(cached=True).items()
                if any(c in CHEAP for p in o["probes"] for c in p.get("candidates", []))}
    except BaseException:
        return {}


for _tool, _entry in _tools_with_cheap_candidates().items():
    globals()["test_hooks_runs_on_chosen_%s" % _tool] = _make(_tool, _entry)


def _expected_hook(tool, probe):
    p = next(p for p in list_json(cached=True)[tool]["probes"] if p["probe"] == probe)
    if kernel_has_kprobes():
        check(p["hook"] == p["candidates"][0], "%s/%s chose %s, not its cheapest %s"
              % (tool, probe, p["hook"], p["candidates"][0]))
    else:
        check(p["hook"] in FALLBACK, "%s/%s chose %s without kprobes" % (tool, probe, p["hook"]))
    return p["hook"]


def test_hooks_opensnoop_event():
    hook = _expected_hook("opensnoop", "open")
    lp = Loupe("opensnoop", "-j")
    warm = "/loupe-warm-" + marker()

    def act():
        try:
            os.open(warm, os.O_RDONLY)
        except OSError:
            pass
    lp.ready(act, lambda e: e.get("path") == warm)
    path = os.path.join(tmpdir(), marker("hook"))
    open(path, "w").close()
    fd = os.open(path, os.O_RDONLY)
    os.close(fd)
    ev = lp.expect_event(lambda e: e.get("type") == "open" and e.get("path") == path
                         and e.get("pid") == os.getpid() and e.get("fd") == fd,
                         "open of %s (fd %d) on %s" % (path, fd, hook))
    lp.stop()
    check(ev.get("err") == 0, "open on %s: err %s" % (hook, ev.get("err")))


test_hooks_opensnoop_event.timeout = 60


def test_hooks_filelife_delete_event():
    hook = _expected_hook("filelife", "delete")
    d = tmpdir()
    lp = Loupe("filelife", "-j")

    def act():
        name = marker("warm")
        open(os.path.join(d, name), "w").close()
        os.unlink(os.path.join(d, name))
        act.names.add(name)
    act.names = set()
    lp.ready(act, lambda e: e.get("file") in act.names)
    name = marker("fl")
    path = os.path.join(d, name)
    open(path, "w").close()
    time.sleep(0.2)
    os.unlink(path)
    ev = lp.expect_event(lambda e: e.get("file") == name, "delete of %s on %s" % (name, hook))
    lp.stop()
    check(ev.get("pid") == os.getpid(), "filelife on %s: pid %s != %d"
          % (hook, ev.get("pid"), os.getpid()))


test_hooks_filelife_delete_event.timeout = 60


def test_every_program_loads_alone():
    """Each program of every embedded object loads on its own, as the hook
    chooser would keep it, unless its kind of hook does not exist here
    (fentry/fexit refused, or its kernel function or tracepoint absent).
    The chooser tests a hook with a trivial program: a tool's fallback
    program that the verifier refuses would otherwise go unnoticed."""
    import errno
    import glob
    import shutil
    from common import REPO, Skip, short, tmpdir
    objs = sorted(glob.glob(os.path.join(REPO, "build", "bpf", "*.bpf.o")))
    check(len(objs) >= 40, "only %d BPF objects in build/bpf" % len(objs))
    if not shutil.which("gcc"):
        raise Skip("gcc is not installed")
    exe = os.path.join(tmpdir(), "loadalone")
    src = os.path.join(REPO, "tests", "runtime", "loadalone.c")
    r = subprocess.run(["gcc", "-O1", "-Wall", "-o", exe, src, "-l:libbpf.a", "-lelf", "-lz"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    check(r.returncode == 0, "loadalone.c: %s" % short(r.stdout.decode(errors="replace")))
    r = subprocess.run([exe] + objs, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=300)
    rows = [l.split() for l in r.stdout.decode().splitlines()]
    check(len(rows) >= 200, "only %d programs loaded: %s" % (len(rows), short(rows)))
    absent = (-errno.ESRCH, -errno.ENOENT)
    bad = []
    for obj, prog, section, err in rows:
        err = int(err)
        kind = section.split("/")[0]
        if err == 0:
            continue
        if kind in ("fentry", "fexit") and err in (-errno.EPERM,) + absent:
            continue
        if kind in ("tp_btf", "raw_tp") and err in absent:
            continue
        # a classic tracepoint this kernel does not have (its record type
        # is then missing too); the chooser rejects it by its tracefs id
        if kind in ("tracepoint", "tp") and not os.path.isdir(
                "/sys/kernel/tracing/events/" + section.split("/", 1)[1]):
            continue
        bad.append("%s %s (%s): %s" % (os.path.basename(obj), prog, section,
                                       os.strerror(-err) if err < 0 else err))
    check(not bad, "%d programs do not load on their own (LOADALONE_VERBOSE=1 "
          "%s OBJ shows why): %s" % (len(bad), exe, "; ".join(bad)))


test_every_program_loads_alone.timeout = 300
test_every_program_loads_alone.serial = True  # loads every program


# What `loupe list -j` says of the packet and socket tools on this kernel:
# {tool: [(probe, hook, programs, targets)]}. drop shows its default (XDP;
# --tc picks TC); the packet tools build their programs at run time, so
# their "programs" are the sections the chooser tested. TC is a tcx link
# where the kernel has them (Linux 6.6+), else the clsact qdisc.
def _tcx():
    major, minor = (int(x) for x in os.uname().release.split(".")[:2])
    return (major, minor) >= (6, 6)


def _packet_rows():
    tc = "tcx" if _tcx() else "tc"
    return {
        "drop": [("packets", "xdp", ["xdp"], ["interface"])],
        "count": [("ingress", tc, [tc + "/ingress"], ["interface ingress"]),
                  ("egress", tc, [tc + "/egress"], ["interface egress"])],
        "capture": [("ingress", tc, [tc + "/ingress"], ["interface ingress"]),
                    ("egress", tc, [tc + "/egress"], ["interface egress"])],
        "sockmap": [("sockets", "sockops", ["sockmap_sockops"], ["cgroup"]),
                    ("messages", "sk_msg", ["sockmap_msg"], ["sockmap"])],
    }


# The candidates each packet probe lists, cheapest first.
PACKET_CANDIDATES = {"drop": ["xdp", "tcx", "tc"], "count": ["tcx", "tc"],
                     "capture": ["tcx", "tc"]}


def test_hooks_packet_tools_listed():
    """XDP, TC, sockops and sk_msg are hook kinds: each packet tool's row in
    `loupe list -j` and `loupe list` names the hook it will use here."""
    tools = list_json(cached=True)
    rc, out, _ = run_quiet([LOUPE, "list"], timeout=60)
    check(rc == 0, "loupe list: exit status %s" % rc)
    # a candidate passed over has a "rejected:" row of its own (tcx on 6.1)
    table = [l for l in out.splitlines() if l.split()[1:2] != ["rejected:"]]
    for tool, rows in _packet_rows().items():
        got = [(p["probe"], p["hook"], p["programs"], p["targets"])
               for p in tools[tool]["probes"]]
        check(got == rows, "loupe list -j, %s: probes %s, want %s" % (tool, got, rows))
        for p in tools[tool]["probes"]:
            want = PACKET_CANDIDATES.get(tool, [p["hook"]])
            # tcx passed over (before 6.6) with the reason, nothing else
            rejected = [r["hook"] for r in p["rejected"]]
            check(p["candidates"] == want and
                  rejected == ([] if _tcx() or tool == "drop" or
                               tool == "sockmap" else ["tcx"]),
                  "%s/%s: candidates %s, rejected %s"
                  % (tool, p["probe"], p["candidates"], p["rejected"]))
        i = next(i for i, l in enumerate(table) if l.split()[:1] == [tool])
        for n, (probe, hook, _, targets) in enumerate(rows):
            want = "  %-14s %-11s %s" % (probe, hook, " ".join(targets))
            check(table[i + 1 + n] == want, "loupe list, %s: row %r, want %r"
                  % (tool, table[i + 1 + n], want))
