"""Containers: events from real podman containers name their container
(id, name, image, runtime, pod, namespace); --container filters by the
container's cgroup in the kernel; --containers adds a CONTAINER column.

The image is a busybox-static rootfs made with `podman import`, once per
run (tagged with the runner's id, removed by run_end()). runc, not crun:
crun refuses this machine's hybrid cgroups (docs/containers.md)."""
import fcntl
import os
import shutil
import socket
import subprocess
import tarfile
import threading

from common import (LOUPE, Cgroup, Loupe, Skip, cgroup2_root, check,
                    check_common, marker, on_cleanup, poll_until, run_quiet,
                    short, spawn, tmpdir)

RUNC = "/usr/sbin/runc"
BUSYBOX = "/bin/busybox"
IMAGE_REPO = "localhost/loupe-test-busybox"
APPLETS = ("sh", "sleep", "cat", "true", "nc")


def _podman(*args, timeout=60):
    return subprocess.run([shutil.which("podman") or "podman"] + list(args),
                          stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)


def _tag(flavour=""):
    return "%s%s:run%s" % (IMAGE_REPO, flavour and "-" + flavour,
                           os.environ.get("LOUPE_RUN_ID", os.getpid()))


def _copy_with_libs(binary, root):
    """binary and the shared libraries ldd lists for it, at the same paths
    under root (the image's own copies: other files than the host's)."""
    r = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, "ldd %s: %s" % (binary, short(r.stderr)))
    files = [binary] + [w for line in r.stdout.splitlines() for w in line.split()
                        if w.startswith("/")]
    for f in files:
        dest = root + f
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if not os.path.exists(dest):
            shutil.copy(os.path.realpath(f), dest)


def _rootfs_tar(binaries=()):
    d = tmpdir()
    root = os.path.join(d, "rootfs")
    os.makedirs(os.path.join(root, "bin"))
    shutil.copy(BUSYBOX, os.path.join(root, "bin", "busybox"))
    for a in APPLETS:
        os.symlink("busybox", os.path.join(root, "bin", a))
    os.makedirs(os.path.join(root, "etc"))
    for b in binaries:
        _copy_with_libs(b, root)
    tar = os.path.join(d, "rootfs.tar")
    with tarfile.open(tar, "w") as t:
        t.add(root, arcname=".")
    return tar


