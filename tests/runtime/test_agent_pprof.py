"""The agent's continuous profiler (src/agent/profiler.c): /debug/pprof
profiles fetched over HTTP, read by Go's own `go tool pprof` and by a
decoder of this test's own that checks what Parca's normalizer requires,
against C programs of the test's own with known call chains and sleeps.
"""
import base64
import gzip
import http.client
import json
import os
import re
import select
import shutil
import signal
import subprocess
import threading
import time

from common import (Cgroup, Skip, check, on_cleanup, poll_until, run_quiet,
                    short, spawn, tmpdir)
from test_agent import Agent, bpf_ids, bpf_object_exists, get
from test_container import Container, _image

BUSY_C = r"""
#include <stdlib.h>
#include <time.h>
volatile unsigned long sink;
static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}
__attribute__((noinline)) void pprof_leaf_c(void)
{ for (int i = 0; i < 100000; i++) sink += i; }
__attribute__((noinline)) void pprof_mid_b(void) { pprof_leaf_c(); }
__attribute__((noinline)) void pprof_top_a(void) { pprof_mid_b(); }
int main(int argc, char **argv)
{
	double end = now() + atof(argv[1]);
	while (now() < end)
		pprof_top_a();
	return 0;
}
"""

# Sleeps argv[1] times argv[2] ms, all of it inside pprof_nap(). The
# system call is made right there: libc's wrapper has no frame pointer, so
# a frame-pointer walk from inside it would skip its caller.
NAP_C = r"""
#include <stdlib.h>
#include <time.h>
#include <sys/syscall.h>
__attribute__((noinline)) void pprof_nap(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
#ifdef __x86_64__
	long ret;
	__asm__ volatile ("syscall" : "=a"(ret)
			  : "a"(SYS_nanosleep), "D"(&t), "S"(0)
			  : "rcx", "r11", "memory");
#else
	nanosleep(&t, NULL);
#endif
}
int main(int argc, char **argv)
{
	for (int i = 0; i < atoi(argv[1]); i++)
		pprof_nap(atol(argv[2]));
	return 0;
}
"""


def build(d, name, src, cc=("gcc", "-O0", "-fno-omit-frame-pointer"), ext=".c"):
    """A program, by default at -O0 with frame pointers, so FP stacks are
    whole."""
    path = os.path.join(d, name)
    with open(path + ext, "w") as f:
        f.write(src)
    rc, _, err = run_quiet(list(cc) + ["-o", path, path + ext], timeout=60)
    check(rc == 0, "%s: %s" % (cc[0], err))
    return path


# ------------------------------------------------------------ protobuf

def varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7f) << shift
        shift += 7
        if not c & 0x80:
            return v, i


