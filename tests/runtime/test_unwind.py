"""Runtime tests of readable user stacks (issue 16, docs/profiling.md).

Programs built here, each spinning in a known chain of functions:
- C++ with namespaces and templates, and Rust with both symbol manglings:
  profile shows the demangled names (and the mangled ones under
  --no-demangle);
- C built -O2 -fomit-frame-pointer with a four-deep chain and a leaf
  without a frame: --unwind dwarf shows the whole chain, as perf record
  --call-graph dwarf does on the same program; the same chain blocking in
  its leaf: offcputime --unwind dwarf shows it whole, fp does not;
- a JIT-like C program that copies a function into an anonymous
  executable mapping and lists it in /tmp/perf-PID.map: its name is shown.
Every loupe run is filtered on the workload's pid.
"""
import os
import shutil
import subprocess

from common import (folded_rows, LOUPE, Loupe, Skip, check, marker, on_cleanup, poll_until,
                    short, spawn, tmpdir)

CXX_SRC = r"""
#include <cstdlib>
#include <ctime>

namespace shop {
namespace detail {
volatile unsigned long sink;
}

template <typename T> struct Basket {
	T seed;
	__attribute__((noinline)) unsigned long total(int n) const
	{
		for (int i = 0; i < n; i++)
			detail::sink += i ^ (unsigned long)seed;
		return detail::sink;
	}
};

__attribute__((noinline)) unsigned long checkout(const Basket<int> &b)
{
	return b.total(1000000);
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

RUST_SRC = r"""
mod shop {
    pub struct Basket<T> {
        pub seed: T,
    }

    impl<T: Copy + Into<u64>> Basket<T> {
        #[inline(never)]
        pub fn total(&self, n: u64) -> u64 {
            let mut s = 0u64;
            for i in 0..n {
                s = s.wrapping_add(std::hint::black_box(i ^ self.seed.into()));
            }
            s
        }
    }
}

fn main() {
    let secs: u64 = std::env::args().nth(1).unwrap().parse().unwrap();
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let b = shop::Basket { seed: 7u32 };
    let mut t = 0u64;
    while std::time::Instant::now() < end {
        t = t.wrapping_add(b.total(1_000_000));
    }
    std::process::exit((t & 1) as i32 * 0);
}
"""

# Machine code that spins rdi times in its own frame, as a JIT would
# write it: push rbp; mov rbp,rsp; mov rcx,rdi; 1: dec rcx; jnz 1b;
# pop rbp; ret.
JIT_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

static const unsigned char code[] = {
	0x55, 0x48, 0x89, 0xe5, 0x48, 0x89, 0xf9,
	0x48, 0xff, 0xc9, 0x75, 0xfb, 0x5d, 0xc3,
};

int main(int argc, char **argv)
{
	time_t end = time(NULL) + atoi(argv[1]);
	void (*fn)(long);
	char path[64];
	void *mem;
	FILE *f;

	mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 1;
	memcpy(mem, code, sizeof(code));
	if (mprotect(mem, 4096, PROT_READ | PROT_EXEC))
		return 1;
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", getpid());
	f = fopen(path, "w");
	if (!f)
		return 1;
	fprintf(f, "%lx %zx %s\n", (unsigned long)mem, sizeof(code), argv[2]);
	fclose(f);
	fn = (void (*)(long))mem;
	while (time(NULL) < end)
		fn(10000000);
	return 0;
}
"""

# Built -O2 -fomit-frame-pointer: no function keeps a frame pointer, and
# leaf has no frame at all.
NOFP_C = r"""
#include <stdlib.h>
#include <time.h>

volatile unsigned long sink;

__attribute__((noinline)) void leaf(void)
{
	for (int i = 0; i < 1000000; i++)
		sink += i;
}

__attribute__((noinline)) void level3(void) { leaf(); sink++; }
__attribute__((noinline)) void level2(void) { level3(); sink++; }
__attribute__((noinline)) void level1(void) { level2(); sink++; }

int main(int argc, char **argv)
{
	time_t end = time(NULL) + atoi(argv[1]);

	while (time(NULL) < end)
		level1();
	return 0;
}
"""

NOFP_CHAIN = ["main", "level1", "level2", "level3", "leaf"]

