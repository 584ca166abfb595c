#!/usr/bin/env python3
"""Run loupe's runtime tests in a qemu VM on another kernel (stdlib only).

    python3 tests/vm/run_vm.py [--kernel-pkg PKG] [--timeout SECONDS]
                               [-j N] [--all | FILTER...]

Fetches a Debian kernel package and busybox-static with `apt-get download`
into build/vm/ (cached: a second run downloads nothing), unpacks them with
`dpkg-deb -x` (nothing is installed on the host), writes a small initramfs
(busybox, the virtio and 9p modules, an /init script) and boots the kernel
under software emulation. The guest mounts the host's root read-only over
9p, chroots into it and runs this repository's own tests/run.py with the
already built build/loupe. The guest's output comes back on the serial
console; the last line printed here is the guest run's "N passed, N
failed". Exit status 0 only if the guest ran and nothing failed; qemu is
killed after --timeout seconds (exit status 1).

Without FILTERs the guest runs the subset in VM_TESTS below (--all: every
test). Run as root from anywhere; build loupe first (make).
"""
import argparse
import glob
import lzma
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CACHE = os.path.join(REPO, "build", "vm")
SUMMARY_RE = re.compile(r"^\s*(\d+) passed, (\d+) failed\s*$")
MARK = "LOUPE-VM:"
MARK_RE = re.compile(MARK + r" (kernel|exit) (\S+)")
ESCAPE_RE = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|[A-Za-z])")

# The tests run in the VM: tests/run.py filters (substrings of
# "module.function"; a test runs if any matches, "!TEXT" leaves out what
# matches TEXT, and the last filter that matches a name decides).
# Only what the 6.1 kernel can change: the hook choice (with every tool
# that has a fentry/kprobe hook running on it), `loupe list`, the three
# snoops (opensnoop on fexit, CO-RE reads of task_struct), the in-kernel
# filters, loss counting, teardown of kprobe/fentry links, every tool
# started and stopped, loupe trace's kernel-hook probes (kprobe,
# kretprobe, kfunc, kretfunc) with a few of its conformance cases,
# tcplife's byte counts (CO-RE reads of tcp_sock), tcpretrans on its
# kprobe, and the agent's built-in programs loaded together. Left out:
# usage errors and help texts, and the table, timestamp and UTF-8 variants
# of tests whose JSON variant runs (formatting is user space), and the
# loss tests of the event loop's stopping (docs/kernels.md has the times).
VM_TESTS = [
    "test_cli.test_list_",
    "test_cli.test_duration_exits_by_itself",
    "test_cli.test_buffer_size_",
    "test_cli.test_verbose_flag",
    "test_cli.test_runtime_failure_exit_1",
    "test_cli.test_not_root_",
    "test_hooks.",
    "test_execsnoop.",
    "test_opensnoop.",
    "test_exitsnoop.",
    "test_filters.",
    "test_loss.test_loss_",
    "test_teardown.",
    "test_all_tools.",
    "test_trace.test_kprobe",
    "test_trace.test_kfunc",
    "test_trace.test_case_hello",
    "test_trace.test_case_maps",
    "test_trace.test_case_hist",
    "test_trace.test_tracepoint_openat",
    "test_trace.test_rawtracepoint",
    "test_net1.test_tcplife_exact",
    # the agent's built-ins: raw tracepoints whose arguments differ
    "test_agent_builtin.test_agent_default_attaches_every_builtin",
    "test_net2.test_tcpretrans",
    "!_table",
    "!_timestamp_column",
    "!_utf8_",
    # ... but these tables show the hook chosen on this kernel.
    "test_cli.test_list_table",
    "test_hooks.test_hooks_table_shows_choices",
]

# Tests run at a time in the guest (tests/run.py -j). One: both vCPUs
# share one emulation thread (see run_qemu()) and a test's start-up there
# is CPU-bound (loupe's hook tests, Python); at -j 3 every test_all_tools
# test ran past its 30 s (docs/kernels.md).
JOBS = int(os.environ.get("LOUPE_VM_JOBS", "1"))

# LOUPE_VM_TCG_THREADS=multi brings back multi-threaded emulation (faster
# where the host has idle cores, but see run_qemu()).
THREADS = os.environ.get("LOUPE_VM_TCG_THREADS", "single")

# Loaded in dependency order (computed from the modules' own "depends=").
# veth: the network tests join two namespaces with a veth pair.
ROOT_MODULES = ["virtio_pci", "9pnet_virtio", "9p", "loop", "veth"]


def log(msg):
    print("vm: " + msg, flush=True)