def _image(binaries=(), flavour=""):
    """The test image, imported once per run (tests run in parallel); with
    binaries (host paths, e.g. /usr/bin/openssl), a flavour of it holding
    copies of them and of their libraries."""
    if not shutil.which("podman") or not os.path.exists(RUNC) or \
            not os.path.exists(BUSYBOX):
        raise Skip("podman, runc and busybox-static are needed "
                   "(make deps-test installs them)")
    tag = _tag(flavour)
    lock = os.path.join(os.environ.get("LOUPE_TEST_TMP") or "/tmp",
                        "loupe-podman-image.lock")
    with open(lock, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        if _podman("image", "exists", tag).returncode != 0:
            info = _podman("info")
            if info.returncode != 0:
                raise Skip("podman cannot run here: %s" % short(info.stderr))
            r = _podman("import", _rootfs_tar(binaries), tag)
            check(r.returncode == 0, "podman import failed: %s" % short(r.stderr))
    if "LOUPE_RUN_ID" not in os.environ:
        on_cleanup(lambda: _podman("rmi", "-f", tag))
    return tag


def run_end():
    """Called by tests/run.py once the run is over: drop the run's image."""
    # the runner's pid is its LOUPE_RUN_ID: _tag() is the workers' tag
    if shutil.which("podman"):
        for flavour in ("", "tls"):
            _podman("rmi", "-f", _tag(flavour))


class Container:
    """A named podman container running a shell loop, removed at test end."""

    def __init__(self, image, script, annotations=(), extra=()):
        self.name = marker("lc")
        args = ["--runtime", RUNC, "run", "-d", "--name", self.name,
                "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
        for a in annotations:
            args += ["--annotation", a]
        args += list(extra)
        on_cleanup(lambda: _podman("rm", "-f", "-t", "0", self.name))
        r = _podman(*(args + [image, "/bin/sh", "-c", script]))
        check(r.returncode == 0, "podman run failed: %s" % short(r.stderr))
        self.id = r.stdout.strip().splitlines()[-1]
        check(len(self.id) == 64, "podman run printed no id: %r" % short(r.stdout))


def _opener(path):
    """A shell loop that opens path (which need not exist) every 0.2 s."""
    return "while true; do cat %s 2>/dev/null; sleep 0.2; done" % path


def _opens(lp, path):
    return [e for e in lp.events() if e.get("type") == "open" and e.get("path") == path]


def _check_container(ev, c, image, pod=None, namespace=None):
    got = ev.get("container")
    check(isinstance(got, dict), "no container object: %s" % short(ev))
    want = {"id": c.id, "name": c.name, "image": image, "runtime": "podman",
            "pod": pod, "namespace": namespace, "pod_uid": None}
    check(got == want, "container %r != %r" % (got, want))
    check(ev["container_id"] == c.id, "container_id %r != %r" % (ev["container_id"], c.id))
    check(ev["cgroup"].endswith("libpod-" + c.id),
          "cgroup %r is not the container's" % ev["cgroup"])


def test_container_events():
    image = _image()
    d = tmpdir()
    pa, pb, ph = (os.path.join("/", marker("m")) for _ in range(3))
    opens = Loupe("opensnoop", "-j")
    execs = Loupe("execsnoop", "-j")
    host = os.path.join(d, "host")
    opens.ready(lambda: spawn(["cat", host]).wait(5),
                lambda e: e.get("path") == host)
    execs.ready(lambda: spawn(["cat", host]).wait(5),
                lambda e: host in (e.get("args") or []))
    a = Container(image, _opener(pa), ["io.kubernetes.pod.name=shop-7d9",
                                       "io.kubernetes.pod.namespace=prod"])
    b = Container(image, _opener(pb))
    spawn(["cat", ph]).wait(5)
    ea = opens.expect_event(lambda e: e.get("path") == pa, "open of %s in A" % pa, 20)
    eb = opens.expect_event(lambda e: e.get("path") == pb, "open of %s in B" % pb, 20)
    eh = opens.expect_event(lambda e: e.get("path") == ph, "open of %s on the host" % ph)
    xa = execs.expect_event(lambda e: pa in (e.get("args") or []), "exec in A", 20)
    xb = execs.expect_event(lambda e: pb in (e.get("args") or []), "exec in B", 20)
    opens.stop()
    execs.stop()
    for ev, t in ((ea, "open"), (eb, "open"), (eh, "open"), (xa, "exec"), (xb, "exec")):
        check_common(ev, t)
    _check_container(ea, a, image, "shop-7d9", "prod")
    _check_container(xa, a, image, "shop-7d9", "prod")
    _check_container(eb, b, image)
    _check_container(xb, b, image)
    check(eh["container"] is None and eh["container_id"] is None,
          "a host process has a container: %s" % short(eh))
    # every event of either container names it, none names the other
    for ev in opens.events() + execs.events():
        if ev.get("container_id") in (a.id, b.id):
            check(ev["container"]["id"] == ev["container_id"],
                  "container %s in cgroup of %s" % (ev["container"], ev["container_id"]))


test_container_events.timeout = 120


def test_container_filter():
    image = _image()
    pa, pb = (os.path.join("/", marker("m")) for _ in range(2))
    a = Container(image, _opener(pa))
    b = Container(image, _opener(pb))
    every = Loupe("opensnoop", "-j")
    only_a = Loupe("opensnoop", "-j", "--container", a.name)
    by_id = Loupe("opensnoop", "-j", "--container", b.id[:12])
    only_a.expect_event(lambda e: e.get("path") == pa, "open in A, filtered", 20)
    by_id.expect_event(lambda e: e.get("path") == pb, "open in B, by id", 20)
    # B (and A) went on opening while the filtered runs were attached
    n0 = len(_opens(every, pb))
    check(poll_until(lambda: len(_opens(every, pb)) >= n0 + 3 and
                     len(_opens(every, pa)) >= 3, 20),
          "containers stopped opening %s" % every.describe())
    for lp in (every, only_a, by_id):
        lp.stop()
    for lp, c in ((only_a, a), (by_id, b)):
        evs = lp.events()
        check(evs, "no events %s" % lp.describe())
        others = [e for e in evs if e.get("container_id") != c.id]
        check(not others, "--container %s let through other tasks' events: %s"
              % (c.name, short(others)))
        check(lp.rc == 0, "exit status %s" % lp.rc)
    check(len(_opens(only_a, pa)) >= 2 and len(_opens(by_id, pb)) >= 2,
          "filtered runs missed their container's opens")


test_container_filter.timeout = 120


def test_container_column():
    image = _image()
    d = tmpdir()
    pa = os.path.join("/", marker("m"))
    host = os.path.join(d, "host")
    a = Container(image, _opener(pa))
    lp = Loupe("opensnoop", "--containers")
    hdr = lp.wait_header()
    check(hdr.split()[:3] == ["CONTAINER", "PID", "COMM"], "header %r" % hdr)
    row = lp.wait_line(lambda l: l.endswith(" " + pa), 20)
    check(row is not None, "no row for %s %s" % (pa, lp.describe()))
    check(row.split()[0] == a.name, "CONTAINER of %r is not %s" % (row, a.name))
    spawn(["cat", host]).wait(5)
    row = lp.wait_line(lambda l: l.endswith(" " + host), 10)
    check(row is not None and row.split()[0] == "-",
          "host row %r has a container" % row)
    lp.stop()


test_container_column.timeout = 90


def test_container_unknown():
    name = marker("nosuch")
    rc, _, err = run_quiet([LOUPE, "opensnoop", "--container", name])
    check(rc == 2, "exit status %s, want 2" % rc)
    err = err.strip()
    check(err.startswith("loupe: opensnoop: invalid --container '%s': " % name)
          and "podman ps" in err and len(err.splitlines()) == 1,
          "error: %r" % err)
    rc, _, err = run_quiet([LOUPE, "opensnoop", "--cgroup", cgroup2_root(),
                            "--container", name])
    check(rc == 2 and "either --cgroup or --container" in err,
          "--cgroup with --container: %s %r" % (rc, err))


def _listener():
    """A loopback TCP listener that accepts and closes until test end."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    srv.settimeout(0.2)
    done = threading.Event()

    def serve():
        while not done.is_set():
            try:
                srv.accept()[0].close()
            except OSError:
                pass
    t = threading.Thread(target=serve, daemon=True)
    t.start()

    def stop():
        done.set()
        t.join(2)
        srv.close()
    on_cleanup(stop)
    return srv.getsockname()[1]


def test_container_tcpconnect():
    image = _image()
    port = _listener()
    # the host's network: the container connects to the test's listener
    a = Container(image, "while true; do nc -w 1 127.0.0.1 %d </dev/null; "
                  "sleep 0.2; done" % port, extra=["--network", "host"])
    every = Loupe("tcpconnect", "-j")
    only_a = Loupe("tcpconnect", "-j", "--container", a.name)
    mine = lambda e: e.get("dport") == port
    ev = only_a.expect_event(mine, "connect from %s" % a.name, 20)
    check(ev["comm"] == "nc" and ev["daddr"] == "127.0.0.1",
          "connect event: %s" % short(ev))
    _check_container(ev, a, image)

    def host_connect():
        with socket.create_connection(("127.0.0.1", port), 5):
            pass
    every.ready(host_connect, lambda e: mine(e) and e["pid"] == os.getpid())
    # attached maybe after the connect only_a saw: wait for the next one
    every.expect_event(lambda e: mine(e) and e["container"] and
                       e["container"]["id"] == a.id,
                       "connect from %s in the unfiltered run" % a.name, 20)
    for lp in (every, only_a):
        lp.stop()
    host = [e for e in every.events() if mine(e) and e["pid"] == os.getpid()]
    check(host and all(e["container"] is None for e in host),
          "host connects have a container: %s" % short(host))
    others = [e for e in only_a.events() if e.get("container_id") != a.id]
    check(not others, "--container let other tasks through: %s" % short(others))


test_container_tcpconnect.timeout = 120


_PROBED = r"""
#include <unistd.h>
__attribute__((noinline)) int loupe_probed(int x)
{
	__asm__ volatile("" : : : "memory");	/* not elided */
	return x + 1;
}
int main(void)
{
	for (int i = 0; i < 600; i++) {
		loupe_probed(%d);
		usleep(100000);
	}
	return 0;
}
"""


def _static_probed(d, value):
    """A static program calling loupe_probed(value) every 0.1 s."""
    src = os.path.join(d, "probed.c")
    with open(src, "w") as f:
        f.write(_PROBED % value)
    r = subprocess.run(["gcc", "-static", "-O0", "-o",
                        os.path.join(d, "probed"), src],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise Skip("cannot build a static program: %s" % short(r.stderr))


def test_trace_container_filter_and_uprobe_path():
    """loupe trace --container A: a tracepoint fires only for A's tasks
    (not B's, not the host's), and uprobe:/opt/t/probed resolves inside
    A's root (there is no /opt/t/probed on the host)."""
    image = _image()
    d = tmpdir()
    _static_probed(d, 4242)
    mnt = "/opt/" + marker("t")
    check(not os.path.exists(mnt), "%s exists on the host" % mnt)
    pa, pb, ph = (os.path.join("/", marker("m")) for _ in range(3))
    a = Container(image, "%s/probed & %s" % (mnt, _opener(pa)),
                  extra=["-v", "%s:%s:ro" % (d, mnt)])
    b = Container(image, _opener(pb))
    host = spawn(["sh", "-c", _opener(ph)])
    prog = ('t:syscalls:sys_enter_openat { printf("open %s\\n", '
            'str(args->filename)); }')
    rc, out, err = run_quiet([LOUPE, "trace", "--container", a.name, "-d",
                              "2", "-e", prog], timeout=30)
    check(rc == 0 and err == "", "exit %s: %s" % (rc, short(err)))
    opens = set(x[5:] for x in out.splitlines() if x.startswith("open "))
    check(pa in opens, "no open of %s from A in %s" % (pa, short(out, 600)))
    check(not opens & {pb, ph}, "--container let other tasks through: %s"
          % short(out, 600))
    prog = ('uprobe:%s/probed:loupe_probed { printf("arg %%d in %%s\\n", '
            'arg0, comm); exit(); }' % mnt)
    rc, out, err = run_quiet([LOUPE, "trace", "--container", a.id[:12], "-e",
                              prog], timeout=30)
    check(rc == 0 and err == "", "exit %s: %s" % (rc, short(err)))
    check(out == "Attaching 1 probe...\narg 4242 in probed\n\n\n",
          "got %r" % out)
    host.kill()


test_trace_container_filter_and_uprobe_path.timeout = 90


# kill(2) of a pid that cannot exist fails with ESRCH: a syscall error
# nothing else in a container (runc's set-up included) makes.
def _kills(n):
    return ("i=0; while [ $i -lt %d ]; do kill -0 2147483000 2>/dev/null; "
            "i=$((i+1)); done; sleep 1000" % n)


def _series(text, family, **labels):
    """The value of family's series with exactly these labels, or None."""
    want = "%s{%s}" % (family, ",".join('%s="%s"' % kv for kv in labels.items()))
    got = [l.rsplit(" ", 1)[1] for l in text.splitlines()
           if l.startswith(want + " ")]
    return float(got[0]) if got else None


def test_agent_by_container():
    """loupe agent --by-container: each container's failed kill() calls
    in its own series, by name, with its pod and namespace; host tasks in
    the series with empty labels (every host cgroup added up); with
    --by-cgroup as well, the cgroup label first and the rest the same."""
    from test_agent_builtin import _agent, _scrape
    image = _image()
    port, err = _agent("--metrics", "syscalls", "--by-container")
    port2, err2 = _agent("--metrics", "syscalls", "--by-container",
                         "--by-cgroup")
    # the series cap counts label sets: host and two containers, two kept
    port3, _ = _agent("--metrics", "execs", "--by-container",
                      "--max-series", "2")
    a = Container(image, _kills(7), ["io.kubernetes.pod.name=shop-7d9",
                                     "io.kubernetes.pod.namespace=prod"])
    b = Container(image, _kills(11))
    cg = Cgroup()
    host = spawn(["sh", "-c", _kills(5).replace("sleep 1000", "exit 0")],
                 preexec_fn=lambda: cg.add(os.getpid()))
    check(host.wait(10) == 0, "the host's kill loop failed")
    fam = "loupe_syscall_errors_total"
    esrch = dict(syscall="kill", errno="ESRCH")
    want = {a.name: (7, "shop-7d9", "prod"), b.name: (11, "", "")}

    def by_container(text):
        return {n: _series(text, fam, container=n, pod=p, namespace=ns,
                           **esrch) for n, (_, p, ns) in want.items()}
    done = lambda: all(v == want[n][0] for n, v in
                       by_container(_scrape(port)).items())
    check(poll_until(done, 20), "per-container series: %s, want %s" % (
        by_container(_scrape(port)), want))
    text = _scrape(port)
    hosts = _series(text, fam, container="", pod="", namespace="", **esrch)
    check(hosts is not None and hosts >= 5,
          "the host's kills: %s" % [l for l in text.splitlines()
                                    if l.startswith(fam + '{container=""')])
    # a container is its name throughout (never its id), with its pod
    for c in (a, b):
        bad = [l for l in text.splitlines() if c.id[:12] in l or (
            ('container="%s"' % c.name) in l and
            ('pod="%s"' % want[c.name][1]) not in l)]
        check(not bad, "series of %s: %s" % (c.name, bad))
    # with --by-cgroup too: the same counts, each under its cgroup
    text = _scrape(port2)
    for c in (a, b):
        n, p, ns = want[c.name]
        rel = "/libpod_parent/libpod-" + c.id
        got = _series(text, fam, cgroup=rel, container=c.name, pod=p,
                      namespace=ns, **esrch)
        check(got == n, "%s in its cgroup: %s, want %d (%s)" % (
            c.name, got, n, [l for l in text.splitlines() if c.name in l]))
    got = _series(text, fam, cgroup=cg.rel, container="", pod="",
                  namespace="", **esrch)
    check(got == 5, "the host's cgroup %s: %s, want 5" % (cg.rel, got))
    text = _scrape(port3)
    execs = [l for l in text.splitlines()
             if l.startswith("loupe_execs_total{")]
    dropped = _series(text, "loupe_agent_series_dropped_total",
                      metric="loupe_execs_total")
    check(len(execs) == 2 and dropped and dropped >= 1,
          "--max-series 2: %s, dropped %s" % (execs, dropped))


test_agent_by_container.timeout = 120


def test_container_filter_by_pod():
    """--container NAMESPACE/POD: the pod's container (a podman container
    with Kubernetes' annotations has no pod cgroup: one container per pod
    here), in the kernel; a pod of two such containers is refused."""
    image = _image()
    pa, pb = (os.path.join("/", marker("m")) for _ in range(2))
    pod = marker("web")
    a = Container(image, _opener(pa), ["io.kubernetes.pod.name=" + pod,
                                       "io.kubernetes.pod.namespace=shop"])
    b = Container(image, _opener(pb))
    lp = Loupe("opensnoop", "-j", "--container", "shop/" + pod)
    lp.expect_event(lambda e: e.get("path") == pa, "open in shop/" + pod, 20)
    every = Loupe("opensnoop", "-j")
    every.expect_event(lambda e: e.get("path") == pb, "open in B", 20)
    every.stop()
    lp.stop()
    others = [e for e in lp.events() if e.get("container_id") != a.id]
    check(not others, "--container shop/%s let through: %s" % (pod, short(others)))
    rc, _, err = run_quiet([LOUPE, "opensnoop", "--container", "shop/nosuch"])
    check(rc == 2 and "no running container" in err, "%s %r" % (rc, err))
    Container(image, "sleep 1000", ["io.kubernetes.pod.name=" + pod,
                                    "io.kubernetes.pod.namespace=shop"])
    rc, _, err = run_quiet([LOUPE, "opensnoop", "--container", "shop/" + pod])
    check(rc == 2 and "several containers" in err and
          len(err.strip().splitlines()) == 1, "%s %r" % (rc, err))


test_container_filter_by_pod.timeout = 120


def test_container_top_rows():
    """--containers in top tools: filetop's rows (a file a container and
    a host process each write), syscount -P's and tcptop's (a container's
    connection) name their container; JSON rows carry the container
    object."""
    image = _image()
    name = marker("ft")
    a = Container(image, "while true; do echo x > /%s; cat /%s; "
                  "sleep 0.2; done" % (name, name))
    table = Loupe("filetop", "-C", "-i", "0.5", "-r", "10240", "--containers")
    rows = Loupe("filetop", "-j", "-i", "0.5", "-r", "10240")
    row = table.wait_line(lambda l: l.endswith(" " + name), 20)
    check(row is not None, "no filetop row for %s %s" % (name, table.describe()))
    check(row.split()[0] == a.name, "CONTAINER of %r is not %s" % (row, a.name))
    host = os.path.join(tmpdir(), name)
    with open(host, "w") as f:
        f.write("x")
    row = table.wait_line(lambda l: l.endswith(" " + name) and
                          l.split()[0] == "-", 10)
    check(row is not None, "no host row for %s %s" % (name, table.describe()))
    check(any(l.split()[:2] == ["CONTAINER", "TID"] for l in table.lines()),
          "header: %s" % short(table.lines()))
    ev = rows.expect_event(lambda e: e.get("file") == name and
                           e.get("container"), "JSON row of " + a.name, 20)
    check(ev["container"]["id"] == a.id and ev["container"]["name"] == a.name,
          "container %s" % short(ev["container"]))
    # syscount -P: a row per process, the container's among them
    sc = Loupe("syscount", "-P", "-j", "-i", "0.5", "-r", "10000",
               "--containers")
    ev = sc.expect_event(lambda e: (e.get("container") or {}).get("id") ==
                         a.id, "syscount -P row of " + a.name, 20)
    check(ev["container"]["name"] == a.name and ev["count"] > 0,
          "syscount row %s" % short(ev))
    for lp in (table, rows, sc):
        lp.stop()
    rc, _, err = run_quiet([LOUPE, "syscount", "--containers", "-d", "1"])
    check(rc == 2 and "--containers needs -P" in err, "%s %r" % (rc, err))

    # tcptop: the container's connection to a reader on the host
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(0.2)
    port = srv.getsockname()[1]
    done = threading.Event()

    def drain():
        while not done.is_set():
            try:
                c = srv.accept()[0]
            except OSError:
                continue
            c.settimeout(2)
            try:
                while c.recv(65536):
                    pass
            except OSError:
                pass
            c.close()
    t = threading.Thread(target=drain, daemon=True)
    t.start()
    on_cleanup(lambda: (done.set(), t.join(3), srv.close()))
    b = Container(image, "while true; do nc -w 1 127.0.0.1 %d < /bin/busybox; "
                  "sleep 0.2; done" % port, extra=["--network", "host"])
    top = Loupe("tcptop", "-j", "-i", "0.5", "--containers")
    ev = top.expect_event(lambda e: e.get("rport") == port and
                          e.get("tx_bytes", 0) > 0, "tcptop row of nc", 20)
    top.stop()
    check(ev["container"] and ev["container"]["id"] == b.id and
          ev["container"]["name"] == b.name, "tcptop row %s" % short(ev))


test_container_top_rows.timeout = 120


def test_overview_by_container():
    """loupe --containers: the event tables have a CONTAINER column and
    the report ends with each section's events by container; -j: the same
    in by_container (container null for the host)."""
    image = _image()
    missing = os.path.join("/", marker("m"))
    a = Container(image, _opener(missing))
    rc, out, err = run_quiet([LOUPE, "-d", "3", "--containers"], timeout=60)
    check(rc == 0, "loupe --containers: %s %s" % (rc, short(err)))
    lines = out.splitlines()
    i = lines.index("== New processes (execsnoop) ==")
    check(lines[i + 1].split()[:2] == ["CONTAINER", "PCOMM"],
          "execsnoop header %r" % lines[i + 1])
    i = lines.index("== Events by container ==")
    hdr = lines[i + 1].split()
    check(hdr[:3] == ["CONTAINER", "EVENTS", "execsnoop"] and
          "opensnoop" in hdr, "by-container header %r" % lines[i + 1])
    rows = {l.split()[0]: dict(zip(hdr[1:], map(int, l.split()[1:])))
            for l in lines[i + 2:] if l and not l.startswith("...")}
    got = rows.get(a.name)
    check(got and got["execsnoop"] >= 3 and got["opensnoop"] >= 3 and
          got["EVENTS"] == sum(v for k, v in got.items() if k != "EVENTS"),
          "row of %s: %s (%s)" % (a.name, got, short(lines[i:])))
    check("-" in rows, "no host row: %s" % short(lines[i:]))

    rc, out, err = run_quiet([LOUPE, "-d", "3", "--containers", "-j"],
                             timeout=60)
    check(rc == 0, "loupe --containers -j: %s %s" % (rc, short(err)))
    import json
    doc = json.loads(out)
    by = {r["container"]: r for r in doc["by_container"]}
    check(a.name in by and by[a.name]["by_tool"]["execsnoop"] >= 3,
          "by_container of %s: %s" % (a.name, short(by.get(a.name))))
    check(None in by, "no host entry: %s" % short(doc["by_container"]))
    rc, out, _ = run_quiet([LOUPE, "-d", "1", "-j"], timeout=60)
    check(rc == 0 and "by_container" not in json.loads(out),
          "by_container without --containers")


test_overview_by_container.timeout = 150
