"""loupe flamegraph: folded files (ours, stackcollapse-perf, libbpf-tools
profile -f) to SVG, merged; stdin; --diff; options; bad input.

No BPF here: every test runs the real binary on files it writes and reads
the SVG back with xml.etree (so it must be well-formed XML)."""
import os
import subprocess
import xml.etree.ElementTree as ET

from common import LOUPE, check, require_loupe, run_quiet, short, tmpdir

SVG = "{http://www.w3.org/2000/svg}"
PAD = 10

# Our own --folded shape: comm;user frames;kernel frames_[k] count
OURS = """\
spinner;_start;__libc_start_main;main;outer;inner;spin 70
spinner;_start;__libc_start_main;main;outer;other 20
spinner;_start;__libc_start_main;main;read;entry_SYSCALL_64_[k];vfs_read_[k] 10
"""
# perf script | stackcollapse-perf.pl: spaces and brackets inside frames,
# CRLF line ends and trailing blanks from a Windows editor
PERF = ("java;start_thread;Interpreter;LJava/lang/Thread;::run_[j] 12\r\n"
        "java;start_thread;[libjvm.so];operator new(unsigned long) 3 \r\n"
        "swapper;secondary_startup_64_[k];do_idle_[k] 5\r\n")
# libbpf-tools profile -f: comm;user frames;-;kernel frames (with -d)
LIBBPF = ("spinner;main;outer;inner;spin;-;asm_sysvec_apic_timer_interrupt 4\n"
          "spinner;[unknown] 2\n")


def _write(d, name, text):
    path = os.path.join(d, name)
    with open(path, "w", newline="") as f:
        f.write(text)
    return path