def die(msg):
    print("vm: error: " + msg, file=sys.stderr, flush=True)
    sys.exit(1)


# ---------------------------------------------------------------- packages

def apt_depends(pkg):
    """The packages pkg depends on, per apt-cache (empty if unknown)."""
    r = subprocess.run(["apt-cache", "depends", pkg], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, universal_newlines=True)
    return re.findall(r"^\s*Depends:\s*(\S+)", r.stdout, re.M)


def resolve_kernel_pkg():
    """linux-image-amd64 is a metapackage: the real image is its dependency."""
    for attempt in range(2):
        deps = [d for d in apt_depends("linux-image-amd64")
                if d.startswith("linux-image-")]
        if deps:
            return deps[0]
        if attempt == 0:
            log("apt-get update (linux-image-amd64 unknown to apt)")
            subprocess.run(["apt-get", "update", "-qq"], check=False)
    die("cannot resolve linux-image-amd64's kernel package (apt-cache depends)")


def fetch(pkg):
    """Download pkg's .deb into build/vm/debs once; return its path."""
    debs = os.path.join(CACHE, "debs")
    os.makedirs(debs, exist_ok=True)
    # apt-get download names the file PKG_VERSION_ARCH.deb.
    have = glob.glob(os.path.join(debs, pkg + "_*.deb"))
    if have:
        return have[0]
    log("downloading " + pkg)
    for attempt in range(2):
        r = subprocess.run(["apt-get", "download", "-q", pkg], cwd=debs,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True)
        have = glob.glob(os.path.join(debs, pkg + "_*.deb"))
        if r.returncode == 0 and have:
            return have[0]
        if attempt == 0:
            subprocess.run(["apt-get", "update", "-qq"], check=False)
    die("apt-get download %s failed: %s" % (pkg, r.stdout.strip()[-400:]))


def unpack(deb, name):
    """dpkg-deb -x into build/vm/NAME (once); return the directory."""
    dest = os.path.join(CACHE, name)
    stamp = os.path.join(dest, ".unpacked-from")
    if os.path.exists(stamp):
        with open(stamp) as f:
            if f.read() == os.path.basename(deb):
                return dest
    shutil.rmtree(dest, ignore_errors=True)
    subprocess.run(["dpkg-deb", "-x", deb, dest], check=True)
    with open(stamp, "w") as f:
        f.write(os.path.basename(deb))
    return dest


# ---------------------------------------------------------------- modules

def module_files(moddir):
    """Module name -> path of its .ko or .ko.xz (names use '_', not '-')."""
    found = {}
    for dirpath, _, names in os.walk(os.path.join(moddir, "kernel")):
        for n in names:
            m = re.match(r"^(.*)\.ko(\.xz)?$", n)
            if m:
                found[m.group(1).replace("-", "_")] = os.path.join(dirpath, n)
    return found


def read_module(path):
    with open(path, "rb") as f:
        data = f.read()
    return lzma.decompress(data) if path.endswith(".xz") else data


def module_depends(data):
    """The depends= list of a module's .modinfo strings."""
    m = re.search(rb"(?:^|\0)depends=([^\0]*)\0", data)
    if not m or not m.group(1):
        return []
    return [d.decode().replace("-", "_") for d in m.group(1).split(b",")]


def modules_in_order(moddir, roots):
    """[(name, bytes)] for roots and their dependencies, dependencies first."""
    files = module_files(moddir)
    order, seen = [], set()

    def visit(name):
        if name in seen:
            return
        seen.add(name)
        if name not in files:
            return      # built into this kernel
        data = read_module(files[name])
        for dep in module_depends(data):
            visit(dep)
        order.append((name, data))

    for r in roots:
        visit(r)
    return order


# ---------------------------------------------------------------- initramfs

class Cpio:
    """An uncompressed cpio archive in the "newc" format the kernel unpacks."""

    def __init__(self):
        self.buf = bytearray()
        self.ino = 1

    def _entry(self, name, mode, data=b"", rdev=(0, 0)):
        name_b = name.encode() + b"\0"
        hdr = "070701" + "".join("%08X" % v for v in (
            self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1],
            len(name_b), 0))
        self.ino += 1
        self.buf += hdr.encode() + name_b
        self.buf += b"\0" * (-len(self.buf) % 4)
        self.buf += data
        self.buf += b"\0" * (-len(self.buf) % 4)

    def dir(self, name):
        self._entry(name, stat.S_IFDIR | 0o755)

    def file(self, name, data, mode=0o644):
        self._entry(name, stat.S_IFREG | mode, data)

    def chardev(self, name, major, minor):
        self._entry(name, stat.S_IFCHR | 0o600, rdev=(major, minor))

    def finish(self):
        self._entry("TRAILER!!!", 0)
        self.buf += b"\0" * (-len(self.buf) % 512)
        return bytes(self.buf)


