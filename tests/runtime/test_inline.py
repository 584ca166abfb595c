"""Runtime tests of inlined frames and separate debug files (issue 16,
docs/profiling.md).

The program built here spins in main -> outer -> churn -> mix -> leaf,
where mix is forced inline (always_inline) into churn and the others are
static (not exported) and never inlined:
- profile --inline shows mix as an inlined frame between churn and leaf,
  where addr2line -i (and perf script --inline) put it for the same
  address; text, folded and JSON mark it each in their way;
- an inlined C++ template method is named like a symbol (demangled);
- offcputime --inline does the same for a chain that blocks;
- stripped, with its debug file installed under /usr/lib/debug (by build
  id, or by .gnu_debuglink in /usr/lib/debug/<dir>/), the static names
  and the inlined frame still show.
Every loupe run is filtered on the workload's pid.
"""
import json
import os
import shutil
import subprocess

from common import (folded_rows, Loupe, Skip, check, marker, on_cleanup, short, spawn,
                    tmpdir)

# mix is inlined into churn at every -O level (always_inline); leaf is
# where the time goes (or, with NAP, where the thread sleeps).
INL_C = r"""
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

volatile unsigned long sink;

__attribute__((noinline)) static void leaf(int i)
{
#ifdef NAP
	if (!(i & 1023))
		usleep(2000);
#endif
	for (int j = 0; j < 200; j++)
		sink += i ^ j;
}

static inline __attribute__((always_inline)) void mix(int i)
{
	sink ^= i;
	leaf(i);
	sink += 3;
}

__attribute__((noinline)) static void churn(void)
{
	for (int i = 0; i < 100000; i++)
		mix(i);
}

__attribute__((noinline)) static void outer(void) { churn(); sink++; }

int main(int argc, char **argv)
{
	time_t end = time(NULL) + atoi(argv[1]);

	while (time(NULL) < end)
		outer();
	return 0;
}
"""

CHAIN = ["main", "outer", "churn", "mix_[i]", "leaf"]


def _run(argv, what):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=120)
    check(r.returncode == 0, "%s failed: %s" %
          (what, short(r.stdout.decode(errors="replace"), 1500)))
    return r.stdout.decode(errors="replace")


def _build(flags, d=None, source=None):
    if not shutil.which("gcc"):
        raise Skip("gcc not available")
    d = d or tmpdir()
    src = os.path.join(d, "inl.c")
    exe = os.path.join(d, marker("in"))
    with open(src, "w") as f:
        f.write(source or INL_C)
    _run(["gcc"] + list(flags) + ["-o", exe, src], "gcc")
    return exe


def _has_chain(frames, chain):
    n = len(chain)
    return any(frames[i:i + n] == chain for i in range(len(frames) - n + 1))


_folded = folded_rows


def _share(rows, chain):
    total = sum(c for _, c in rows)
    return sum(c for f, c in rows if _has_chain(f, chain)) / total, total


def _check_inlined(rows, what):
    """Every sample is inside main;outer;churn;mix (in mix's own code or
    in leaf, which it calls): at least 90 % of them whole, and leaf is
    never shown called by churn directly."""
    share, total = _share(rows, CHAIN[:-1])
    check(share >= 0.9, "%s: %.0f%% of %d samples hold %s: %s" %
          (what, 100 * share, total, ";".join(CHAIN[:-1]), short(rows, 800)))
    bad = [f for f, _ in rows if _has_chain(f, ["churn", "leaf"])]
    check(not bad, "%s: leaf under churn without mix: %s" % (what, short(bad, 600)))
    return total


def _json_stacks(tool, pid, *extra):
    lp = Loupe(tool, "-p", pid, "-U", "-j", "-d", "2", *extra)
    rc = lp.wait_exit(20)
    check(rc == 0, "exit status %s %s" % (rc, lp.describe()))
    stacks = [r for r in map(json.loads, lp.lines()) if r.get("type") == "stack"]
    check(stacks, "no stack records %s" % lp.describe())
    return stacks


def _addr2line(exe, addr):
    """addr2line -i: the functions at addr, innermost first."""
    out = _run(["addr2line", "-i", "-f", "-e", exe, "%#x" % addr], "addr2line")
    return out.splitlines()[0::2]


