"""The kernel BTF cache (src/lib/kbtf.c): written on the first run, used on
the next, relocating exactly as the whole kernel BTF does, and distrusted
(rebuilt) when damaged. Every test uses its own cache directory."""
import glob
import os
import re
import time

from common import (SLOW, Loupe, bpftool_list, check, copy_binary, fail,
                    fdinfo_ids, marker, run_quiet, short, spawn, tmpdir)

# Tools whose programs hold many CO-RE relocations or tp_btf attach ids.
XLATED_TOOLS = [("execsnoop",), ("exitsnoop",), ("tcplife",), ("biosnoop",),
                ("runqslower", "10000"), ("offcputime",)]


def _cache_dir():
    """A cache directory loupe creates itself (0755), unique to the test."""
    return os.path.join(tmpdir(), marker("kbtf"))


def _cache_file(d):
    files = glob.glob(os.path.join(d, "kbtf-*.btf"))
    check(len(files) == 1, "cache files in %s: %r" % (d, files))
    return files[0]


def _exec_event(cache, path, args):
    """Run `execsnoop -j -v` with LOUPE_BTF_CACHE=cache, exec path once the
    tool is attached; return (its event, loupe's stderr lines)."""
    lp = Loupe("execsnoop", "-j", "-v", env={"LOUPE_BTF_CACHE": cache})
    warm = copy_binary("/bin/true", marker("w"))
    lp.ready(lambda: spawn([warm]).wait(5),
             lambda e: (e.get("args") or [None])[0] == warm)
    p = spawn([path] + args)
    check(p.wait(5) == 0, "%s failed" % path)
    ev = lp.expect_event(lambda e: (e.get("args") or [None])[0] == path,
                         "exec event of " + path)
    lp.stop()
    check(lp.rc == 0, "exit status %s %s" % (lp.rc, lp.describe()))
    return ev, [l for l in lp.stderr_lines() if "kernel BTF cache" in l]


def _same_event(a, b):
    """Events of two runs of the same exec: equal but for its pid and time."""
    skip = {"pid", "tid", "ts_ns", "time"}
    ka = {k: v for k, v in a.items() if k not in skip}
    kb = {k: v for k, v in b.items() if k not in skip}
    check(ka == kb, "events differ:\n  %s\n  %s" % (short(ka, 600), short(kb, 600)))


def _has(lines, what):
    return any(what in l for l in lines)


def test_cache_written_then_used_same_events():
    d = _cache_dir()
    path = copy_binary("/bin/true", marker("k"))
    args = [marker("a"), "two words"]
    whole, log = _exec_event("off", path, args)
    check(not log, "LOUPE_BTF_CACHE=off still used the cache: %r" % log)
    cold, log = _exec_event(d, path, args)
    check(_has(log, "wrote "), "first run did not write the cache: %r" % log)
    f = _cache_file(d)
    st = os.stat(f)
    check(st.st_uid == 0 and st.st_mode & 0o777 == 0o644,
          "cache file mode %o uid %d, want 0644 root" % (st.st_mode & 0o777, st.st_uid))
    check(not glob.glob(os.path.join(d, ".kbtf-*")), "temporary file left in %s" % d)
    warm, log = _exec_event(d, path, args)
    check(_has(log, "using " + f), "second run did not use %s: %r" % (f, log))
    _same_event(whole, cold)
    _same_event(whole, warm)


def _damage(f, how):
    if how == "payload":
        with open(f, "r+b") as fh:
            fh.seek(os.path.getsize(f) - 100)
            b = fh.read(1)
            fh.seek(-1, os.SEEK_CUR)
            fh.write(bytes([b[0] ^ 0x40]))
    elif how == "header":
        with open(f, "r+b") as fh:
            fh.seek(8)
            fh.write(b"\xff")       # the format number
    elif how == "truncated":
        os.truncate(f, os.path.getsize(f) // 2)
    elif how == "writable":
        os.chmod(f, 0o666)


def test_damaged_cache_is_rebuilt():
    d = _cache_dir()
    path = copy_binary("/bin/true", marker("k"))
    args = [marker("a")]
    whole, _ = _exec_event("off", path, args)
    _exec_event(d, path, args)
    f = _cache_file(d)
    good = open(f, "rb").read()
    for how, why in (("payload", "checksum mismatch"),
                     ("header", "another kernel, build or format"),
                     ("truncated", "wrong size"),
                     ("writable", "not a regular file of root's")):
        _damage(f, how)
        ev, log = _exec_event(d, path, args)
        check(_has(log, why + "; rebuilding"),
              "%s damage not detected as %r: %r" % (how, why, log))
        check(_has(log, "wrote "), "%s: cache not rewritten: %r" % (how, log))
        _same_event(whole, ev)
        check(open(f, "rb").read() == good, "%s: rebuilt cache differs" % how)
        check(os.stat(f).st_mode & 0o777 == 0o644, "%s: mode not 0644" % how)


# Six loupe runs: longer than 30 s under emulation.
test_damaged_cache_is_rebuilt.timeout = 300 if SLOW else 60


def _xlated(pid):
    """name -> translated instructions of the programs pid holds once they
    stop changing (the hook chooser's test programs come and go first), map
    ids (which differ between runs) left out."""
    settle = 2.0 if SLOW else 0.5
    for _ in range(10):
        ids, links = fdinfo_ids(pid)
        time.sleep(settle)
        if not links or fdinfo_ids(pid)[0] != ids:
            continue
        names = {e["id"]: e.get("name", str(e["id"]))
                 for e in bpftool_list("prog") if e["id"] in ids}
        out = {}
        for i, name in names.items():
            rc, text, _ = run_quiet(["bpftool", "prog", "dump", "xlated", "id", str(i)])
            if rc != 0:
                break
            out[name] = re.sub(r"map\[id:\d+\]", "map", text)
        else:
            if len(out) == len(ids):
                return out
    fail("the programs of pid %d never settled" % pid)


def _programs(tool_args, cache):
    lp = Loupe(*tool_args, "-j", env={"LOUPE_BTF_CACHE": cache})
    lp.wait_attached(settle=0.2)
    x = _xlated(lp.pid)
    # offcputime symbolizes its stacks at exit: seconds under emulation.
    lp.stop(timeout=60 if SLOW else 10)
    return x


def test_relocations_match_the_whole_btf():
    """Every program, CO-RE-relocated with the cut BTF (from the cache, and
    in the run that writes it), is the same as with the whole kernel BTF."""
    d = _cache_dir()
    for args in XLATED_TOOLS:
        whole = _programs(args, "off")
        check(whole, "%s loaded no program" % args[0])
        for label in ("cold", "warm"):
            if label == "cold":
                for f in glob.glob(os.path.join(d, "kbtf-*.btf")):
                    os.unlink(f)
            cut = _programs(args, d)
            if cut != whole:
                diff = sorted(set(whole) ^ set(cut)) or \
                    [n for n in whole if whole[n] != cut[n]]
                fail("%s (%s cache): programs differ from the whole BTF's: %s"
                     % (args[0], label, diff))


# 18 tool runs: minutes under emulation (the 6.1 VM).
test_relocations_match_the_whole_btf.timeout = 600 if SLOW else 150
