"""Runtime tests of the net2 tools: tcpretrans, tcprtt, tcptop, bindsnoop,
solisten. Each test makes its own sockets (loopback, or a network namespace
pair joined by a veth link) and asserts the exact ports and addresses."""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid

from common import (Loupe, Skip, check, check_common, fail, marker,
                    on_cleanup, run_quiet, short, spawn, unique_comm)


# ---------------------------------------------------------------- helpers

def _ip(*args, check_rc=True):
    rc, out, err = run_quiet(["ip"] + list(args), timeout=10)
    if check_rc and rc != 0:
        fail("ip %s failed: %s" % (" ".join(args), err.strip()))
    return rc, out, err


def _netns_pair():
    """Two namespaces joined by a veth pair: A = 10.77.0.1 / fd77::1 and
    B = 10.77.0.2 / fd77::2. Removed at cleanup (which drops the link)."""
    if not shutil.which("ip"):
        raise Skip("iproute2 'ip' not available")
    tag = uuid.uuid4().hex[:8]
    ns = ("loupe-a-" + tag, "loupe-b-" + tag)
    dev = ("ln2a" + tag, "ln2b" + tag)
    for n in ns:
        rc, _, err = _ip("netns", "add", n, check_rc=False)
        if rc != 0:
            raise Skip("cannot create a network namespace: %s" % err.strip())
        on_cleanup(lambda n=n: run_quiet(["ip", "netns", "del", n]))
    _ip("link", "add", dev[0], "netns", ns[0], "type", "veth",
        "peer", "name", dev[1], "netns", ns[1])
    for i in (0, 1):
        _ip("-n", ns[i], "link", "set", "lo", "up")
        _ip("-n", ns[i], "addr", "add", "10.77.0.%d/24" % (i + 1), "dev", dev[i])
        _ip("-n", ns[i], "addr", "add", "fd77::%d/64" % (i + 1), "dev", dev[i],
            "nodad")
        _ip("-n", ns[i], "link", "set", dev[i], "up")
    return ns, dev


SERVER_PY = r"""
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 0))
s.listen(4)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
while c.recv(65536):
    pass
"""

CLIENT_PY = r"""
import socket, sys, time
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
c = socket.create_connection((sys.argv[1], int(sys.argv[2])))
print(c.getsockname()[1], flush=True)
end = time.monotonic() + float(sys.argv[3])
buf = b"x" * 16384
while time.monotonic() < end:
    c.sendall(buf)
    time.sleep(0.002)
c.close()
"""


def _read_int_line(p, what, timeout=5):
    import select
    r, _, _ = select.select([p.stdout], [], [], timeout)
    if not r:
        fail("%s printed nothing within %ss" % (what, timeout))
    line = p.stdout.readline().strip()
    try:
        return int(line)
    except ValueError:
        fail("%s printed %r, not a port" % (what, line))


def _impair(ns, dev):
    """Make packets leaving A's veth get lost; returns (how, restore_fn).
    netem first (as BCC's docs suggest), then iptables, then a link flap
    (B's address removed for a moment: B drops A's packets)."""
    rc, _, err = run_quiet(["ip", "netns", "exec", ns[0], "tc", "qdisc", "add",
                            "dev", dev[0], "root", "netem", "loss", "30%"])
    if rc == 0:
        return "netem", lambda: None
    for ipt in ("iptables", "ip6tables"):
        if not shutil.which(ipt):
            break
    else:
        ok = True
        for ipt in ("iptables", "ip6tables"):
            rc, _, _ = run_quiet(["ip", "netns", "exec", ns[1], ipt, "-A", "INPUT",
                                  "-m", "statistic", "--mode", "random",
                                  "--probability", "0.3", "-j", "DROP"])
            ok = ok and rc == 0
        if ok:
            return "iptables", lambda: None

    def flap():
        # Without B's address, B's IP layer drops what A sends, after A's
        # transmit succeeded: real losses that only a retransmit repairs.
        # (Downing the link instead fails A's transmit, which TCP resends
        # as new data, not as a retransmit.)
        for a in ("10.77.0.2/24", "fd77::2/64"):
            _ip("-n", ns[1], "addr", "del", a, "dev", dev[1])
        time.sleep(0.7)
        _ip("-n", ns[1], "addr", "add", "10.77.0.2/24", "dev", dev[1])
        _ip("-n", ns[1], "addr", "add", "fd77::2/64", "dev", dev[1], "nodad")
    return "address flap", flap


# ---------------------------------------------------------------- tcpretrans

def _retrans_case(family):
    ns, dev = _netns_pair()
    srv_addr = "10.77.0.2" if family == 4 else "fd77::2"
    cli_addr = "10.77.0.1" if family == 4 else "fd77::1"
    lp = Loupe("tcpretrans", "-j", "-%d" % family)
    lp.wait_attached()
    srv = spawn(["ip", "netns", "exec", ns[1], sys.executable, "-c", SERVER_PY,
                 srv_addr], stdout=subprocess.PIPE, text=True)
    sport = _read_int_line(srv, "server")
    how, during = _impair(ns, dev)
    cli = spawn(["ip", "netns", "exec", ns[0], sys.executable, "-c", CLIENT_PY,
                 srv_addr, str(sport), "2.5"], stdout=subprocess.PIPE, text=True)
    cport = _read_int_line(cli, "client")
    time.sleep(0.3)
    during()

    def ours(e):
        return (e.get("type") == "retransmit" and e.get("lport") == cport
                and e.get("rport") == sport)
    ev = lp.expect_event(ours, "retransmit of %s:%d -> %s:%d (loss by %s)" %
                         (cli_addr, cport, srv_addr, sport, how), timeout=8)
    lp.stop()
    check_common(ev, "retransmit")
    check(ev["laddr"] == cli_addr and ev["raddr"] == srv_addr,
          "addresses %s -> %s != %s -> %s" % (ev["laddr"], ev["raddr"],
                                              cli_addr, srv_addr))
    check(ev["ip"] == family, "ip %s != %d" % (ev["ip"], family))
    check(ev["state"] == "ESTABLISHED", "state %r != ESTABLISHED" % ev["state"])
    check(ev["kind"] == "retrans", "kind %r" % ev["kind"])
    wrong = [e for e in lp.events() if e.get("type") == "retransmit"
             and e.get("ip") != family]
    check(not wrong, "-%d let other families through: %s" % (family, short(wrong)))


def test_tcpretrans_ipv4():
    _retrans_case(4)


def test_tcpretrans_ipv6():
    _retrans_case(6)