def fields(b):
    """[(field, value)] of one message: ints, or bytes for wire type 2."""
    out, i = [], 0
    while i < len(b):
        key, i = varint(b, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            v, i = varint(b, i)
        elif wire == 2:
            n, i = varint(b, i)
            v = b[i:i + n]
            i += n
            check(i <= len(b), "field %d runs past its message" % field)
        else:
            check(False, "wire type %d of field %d: the agent writes only 0 and 2" % (wire, field))
        out.append((field, v))
    return out


def ints(v):
    """A repeated varint field: packed (bytes) or one value."""
    if isinstance(v, int):
        return [v]
    out, i = [], 0
    while i < len(v):
        x, i = varint(v, i)
        out.append(x)
    return out


def msg(b):
    d = {}
    for f, v in fields(b):
        d.setdefault(f, []).append(v)
    return d


def one(d, f, default=0):
    return d.get(f, [default])[-1]


def decode_profile(body):
    """The profile as dicts, after checking the rules Parca's normalizer and
    pprof hold it to: ids 1..N in order, references valid, no zero
    samples, len(value) == len(sample_type), string 0 empty."""
    p = msg(gzip.decompress(body))
    strings = [s.decode() for s in p.get(6, [])]
    check(strings and strings[0] == "", "string table must start with \"\": %r" % strings[:3])
    check(len(set(strings)) == len(strings), "strings repeated in the table")

    def s(i):
        check(0 <= i < len(strings), "string index %d out of %d" % (i, len(strings)))
        return strings[i]

    def table(field, name):
        rows = [msg(m) for m in p.get(field, [])]
        ids = [one(r, 1) for r in rows]
        check(ids == list(range(1, len(rows) + 1)), "%s ids %s, not 1..N in order" % (name, ids[:20]))
        return rows

    maps = table(3, "mapping")
    locs = table(4, "location")
    funcs = table(5, "function")
    for m in maps:
        s(one(m, 5))
        s(one(m, 6))
        check(one(m, 2) <= one(m, 3), "mapping start above its limit")
        # symbolized in the agent: pprof must not ask for /debug/pprof/symbol
        check(one(m, 7) == 1, "mapping %s without has_functions" % s(one(m, 5)))
    fnames = [s(one(f, 2)) for f in funcs]
    loc = {}
    for l in locs:
        mid = one(l, 2)
        check(0 <= mid <= len(maps), "location -> mapping %d" % mid)
        names = []
        for line in l.get(4, []):
            fid = one(msg(line), 1)
            check(1 <= fid <= len(funcs), "line -> function %d" % fid)
            names.append(fnames[fid - 1])
        if mid:
            m = maps[mid - 1]
            check(one(m, 2) <= one(l, 3) < one(m, 3),
                  "address %#x outside mapping %d" % (one(l, 3), mid))
        loc[one(l, 1)] = (names[0] if names else None, mid, one(l, 3),
                          s(one(maps[mid - 1], 5)) if mid else None)
    types = [(s(one(msg(t), 1)), s(one(msg(t), 2))) for t in p.get(1, [])]
    samples = []
    for sm in p.get(2, []):
        sm = msg(sm)
        ids = [x for v in sm.get(1, []) for x in ints(v)]
        vals = [x for v in sm.get(2, []) for x in ints(v)]
        check(len(vals) == len(types), "sample with %d values for %d types" % (len(vals), len(types)))
        check(any(vals), "a sample of zeros")
        check(all(i in loc for i in ids), "sample -> location %s" % ids)
        labels = {}
        for lb in sm.get(3, []):
            lb = msg(lb)
            labels[s(one(lb, 1))] = s(one(lb, 2)) if 2 in lb else one(lb, 3)
        samples.append({"frames": [loc[i][0] for i in ids], "values": vals, "labels": labels,
                        "files": [loc[i][3] for i in ids]})
    pt = msg(one(p, 11, b""))
    return {"types": types, "samples": samples, "maps": maps, "strings": strings,
            "period_type": (s(one(pt, 1)), s(one(pt, 2))), "period": one(p, 12),
            "time": one(p, 9), "duration": one(p, 10)}


def fetch(a, query, timeout=60):
    st, hdr, body = get(a.url("/debug/pprof/" + query), timeout=timeout)
    check(st == 200, "%s: %s %r" % (query, st, body[:200]))
    return body


def go_pprof(path, *args):
    if not shutil.which("go"):
        raise Skip("go is not installed (make deps-test: golang-go)")
    env = dict(os.environ, HOME=os.path.dirname(path), GOFLAGS="-mod=mod")
    r = subprocess.run(["go", "tool", "pprof"] + list(args) + [path], env=env,
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, "go tool pprof %s: %s" % (" ".join(args), r.stderr[-500:]))
    return r.stdout


def fetch_once(args, query):
    """One profile from an agent started with args for it, then stopped."""
    a = Agent("--metrics", "none", *args)
    try:
        return fetch(a, query)
    finally:
        check(a.stop() == 0, "SIGTERM: exit status not 0")


def of_pid(prof, pid):
    return [s for s in prof["samples"] if s["labels"].get("pid") == pid]


# ------------------------------------------------------------ tests

def test_agent_pprof_cpu_read_by_go_pprof():
    d = tmpdir()
    busy = build(d, "busy", BUSY_C)
    a = Agent("--metrics", "none")
    try:
        w = subprocess.Popen([busy, "12"])
        body = fetch(a, "profile?seconds=4&pid=%d" % w.pid)
        with open("/proc/%d/maps" % w.pid) as f:
            text = [l.split() for l in f if l.rstrip().endswith(busy) and "r-xp" in l]
        w.kill()
        w.wait()
        prof = decode_profile(body)
        check(prof["types"] == [("samples", "count"), ("cpu", "nanoseconds")], str(prof["types"]))
        check(prof["period_type"] == ("cpu", "nanoseconds") and
              prof["period"] == 1000000000 // 19, "%s %d" % (prof["period_type"], prof["period"]))
        check(prof["duration"] == 4 * 10**9, "duration_nanos %d" % prof["duration"])
        check(abs(prof["time"] / 1e9 - time.time()) < 60, "time_nanos %d" % prof["time"])
        mine = of_pid(prof, w.pid)
        check(mine and len(mine) == len(prof["samples"]), "pid= kept %d of %d samples" %
              (len(mine), len(prof["samples"])))
        check(all(s["labels"]["comm"] == "busy" for s in mine), str(mine[0]["labels"]))
        # the chain, leaf first, unbroken in the stacks that reach the leaf
        chain = ["pprof_leaf_c", "pprof_mid_b", "pprof_top_a", "main"]
        leafy = [s for s in mine if "pprof_leaf_c" in s["frames"]]
        check(leafy, "no stack with the leaf: %s" % [s["frames"] for s in mine][:5])
        for s in leafy:
            i = s["frames"].index("pprof_leaf_c")
            check(s["frames"][i:i + 4] == chain, "chain broken: %s" % s["frames"])
        # the program's code mapping as /proc/PID/maps has it, with the
        # GNU build id readelf reads from the file
        rc, out, _ = run_quiet(["readelf", "-n", busy])
        bid = re.search(r"Build ID: ([0-9a-f]+)", out)
        check(rc == 0 and bid, "readelf -n %s: %s" % (busy, out))
        check(len(text) == 1, "the code mapping of %s: %s" % (busy, text))
        lo, hi = (int(x, 16) for x in text[0][0].split("-"))
        mine_maps = [(one(m, 2), one(m, 3), one(m, 4), prof["strings"][one(m, 6)])
                     for m in prof["maps"] if prof["strings"][one(m, 5)] == busy]
        check(mine_maps == [(lo, hi, int(text[0][2], 16), bid.group(1))],
              "mapping of %s: %s, /proc maps %s, build id %s" %
              (busy, mine_maps, text[0][:3], bid.group(1)))
        path = os.path.join(d, "cpu.pb.gz")
        with open(path, "wb") as f:
            f.write(body)
        top = go_pprof(path, "-top")
        rows = [l.split() for l in top.splitlines() if re.match(r"\s+[0-9.]+m?s\s", l)]
        check(rows and rows[0][-1] == "pprof_leaf_c", "go tool pprof -top:\n%s" % top)
        raw = go_pprof(path, "-raw")
        check("PeriodType: cpu nanoseconds" in raw, raw[:300])
        # -raw prints each location as "ID: ADDRESS M=MAPPING FUNCTION ..."
        names = dict(re.findall(r"^\s+(\d+): 0x[0-9a-f]+ M=\d+ (\S+)", raw, re.M))
        stacks = re.findall(r"^\s+\d+\s+\d+: ([\d ]+)$", raw, re.M)
        check(any(" ".join(names.get(i, "?") for i in st.split())
                  .startswith(" ".join(chain)) for st in stacks),
              "no a->b->c chain in -raw:\n%s" % raw[:2000])
    finally:
        check(a.stop() == 0, "SIGTERM: exit status not 0")


test_agent_pprof_cpu_read_by_go_pprof.timeout = 120


def test_agent_pprof_concurrent_windows():
    """Two overlapping 5 s requests: a workload that starts once the first
    has been answered is in the second only."""
    d = tmpdir()
    busy = build(d, "busy", BUSY_C)
    a = Agent("--metrics", "none")
    got = {}

    def req(name):
        got[name] = fetch(a, "profile?seconds=5")

    try:
        first = threading.Thread(target=req, args=("first",))
        second = threading.Thread(target=req, args=("second",))
        first.start()
        time.sleep(2.5)
        second.start()
        first.join(60)
        check("first" in got and second.is_alive(), "the second request ended with the first")
        w = subprocess.Popen([busy, "1.5"])
        w.wait()
        second.join(60)
        one_, two = decode_profile(got["first"]), decode_profile(got["second"])
        check(not of_pid(one_, w.pid), "the first window has the later workload")
        check(sum(s["values"][0] for s in of_pid(two, w.pid)) >= 1,
              "the second window misses the workload: %s" % of_pid(two, w.pid))
    finally:
        check(a.stop() == 0, "SIGTERM: exit status not 0")


test_agent_pprof_concurrent_windows.timeout = 90


def test_agent_pprof_default_window():
    """Without seconds= (or with a form's empty one) a profile covers the
    default 30 s: duration_nanos says so, and the answer waits for it."""
    a = Agent("--metrics", "none")
    got = {}
    try:
        ts = [threading.Thread(target=lambda q=q: got.setdefault(q, fetch(a, q, 90)))
              for q in ("profile", "profile?seconds=")]
        t0 = time.monotonic()
        for t in ts:
            t.start()
        for t in ts:
            t.join(90)
        took = time.monotonic() - t0
        check(29 <= took <= 45, "answered after %.1f s, want about 30" % took)
        for q in ("profile", "profile?seconds="):
            check(q in got and decode_profile(got[q])["duration"] == 30 * 10**9,
                  "%s: duration_nanos %s" % (q, q in got and decode_profile(got[q])["duration"]))
    finally:
        check(a.stop() == 0, "SIGTERM: exit status not 0")


test_agent_pprof_default_window.timeout = 120


def test_agent_pprof_bad_requests():
    a = Agent("--metrics", "none")
    try:
        for q, want in (
                ("profile?seconds=0",
                 "seconds: give a whole number of seconds from 1 to 300 (got '0')\n"),
                ("profile?seconds=301",
                 "seconds: give a whole number of seconds from 1 to 300 (got '301')\n"),
                ("offcpu?seconds=1.5",
                 "seconds: give a whole number of seconds from 1 to 300 (got '1.5')\n"),
                ("profile?seconds=2&pid=0",
                 "pid: give a process id from 1 to 4194304 (got '0')\n"),
                ("profile?seconds=2&cgroup=/no/such/cgroup",
                 "cgroup: '/no/such/cgroup' is not a cgroup v2 path (give it as "
                 "/proc/PID/cgroup shows it, e.g. /system.slice)\n")):
            st, _, body = get(a.url("/debug/pprof/" + q))
            check(st == 400 and body.decode() == want, "%s: %s %r" % (q, st, body))
        # a scrape is not held up by a waiting profile request
        slow = threading.Thread(target=fetch, args=(a, "profile?seconds=4"))
        slow.start()
        time.sleep(0.5)
        t0 = time.monotonic()
        st, _, body = get(a.url())
        check(st == 200 and b"loupe_agent_profile_dropped_samples_total" in body,
              "scrape during a profile: %s" % st)
        check(slow.is_alive(), "the profile request did not wait (%.1f s)" % (time.monotonic() - t0))
        slow.join(30)
    finally:
        check(a.stop() == 0, "SIGTERM: exit status not 0")


test_agent_pprof_bad_requests.timeout = 60


def test_agent_pprof_offcpu():
    """20 naps of 100 ms in pprof_nap(): about 2 s off CPU in that stack."""
    d = tmpdir()
    nap = build(d, "nap", NAP_C)
    a = Agent("--metrics", "none")
    try:
        got = {}
        t = threading.Thread(target=lambda: got.setdefault(
            "b", fetch(a, "offcpu?seconds=8")))
        t.start()
        time.sleep(0.5)
        w = subprocess.Popen([nap, "20", "100"])
        w.wait(30)
        t.join(60)
        prof = decode_profile(got["b"])
        check(prof["types"] == [("samples", "count"), ("offcpu", "nanoseconds")], str(prof["types"]))
        naps = [s for s in of_pid(prof, w.pid) if "pprof_nap" in s["frames"]]
        # Under load (other processes switching thousands of times a
        # second) the stack map may refuse a nap's user stack: its bucket
        # holds another. That nap is then counted under the marker frame,
        # never lost or passed off as another stack.
        lost = [s for s in of_pid(prof, w.pid) if "[Missed User Stack]" in s["frames"]]
        ns = sum(s["values"][1] for s in naps + lost)
        count = sum(s["values"][0] for s in naps + lost)
        check(1.0e9 <= ns <= 3.0e9, "%.3f s off CPU in pprof_nap, want about 2" % (ns / 1e9))
        check(18 <= count <= 40, "%d switches in pprof_nap (%d with the user stack missed), "
              "want 20 or a few more: %s" % (count, sum(s["values"][0] for s in lost),
                                             [(s["values"], s["frames"][:2], s["frames"][-2:])
                                              for s in of_pid(prof, w.pid)]))
        check(sum(s["values"][0] for s in naps) >= count // 2,
              "most naps lost their user stack: %d of %d" %
              (count - sum(s["values"][0] for s in naps), count))
        check(all(s["frames"][s["frames"].index("pprof_nap") + 1] == "main" for s in naps),
              "pprof_nap not called from main: %s" % naps[0]["frames"])
        # the kernel half is named too: it blocked in schedule(), and it
        # starts there, not in the BPF program that took the stack. Under
        # load the stack map may refuse a stack (its bucket holds another):
        # that half is then one marker frame, never silently missing.
        missed = [s for s in naps if "[Missed Kernel Stack]" in s["frames"]]
        whole = [s for s in naps if s not in missed]
        check(all("schedule" in s["frames"] for s in whole),
              "no schedule() in the kernel half: %s" %
              [s["frames"] for s in whole if "schedule" not in s["frames"]][:1])
        check(all(s["frames"][0] in ("__schedule", "schedule") for s in whole),
              "the kernel half does not start at the scheduler: %s" %
              [s["frames"][:4] for s in whole][:2])
        for s in whole:
            k = s["files"][:s["frames"].index("pprof_nap")]
            check(k and set(k) == {"[kernel.kallsyms]"},
                  "kernel frames outside [kernel.kallsyms]: %s" % list(zip(s["frames"], k))[:6])
        # BPF's own frames (a JIT'd program, the tracepoint's glue) lead
        # no stack, and are nowhere in the naps'
        tracing = re.compile(r"bpf_prog_[0-9a-f]{16}|__bpf_trace_|__traceiter_|bpf_trace_run")
        leading = sorted({s["frames"][0] for s in prof["samples"]
                          if s["frames"][0] and tracing.match(s["frames"][0])})
        check(not leading, "off-CPU stacks starting in BPF's own frames: %s" % leading[:5])
        inside = sorted({f for s in naps for f in s["frames"] if f and tracing.match(f)})
        check(not inside, "BPF's own frames in the naps' stacks: %s" % inside[:5])
        check(sum(s["values"][0] for s in whole) >= count // 2,
              "most naps lost their kernel stack: %d of %d" %
              (count - sum(s["values"][0] for s in whole), count))
    finally:
        check(a.stop() == 0, "SIGTERM: exit status not 0")


test_agent_pprof_offcpu.timeout = 90


def perf_events(pid):
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            n += os.readlink("/proc/%d/fd/%s" % (pid, fd)) == "anon_inode:[perf_event]"
        except OSError:
            pass
    return n


def test_agent_pprof_off_and_detach():
    if not shutil.which("bpftool"):
        raise Skip("bpftool is not installed (make deps)")
    off = Agent("--metrics", "none", "--profile-hz", "0")
    try:
        check(perf_events(off.proc.pid) == 0 and not bpf_ids(off.proc.pid),
              "--profile-hz 0 holds perf events or BPF objects")
        st, _, body = get(off.url("/debug/pprof/profile?seconds=1"))
        check(st == 404 and body == b"profiling is off (--profile-hz 0)\n", "%s %r" % (st, body))
    finally:
        check(off.stop() == 0, "SIGTERM: exit status not 0")
    # on: one perf event per CPU; only the profiler's thread has
    # CAP_SYS_PTRACE (19) and CAP_SYSLOG (34)
    a = Agent("--metrics", "none")
    check(perf_events(a.proc.pid) == os.cpu_count(), "%d perf events" % perf_events(a.proc.pid))
    for tid in os.listdir("/proc/%d/task" % a.proc.pid):
        t = open("/proc/%d/task/%s/status" % (a.proc.pid, tid)).read()
        comm = open("/proc/%d/task/%s/comm" % (a.proc.pid, tid)).read().strip()
        want = "%016x" % (1 << 19 | 1 << 34) if comm == "loupe-profiler" else "0" * 16
        check("CapEff:\t%s" % want in t, "thread %s (%s) CapEff" % (tid, comm))
    ids = bpf_ids(a.proc.pid)
    check(sum(k == "link" for k, _ in ids) >= 2, "the agent holds %s" % ids)
    # SIGTERM answers a waiting request and detaches everything
    got = {}
    conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
    conn.connect()
    cport = conn.sock.getsockname()[1]

    def waiting_request():
        conn.request("GET", "/debug/pprof/profile?seconds=60")
        r = conn.getresponse()
        got["r"] = (r.status, r.read())
    t = threading.Thread(target=waiting_request)
    t.start()

    def request_read():
        # the agent's end of the connection has read the whole request
        rc, out, _ = run_quiet(["ss", "-tnH", "state", "established",
                                "( sport = :%d and dport = :%d )" % (a.port, cport)])
        return rc == 0 and out.split()[:1] == ["0"]
    check(poll_until(request_read, 10, 0.05), "the agent did not read the request")
    time.sleep(0.3)
    check(a.stop() == 0, "SIGTERM: exit status not 0")
    t.join(30)
    conn.close()
    check(got.get("r", (0,))[0] == 503, "the waiting request got %s" % (got.get("r"),))
    check(poll_until(lambda: not any(bpf_object_exists(k, i) for k, i in ids), 20, 0.2),
          "left behind after SIGTERM: %s" % [x for x in ids if bpf_object_exists(*x)])
    # kill -9: the kernel frees them with the process
    b = Agent("--metrics", "none")
    ids = bpf_ids(b.proc.pid)
    b.proc.send_signal(signal.SIGKILL)
    b.proc.wait(timeout=10)
    check(poll_until(lambda: not any(bpf_object_exists(k, i) for k, i in ids), 20, 0.2),
          "left behind after kill -9: %s" % [x for x in ids if bpf_object_exists(*x)])


test_agent_pprof_off_and_detach.timeout = 90


def fetch_all(a, queries, timeout=60):
    """The bodies of several profile requests made at once (one window)."""
    got = {}
    threads = [threading.Thread(target=lambda q=q: got.setdefault(q, fetch(a, q, timeout)))
               for q in queries]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    check(len(got) == len(queries), "requests unanswered: %s" %
          [q for q in queries if q not in got])
    return [decode_profile(got[q]) for q in queries]


def test_agent_pprof_cgroup_descendants():
    """cgroup= keeps that cgroup's tasks and its descendants'."""
    d = tmpdir()
    busy = build(d, "busy", BUSY_C)
    parent = Cgroup()
    child = Cgroup(parent)
    a = Agent("--metrics", "none")
    try:
        w = spawn([busy, "8"], preexec_fn=lambda: child.add(os.getpid()))
        time.sleep(0.5)
        by_parent, by_child, by_both = fetch_all(a, [
            "profile?seconds=3&cgroup=" + parent.rel,
            "profile?seconds=3&cgroup=" + child.rel,
            "profile?seconds=3&cgroup=%s/" % parent.rel])
        for name, prof in (("parent", by_parent), ("child", by_child),
                           ("parent/", by_both)):
            mine = of_pid(prof, w.pid)
            check(sum(s["values"][0] for s in mine) >= 5,
                  "cgroup=%s: %d samples of the workload in its child cgroup" %
                  (name, sum(s["values"][0] for s in mine)))
            check(len(mine) == len(prof["samples"]), "cgroup=%s let in %s" %
                  (name, {s["labels"]["comm"] for s in prof["samples"]} - {"busy"}))
            check(any("pprof_leaf_c" in s["frames"] for s in mine), name)
        # the live page lists the cgroup, its parent and the process
        st, _, body = get(a.url("/flame/targets?seconds=5"))
        body = body.decode()
        for v in (parent.rel, child.rel, str(w.pid)):
            check('<option value="%s">' % v in body, "%s not in the lists: %s" % (v, short(body)))
        w.kill()
        w.wait()
    finally:
        check(a.stop() == 0, "SIGTERM: exit status not 0")


test_agent_pprof_cgroup_descendants.timeout = 90


def test_agent_pprof_container():
    """A busy podman container: container= (name or id) keeps its samples,
    which carry a container label with its name (and pod and namespace
    from Kubernetes' annotations), as unfiltered ones do."""
    image = _image()
    c = Container(image, "while :; do :; done",
                  ["io.kubernetes.pod.name=cart-5f6", "io.kubernetes.pod.namespace=shop"])
    a = Agent("--metrics", "none")
    try:
        by_name, by_id, every = fetch_all(a, [
            "profile?seconds=3&container=" + c.name,
            "profile?seconds=3&container=" + c.id[:12],
            "profile?seconds=3"])
        for q, prof in (("name", by_name), ("id", by_id)):
            n = sum(s["values"][0] for s in prof["samples"])
            check(n >= 5, "container= by %s: %d samples" % (q, n))
            others = [s["labels"] for s in prof["samples"]
                      if s["labels"].get("container") != c.name or
                      s["labels"]["comm"] != "sh"]
            check(not others, "container= by %s let in %s" % (q, others[:3]))
        pods = {(s["labels"].get("pod"), s["labels"].get("namespace"))
                for s in by_name["samples"]}
        check(pods == {("cart-5f6", "shop")}, "pod labels %s" % pods)
        inside = [s for s in every["samples"] if s["labels"].get("container") == c.name]
        check(sum(s["values"][0] for s in inside) >= 5,
              "the unfiltered profile has %d samples labelled %s" % (len(inside), c.name))
        check(any("container" not in s["labels"] for s in every["samples"]) or
              len(inside) == len(every["samples"]), "every sample labelled")
        st, _, body = get(a.url("/debug/pprof/profile?seconds=1&container=nosuch-" + c.name))
        check(st == 400 and body.decode() ==
              "container: no running container is named or has the id 'nosuch-%s'\n" % c.name,
              "%s %r" % (st, body))
    finally:
        check(a.stop() == 0, "SIGTERM: exit status not 0")


test_agent_pprof_container.timeout = 150


class Browser:
    """Headless Chromium driven over the DevTools protocol on a pipe
    (--remote-debugging-pipe: JSON messages ended by NUL, fds 3 and 4)."""

    def __init__(self, scripts=True):
        if not os.access("/usr/bin/chromium", os.X_OK):
            raise Skip("chromium is not installed (make deps-test)")
        # Blink's own switch, as a user who turned JavaScript off has it
        nojs = [] if scripts else ["--blink-settings=scriptEnabled=false"]
        to_chrome, self.w = os.pipe()
        self.r, from_chrome = os.pipe()

        def fds():
            a, b = os.dup(to_chrome), os.dup(from_chrome)
            os.dup2(a, 3)
            os.dup2(b, 4)
        self.proc = spawn(["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
                           "--remote-debugging-pipe", "--window-size=1280,900"] + nojs + [
                           "--user-data-dir=" + tmpdir(), "about:blank"],
                          preexec_fn=fds, close_fds=False, start_new_session=True)
        on_cleanup(self.close)
        os.close(to_chrome)
        os.close(from_chrome)
        self.buf, self.id, self.session = b"", 0, None

    def close(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self.proc.wait(timeout=10)
        for fd in (self.w, self.r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.w = self.r = -1

    def call(self, method, timeout=30, **params):
        self.id += 1
        m = {"id": self.id, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            m["sessionId"] = self.session
        os.write(self.w, json.dumps(m).encode() + b"\0")
        end = time.monotonic() + timeout
        while True:
            while b"\0" not in self.buf:
                left = end - time.monotonic()
                check(left > 0 and select.select([self.r], [], [], left)[0],
                      "chromium did not answer %s" % method)
                chunk = os.read(self.r, 1 << 16)
                check(chunk, "chromium exited during %s" % method)
                self.buf += chunk
            raw, self.buf = self.buf.split(b"\0", 1)
            msg = json.loads(raw)
            if msg.get("id") == self.id:
                check("error" not in msg, "%s: %s" % (method, msg.get("error")))
                return msg["result"]

    def open(self, url):
        t = self.call("Target.createTarget", url=url)
        self.session = self.call("Target.attachToTarget", targetId=t["targetId"],
                                 flatten=True)["sessionId"]

    def eval(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True)
        check("exceptionDetails" not in r, "%s: %s" % (expr, r.get("exceptionDetails")))
        return r["result"].get("value")

    def dom_texts(self):
        """Every text of the page and of its frames' documents, read
        through the DOM domain (it needs no script in the page)."""
        root = self.call("DOM.getDocument", depth=-1, pierce=True)["root"]
        out, todo = [], [root]
        while todo:
            n = todo.pop()
            if n.get("nodeType") == 3:
                out.append(n.get("nodeValue", ""))
            todo.extend(n.get("children", []))
            if "contentDocument" in n:
                todo.append(n["contentDocument"])
        return out

    def wait(self, expr, timeout, what):
        check(poll_until(lambda: self.eval(expr), timeout, 0.2), what)
        return self.eval(expr)


# The frame the live page shows and what its graph holds: the names at
# depth 1 (a flame graph's commands), every name, the samples, the zoom
# and search it carries.
SHOWN = "document.querySelector('iframe.flame:not([hidden])')"
GRAPH = """(function () {
    var f = %s, doc = f && f.contentDocument;
    if (!doc || !doc.querySelector('g.frame')) return null;
    var names = function (sel) {
        return Array.from(doc.querySelectorAll(sel)).map(function (g) {
            var t = g.querySelector('title').textContent;
            return t.slice(0, t.lastIndexOf(' ('));
        });
    };
    var st = f.contentWindow.flame.state();
    return { src: f.getAttribute('src') || '', top: names('g.frame[data-d="1"]'),
             all: names('g.frame'), total: +doc.documentElement.getAttribute('data-total'),
             zoom: st.zoom, search: st.search,
             draws: +(document.getElementById('flame-status').getAttribute('data-draws') || 0) };
})()""" % SHOWN


def test_agent_pprof_flame_graph_page():
    """/flame.svg draws the last seconds at once. Headless Chromium loads
    /: the graph of every process has the test program's function; picking
    the program from the list redraws it with only its frames, and every
    5 s the graph is drawn again, keeping zoom and search, until paused."""
    import xml.etree.ElementTree as ET
    d = tmpdir()
    busy = build(d, "busy", BUSY_C)
    other = build(d, "other", BUSY_C.replace("pprof_", "other_"))
    cg = Cgroup()
    a = Agent("--metrics", "none")
    try:
        w = spawn([busy, "60"], preexec_fn=lambda: cg.add(os.getpid()))
        o = spawn([other, "60"])
        time.sleep(3.5)
        t0 = time.monotonic()
        st, hdr, svg = get(a.url("/flame.svg?seconds=5&pid=%d" % w.pid), timeout=30)
        check(st == 200 and hdr["Content-Type"] == "image/svg+xml", "%s %s" % (st, hdr))
        check(time.monotonic() - t0 < 5, "the flame graph waited a window")
        root = ET.fromstring(svg)
        check(root.tag.endswith("svg"), root.tag)
        text = svg.decode()
        for fn in ("pprof_leaf_c", "pprof_mid_b", "pprof_top_a", "busy"):
            check(fn in text, "%s not in the flame graph" % fn)
        # without scripts: a form with the lists, drawing into the frame
        st, _, page = get(a.url("/"))
        page = page.decode()
        check('<form id="flame-form" action="/flame.svg" target="flame">' in page and
              '<iframe name="flame" class="flame" src="/flame.svg?seconds=30"' in page and
              '<option value="%d">%d busy (' % (w.pid, w.pid) in page and
              'id="flame-pause" hidden' in page, short(page, 2000))
        # offline: nothing is loaded from elsewhere
        check(not re.search(r'(src|href|action)="(https?:)?//', page) and
              "fetch('http" not in page, "the page loads assets from elsewhere")
        st, _, body = get(a.url("/flame.svg?seconds=301"))
        check(st == 400, "seconds=301: %s" % st)
        st, _, body = get(a.url("/flame.svg?seconds=5&pid=&cgroup="))
        check(st == 200, "a form's empty fields: %s %r" % (st, body[:100]))

        b = Browser()
        b.open(a.url("/"))
        g = b.wait("(function (g) { return g && g.all.indexOf('other_leaf_c') >= 0 && g; })(%s)"
                   % GRAPH, 30, "the page showed no flame graph with both programs")
        check("pprof_leaf_c" in g["all"] and "busy" in g["top"] and "other" in g["top"],
              "the graph of every process misses a program: %s" % g["top"])
        png = os.path.join(d, "index.png")
        shot = b.call("Page.captureScreenshot", format="png")
        with open(png, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        with open(png, "rb") as f:
            check(f.read(8) == b"\x89PNG\r\n\x1a\n", "no screenshot of /")
        # pick the program from the list
        b.eval("""(function () {
            var s = document.getElementById('flame-pid');
            s.value = '%d';
            s.dispatchEvent(new Event('change', { bubbles: true }));
        })()""" % w.pid)
        g = b.wait("(function (g) { return g && g.src.indexOf('pid=%d') >= 0 && g; })(%s)"
                   % (w.pid, GRAPH), 15, "picking the process did not redraw")
        check(g["top"] == ["busy"], "the process's graph has other commands: %s" % g["top"])
        check("pprof_leaf_c" in g["all"] and "other_leaf_c" not in g["all"],
              "picked pid %d: %s" % (w.pid, g["all"]))
        # zoom and search survive the next redraws, which add samples
        i = g["all"].index("pprof_mid_b")
        b.eval("%s.contentWindow.flame.zoom(%d)" % (SHOWN, i))
        b.eval("%s.contentWindow.flame.search('pprof_leaf')" % SHOWN)
        g2 = b.wait("(function (g) { return g && g.draws > %d && g; })(%s)"
                    % (g["draws"], GRAPH), 15, "the graph was not drawn again")
        check(g2["total"] > g["total"], "the graph did not update: %d then %d samples" %
              (g["total"], g2["total"]))
        check(g2["zoom"] and g2["zoom"].endswith(";pprof_top_a;pprof_mid_b") and
              g2["search"] == "pprof_leaf", "zoom %r, search %r after a redraw" %
              (g2["zoom"], g2["search"]))
        check(b.eval("document.getElementById('flame-pid').value") == str(w.pid),
              "the refreshed list lost the pick")
        # pick the program's cgroup instead: the pid is cleared, the other
        # program stays out of the graph, the program is in it
        b.wait("Array.prototype.some.call(document.getElementById('flame-cgroup').options,"
               " function (o) { return o.value === %s; })" % json.dumps(cg.rel), 15,
               "cgroup %s is not in the list" % cg.rel)
        b.eval("""(function () {
            var s = document.getElementById('flame-cgroup');
            s.value = %s;
            s.dispatchEvent(new Event('change', { bubbles: true }));
        })()""" % json.dumps(cg.rel))
        g = b.wait("(function (g) { return g && g.src.indexOf('cgroup=') >= 0 && g; })(%s)"
                   % GRAPH, 15, "picking the cgroup did not redraw")
        check("pid=" not in g["src"], "the cgroup pick kept the pid: %s" % g["src"])
        check(g["top"] == ["busy"] and "pprof_leaf_c" in g["all"] and
              "other_leaf_c" not in g["all"], "picked cgroup %s: %s" % (cg.rel, g["all"]))
        # pause: no redraw for 6 s
        b.eval("document.getElementById('flame-pause').click()")
        n = b.eval(GRAPH)["draws"]
        time.sleep(6.5)
        check(b.eval(GRAPH)["draws"] == n, "drawn while paused")
        b.close()
        for p in (w, o):
            p.kill()
            p.wait()
    finally:
        check(a.stop() == 0, "SIGTERM: exit status not 0")


test_agent_pprof_flame_graph_page.timeout = 200


def test_agent_pprof_flame_page_without_js():
    """With JavaScript turned off in Chromium, / still shows the flame
    graph: the static SVG in the frame holds the test program's function,
    the pause button stays hidden (no script ran), and the picker form
    submits into the frame."""
    d = tmpdir()
    busy = build(d, "busy", BUSY_C)
    a = Agent("--metrics", "none")
    try:
        w = spawn([busy, "40"])
        time.sleep(3.5)
        b = Browser(scripts=False)
        b.open(a.url("/"))
        check(poll_until(lambda: any("pprof_leaf_c" in t for t in b.dom_texts()), 30, 0.5),
              "the static flame graph without JavaScript misses pprof_leaf_c")
        texts = b.dom_texts()
        check(any(t.startswith("pprof_mid_b") for t in texts), "pprof_mid_b not drawn")
        root = b.call("DOM.getDocument", depth=1)["root"]
        pause = b.call("DOM.querySelector", nodeId=root["nodeId"], selector="#flame-pause")
        attrs = b.call("DOM.getAttributes", nodeId=pause["nodeId"])["attributes"]
        check("hidden" in attrs[0::2], "a script ran: the pause button is shown (%s)" % attrs)
        frames = b.call("DOM.querySelectorAll", nodeId=root["nodeId"], selector="iframe")
        check(len(frames["nodeIds"]) == 1, "a script added frames: %s" % frames)
        shot = b.call("Page.captureScreenshot", format="png")
        check(base64.b64decode(shot["data"])[:8] == b"\x89PNG\r\n\x1a\n", "no screenshot")
        b.close()
        w.kill()
        w.wait()
    finally:
        check(a.stop() == 0, "SIGTERM: exit status not 0")


test_agent_pprof_flame_page_without_js.timeout = 120


def test_agent_pprof_demangles():
    """C++ names in the profile: demangled, or as the symbol table has
    them with --no-demangle."""
    from test_unwind import CXX_SRC
    if not shutil.which("g++"):
        raise Skip("g++ not available")
    d = tmpdir()
    exe = build(d, "shopcx", CXX_SRC, ("g++", "-O0", "-fno-omit-frame-pointer"), ".cc")
    w = spawn([exe, "20"])
    for extra, want in (((), "shop::Basket<int>::total(int) const"),
                        (("--no-demangle",), "_ZNK4shop6BasketIiE5totalEi")):
        a = Agent("--metrics", "none", *extra)
        try:
            prof = decode_profile(fetch(a, "profile?seconds=2&pid=%d" % w.pid))
            mine = of_pid(prof, w.pid)
            check(mine and any(s["frames"][0] == want for s in mine),
                  "%s: no sample in %s: %s" % (extra, want, [s["frames"] for s in mine][:4]))
        finally:
            check(a.stop() == 0, "SIGTERM: exit status not 0")


test_agent_pprof_demangles.timeout = 90


def raw_share(d, body, whole, value):
    """go tool pprof -raw of profile body: (the sum of sample value
    `value` (0: the count, 1: the time) over the stacks whole(names, leaf
    first) accepts, the sum over all), and the raw text."""
    path = os.path.join(d, "profile.pb.gz")
    with open(path, "wb") as f:
        f.write(body)
    raw = go_pprof(path, "-raw")
    names = dict(re.findall(r"^\s+(\d+): 0x[0-9a-f]+ M=\d+ (\S+)", raw, re.M))
    stacks = re.findall(r"^\s+(\d+)\s+(\d+): ([\d ]+)$", raw, re.M)
    n_whole = sum(int(st[value]) for st in stacks
                  if whole([names.get(i, "?") for i in st[2].split()]))
    return n_whole, sum(int(st[value]) for st in stacks), raw


def test_agent_pprof_unwind_dwarf():
    """--unwind dwarf (and auto, which picks it for this binary): the CPU
    profile of an -O2 -fomit-frame-pointer program with a frameless leaf
    holds main to leaf, read by go tool pprof -raw; the default
    frame-pointer walk loses it."""
    from test_unwind import NOFP_C, NOFP_CHAIN
    d = tmpdir()
    w = spawn([build(d, "nofp", NOFP_C, ("gcc", "-O2", "-fomit-frame-pointer")), "30"])
    want = list(reversed(NOFP_CHAIN))  # leaf first, as pprof has them
    for extra, whole in ((("--unwind", "dwarf"), True), (("--unwind", "auto"), True),
                         ((), False)):
        body = fetch_once(("--profile-hz", "99") + extra, "profile?seconds=3&pid=%d" % w.pid)
        mine = of_pid(decode_profile(body), w.pid)
        total = sum(s["values"][0] for s in mine)
        good = sum(s["values"][0] for s in mine if s["frames"][:5] == want)
        check(total >= 30, "%s: only %d samples in 3 s at 99 Hz" % (extra, total))
        if not whole:
            check(good < 0.1 * total, "fp: %d of %d samples whole" % (good, total))
            continue
        check(good >= 0.9 * total, "%s: %d of %d samples hold %s: %s" %
              (extra, good, total, want, [s["frames"] for s in mine][:4]))
        n_whole, n_all, raw = raw_share(d, body, lambda f: f[:5] == want, 0)
        check(n_all and n_whole >= 0.9 * n_all,
              "go tool pprof -raw: %d of %d samples whole:\n%s" % (n_whole, n_all, raw[:2000]))


test_agent_pprof_unwind_dwarf.timeout = 120
test_agent_pprof_unwind_dwarf.serial = True  # sample counts


def _sublist(frames, chain):
    n = len(chain)
    return any(frames[i:i + n] == chain for i in range(len(frames) - n + 1))


def test_agent_pprof_offcpu_unwind_dwarf():
    """--unwind dwarf and auto (and the config's profiling: unwind: key):
    the off-CPU profile of an -O2 -fomit-frame-pointer program that
    blocks (2 ms naps) in a frameless leaf holds leaf to main for >= 90 %
    of its time off CPU, read by go tool pprof -raw; the frame-pointer
    walk loses the callers."""
    from test_unwind import BLOCK_C, NOFP_CHAIN
    d = tmpdir()
    w = spawn([build(d, "nofp", BLOCK_C, ("gcc", "-O2", "-fomit-frame-pointer")), "50"])
    want = list(reversed(NOFP_CHAIN))  # leaf first, as pprof has them
    # the config's key as the flag; a flag given wins over the key
    cfg = os.path.join(d, "agent.yaml")
    with open(cfg, "w") as f:
        f.write("profiling:\n  unwind: dwarf\n")
    for extra, whole in ((("--unwind", "dwarf"), True), (("--unwind", "auto"), True),
                         (("--config", cfg), True), (("--config", cfg, "--unwind", "fp"), False),
                         ((), False)):
        body = fetch_once(extra, "offcpu?seconds=3&pid=%d" % w.pid)
        mine = of_pid(decode_profile(body), w.pid)
        total = sum(s["values"][1] for s in mine)
        good = sum(s["values"][1] for s in mine if _sublist(s["frames"], want))
        # it sleeps nearly all the time: about 3 s off CPU in 3 s
        check(total >= 1.5e9, "%s: only %.2f s off CPU in 3 s" % (extra, total / 1e9))
        if not whole:
            check(good < 0.1 * total, "fp: %.2f of %.2f s whole" % (good / 1e9, total / 1e9))
            continue
        check(good >= 0.9 * total, "%s: %.2f of %.2f s hold %s: %s" %
              (extra, good / 1e9, total / 1e9, want,
               [(s["values"], s["frames"]) for s in mine][:4]))
        n_whole, n_all, raw = raw_share(d, body, lambda f: _sublist(f, want), 1)
        check(n_all and n_whole >= 0.9 * n_all,
              "go tool pprof -raw: %d of %d ns whole:\n%s" % (n_whole, n_all, raw[:2000]))


test_agent_pprof_offcpu_unwind_dwarf.timeout = 200