# The same chain, but leaf blocks: it makes the nanosleep system call
# itself (no libc frame between), from a function without a frame.
BLOCK_C = r"""
#include <stdlib.h>
#include <time.h>
#include <sys/syscall.h>

volatile unsigned long sink;

__attribute__((noinline)) void leaf(void)
{
	struct timespec ts = { 0, 2000000 };
	long ret;

	__asm__ volatile("syscall" : "=a"(ret)
			 : "0"((long)SYS_nanosleep), "D"(&ts), "S"(0L)
			 : "rcx", "r11", "memory");
	sink += ret;
}

__attribute__((noinline)) void level3(void) { leaf(); sink++; }
__attribute__((noinline)) void level2(void) { level3(); sink++; }
__attribute__((noinline)) void level1(void) { level2(); sink++; }

int main(int argc, char **argv)
{
	time_t end = time(NULL) + atoi(argv[1]);

	while (time(NULL) < end)
		level1();
	return 0;
}
"""


def _run(argv, what):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=120)
    check(r.returncode == 0, "%s failed: %s" % (what, short(r.stdout.decode(errors="replace"), 1500)))


_folded = folded_rows


def _share(rows, pred):
    """Fraction of the samples whose frames satisfy pred."""
    total = sum(c for _, c in rows)
    return sum(c for f, c in rows if pred(f)) / total, total


def _ends_with(frames, want):
    return frames[-len(want):] == want


def _profile(pid, *extra, secs=3):
    return _folded(Loupe("profile", "-p", pid, "-U", "--folded", "-d", secs, *extra))


# ---------------------------------------------------------------- names

def _build_cxx():
    if not shutil.which("g++"):
        raise Skip("g++ not available")
    d = tmpdir()
    src = os.path.join(d, "shop.cc")
    exe = os.path.join(d, marker("cx"))
    with open(src, "w") as f:
        f.write(CXX_SRC)
    _run(["g++", "-O0", "-fno-omit-frame-pointer", "-o", exe, src], "g++")
    return exe


def test_profile_demangles_cxx():
    exe = _build_cxx()
    p = spawn([exe, "8"])
    rows = _profile(p.pid)
    want = ["main", "shop::checkout(shop::Basket<int> const&)",
            "shop::Basket<int>::total(int) const"]
    share, total = _share(rows, lambda f: _ends_with(f, want))
    check(share >= 0.9, "%.0f%% of %d samples are %s: %s" %
          (100 * share, total, ";".join(want), short(rows, 800)))
    # --no-demangle: the names as the symbol table has them.
    raw = _profile(p.pid, "--no-demangle", secs=1)
    share, total = _share(raw, lambda f: _ends_with(f, [
        "main", "_ZN4shop8checkoutERKNS_6BasketIiEE",
        "_ZNK4shop6BasketIiE5totalEi"]))
    check(share >= 0.9, "--no-demangle: %.0f%% of %d samples mangled: %s" %
          (100 * share, total, short(raw, 800)))


LEAK_CXX = r"""
#include <cstdlib>
#include <ctime>
#include <unistd.h>

namespace shop {
template <typename T> struct Cart {
	__attribute__((noinline)) T *fill(int n) const
	{
		return static_cast<T *>(malloc(n * sizeof(T)));
	}
};
}

int main(int argc, char **argv)
{
	time_t end = time(nullptr) + atoi(argv[1]);
	shop::Cart<int> c;

	while (time(nullptr) < end) {
		if (!c.fill(1024))
			return 1;
		usleep(100000);
	}
	return 0;
}
"""

FILL_MANGLED = "_ZNK4shop4CartIiE4fillEi"
FILL_NAME = "shop::Cart<int>::fill(int) const"


def _build_leak():
    if not shutil.which("g++"):
        raise Skip("g++ not available")
    d = tmpdir()
    src = os.path.join(d, "leak.cc")
    exe = os.path.join(d, marker("lk"))
    with open(src, "w") as f:
        f.write(LEAK_CXX)
    _run(["g++", "-O0", "-fno-omit-frame-pointer", "-o", exe, src], "g++")
    return exe


