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

from common import (LOUPE as LOUPE_BIN, Loupe, Skip, check, check_common, fail, marker,
                    on_cleanup, poll_until, run_quiet, short, spawn, unique_comm)


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
# with 30 % loss a retransmit can back off for seconds: a send never waits
# past the end (what is queued then is still sent after close)
try:
    while time.monotonic() < end:
        c.settimeout(max(0.01, end - time.monotonic()))
        c.sendall(buf)
        time.sleep(0.002)
except socket.timeout:
    pass
c.close()
"""

# A connect to a closed port: refused, after both sides resolved each other.
NEIGHBOUR_PY = r"""
import socket, sys
try:
    socket.create_connection((sys.argv[1], 9), timeout=3)
except ConnectionRefusedError:
    pass
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
        # as new data, not as a retransmit.) Nothing reaches B, so B sends
        # no ACK: every retransmit in between comes from A's timers.
        # Returns that window (Unix ns).
        for a in ("10.77.0.2/24", "fd77::2/64"):
            _ip("-n", ns[1], "addr", "del", a, "dev", dev[1])
        t_cut = time.time_ns()
        time.sleep(0.7)
        t_back = time.time_ns()
        _ip("-n", ns[1], "addr", "add", "10.77.0.2/24", "dev", dev[1])
        _ip("-n", ns[1], "addr", "add", "fd77::2/64", "dev", dev[1], "nodad")
        return t_cut, t_back
    return "address flap", flap


# ---------------------------------------------------------------- tcpretrans

RETRANS_HEADER = ["TIME", "PID", "COMM", "IP", "LADDR:LPORT", "T>", "RADDR:RPORT",
                  "STATE"]


