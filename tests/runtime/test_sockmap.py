"""Runtime tests of loupe sockmap (issue 17): a ping-pong TCP program of
the test's own over loopback inside a cgroup v2 the test makes; data
intact (SHA-256 of 100 MB), connections outside the cgroup untouched,
loupe's exit in the middle of a transfer safe."""
import json
import os
import signal
import subprocess
import sys
import time
import uuid

from common import (LOUPE, Skip, check, cgroup2_root, on_cleanup,
                    poll_until, remove_cgroup_tree, run_quiet, spawn)

# Sends TOTAL bytes to its own server over loopback and checks the
# server's SHA-256 of what it got against its own; prints "ok BYTES".
# With a PAUSE file, waits for it to vanish halfway through.
TRANSFER_PY = r"""
import hashlib, os, socket, sys, threading, time
total = int(sys.argv[1])
pause = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] != "-" else None
# 4: IPv4 both ends; 6: IPv6 over ::1; mapped: an IPv6 dual-stack server,
# an IPv4 client (the accepted socket talks IPv4 as ::ffff:127.0.0.1)
mode = sys.argv[3] if len(sys.argv) > 3 else "4"
if mode == "4":
    s = socket.socket(); s.bind(("127.0.0.1", 0)); dst = "127.0.0.1"
elif mode == "6":
    s = socket.socket(socket.AF_INET6); s.bind(("::1", 0)); dst = "::1"
else:
    s = socket.socket(socket.AF_INET6)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", 0)); dst = "127.0.0.1"
s.listen(1)
res = {}
def serve():
    c, _ = s.accept(); h = hashlib.sha256(); n = 0
    while n < total:
        d = c.recv(1 << 20)
        if not d:
            break
        h.update(d); n += len(d)
    c.sendall(h.hexdigest().encode()); c.close()
t = threading.Thread(target=serve); t.start()
c = socket.create_connection((dst, s.getsockname()[1]), timeout=30)
h = hashlib.sha256(); blk = bytes(range(256)) * 4096; sent = 0
while sent < total:
    b = blk[:min(len(blk), total - sent)]
    c.sendall(b); h.update(b); sent += len(b)
    if pause and sent >= total // 2:
        open(pause + ".half", "w").close()
        end = time.monotonic() + 20
        while os.path.exists(pause) and time.monotonic() < end:
            time.sleep(0.02)
        pause = None
got = c.recv(100).decode()
t.join()
print("ok" if got == h.hexdigest() else "BAD", sent, flush=True)
"""


def _cgroup():
    root = cgroup2_root()
    if not root:
        raise Skip("no cgroup v2 hierarchy")
    path = os.path.join(root, "net17-" + uuid.uuid4().hex[:8])
    os.mkdir(path)
    on_cleanup(lambda: remove_cgroup_tree(path, root))
    return path


def _in_cgroup(cg, argv, **kw):
    """argv run inside cgroup cg (it joins before exec)."""
    return spawn(["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', cg]
                 + argv, **kw)


def _transfer(cg, total, pause=None, mode="4"):
    argv = [sys.executable, "-c", TRANSFER_PY, str(total), pause or "-",
            mode]
    p = _in_cgroup(cg, argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE) \
        if cg else spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p


def _done(p, timeout=60):
    out, err = p.communicate(timeout=timeout)
    check(p.returncode == 0, "transfer: rc %s, %s" % (p.returncode, err))
    return out.decode().split()


def _loupe(cg):
    p = spawn([LOUPE, "sockmap", "--cgroup", cg, "-j"],
              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Attached once the cgroup shows a sock_ops program.
    def attached():
        rc, out, _ = run_quiet(["bpftool", "cgroup", "show", cg])
        return "sock_ops" in out or p.poll() is not None
    check(poll_until(attached, 10) and p.poll() is None,
          "loupe sockmap did not attach")
    return p


def _stop(p):
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=15)
    check(p.returncode == 0, "loupe sockmap: rc %s, %s" % (p.returncode, err))
    rows = [json.loads(l) for l in out.decode().splitlines()]
    check(len(rows) == 1, "rows: %r" % rows)
    return rows[0]


def test_sockmap_redirects_inside_the_cgroup_only():
    cg = _cgroup()
    p = _loupe(cg)
    total = 100 * 1000 * 1000
    inside = _transfer(cg, total)
    outside = _transfer(None, 10 * 1000 * 1000)
    check(_done(inside, 90) == ["ok", str(total)], "data changed inside")
    check(_done(outside) == ["ok", str(10 * 1000 * 1000)],
          "data changed outside")
    r = _stop(p)
    # 100 MB one way and the 64-byte digest back, all redirected; the
    # connection outside the cgroup never met the programs.
    check(r["redirected_bytes"] == total + 64 and r["passed_msgs"] == 0,
          "counters: %r" % r)
    rc, out, _ = run_quiet(["bpftool", "cgroup", "show", cg])
    check("sock_ops" not in out, "sock_ops left on the cgroup: %r" % out)


test_sockmap_redirects_inside_the_cgroup_only.timeout = 120


def test_sockmap_exit_mid_connection_is_safe():
    cg = _cgroup()
    p = _loupe(cg)
    pause = os.path.join("/tmp", "net17-pause-" + uuid.uuid4().hex[:8])
    open(pause, "w").close()
    on_cleanup(lambda: [os.path.exists(f) and os.unlink(f)
                        for f in (pause, pause + ".half")])
    total = 40 * 1000 * 1000
    t = _transfer(cg, total, pause)
    check(poll_until(lambda: os.path.exists(pause + ".half"), 30),
          "the transfer did not reach its middle")
    r = _stop(p)
    check(r["redirected_bytes"] >= total // 2, "counters: %r" % r)
    os.unlink(pause)
    check(_done(t, 60) == ["ok", str(total)],
          "data changed across loupe's exit")


test_sockmap_exit_mid_connection_is_safe.timeout = 120


def test_sockmap_ipv6_and_v4_mapped():
    """IPv6 over ::1, and an IPv4 client of a dual-stack IPv6 server (its
    accepted socket is AF_INET6 with ::ffff:127.0.0.1): every byte both
    ways redirected, data intact."""
    cg = _cgroup()
    total = 20 * 1000 * 1000
    for mode in ("6", "mapped"):
        p = _loupe(cg)
        t = _transfer(cg, total, mode=mode)
        check(_done(t, 60) == ["ok", str(total)], "%s: data changed" % mode)
        r = _stop(p)
        check(r["redirected_bytes"] == total + 64 and r["passed_msgs"] == 0,
              "%s: counters %r" % (mode, r))


test_sockmap_ipv6_and_v4_mapped.timeout = 120