def shell_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def init_script(modules, command):
    """The guest's /init (busybox sh); command runs in the repository."""
    run = "cd %s && %s" % (shell_quote(REPO), command)
    return """#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in {modules}; do
	insmod /lib/modules/$m.ko || echo "{mark} insmod $m failed"
done
# The host's root, read-only; what the tests write goes to tmpfs.
R=/newroot
mkdir -p $R
if ! mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose \\
		host $R; then
	echo "{mark} cannot mount the host root over 9p"
	poweroff -f
fi
mount -t proc proc $R/proc
mount -t sysfs sys $R/sys
mount -t devtmpfs dev $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts devpts $R/dev/pts
# The repository may live under one of the tmpfs places (a CI clone in
# /tmp or /root): keep it visible at its own path on top of them.
mkdir -p /repo
mount -o bind $R{repo} /repo
for d in /dev/shm /tmp /run /var/tmp /root; do
	mount -t tmpfs tmpfs $R$d
done
mkdir -p $R{repo}
mount -o bind /repo $R{repo}
mount -t tracefs tracefs $R/sys/kernel/tracing
mount -t debugfs debugfs $R/sys/kernel/debug
mount -t bpf bpf $R/sys/fs/bpf
mount -t cgroup2 cgroup2 $R/sys/fs/cgroup
ip link set lo up
echo "{mark} kernel $(uname -r)"
chroot $R /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
	HOME=/root LANG=C.UTF-8 LOUPE_TEST_SLOW=1 /bin/sh -c {run}
echo "{mark} exit $?"
sync
poweroff -f
""".format(modules=" ".join(n for n, _ in modules), mark=MARK,
           run=shell_quote(run), repo=shell_quote(REPO))


def build_initramfs(kdir, bbdir, version, command):
    moddir = os.path.join(kdir, "lib", "modules", version)
    modules = modules_in_order(moddir, ROOT_MODULES)
    c = Cpio()
    for d in ("bin", "dev", "proc", "sys", "lib", "lib/modules", "newroot"):
        c.dir(d)
    c.chardev("dev/console", 5, 1)
    c.chardev("dev/null", 1, 3)
    with open(os.path.join(bbdir, "bin", "busybox"), "rb") as f:
        c.file("bin/busybox", f.read(), 0o755)
    for name, data in modules:
        c.file("lib/modules/%s.ko" % name, data)
    c.file("init", init_script(modules, command).encode(), 0o755)
    path = os.path.join(CACHE, "initramfs-%s.cpio" % version)
    with open(path + ".tmp", "wb") as f:
        f.write(c.finish())
    os.rename(path + ".tmp", path)
    return path


# ---------------------------------------------------------------- qemu