def _retrans_case(family):
    ns, dev = _netns_pair()
    srv_addr = "10.77.0.2" if family == 4 else "fd77::2"
    cli_addr = "10.77.0.1" if family == 4 else "fd77::1"
    lp = Loupe("tcpretrans", "-j", "-%d" % family)
    table = Loupe("tcpretrans", "-%d" % family)
    lp.wait_attached()
    table.wait_attached(settle=0)
    srv = spawn(["ip", "netns", "exec", ns[1], sys.executable, "-c", SERVER_PY,
                 srv_addr], stdout=subprocess.PIPE, text=True)
    sport = _read_int_line(srv, "server")
    # neighbours resolved before the loss: 30 % loss can defeat IPv6
    # neighbour discovery (and ARP), and the connect then fails outright
    rc, _, err = run_quiet(["ip", "netns", "exec", ns[0], sys.executable, "-c",
                            NEIGHBOUR_PY, srv_addr], timeout=10)
    check(rc == 0, "reaching %s before the loss: %s" % (srv_addr, short(err)))
    how, during = _impair(ns, dev)
    cli = spawn(["ip", "netns", "exec", ns[0], sys.executable, "-c", CLIENT_PY,
                 srv_addr, str(sport), "2.5"], stdout=subprocess.PIPE, text=True)
    # the loss is on from the start: a SYN lost three times in a row
    # (2.7 %) is resent after 1 + 2 + 4 s
    cport = _read_int_line(cli, "client", timeout=20)
    time.sleep(0.3)
    window = during()

    def ours(e):
        return (e.get("type") == "retransmit" and e.get("lport") == cport
                and e.get("rport") == sport)
    # a lost SYN is retransmitted too (state SYN_SENT, legitimately):
    # the data's retransmits are the ones asserted on
    ev = lp.expect_event(lambda e: ours(e) and e.get("state") == "ESTABLISHED",
                         "retransmit of %s:%d -> %s:%d (loss by %s)" %
                         (cli_addr, cport, srv_addr, sport, how), timeout=8)
    # All of the connection's retransmits: until the client is gone.
    try:
        cli.wait(timeout=10)
    except subprocess.TimeoutExpired:
        fail("the client did not finish its 2.5 s of sending")
    # the closed socket's queue then goes out without loss, so both
    # instances see the same retransmits before they stop
    if how == "netem":
        run_quiet(["ip", "netns", "exec", ns[0], "tc", "qdisc", "del",
                   "dev", dev[0], "root"])
    elif how == "iptables":
        for ipt in ("iptables", "ip6tables"):
            run_quiet(["ip", "netns", "exec", ns[1], ipt, "-F", "INPUT"])
    # once the server has read to the end, nothing of the connection is
    # left to retransmit: both instances have seen the same retransmits
    try:
        srv.wait(timeout=20)
    except subprocess.TimeoutExpired:
        fail("the server did not read the client's data to its end in 20 s")
    time.sleep(0.3)
    lp.stop()
    table.stop()
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

    # Whose retransmits: a softirq's (the retransmit timer, ACKs) name no
    # task; the rest ran in the client's own context (timer work or ACKs
    # deferred until it released the socket). Never an unrelated task.
    mine = [e for e in lp.events() if ours(e)]
    soft = [e for e in mine if e.get("context") == "softirq"]
    task = [e for e in mine if e.get("context") == "task"]
    odd = [e for e in mine if e.get("context") not in ("softirq", "task")]
    check(not odd, "retransmits without a context: %s" % short(odd, 600))
    for e in soft:
        check_common(e, "retransmit")
    others = [(e["pid"], e["comm"]) for e in task if e["pid"] != cli.pid]
    check(not others, "retransmits attributed to tasks other than the client %d: %s"
          % (cli.pid, others))
    check(soft, "no retransmit in softirq context among %d: %s" % (len(mine),
                                                                  short(mine, 600)))
    if window:
        t_cut, t_back = window
        # 50 ms for a segment or ACK already under way when B lost its address.
        timer = [e for e in mine if t_cut + 50 * 10**6 <= e["ts_ns"] <= t_back]
        check(any(e["context"] == "softirq" for e in timer),
              "no timer-driven retransmit in softirq context while B had no address "
              "(%d retransmits then: %s)" % (len(timer), short(timer, 600)))

    # The table says the same: "-" and [softirq], or the client.
    hdr, rows = table.lines()[0], table.lines()[1:]
    check(hdr.split() == RETRANS_HEADER, "table header %r" % hdr)
    pair = "%s:%d" % (cli_addr, cport)
    cells = [r.split() for r in rows if len(r.split()) == 8 and r.split()[4] == pair]
    bad = [c for c in cells if (c[1], c[2]) != ("-", "[softirq]") and
           (c[1], c[2]) != (str(cli.pid), "python3")]
    check(not bad, "table rows with another task: %s" % bad)
    n_soft = sum(1 for c in cells if c[1] == "-")
    check((n_soft, len(cells) - n_soft) == (len(soft), len(task)),
          "table rows softirq/task %d/%d != JSON events %d/%d" %
          (n_soft, len(cells) - n_soft, len(soft), len(task)))


def test_tcpretrans_ipv4():
    _retrans_case(4)


test_tcpretrans_ipv4.timeout = 60


def test_tcpretrans_ipv6():
    _retrans_case(6)


test_tcpretrans_ipv6.timeout = 60


def test_tcpretrans_refuses_task_filters():
    # Most retransmits run in a softirq on behalf of no task; a task filter
    # would drop them silently, so tcpretrans does not take one.
    for flag, arg, name in (("-p", "1", "--pid"), ("-n", "python3", "--name"),
                            ("--cgroup", "/", "--cgroup")):
        rc, out, err = run_quiet([LOUPE_BIN, "tcpretrans", flag, arg, "-d", "1"])
        check(rc == 2 and out == "" and
              "flag %s does not apply to tcpretrans" % name in err,
              "tcpretrans %s %s: exit status %s, stdout %r, stderr %r" %
              (flag, arg, rc, short(out), short(err)))


# ---------------------------------------------------------------- loopback