def test_profile_inline_frames():
    # -no-pie: a run-time address is the ELF address addr2line takes.
    exe = _build(["-O2", "-g", "-fomit-frame-pointer", "-no-pie"])
    p = spawn([exe, "12"])
    rows = _folded(Loupe("profile", "-p", p.pid, "-U", "--folded", "-d", "3",
                         "--unwind", "dwarf", "--inline"))
    total = _check_inlined(rows, "--inline")
    check(total >= 30, "only %d samples in 3 s at 49 Hz" % total)
    check(any(_has_chain(f, CHAIN) for f, _ in rows),
          "no sample in leaf: %s" % short(rows, 800))
    # Without --inline the inlined function is not there.
    plain = _folded(Loupe("profile", "-p", p.pid, "-U", "--folded", "-d", "1",
                          "--unwind", "dwarf"))
    check(not any("mix" in ";".join(f) for f, _ in plain),
          "mix shown without --inline: %s" % short(plain, 600))
    # JSON: the inlined frame carries churn's address and "inlined": true;
    # addr2line -i at the same address names mix, then churn.
    stacks = _json_stacks("profile", p.pid, "--unwind", "dwarf", "--inline")
    seen = 0
    for r in stacks:
        fr = r["user_stack"]
        for i, f in enumerate(fr):
            if not f.get("inlined"):
                continue
            check(f["name"] == "mix" and i + 1 < len(fr) and
                  fr[i + 1]["name"] == "churn" and not fr[i + 1].get("inlined")
                  and fr[i + 1]["addr"] == f["addr"] and "offset" not in f,
                  "inlined frame: %s" % short(fr, 600))
            want = _addr2line(exe, f["addr"] - 1)
            check(want == ["mix", "churn"], "addr2line -i %#x: %s" % (f["addr"] - 1, want))
            seen += r["count"]
    check(seen, "no inlined frame in %s" % short(stacks, 600))
    # Text: "mix (inlined)" between leaf and churn.
    lp = Loupe("profile", "-p", p.pid, "-U", "-d", "1", "--unwind", "dwarf", "--inline")
    check(lp.wait_exit(20) == 0, lp.describe())
    text = [l.strip() for l in lp.lines()]
    check(any(text[i:i + 3] == ["leaf", "mix (inlined)", "churn"]
              for i in range(len(text))), "text: %s" % short(text, 600))
    _check_perf(p.pid)


test_profile_inline_frames.serial = True  # sample count
test_profile_inline_frames.timeout = 60