def test_memleak_demangles():
    """memleak's stacks name C++ functions demangled, and as the symbol
    table has them under --no-demangle."""
    exe = _build_leak()
    p = spawn([exe, "10"])
    for extra, want in (((), FILL_NAME), (("--no-demangle",), FILL_MANGLED)):
        lp = Loupe("memleak", "-p", p.pid, "-j", "-i", "1", "-d", "2.5",
                   "--top", "3", *extra)
        rc = lp.wait_exit(20)
        check(rc == 0, "exit status %s %s" % (rc, lp.describe()))
        recs = [e for e in lp.events() if e.get("type") == "memleak"]
        firsts = [e["stack"][0] for e in recs if e.get("stack")]
        check(any(f.startswith(want + "+0x") for f in firsts),
              "%s: no stack from %s: %s" % (extra, want, short(recs, 800)))


def test_trace_ustack_demangles():
    """trace's ustack: demangled names, or raw ones with --no-demangle."""
    exe = _build_leak()
    p = spawn([exe, "10"])
    prog = "u:%s:%s /pid == %d/ { @[ustack] = count(); exit(); }" % (
        exe, FILL_MANGLED, p.pid)
    for extra, want in (((), FILL_NAME), (("--no-demangle",), FILL_MANGLED)):
        lp = Loupe("trace", *extra, "-e", prog)
        rc = lp.wait_exit(20)
        check(rc == 0, "exit status %s %s" % (rc, lp.describe()))
        lines = [l.strip() for l in lp.lines()]
        check(any(l.startswith(want + "+") for l in lines),
              "%s: no frame %s: %s" % (extra, want, short(lines, 600)))


def _rustc():
    for cand in (shutil.which("rustc"), os.path.expanduser("~/.cargo/bin/rustc")):
        if cand and os.access(cand, os.X_OK):
            return cand
    raise Skip("rustc (cargo's toolchain) not installed: Rust names not tested")


def _build_rust(mangling):
    rustc = _rustc()
    d = tmpdir()
    src = os.path.join(d, "shop.rs")
    exe = os.path.join(d, marker("rs"))
    with open(src, "w") as f:
        f.write(RUST_SRC)
    # Stable rustc mangles the legacy way unless told v0.
    flags = ["-C", "symbol-mangling-version=v0"] if mangling == "v0" else []
    _run([rustc, "-O", "-C", "force-frame-pointers=yes"] + flags +
         ["--crate-name", "shopr", "-o", exe, src], "rustc")
    return exe


def _check_rust(mangling, want):
    exe = _build_rust(mangling)
    p = spawn([exe, "6"])
    rows = _profile(p.pid)
    share, total = _share(rows, lambda f: f[-1] == want)
    check(share >= 0.9, "%s mangling: %.0f%% of %d samples end in %s: %s" %
          (mangling, 100 * share, total, want, short(rows, 800)))


def test_profile_demangles_rust_v0():
    _check_rust("v0", "<shopr::shop::Basket<u32>>::total")


def test_profile_demangles_rust_legacy():
    # The legacy scheme names the generic function, without its hash.
    _check_rust("legacy", "shopr::shop::Basket<T>::total")


# ---------------------------------------------------------------- JIT

def test_profile_jit_perf_map():
    """Code in an anonymous executable mapping is named by the perf map;
    a name longer than 1 KB is cut there."""
    if not shutil.which("gcc"):
        raise Skip("gcc not available")
    d = tmpdir()
    src = os.path.join(d, "jit.c")
    exe = os.path.join(d, marker("jt"))
    with open(src, "w") as f:
        f.write(JIT_C)
    _run(["gcc", "-O0", "-fno-omit-frame-pointer", "-o", exe, src], "gcc")
    name = "JIT:spin_" + marker("") + "_" + "x" * 2000
    p = spawn([exe, "8", name])
    perf_map = "/tmp/perf-%d.map" % p.pid
    on_cleanup(lambda: os.path.exists(perf_map) and os.unlink(perf_map))
    check(poll_until(lambda: os.path.exists(perf_map), 5), "no %s" % perf_map)
    rows = _profile(p.pid)
    want = name[:1024] + "_[j]"
    # The code keeps a frame pointer: its caller is walked to as well.
    share, total = _share(rows, lambda f: f[-2:] == ["main", want])
    check(share >= 0.9, "%.0f%% of %d samples end in main;JIT frame: %s" %
          (100 * share, total, short(rows, 600)))


# ---------------------------------------------------------------- unwinding