class LoopbackPair:
    """A listening socket on loopback and, after connect(), one connected
    pair (client, accepted server side) in this process."""

    def __init__(self, family=4):
        self.fam = socket.AF_INET if family == 4 else socket.AF_INET6
        self.host = "127.0.0.1" if family == 4 else "::1"
        self.ls = socket.socket(self.fam, socket.SOCK_STREAM)
        on_cleanup(self.ls.close)
        self.ls.bind((self.host, 0))
        self.ls.listen(4)
        self.port = self.ls.getsockname()[1]

    def connect(self):
        self.cli = socket.create_connection((self.host, self.port), timeout=5)
        on_cleanup(self.cli.close)
        self.srv, _ = self.ls.accept()
        on_cleanup(self.srv.close)
        self.cport = self.cli.getsockname()[1]
        return self

    def transfer(self, nbytes, chunk=8192, to_server=True):
        """Send exactly nbytes one way and read them all on the other end."""
        tx, rx = (self.cli, self.srv) if to_server else (self.srv, self.cli)
        got = 0
        sent = 0
        rx.settimeout(5)
        while sent < nbytes:
            n = tx.send(b"y" * min(chunk, nbytes - sent))
            sent += n
            while got < sent:
                got += len(rx.recv(1 << 20))
        return got


def _hists(lp):
    return [e for e in lp.events() if e.get("type") == "hist"]


def _hist_total(h):
    return sum(b["count"] for b in h["buckets"])


# ---------------------------------------------------------------- tcprtt

def test_tcprtt_port_filter():
    pair = LoopbackPair(4)
    other = LoopbackPair(4)
    lp = Loupe("tcprtt", "-j", "-l", str(pair.port))
    lp2 = Loupe("tcprtt", "-j", "-l", str(other.port))
    lp.wait_attached(settle=0.2)
    lp2.wait_attached(settle=0.5)
    pair.connect().transfer(256 * 1024)
    lp.stop()
    lp2.stop()
    check(lp.rc == 0, "exit status %s %s" % (lp.rc, lp.describe()))
    hs = _hists(lp)
    check(len(hs) == 1, "want one histogram at exit, got %d %s" % (len(hs), lp.describe()))
    h = hs[0]
    check(h["unit"] == "usecs" and h["scale"] == "log2", "unit/scale %r/%r" %
          (h["unit"], h["scale"]))
    check(_hist_total(h) > 0, "empty histogram for port %d: %s" % (pair.port, short(h)))
    # Nothing happened on the other port: its filter let nothing through.
    check(not _hists(lp2), "port %d filter counted foreign segments: %s" %
          (other.port, short(_hists(lp2))))


def test_tcprtt_port_list_and_address_filter():
    """tcprtt filters with the TCP tools' vocabulary (netsock_filter): a
    port list, and an address that rules out every segment of the pair."""
    pair = LoopbackPair(4)
    other = LoopbackPair(4)
    ports = "%d,%d" % (other.port, pair.port)
    lp = Loupe("tcprtt", "-j", "-l", ports, "-A", "127.0.0.1", "-4")
    lp2 = Loupe("tcprtt", "-j", "-l", ports, "-A", "127.0.0.2")
    lp.wait_attached(settle=0.2)
    lp2.wait_attached(settle=0.5)
    pair.connect().transfer(256 * 1024)
    lp.stop()
    lp2.stop()
    check(lp.rc == 0 and lp2.rc == 0, "exit status %s/%s %s %s" %
          (lp.rc, lp2.rc, lp.describe(), lp2.describe()))
    hs = _hists(lp)
    check(len(hs) == 1 and _hist_total(hs[0]) > 0,
          "want one non-empty histogram for -l %s: %s" % (ports, lp.describe()))
    check(not _hists(lp2), "-A 127.0.0.2 counted segments from 127.0.0.1: %s" %
          short(_hists(lp2)))


def test_tcprtt_ipv6_by_raddr_ms():
    pair = LoopbackPair(6)
    lp = Loupe("tcprtt", "-j", "-P", str(pair.port), "-B", "-m", "-6", "-e")
    lp.wait_attached(settle=0.5)
    pair.connect().transfer(128 * 1024)
    lp.stop()
    hs = _hists(lp)
    check(len(hs) == 1, "want one histogram, got %d %s" % (len(hs), lp.describe()))
    h = hs[0]
    check(h.get("raddr") == "::1", "raddr label %r != '::1'" % h.get("raddr"))
    check(h["unit"] == "msecs", "unit %r != msecs" % h["unit"])
    check(_hist_total(h) > 0, "empty histogram: %s" % short(h))
    avg = [e for e in lp.events() if e.get("type") == "rtt_avg"]
    check(len(avg) == 1 and avg[0]["count"] == _hist_total(h),
          "rtt_avg record %s does not match the histogram" % short(avg))