def die_with_parent():
    """In the child before exec: SIGKILL it if this script dies, even by
    SIGKILL (prctl(PR_SET_PDEATHSIG)); best effort."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


def run_qemu(kernel, initrd, timeout, append):
    """Boot; echo the console; return (guest lines, timed_out)."""
    qemu = shutil.which("qemu-system-x86_64")
    if not qemu:
        die("qemu-system-x86_64 not found (apt-get install qemu-system-x86)")
    # KVM hangs at boot on this platform; TCG works. -smp 2 at most: the
    # machine is shared. One emulation thread for both vCPUs (tcg,
    # thread=single): with thread=multi both vCPUs were seen to spin for
    # minutes (soft lockups) on the instruction in syscall_trace_enter()
    # that text_poke_bp() had just patched while enabling a static key
    # (several loupes attaching syscall tracepoints at once); the
    # cross-modifying code is safe with a single thread.
    argv = [qemu, "-accel", "tcg,thread=" + THREADS, "-cpu", "max", "-smp", "2",
            "-m", "2G", "-net", "none", "-nographic", "-no-reboot",
            "-kernel", kernel, "-initrd", initrd,
            "-append", "console=ttyS0 loglevel=5 panic=-1 rdinit=/init " + append,
            "-virtfs", "local,path=/,mount_tag=host,security_model=none,"
            "readonly=on,multidevs=remap"]
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True,
                         preexec_fn=die_with_parent)
    lines, timed_out = [], False
    deadline = time.monotonic() + timeout

    def on_signal(signum, frame):
        raise KeyboardInterrupt()
    old = signal.signal(signal.SIGTERM, on_signal)
    try:
        import selectors
        sel = selectors.DefaultSelector()
        sel.register(p.stdout, selectors.EVENT_READ)
        buf = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            if not sel.select(min(left, 1.0)):
                continue
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                text = ESCAPE_RE.sub("", line.decode(errors="replace"))
                text = text.rstrip("\r")
                lines.append(text)
                print("  | " + text, flush=True)
        if buf:
            lines.append(buf.decode(errors="replace"))
    finally:
        # Never leave qemu behind, whatever happened above.
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        p.wait()
        signal.signal(signal.SIGTERM, old)
    return lines, timed_out


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description="run loupe's tests in a VM")
    ap.add_argument("--kernel-pkg", default=os.environ.get("LOUPE_VM_KERNEL_PKG"),
                    help="Debian kernel image package (default: the one "
                         "linux-image-amd64 depends on)")
    ap.add_argument("--timeout", type=int,
                    default=int(os.environ.get("LOUPE_VM_TIMEOUT", "900")),
                    help="hard limit for the VM, seconds (default 900)")
    ap.add_argument("--append", default=os.environ.get("LOUPE_VM_APPEND", ""),
                    help="more kernel command line (e.g. loglevel=7)")
    ap.add_argument("--all", action="store_true", help="run every runtime test")
    ap.add_argument("-j", "--jobs", type=int, default=JOBS,
                    help="tests at a time in the guest (default %d)" % JOBS)
    ap.add_argument("--cmd", help="run this shell command in the guest (in the "
                    "repository, as root) instead of the tests; exit with its status")
    ap.add_argument("filters", nargs="*", help="tests/run.py filters")
    args = ap.parse_args()

    if os.geteuid() != 0:
        die("run as root (the guest runs the runtime tests as root)")
    loupe = os.path.join(REPO, "build", "loupe")
    if not os.access(loupe, os.X_OK):
        die("build/loupe not found (run make)")
    filters = args.filters or ([] if args.all else VM_TESTS)
    if args.all:
        # Every runtime test but not the unit tests (kernel independent).
        filters = ["test_"]

    t0 = time.monotonic()
    kpkg = args.kernel_pkg or resolve_kernel_pkg()
    kdir = unpack(fetch(kpkg), kpkg)
    bbdir = unpack(fetch("busybox-static"), "busybox-static")
    vmlinuz = sorted(glob.glob(os.path.join(kdir, "boot", "vmlinuz-*")))
    if not vmlinuz:
        die("%s has no boot/vmlinuz-*" % kpkg)
    version = os.path.basename(vmlinuz[-1])[len("vmlinuz-"):]
    if args.cmd:
        command = args.cmd
    else:
        command = "exec python3 tests/run.py -v -j %d " % args.jobs + " ".join(
            shell_quote(f) for f in filters)
    initrd = build_initramfs(kdir, bbdir, version, command)
    t1 = time.monotonic()
    log("kernel %s (%s), prepared in %.1fs; booting (timeout %ds)"
        % (version, kpkg, t1 - t0, args.timeout))

    lines, timed_out = run_qemu(vmlinuz[-1], initrd, args.timeout, args.append)
    t2 = time.monotonic()

    # The firmware's terminal escapes can share a line with the markers.
    marks = [m.groups() for m in (MARK_RE.search(l) for l in lines) if m]
    guest_kernel = next((v for k, v in marks if k == "kernel"), None)
    guest_exit = next((v for k, v in marks if k == "exit"), None)
    summary = next((SUMMARY_RE.match(l) for l in reversed(lines)
                    if SUMMARY_RE.match(l)), None)
    ok = True
    if timed_out:
        log("FAIL: timed out after %ds; qemu killed" % args.timeout)
        ok = False
    if guest_kernel is None:
        log("FAIL: the guest never started the tests")
        ok = False
    if args.cmd:
        log("guest kernel %s; command exit status %s; VM %.1fs"
            % (guest_kernel or "?", guest_exit, t2 - t1))
        return 0 if guest_exit == "0" and not timed_out else 1
    if summary is None:
        log("FAIL: no 'N passed, N failed' line from the guest")
        ok = False
    if guest_exit != "0":
        ok = False
    passed = int(summary.group(1)) if summary else 0
    failed = int(summary.group(2)) if summary else 0
    if failed:
        ok = False
    log("guest kernel %s; prepare %.1fs, VM %.1fs, total %.1fs"
        % (guest_kernel or "?", t1 - t0, t2 - t1, t2 - t0))
    # A run that never reached its summary counts as one failure.
    if not ok and failed == 0:
        failed = 1
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        die("interrupted")