def _run(args, stdin=None, timeout=10):
    require_loupe()
    p = subprocess.run([LOUPE, "flamegraph"] + list(args), input=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace"), \
        p.stderr.decode(errors="replace")


def _ok(args, stdin=None):
    rc, out, err = _run(args, stdin)
    check(rc == 0, "loupe flamegraph %s: exit %s, stderr %s" %
          (" ".join(args), rc, short(err)))
    return out, err


class Frames(dict):
    """Frames by path ("all;comm;main"); .one(name) for a unique name."""

    def one(self, name):
        found = [f for f in self.values() if f["name"] == name]
        check(len(found) == 1, "%d frames named %r in %s" %
              (len(found), name, sorted(self)))
        return found[0]

    def names(self):
        return sorted({f["name"] for f in self.values()})


def _frames(svg_text):
    """(root element, Frames) of an SVG string."""
    try:
        root = ET.fromstring(svg_text.encode())
    except ET.ParseError as e:
        raise AssertionError("SVG is not well-formed XML: %s: %s" %
                             (e, short(svg_text)))
    check(root.tag == SVG + "svg", "root element is %s" % root.tag)
    frames, stack = Frames(), []
    for g in root.iter(SVG + "g"):
        if g.get("class") != "frame":
            continue
        title = g.find(SVG + "title").text
        rect = g.find(SVG + "rect")
        f = {"title": title, "name": title[:title.rindex(" (")],
             "s": int(g.get("data-s")), "n": int(g.get("data-n")),
             "d": int(g.get("data-d")), "b": int(g.get("data-b", "0")),
             "x": float(rect.get("x")), "y": float(rect.get("y")),
             "w": float(rect.get("width")), "fill": rect.get("fill")}
        f["rgb"] = tuple(int(v) for v in f["fill"][4:-1].split(","))
        # frames come in pre-order: the path is the one of depth d-1 above
        check(f["d"] <= len(stack), "frame %r at depth %d after depth %d" %
              (title, f["d"], len(stack) - 1))
        del stack[f["d"]:]
        stack.append(f["name"])
        f["path"] = ";".join(stack)
        check(f["path"] not in frames, "frame %r drawn twice" % f["path"])
        frames[f["path"]] = f
    return root, frames


def _check_geometry(root, frames, inverted=False):
    width = float(root.get("width"))
    total = int(root.get("data-total"))
    full = width - 2 * PAD
    y0 = frames["all"]["y"]
    for name, f in frames.items():
        check(abs(f["w"] - f["n"] * full / total) < 1e-3,
              "%s: width %s is not %d/%d of %s" % (name, f["w"], f["n"], total,
                                                   full))
        check(abs(f["x"] - (PAD + f["s"] * full / total)) < 1e-3,
              "%s: x %s does not match offset %d" % (name, f["x"], f["s"]))
        want_y = y0 + (16 if inverted else -16) * f["d"]
        check(abs(f["y"] - want_y) < 1e-6,
              "%s: depth %d at y %s, expected %s" % (name, f["d"], f["y"],
                                                     want_y))


def _chain(frames, path):
    """Every prefix of path drawn, each one level deeper and inside the last."""
    names = path.split(";")
    for i in range(1, len(names)):
        a, b = ";".join(names[:i]), ";".join(names[:i + 1])
        fa, fb = frames.get(a), frames.get(b)
        check(fa and fb, "missing frame %r or %r in %s" % (a, b, sorted(frames)))
        check(fb["d"] == fa["d"] + 1 and fa["s"] <= fb["s"] and
              fb["s"] + fb["n"] <= fa["s"] + fa["n"],
              "%r is not inside %r: %s %s" % (b, a, fb, fa))
    return frames[path]


MAIN = "all;spinner;_start;__libc_start_main;main"


def test_flamegraph_file():
    d = tmpdir()
    src = _write(d, "ours.folded", OURS)
    out_path = os.path.join(d, "out.svg")
    out, err = _ok([src, "-o", out_path])
    check(out == "" and err == "", "output on stdout/stderr with -o: %r %r" %
          (short(out), short(err)))
    with open(out_path) as f:
        root, frames = _frames(f.read())
    check(root.get("width") == "1200", "default width: %s" % root.get("width"))
    check(root.get("data-total") == "100", "total %s" % root.get("data-total"))
    # all spinner _start __libc_start_main main outer inner spin other read
    # entry_SYSCALL_64 vfs_read
    check(len(frames) == 12, "%d frames: %s" % (len(frames), sorted(frames)))
    spin = _chain(frames, MAIN + ";outer;inner;spin")
    vfs = _chain(frames, MAIN + ";read;entry_SYSCALL_64;vfs_read")
    _chain(frames, MAIN + ";outer;other")
    check(spin["title"] == "spin (70 samples, 70.00%)", spin["title"])
    _check_geometry(root, frames)
    # kernel frames in another colour family (amber) than user ones (red)
    check(vfs["rgb"][1] >= 145 and spin["rgb"][1] < 100,
          "kernel %s vs user %s" % (vfs["fill"], spin["fill"]))
    title = root.find(SVG + "text[@id='title']")
    check(title is not None and title.text == "Flame Graph", "title")


def test_flamegraph_merge_and_formats():
    d = tmpdir()
    a = _write(d, "a.folded", OURS)
    b = _write(d, "b.folded", OURS.replace(" 70\n", " 30\n"))
    c = _write(d, "perf.folded", PERF)
    e = _write(d, "libbpf.folded", LIBBPF)
    out, _ = _ok([a, b, c, e])
    root, frames = _frames(out)
    # 100 + 60 + 20 + 6
    check(root.get("data-total") == "186", "total %s" % root.get("data-total"))
    spin = _chain(frames, MAIN + ";outer;inner;spin")
    check(spin["n"] == 100, "spin merged to %d" % spin["n"])
    other = _chain(frames, MAIN + ";outer;other")
    check(other["n"] == 40, "other %d" % other["n"])
    check(frames["all;spinner"]["n"] == 166,
          "spinner %d" % frames["all;spinner"]["n"])
    check(frames.one("operator new(unsigned long)")["n"] == 3,
          "names with spaces: %s" % frames.names())
    jit = _chain(frames, "all;java;start_thread;Interpreter;"
                 "LJava/lang/Thread;::run")
    check(jit["n"] == 12, "JIT frame %s" % jit)
    kern = _chain(frames, "all;swapper;secondary_startup_64;do_idle")
    delim = _chain(frames, "all;spinner;main;outer;inner;spin;-;"
                   "asm_sysvec_apic_timer_interrupt")
    check(delim["n"] == 4, "libbpf-tools stack %s" % delim)
    check(frames["all;spinner;[unknown]"]["n"] == 2, "[unknown] frame")
    user = frames.one("Interpreter")
    check(jit["rgb"][1] > jit["rgb"][0] and user["rgb"][0] > user["rgb"][1] and
          kern["rgb"] != user["rgb"],
          "JIT %s, user %s, kernel %s colours" % (jit["fill"], user["fill"],
                                                  kern["fill"]))
    _check_geometry(root, frames)


def test_flamegraph_stdin():
    out, _ = _ok(["-"], stdin=PERF.encode())
    root, frames = _frames(out)
    check(root.get("data-total") == "20", "total %s" % root.get("data-total"))
    check(frames.one("[libjvm.so]")["n"] == 3, "frames %s" % frames.names())
    # no file at all also reads standard input when it is not a terminal
    out2, _ = _ok([], stdin=PERF.encode())
    check(out2 == out, "stdin without '-' differs")


def test_flamegraph_bad_line():
    d = tmpdir()
    lines = ["p;f %d" % i for i in range(1, 17)] + ["p;f;broken", "p;g 1"]
    bad = _write(d, "in.folded", "\n".join(lines) + "\n")
    out_path = os.path.join(d, "never.svg")
    rc, out, err = _run([bad, "-o", out_path])
    check(rc == 2, "exit %s, expected 2 (stderr %s)" % (rc, short(err)))
    check(err == "loupe: flamegraph: %s:17: missing sample count at end of line\n"
          % bad, "stderr %r" % err)
    check(out == "" and not os.path.exists(out_path),
          "output written despite the error")
    # the same from stdin, and a bad count
    rc, out, err = _run(["-"], stdin=b"a;b 1\na;b 12x\n")
    check(rc == 2 and err ==
          "loupe: flamegraph: <stdin>:2: missing sample count at end of line\n",
          "stdin: exit %s, stderr %r" % (rc, err))
    rc, out, err = _run(["-"], stdin=b"a;b -4\n")
    check(rc == 2 and err == "loupe: flamegraph: <stdin>:1: negative sample count\n",
          "negative: exit %s, stderr %r" % (rc, err))


def test_flamegraph_usage_errors():
    d = tmpdir()
    good = _write(d, "g.folded", OURS)
    for args, why in (
            ([os.path.join(d, "nosuch.folded")], "cannot read"),
            (["--colors", "plaid", good], "invalid --colors"),
            (["--width", "10", good], "invalid --width"),
            (["--minwidth", "-1", good], "invalid --minwidth"),
            (["--diff", good], "--diff takes exactly two files"),
            (["-", "-"], "only once"),
            (["--bogus", good], "unknown flag")):
        rc, out, err = run_quiet([LOUPE, "flamegraph"] + args, timeout=10)
        check(rc == 2, "%s: exit %s (stderr %s)" % (args, rc, short(err)))
        check(out == "" and err.startswith("loupe: ") and why in err and
              err.count("\n") == 1, "%s: stderr %r" % (args, err))


def test_flamegraph_options():
    d = tmpdir()
    src = _write(d, "o.folded", OURS + "tiny;leaf 1\n")
    out, _ = _ok(["--title", "CPU <&> time", "--subtitle", "host a",
                  "--width", "800", "--inverted", "--colors", "io",
                  "--countname", "us", "--minwidth", "20", src])
    root, frames = _frames(out)
    check(root.get("width") == "800", "width %s" % root.get("width"))
    texts = {t.get("id"): t.text for t in root.iter(SVG + "text") if t.get("id")}
    check(texts.get("title") == "CPU <&> time", "title %r" % texts.get("title"))
    check(texts.get("subtitle") == "host a", "subtitle %r" % texts.get("subtitle"))
    spin = frames.one("spin")
    check(spin["title"] == "spin (70 us, 69.31%)", spin["title"])
    # tiny is 1/101 of 780 px = 7.7 px < 20 px: merged away, still in total
    check("tiny" not in frames.names() and root.get("data-total") == "101",
          "minwidth: %s" % frames.names())
    check(len(frames) == 12, "frames %s" % sorted(frames))
    _check_geometry(root, frames, inverted=True)
    # io palette: user frames blue
    r, g, b = spin["rgb"]
    check(b > r and b > g, "io palette spin colour %s" % spin["fill"])


def test_flamegraph_diff():
    d = tmpdir()
    before = _write(d, "before.folded",
                    "app;main;parse 50\napp;main;compute 20\napp;main;io 30\n")
    after = _write(d, "after.folded",
                   "app;main;parse 10\napp;main;compute 80\napp;main;io 30\n")
    out, _ = _ok(["--diff", before, after])
    root, frames = _frames(out)
    check(root.get("data-diff") == "1" and root.get("data-total") == "120",
          "diff root %s" % root.attrib)
    comp, parse, io = (frames["all;app;main;" + n]
                       for n in ("compute", "parse", "io"))
    check(comp["n"] == 80 and comp["b"] == 20, "compute %s" % comp)
    check(comp["rgb"][0] == 255 and comp["rgb"][1] < 150,
          "grown frame not red: %s" % comp["fill"])
    check(parse["rgb"][2] == 255 and parse["rgb"][0] < 200,
          "shrunk frame not blue: %s" % parse["fill"])
    check(io["rgb"][0] == io["rgb"][1] == io["rgb"][2],
          "unchanged frame not neutral: %s" % io["fill"])
    check("before 20, +60" in comp["title"], "hover text %r" % comp["title"])
    sub = root.find(SVG + "text[@id='subtitle']")
    check(sub is not None and sub.text == "%s -> %s: red grew, blue shrank" %
          (before, after), "diff subtitle %r" % (sub is not None and sub.text))
    _check_geometry(root, frames)


def test_flamegraph_write_error():
    if not os.path.exists("/dev/full"):
        return
    d = tmpdir()
    src = _write(d, "w.folded", OURS)
    rc, out, err = _run([src, "-o", "/dev/full"])
    check(rc == 1 and "cannot write the SVG to /dev/full" in err,
          "write error: exit %s, stderr %r" % (rc, err))
    check(os.path.exists("/dev/full"), "the device node was removed")