def test_tcprtt_table_interval():
    pair = LoopbackPair(4)
    lp = Loupe("tcprtt", "-T", "-i", "1", "-d", "2.5", "-a", "127.0.0.1",
               "-l", str(pair.port))
    lp.wait_attached(settle=0.2)
    pair.connect().transfer(64 * 1024)
    rc = lp.wait_exit(8)
    check(rc == 0, "exit status %s %s" % (rc, lp.describe()))
    lines = lp.lines()
    check(any(l.split() == ["usecs", ":", "count", "distribution"] for l in lines),
          "no BCC histogram header in %s" % short(lines))
    times = [l for l in lines if len(l) == 8 and l[2] == ":" and l[5] == ":"]
    check(len(times) >= 2, "want a HH:MM:SS line per interval, got %s" % short(lines))


def test_tcprtt_bad_flags():
    for args in (["-l", "0"], ["-p", "1"], ["-a", "300.1.1.1"], ["-b", "-B"], ["-P", "x"]):
        rc, out, err = run_quiet([LOUPE_BIN, "tcprtt"] + args)
        check(rc == 2, "tcprtt %s: exit %s, want 2" % (args, rc))
        check(err.count("\n") == 1 and err.startswith("loupe: "),
              "tcprtt %s: stderr %r" % (args, err))


# ---------------------------------------------------------------- bindsnoop / solisten

BIND_PY = r"""
import socket, sys, time
open("/proc/self/comm", "w").write(sys.argv[1])
time.sleep(0.05)
out = []
keep = []
for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    probe = socket.socket(fam, socket.SOCK_STREAM)
    probe.bind((host, 0))
    port = probe.getsockname()[1]
    probe.close()
    t = socket.socket(fam, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((host, port))
    t.listen(17)
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.bind((host, port))
    dup = socket.socket(fam, socket.SOCK_STREAM)
    try:
        dup.bind((host, port))
        err = 0
    except OSError as e:
        err = e.errno
    keep += [t, u, dup]
    out.append("%d %d" % (port, err))
print(" ".join(out), flush=True)
"""


def _run_marked(script, timeout=10):
    """Run a python child under a unique comm; return (pid, comm, stdout)."""
    comm = unique_comm()
    p = spawn([sys.executable, "-c", script, comm], stdout=subprocess.PIPE,
              stderr=subprocess.PIPE, text=True)
    out, err = p.communicate(timeout=timeout)
    check(p.returncode == 0, "child failed: %s" % err)
    return p.pid, comm, out


def test_bindsnoop_tcp_udp_v4_v6():
    lp = Loupe("bindsnoop", "-j")
    lp.wait_attached()
    pid, comm, out = _run_marked(BIND_PY)
    p4, e4, p6, e6 = (int(x) for x in out.split())
    check(e4 == 98 and e6 == 98, "duplicate binds gave errno %d/%d, want 98" % (e4, e6))

    def ours():
        return [e for e in lp.events() if e.get("type") == "bind" and e.get("pid") == pid]
    poll_until(lambda: len(ours()) >= 8, 5)
    lp.stop()
    evs = ours()
    got = [(e["proto"], e["port"], e["addr"], e["ret"], e["ip"]) for e in evs]
    want = []
    for port, host, ip in ((p4, "127.0.0.1", 4), (p6, "::1", 6)):
        want += [("TCP", 0, host, 0, ip), ("TCP", port, host, 0, ip),
                 ("UDP", port, host, 0, ip), ("TCP", port, host, -98, ip)]
    check(got == want, "binds %s != %s %s" % (got, want, lp.describe()))
    for e in evs:
        check_common(e, "bind")
        check(e["comm"] == comm, "comm %r != %r" % (e["comm"], comm))
        check(e["bound_dev_if"] == 0, "bound_dev_if %s" % e["bound_dev_if"])
    check(evs[1]["opts"] == "...R.", "SO_REUSEADDR bind opts %r != '...R.'" % evs[1]["opts"])
    check(evs[2]["opts"] == ".....", "plain UDP bind opts %r" % evs[2]["opts"])
    check(evs[3]["err"] == 98, "err %s != 98 (EADDRINUSE)" % evs[3]["err"])