def _build_nofp(flags=("-O2", "-fomit-frame-pointer"), source=NOFP_C):
    if not shutil.which("gcc"):
        raise Skip("gcc not available")
    d = tmpdir()
    src = os.path.join(d, "nofp.c")
    exe = os.path.join(d, marker("nf"))
    with open(src, "w") as f:
        f.write(source)
    _run(["gcc"] + list(flags) + ["-o", exe, src], "gcc")
    return exe


def _has_chain(frames, chain):
    n = len(chain)
    return any(frames[i:i + n] == chain for i in range(len(frames) - n + 1))


def _perf_share(pid, chain):
    """perf record --call-graph dwarf on the same process: the share of
    samples holding the chain (None without perf)."""
    perf = shutil.which("perf")
    if not perf:
        return None
    data = os.path.join(tmpdir(), "perf.data")
    r = subprocess.run([perf, "record", "-q", "-e", "cpu-clock", "-F", "49",
                        "--call-graph", "dwarf", "-p", str(pid), "-o", data,
                        "--", "sleep", "2"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    if r.returncode:
        return None
    r = subprocess.run([perf, "script", "-i", data, "-F", "ip,sym"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=60)
    samples, cur = [], []
    for line in r.stdout.decode(errors="replace").splitlines() + [""]:
        parts = line.split()
        if not parts:
            if cur:
                samples.append(cur[::-1])
            cur = []
        elif len(parts) >= 2:
            cur.append(parts[1])
    if not samples:
        return None
    return sum(1 for f in samples if _has_chain(f, chain)) / len(samples)


def test_profile_unwind_dwarf_without_frame_pointers():
    exe = _build_nofp()
    p = spawn([exe, "12"])
    rows = _profile(p.pid, "--unwind", "dwarf")
    share, total = _share(rows, lambda f: _has_chain(f, NOFP_CHAIN))
    check(total >= 40, "only %d samples in 3 s at 49 Hz" % total)
    check(share >= 0.9, "--unwind dwarf: %.0f%% of %d samples hold %s: %s" %
          (100 * share, total, ";".join(NOFP_CHAIN), short(rows, 800)))
    # The reference: perf's own DWARF unwinding of the same process.
    ref = _perf_share(p.pid, NOFP_CHAIN)
    if ref is not None:
        check(ref >= 0.9, "perf --call-graph dwarf: only %.0f%% hold the chain" % (100 * ref))


test_profile_unwind_dwarf_without_frame_pointers.serial = True  # sample count


def test_profile_unwind_dwarf_json():
    """JSON records carry the walked frames like the kernel-walked ones."""
    import json
    exe = _build_nofp()
    p = spawn([exe, "8"])
    lp = Loupe("profile", "-p", p.pid, "-j", "-d", "2", "--unwind", "dwarf")
    rc = lp.wait_exit(20)
    check(rc == 0, "exit status %s %s" % (rc, lp.describe()))
    recs = [json.loads(l) for l in lp.lines()]
    stacks = [r for r in recs if r.get("type") == "stack"]
    check(stacks, "no stack records: %s" % short(recs))
    good = sum(r["count"] for r in stacks
               if _has_chain([f["name"] for f in r["user_stack"]][::-1], NOFP_CHAIN))
    total = sum(r["count"] for r in stacks)
    check(good >= 0.9 * total, "%d of %d samples hold the chain: %s" % (good, total, short(stacks, 800)))


def _json_stacks(pid, *extra):
    import json
    lp = Loupe("profile", "-p", pid, "-U", "-j", "-d", "2", *extra)
    rc = lp.wait_exit(20)
    check(rc == 0, "exit status %s %s" % (rc, lp.describe()))
    recs = [json.loads(l) for l in lp.lines()]
    stacks = [r for r in recs if r.get("type") == "stack"]
    check(stacks, "no stack records: %s" % short(recs))
    return stacks


def test_profile_unwind_auto_per_process():
    """auto: CFI for a binary without frame pointers; the kernel's walk
    for one built -O0 with them (every function keeps its frame). The
    first samples of a process, before its executable was looked at, are
    walked by CFI either way (a few under load)."""
    # -O2 -fno-omit-frame-pointer: gcc still leaves leaf without a frame,
    # which would hide level3 from the kernel's walk.
    for flags, want in ((("-O2", "-fomit-frame-pointer"), "dwarf"),
                        (("-O2", "-fno-omit-frame-pointer"), "dwarf"),
                        (("-O0", "-fno-omit-frame-pointer"), "fp")):
        exe = _build_nofp(flags)
        p = spawn([exe, "8"])
        stacks = _json_stacks(p.pid, "--unwind", "auto")
        total = sum(r["count"] for r in stacks)
        mode = sum(r["count"] for r in stacks if r["unwind"] == want)
        good = sum(r["count"] for r in stacks
                   if _has_chain([f["name"] for f in r["user_stack"]][::-1], NOFP_CHAIN))
        # A starved loupe may take a few samples before its choice.
        check(total - mode <= max(3, 0.2 * total) and good >= 0.9 * total,
              "%s: %d of %d samples by %s, %d whole: %s" %
              (" ".join(flags), mode, total, want, good, short(stacks, 800)))


def test_offcputime_unwind_dwarf():
    """A thread blocked in a frameless leaf of an -O2
    -fomit-frame-pointer program: --unwind dwarf shows main to leaf for
    (nearly) all of its time off CPU; the kernel's frame-pointer walk
    shows leaf alone."""
    exe = _build_nofp(source=BLOCK_C)
    p = spawn([exe, "12"])
    rows = _folded(Loupe("offcputime", "-p", p.pid, "-U", "--folded", "-d", "2",
                         "--unwind", "dwarf"))
    share, total = _share(rows, lambda f: _has_chain(f, NOFP_CHAIN))
    # It sleeps all the time: about 2 s off CPU in 2 s.
    check(total >= 1000000, "only %d us off CPU in 2 s" % total)
    check(share >= 0.9, "--unwind dwarf: %.0f%% of %d us hold %s: %s" %
          (100 * share, total, ";".join(NOFP_CHAIN), short(rows, 800)))
    fp = _folded(Loupe("offcputime", "-p", p.pid, "-U", "--folded", "-d", "1"))
    share, total = _share(fp, lambda f: "level3" in f)
    check(share < 0.1, "--unwind fp: %.0f%% of %d us reach level3: %s" %
          (100 * share, total, short(fp, 800)))
    # JSON: the kernel half is there too, and the record says how the
    # user half was walked.
    import json
    lp = Loupe("offcputime", "-p", p.pid, "-j", "-d", "1", "--unwind", "dwarf")
    rc = lp.wait_exit(20)
    check(rc == 0, "exit status %s %s" % (rc, lp.describe()))
    stacks = [r for r in map(json.loads, lp.lines()) if r.get("type") == "stack"]
    good = sum(r["count"] for r in stacks if r["unwind"] == "dwarf" and
               _has_chain([f["name"] for f in r["user_stack"]][::-1], NOFP_CHAIN)
               and any(f["name"] == "__x64_sys_nanosleep" for f in r["kernel_stack"]))
    total = sum(r["count"] for r in stacks)
    check(total and good >= 0.9 * total, "JSON: %d of %d us whole: %s" %
          (good, total, short(stacks, 800)))


def test_offcputime_unwind_auto():
    """auto: the -O2 -fomit-frame-pointer program gets the CFI walk."""
    exe = _build_nofp(source=BLOCK_C)
    p = spawn([exe, "8"])
    rows = _folded(Loupe("offcputime", "-p", p.pid, "-U", "--folded", "-d", "2",
                         "--unwind", "auto"))
    share, total = _share(rows, lambda f: _has_chain(f, NOFP_CHAIN))
    check(share >= 0.9, "--unwind auto: %.0f%% of %d us hold %s: %s" %
          (100 * share, total, ";".join(NOFP_CHAIN), short(rows, 800)))


def test_unwind_usage_errors():
    for args, what in ((["profile", "--unwind", "lbr"], "invalid --unwind"),
                       (["profile", "-K", "--unwind", "dwarf"], "not with -K"),
                       (["offcputime", "--unwind", "frame"], "invalid --unwind"),
                       (["offcputime", "-K", "--unwind", "auto"], "not with -K"),
                       (["agent", "--unwind", "lbr"], "invalid --unwind")):
        r = subprocess.run([LOUPE] + args + ["-d", "1"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=20)
        err = r.stderr.decode()
        check(r.returncode == 2, "%s: exit %d, %s" % (args, r.returncode, err))
        check(what in err and len(err.strip().splitlines()) == 1,
              "%s: stderr %r" % (args, err))


# ---------------------------------------------------------------- trace

def _trace(*args, timeout=40):
    lp = Loupe("trace", *args)
    rc = lp.wait_exit(timeout)
    check(rc == 0, "exit status %s %s" % (rc, lp.describe()))
    return lp


def _frame_name(s):
    """A frame as trace prints it (perf mode: "ADDR SYM+OFF (OBJECT)")."""
    parts = s.split()
    if len(parts) >= 2 and all(c in "0123456789abcdef" for c in parts[0]):
        s = parts[1]
    return s.split("+")[0]


def _trace_map(lp, offsets=False):
    """A map keyed by ustack, as printed: [(frames root first, count)],
    the frames without their offsets unless asked."""
    rows, cur = [], None
    for line in lp.lines():
        s = line.strip()
        if s == "@[":
            cur = []
        elif cur is not None and s.startswith("]: "):
            rows.append((cur[::-1], int(s[3:])))
            cur = None
        elif cur is not None and s:
            cur.append(s if offsets else _frame_name(s))
    return rows


def _trace_profile(pid, stack, *extra):
    lp = _trace(*extra, "-d", "3", "-e",
                "profile:hz:99 /pid == %d/ { @[%s] = count(); }" % (pid, stack))
    # Walked stacks that are equal are one key, as the kernel's are.
    keys = [tuple(f) for f, _ in _trace_map(lp, offsets=True)]
    check(len(keys) == len(set(keys)), "a stack printed twice: %s" % short(keys, 800))
    return _trace_map(lp)


def test_trace_ustack_dwarf():
    """trace's ustack(dwarf) counts in a map: the whole chain of the -O2
    -fomit-frame-pointer program in >= 90 % of the samples, where the
    kernel's frame-pointer walk (ustack) has it in < 10 %; --unwind dwarf
    makes plain ustack the same."""
    exe = _build_nofp()
    p = spawn([exe, "20"])
    for stack, extra in (("ustack(dwarf)", ()), ("ustack", ("--unwind", "dwarf")),
                         ("ustack(perf, dwarf)", ())):
        rows = _trace_profile(p.pid, stack, *extra)
        share, total = _share(rows, lambda f: _has_chain(f, NOFP_CHAIN))
        check(total >= 60, "%s %s: only %d samples in 3 s at 99 Hz" % (stack, extra, total))
        check(share >= 0.9, "%s %s: %.0f%% of %d samples hold %s: %s" %
              (stack, extra, 100 * share, total, ";".join(NOFP_CHAIN), short(rows, 800)))
    rows = _trace_profile(p.pid, "ustack")
    share, total = _share(rows, lambda f: _has_chain(f, NOFP_CHAIN))
    check(total >= 60 and share < 0.1, "fp: %.0f%% of %d samples hold the chain" %
          (100 * share, total))


test_trace_ustack_dwarf.serial = True  # sample count
test_trace_ustack_dwarf.timeout = 120


def test_trace_ustack_dwarf_printf():
    """A uprobe on the frameless leaf prints the whole chain each time,
    in the map's JSON keys too, and ustack(dwarf, 3) keeps 3 frames."""
    import json
    exe = _build_nofp()
    p = spawn([exe, "20"])
    lp = _trace("-e", "u:%s:leaf /pid == %d/ { printf(\"%%s\\n\", ustack(dwarf)); "
                "@[ustack(dwarf, 3)] = count(); @n++; if (@n == 5) { exit(); } }" % (exe, p.pid))
    stacks, cur = [], []
    # the printf lines come first; the end-of-run maps after them
    text = lp.lines()
    text = text[:next((i for i, l in enumerate(text) if l.startswith("@")), len(text))]
    for line in text + [""]:
        s = line.strip()
        if s.startswith("Attaching"):
            continue
        if s:
            cur.append(_frame_name(s))
        elif cur:
            stacks.append(cur[::-1])
            cur = []
    check(len(stacks) >= 5 and all(_has_chain(f, NOFP_CHAIN) for f in stacks),
          "stacks: %s" % short(stacks, 800))
    rows = _trace_map(lp)
    check(rows and all(f == ["level2", "level3", "leaf"] for f, _ in rows),
          "ustack(dwarf, 3): %s" % short(rows, 600))
    lp = _trace("-j", "--unwind", "dwarf", "-e",
                "u:%s:leaf /pid == %d/ { @[ustack] = count(); @n++; if (@n == 5) { exit(); } }" %
                (exe, p.pid))
    recs = [json.loads(l) for l in lp.lines() if l.strip()]
    keys = [k for r in recs if r.get("type") == "map" and "@" in r["data"]
            for k in r["data"]["@"]]
    check(keys and all(_has_chain([s.strip().split("+")[0] for s in k.split("\n")
                                   if s.strip()][::-1], NOFP_CHAIN) for k in keys),
          "JSON keys: %s" % short(recs, 800))


def test_trace_ustack_auto():
    """ustack(auto): CFI for the program without frame pointers."""
    exe = _build_nofp()
    p = spawn([exe, "20"])
    rows = _trace_profile(p.pid, "ustack", "--unwind", "auto")
    share, total = _share(rows, lambda f: _has_chain(f, NOFP_CHAIN))
    check(total >= 60 and share >= 0.9, "auto: %.0f%% of %d samples hold the chain: %s" %
          (100 * share, total, short(rows, 800)))


test_trace_ustack_auto.serial = True  # sample count


def test_trace_unwind_errors():
    for args, what in ((["-e", "BEGIN { @[ustack(slow)] = count(); }"],
                        "-e:1:18: error: ustack: unknown stack mode 'slow'"),
                       (["-e", "BEGIN { @[kstack(dwarf)] = count(); }"],
                        "-e:1:18: error: kstack: unknown stack mode 'dwarf'"),
                       (["-e", "BEGIN { @[ustack(3, dwarf)] = count(); }"],
                        "-e:1:18: error: ustack: give the modes"),
                       (["--unwind", "lbr", "-e", "BEGIN { exit(); }"],
                        "invalid --unwind 'lbr': fp, dwarf or auto")):
        r = subprocess.run([LOUPE, "trace"] + args, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=20)
        err = r.stderr.decode()
        check(r.returncode == 2, "%s: exit %d, %s" % (args, r.returncode, err))
        check(err.splitlines()[0].endswith(what) or err.startswith(what) or
              what in err.splitlines()[0], "%s: stderr %r" % (args, err))


def test_trace_ustack_dwarf_lost_copies():
    """A ring too small for the copies: the lost ones are reported as
    lost events and their samples are nowhere in the map (every key still
    holds the whole chain); counted plus lost is every call."""
    import re
    exe = _build_nofp()
    p = spawn([exe, "20"])
    lp = _trace("--buffer-size", "32K", "-d", "2", "-e",
                "u:%s:leaf /pid == %d/ { @[ustack(dwarf)] = count(); } "
                "u:%s:level3 /pid == %d/ { @calls = count(); }" % (exe, p.pid, exe, p.pid))
    rows = _trace_map(lp)
    calls = [int(l.split()[-1]) for l in lp.lines() if l.startswith("@calls: ")]
    lost = sum(int(m.group(1)) for l in lp.stderr_lines()
               for m in [re.search(r"(\d+) events lost", l)] if m)
    counted = sum(c for _, c in rows)
    check(calls and all(_has_chain(f, NOFP_CHAIN) for f, _ in rows),
          "keys: %s" % short(rows, 800))
    # a call or two may be between the probes when they detach
    check(abs(counted + lost - calls[0]) <= 5 + calls[0] // 50,
          "%d counted + %d lost, %d calls" % (counted, lost, calls[0]))


def test_trace_ustack_dwarf_map_value():
    """A ustack(dwarf) stored as a map value still prints its walked stack
    at the end of a run longer than the 10 s a copy's tag is kept."""
    exe = _build_nofp()
    p = spawn([exe, "30"])
    lp = _trace("-d", "12", "-e", "u:%s:leaf /pid == %d && @n == 0/ "
                "{ @last[tid] = ustack(dwarf); @n = 1; }" % (exe, p.pid))
    frames = [_frame_name(l.strip()) for l in lp.lines()
              if l.startswith(" ") and l.strip()]
    check(_has_chain(frames[::-1], NOFP_CHAIN), "@last: %s" % short(lp.lines(), 600))


test_trace_ustack_dwarf_map_value.timeout = 60