def _check_perf(pid):
    """The reference: perf script --inline on the same process shows mix
    inlined between leaf and churn (skipped without perf)."""
    perf = shutil.which("perf")
    if not perf:
        return
    data = os.path.join(tmpdir(), "perf.data")
    r = subprocess.run([perf, "record", "-q", "-e", "cpu-clock", "-F", "49",
                        "--call-graph", "dwarf", "-p", str(pid), "-o", data,
                        "--", "sleep", "1"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    if r.returncode:
        return
    r = subprocess.run([perf, "script", "-i", data, "--inline", "-F", "ip,sym"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=60)
    lines = [l.split(None, 1)[1].strip() for l in
             r.stdout.decode(errors="replace").splitlines() if len(l.split()) >= 2]
    check(any(lines[i:i + 3] == ["leaf", "mix (inlined)", "churn"]
              for i in range(len(lines))),
          "perf script --inline: %s" % short(lines, 600))


def test_offcputime_inline_frames():
    # -O0 keeps every frame pointer (the kernel's walk); mix is inlined all
    # the same. The leaf sleeps in libc, which hides leaf itself (libc has
    # no frame pointers): the chain ends in the inlined frame.
    exe = _build(["-O0", "-g", "-fno-omit-frame-pointer", "-DNAP"])
    p = spawn([exe, "8"])
    rows = _folded(Loupe("offcputime", "-p", p.pid, "-U", "--folded", "-d",
                         "2", "--inline"))
    chain = ["main", "outer", "churn", "mix_[i]"]
    share, total = _share(rows, chain)
    check(share >= 0.9, "offcputime --inline: %.0f%% of %d us hold %s: %s" %
          (100 * share, total, ";".join(chain), short(rows, 800)))


def _install(path, data_from):
    """Copies data_from to path (its directories made), removed after."""
    made = []
    d = os.path.dirname(path)
    while not os.path.isdir(d):
        made.append(d)
        d = os.path.dirname(d)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    shutil.copy(data_from, path)

    def undo():
        if os.path.exists(path):
            os.unlink(path)
        for m in made:
            try:
                os.rmdir(m)
            except OSError:
                pass
    on_cleanup(undo)


def _stripped(build_id):
    """A stripped -O2 build and its debug file (objcopy --only-keep-debug)."""
    d = tmpdir()
    flags = ["-O2", "-g", "-fomit-frame-pointer"]
    if not build_id:
        flags.append("-Wl,--build-id=none")
    exe = _build(flags, d)
    debug = exe + ".debug"
    _run(["objcopy", "--only-keep-debug", exe, debug], "objcopy")
    _run(["strip", "--strip-all", exe], "strip")
    return exe, debug


def _check_debug_names(exe):
    nm = _run(["nm", "-a", exe], "nm") if shutil.which("nm") else ""
    check("churn" not in nm, "the binary is not stripped: %s" % short(nm))
    p = spawn([exe, "10"])
    rows = _folded(Loupe("profile", "-p", p.pid, "-U", "--folded", "-d", "3",
                         "--unwind", "dwarf", "--inline"))
    _check_inlined(rows, "stripped, with its debug file")
    check(any(_has_chain(f, CHAIN) for f, _ in rows),
          "no sample in leaf: %s" % short(rows, 800))


def test_debug_file_by_build_id():
    exe, debug = _stripped(True)
    out = _run(["readelf", "-n", exe], "readelf")
    bid = [l.split(":")[1].strip() for l in out.splitlines()
           if "Build ID" in l]
    check(bid, "no build id: %s" % short(out))
    _install("/usr/lib/debug/.build-id/%s/%s.debug" % (bid[0][:2], bid[0][2:]),
             debug)
    _check_debug_names(exe)


test_debug_file_by_build_id.serial = True  # sample count
test_debug_file_by_build_id.timeout = 60


def test_debug_file_by_debuglink():
    exe, debug = _stripped(False)
    name = os.path.basename(debug)
    _run(["objcopy", "--add-gnu-debuglink=" + debug, exe], "objcopy")
    _install("/usr/lib/debug" + os.path.dirname(exe) + "/" + name, debug)
    os.unlink(debug)    # only the copy under /usr/lib/debug is left
    _check_debug_names(exe)


test_debug_file_by_debuglink.serial = True  # sample count
test_debug_file_by_debuglink.timeout = 60


def test_agent_pprof_inline():
    """The agent's --inline: the Location of churn's call holds two Lines,
    mix (inlined) first, then churn, as go tool pprof -raw prints them."""
    import re
    from test_agent import Agent, get
    from test_agent_pprof import fetch, go_pprof, msg, one
    # -O0 keeps every frame pointer, which the agent's kernel walk needs.
    exe = _build(["-O0", "-g", "-fno-omit-frame-pointer"])
    d = os.path.dirname(exe)
    a = Agent("--metrics", "none", "--inline")
    try:
        w = spawn([exe, "12"])
        body = fetch(a, "profile?seconds=3&pid=%d" % w.pid)
        # the flame graph of the same seconds: mix is a frame of its own
        st, _, svg = get(a.url("/flame.svg?seconds=3&pid=%d" % w.pid), timeout=60)
        check(st == 200, "/flame.svg: %s" % st)
        svg = svg.decode(errors="replace")
        check(re.search(r">mix[ <(]", svg) or "mix (inlined)" in svg or "mix_[i]" in svg,
              "no mix frame in the flame graph: %s" % short(svg[-3000:], 3000))
    finally:
        check(a.stop() == 0, "SIGTERM: exit status not 0")
    import gzip
    p = msg(gzip.decompress(body))
    strings = [s.decode() for s in p.get(6, [])]
    fnames = [strings[one(msg(f), 2)] for f in p.get(5, [])]
    lines = [[fnames[one(msg(ln), 1) - 1] for ln in msg(l).get(4, [])]
             for l in p.get(4, [])]
    check(["mix", "churn"] in lines, "no Location with lines mix, churn: %s" %
          short(lines, 800))
    check(not any("mix" in l[1:] for l in lines), "mix not first: %s" % short(lines, 800))
    path = os.path.join(d, "cpu.pb.gz")
    with open(path, "wb") as f:
        f.write(body)
    raw = go_pprof(path, "-raw")
    # -raw: "ID: ADDRESS M=MAPPING FUNCTION FILE:LINE" then one more
    # indented line per further Line of the Location.
    check(re.search(r"^\s+\d+: 0x[0-9a-f]+ M=\d+ mix [^\n]*\n\s+churn ", raw, re.M),
          "go tool pprof -raw has no mix line above churn:\n%s" % raw[:2500])


test_agent_pprof_inline.timeout = 90


SHOP_CC = r"""
#include <cstdlib>
#include <ctime>

namespace shop {
volatile unsigned long sink;

__attribute__((noinline)) void leaf(int i)
{
	for (int j = 0; j < 200; j++)
		sink += i ^ j;
}

template <typename T> struct Basket {
	T seed;
	__attribute__((always_inline)) inline void add(int i) const
	{
		sink ^= i + seed;
		leaf(i);
	}
};

__attribute__((noinline)) void checkout(const Basket<int> &b)
{
	for (int i = 0; i < 100000; i++)
		b.add(i);
}
}

int main(int argc, char **argv)
{
	time_t end = time(nullptr) + atoi(argv[1]);
	shop::Basket<int> b{7};

	while (time(nullptr) < end)
		shop::checkout(b);
	return 0;
}
"""


def test_profile_inline_cxx_names():
    """An inlined C++ method is named like a symbol: its linkage name
    demangled (class, template argument, parameters), or as mangled
    under --no-demangle."""
    if not shutil.which("g++"):
        raise Skip("g++ not available")
    d = tmpdir()
    src = os.path.join(d, "shop.cc")
    exe = os.path.join(d, marker("cx"))
    with open(src, "w") as f:
        f.write(SHOP_CC)
    _run(["g++", "-O2", "-g", "-fomit-frame-pointer", "-o", exe, src], "g++")
    p = spawn([exe, "10"])
    for extra, chain in (
            ((), ["shop::checkout(shop::Basket<int> const&)",
                  "shop::Basket<int>::add(int) const_[i]"]),
            (("--no-demangle",), ["_ZN4shop8checkoutERKNS_6BasketIiEE",
                                  "_ZNK4shop6BasketIiE3addEi_[i]"])):
        rows = _folded(Loupe("profile", "-p", p.pid, "-U", "--folded", "-d",
                             "2", "--unwind", "dwarf", "--inline", *extra))
        share, total = _share(rows, chain)
        check(share >= 0.9, "%s: %.0f%% of %d samples hold %s: %s" %
              (extra, 100 * share, total, ";".join(chain), short(rows, 800)))


test_profile_inline_cxx_names.serial = True  # sample count
test_profile_inline_cxx_names.timeout = 60


def test_trace_inline_frames():
    """trace --inline: a uprobe on leaf prints mix as an inlined frame
    between leaf and churn, in both output modes; not without --inline."""
    exe = _build(["-O2", "-g", "-fomit-frame-pointer"])
    p = spawn([exe, "20"])
    prog = ("u:%s:leaf /pid == %d/ { printf(\"%%s\\n\", ustack(%s)); @n++; "
            "if (@n == 3) { exit(); } }")
    for mode, extra in (("dwarf", ("--inline",)), ("perf, dwarf", ("--inline",)),
                        ("", ("--unwind", "dwarf", "--inline")), ("dwarf", ())):
        lp = Loupe("trace", *extra, "-e", prog % (exe, p.pid, mode))
        rc = lp.wait_exit(30)
        check(rc == 0, "exit status %s %s" % (rc, lp.describe()))
        names = []
        for line in lp.lines():
            parts = line.split()
            if parts and "perf" in mode:
                parts = parts[1:]    # the address
            if parts:
                names.append(" ".join(parts[:2]) if parts[1:2] == ["(inlined)"]
                             else parts[0].split("+")[0])
        want = ["leaf", "mix (inlined)", "churn", "outer", "main"]
        runs = sum(1 for i in range(len(names)) if names[i:i + 5] == want)
        if extra:
            check(runs >= 3, "%s %s: %s" % (mode, extra, short(names, 600)))
        else:
            check(not any("mix" in n for n in names) and
                  names.count("churn") >= 3, "without --inline: %s" % short(names, 600))


LEAK_C = r"""
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

void *volatile keep[100000];

static inline __attribute__((always_inline)) void *grab(int n)
{
	return malloc(n + 1);
}

__attribute__((noinline)) static void hoard(int i)
{
	keep[i % 100000] = grab(i & 1023);
}

int main(int argc, char **argv)
{
	time_t end = time(NULL) + atoi(argv[1]);

	for (int i = 0; time(NULL) < end; i++) {
		hoard(i);
		usleep(1000);
	}
	return 0;
}
"""


def test_memleak_inline_frames():
    """memleak --inline: the allocating function inlined into hoard (grab,
    always_inline) is a frame of its own, then hoard; not without."""
    exe = _build(["-O0", "-g", "-fno-omit-frame-pointer"], source=LEAK_C)
    p = spawn([exe, "15"])
    for extra in (("--inline",), ()):
        lp = Loupe("memleak", "-p", p.pid, "-j", "-i", "1", "-d", "2.5",
                   "--top", "3", *extra)
        rc = lp.wait_exit(20)
        check(rc == 0, "exit status %s %s" % (rc, lp.describe()))
        recs = [e for e in lp.events() if e.get("type") == "memleak"]
        stacks = [e["stack"] for e in recs if e.get("stack")]
        pairs = [s[i:i + 2] for s in stacks for i in range(len(s) - 1)]
        inlined = [pr for pr in pairs if pr[0] == "grab (inlined)"]
        if extra:
            check(inlined and all(pr[1].startswith("hoard+0x") for pr in inlined),
                  "--inline: %s" % short(stacks, 800))
        else:
            check(stacks and not any("grab" in f for s in stacks for f in s),
                  "without --inline: %s" % short(stacks, 800))


def _container_debug(inside):
    """A stripped static binary run in a podman container, its debug file
    (by build id) in the container's /usr/lib/debug (inside) or only in
    the host's: the static names and the inlined frame show."""
    from test_container import Container, _image, _podman
    image = _image()
    d = tmpdir()
    app, dbg = os.path.join(d, "app"), os.path.join(d, "debug")
    os.makedirs(app)
    os.makedirs(dbg)
    exe = _build(["-O2", "-g", "-fomit-frame-pointer", "-static"], app)
    out = _run(["readelf", "-n", exe], "readelf")
    bid = [l.split(":")[1].strip() for l in out.splitlines() if "Build ID" in l]
    check(bid, "no build id: %s" % short(out))
    rel = ".build-id/%s/%s.debug" % (bid[0][:2], bid[0][2:])
    host = os.path.join("/usr/lib/debug", rel)
    check(not os.path.exists(host), "the host has the debug file already")
    debug = exe + ".debug"
    _run(["objcopy", "--only-keep-debug", exe, debug], "objcopy")
    _run(["strip", "--strip-all", exe], "strip")
    if inside:
        os.makedirs(os.path.dirname(os.path.join(dbg, rel)))
        os.rename(debug, os.path.join(dbg, rel))
    else:
        _install(host, debug)
        os.unlink(debug)
    c = Container(image, "exec /app/%s 20" % os.path.basename(exe),
                  extra=["-v", "%s:/app:ro" % app, "-v", "%s:/usr/lib/debug:ro" % dbg])
    r = _podman("inspect", "--format", "{{.State.Pid}}", c.name)
    pid = int(r.stdout.strip() or 0)
    check(pid > 0, "no pid: %s" % short(r.stderr))
    rows = _folded(Loupe("profile", "-p", pid, "-U", "--folded", "-d", "3",
                         "--unwind", "dwarf", "--inline"))
    _check_inlined(rows, "in a container, its debug file %s" %
                   ("inside" if inside else "on the host"))


def test_debug_file_in_container():
    _container_debug(True)


test_debug_file_in_container.serial = True  # sample count
test_debug_file_in_container.timeout = 90


def test_debug_file_on_host_for_container():
    _container_debug(False)


test_debug_file_on_host_for_container.serial = True  # sample count
test_debug_file_on_host_for_container.timeout = 90