def test_bindsnoop_table_failed_only():
    lp = Loupe("bindsnoop", "-x")
    hdr = lp.wait_header()
    check(hdr.split() == ["PID", "COMM", "RET", "PROTO", "OPTS", "IF", "PORT", "ADDR"],
          "header %r" % hdr)
    lp.wait_attached(settle=0.5)
    pid, comm, out = _run_marked(BIND_PY)
    p4, _, p6, _ = (int(x) for x in out.split())
    want4 = "%-7d %-16s %3d %-5s %-5s %4d %5d %s" % (pid, comm, -98, "TCP", ".....", 0,
                                                   p4, "127.0.0.1")
    want6 = "%-7d %-16s %3d %-5s %-5s %4d %5d %s" % (pid, comm, -98, "TCP", ".....", 0,
                                                   p6, "::1")
    got6 = lp.wait_line(lambda l: l == want6, 5)
    lp.stop()
    mine = [l for l in lp.lines() if l.startswith("%-7d " % pid)]
    check(got6 is not None and mine == [want4, want6],
          "rows %s != %s %s" % (mine, [want4, want6], lp.describe()))


LISTEN_PY = r"""
import socket, sys, time
open("/proc/self/comm", "w").write(sys.argv[1])
time.sleep(0.05)
out = []
for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.bind((host, 0))
    s.listen(17)
    out.append(str(s.getsockname()[1]))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    u.listen(5)
    out.append("0")
except OSError as e:
    out.append(str(e.errno))
print(" ".join(out), flush=True)
"""


def test_solisten_backlog_v4_v6():
    lp = Loupe("solisten", "-j")
    lp.wait_attached()
    pid, comm, out = _run_marked(LISTEN_PY)
    p4, p6, uerr = (int(x) for x in out.split())
    ev4 = lp.expect_event(lambda e: e.get("pid") == pid and e.get("ip") == 4, "IPv4 listen")
    ev6 = lp.expect_event(lambda e: e.get("pid") == pid and e.get("ip") == 6, "IPv6 listen")
    evu = lp.wait_event(lambda e: e.get("pid") == pid and e.get("ret", 0) < 0, 2)
    lp.stop()
    for ev, port, addr, proto in ((ev4, p4, "127.0.0.1", "TCPv4"), (ev6, p6, "::1", "TCPv6")):
        check_common(ev, "listen")
        got = (ev["proto"], ev["backlog"], ev["port"], ev["addr"], ev["ret"], ev["comm"])
        want = (proto, 17, port, addr, 0, comm)
        check(got == want, "listen %s != %s" % (got, want))
    check(evu is not None and evu["ret"] == -uerr and evu["backlog"] == 5
          and evu["proto"] == "UDPv4",
          "failed UDP listen (errno %d): %s" % (uerr, short(evu)))


def test_solisten_table_row():
    lp = Loupe("solisten")
    hdr = lp.wait_header()
    check(hdr.split() == ["PID", "COMM", "PROTO", "BACKLOG", "PORT", "ADDR"], "header %r" % hdr)
    lp.wait_attached(settle=0.5)
    pid, comm, out = _run_marked(LISTEN_PY)
    p4 = int(out.split()[0])
    want = "%-7d %-16s %-8s %-8d %-6d %s" % (pid, comm, "TCPv4", 17, p4, "127.0.0.1")
    got = lp.wait_line(lambda l: l == want, 5)
    lp.stop()
    check(got is not None, "no row %r %s" % (want, lp.describe()))


# ---------------------------------------------------------------- tcptop

SEND_PY = r"""
import socket, sys, time
open("/proc/self/comm", "w").write(sys.argv[1])
c = socket.create_connection((sys.argv[2], int(sys.argv[3])))
print(c.getsockname()[1], flush=True)
sys.stdin.readline()                 # go
c.sendall(b"z" * 1048576)
c.shutdown(socket.SHUT_WR)
c.recv(1)                            # until the peer closes
"""


def _tcptop_case(family):
    pair = LoopbackPair(family)
    lp = Loupe("tcptop", "-j", "-i", "0.5")
    comm = unique_comm()
    child = spawn([sys.executable, "-c", SEND_PY, comm, pair.host, str(pair.port)],
                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    cport = _read_int_line(child, "sender")
    conn, _ = pair.ls.accept()
    on_cleanup(conn.close)
    lp.wait_attached(settle=0.3)
    child.stdin.write("go\n")
    child.stdin.flush()
    got = 0
    conn.settimeout(5)
    while True:
        b = conn.recv(1 << 20)
        if not b:
            break
        got += len(b)
    conn.close()
    child.wait(5)
    check(got == 1048576, "received %d bytes, want 1 MiB" % got)

    def rows(pid, lport):
        return [e for e in lp.events() if e.get("type") == "tcptop"
                and e.get("pid") == pid and e.get("lport") == lport]

    def totals():
        tx = sum(e["tx_bytes"] for e in rows(child.pid, cport))
        rx = sum(e["rx_bytes"] for e in rows(os.getpid(), pair.port))
        return tx, rx
    poll_until(lambda: totals() == (1048576, 1048576), 4)
    lp.stop()
    tx, rx = totals()
    check(tx == 1048576, "sender's tx_bytes %d != 1048576 %s" % (tx, lp.describe()))
    check(rx == 1048576, "receiver's rx_bytes %d != 1048576" % rx)
    tx_kb = sum(e["tx_kb"] for e in rows(child.pid, cport))
    rx_kb = sum(e["rx_kb"] for e in rows(os.getpid(), pair.port))
    n = max(len(rows(child.pid, cport)), len(rows(os.getpid(), pair.port)))
    check(1024 - n <= tx_kb <= 1024 and 1024 - n <= rx_kb <= 1024,
          "TX_KB %d / RX_KB %d not ~1024" % (tx_kb, rx_kb))
    ev = rows(child.pid, cport)[0]
    check(ev["comm"] == comm and ev["raddr"] == pair.host and ev["rport"] == pair.port
          and ev["laddr"] == pair.host and ev["ip"] == family,
          "sender row %s" % short(ev))


def test_tcptop_1mb_ipv4():
    _tcptop_case(4)


def test_tcptop_1mb_ipv6():
    _tcptop_case(6)


def test_tcptop_table_rows():
    pair = LoopbackPair(4)
    lp = Loupe("tcptop", "-C", "-S", "-i", "0.5", "-d", "2", "-p", str(os.getpid()))
    lp.wait_attached(settle=0.3)
    pair.connect().transfer(300 * 1024)
    rc = lp.wait_exit(6)
    check(rc == 0, "exit status %s %s" % (rc, lp.describe()))
    lines = lp.lines()
    hdrs = [l for l in lines if l.startswith("PID")]
    check(hdrs and hdrs[0].split() == ["PID", "COMM", "LADDR", "RADDR", "RX_KB", "TX_KB"],
          "header %s" % short(lines))
    cli = "127.0.0.1:%d" % pair.cport
    srv = "127.0.0.1:%d" % pair.port
    tx = sum(int(l.split()[5]) for l in lines
             if l.split()[2:4] == [cli, srv])
    rx = sum(int(l.split()[4]) for l in lines
             if l.split()[2:4] == [srv, cli])
    check(296 <= tx <= 300 and 296 <= rx <= 300,
          "TX_KB %d / RX_KB %d, want ~300 %s" % (tx, rx, short(lines, 600)))
    check(not any("loadavg" in l for l in lines), "-S still printed the summary")
