"""Runtime tests of loupe's packet filters (issue 17): tcpdump expressions
compiled by libpcap and translated to XDP and TC programs. loupe filter's
dumps are compared byte for byte with Debian's tcpdump; the translations
run in this kernel (BPF_PROG_TEST_RUN) on a generated packet corpus and
must agree with libpcap's pcap_offline_filter on every packet."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import netpkt
from common import (LOUPE, Skip, check, existing_bpf_ids, fail,
                    fdinfo_ids, fdinfo_texts, marker, on_cleanup,
                    poll_until, run_quiet, short, spawn, tmpdir)

# Hosts, nets, port ranges, tcp flags, icmp types, vlan, ip6, len, ether
# host, and/or/not nesting, and the arithmetic (division by a packet
# byte that may be 0, shifts by 32 or more, variable offsets).
EXPRESSIONS = [
    "ip", "ip6", "arp", "tcp", "udp", "icmp", "icmp6",
    "host 10.0.0.1", "src host 10.0.0.1", "dst host 192.168.1.10",
    "net 10.0.0.0/8", "src net 192.168.0.0/16", "dst net 172.16.0.0/12",
    "port 80", "tcp port 443", "udp port 53", "src port 1234",
    "dst port 8080", "portrange 1000-2000", "tcp dst portrange 1-1023",
    "tcp[tcpflags] & tcp-syn != 0",
    "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
    "tcp[tcpflags] & tcp-rst != 0",
    "tcp[tcpflags] & tcp-fin != 0 and port 80",
    "icmp[icmptype] == icmp-echo",
    "icmp[icmptype] == icmp-echoreply or icmp[icmptype] == icmp-unreach",
    "icmp6 and ip6[40] == 128",
    "vlan", "vlan 100", "vlan and ip6", "vlan 200 and tcp port 80",
    "vlan and vlan 100",
    "ip6 and tcp", "ip6 host fd00::1", "ip6 net fd00::/64 and udp",
    "len > 200", "len <= 64", "greater 500", "less 100",
    "ether host aa:bb:cc:dd:ee:01",
    "ether src aa:bb:cc:dd:ee:02 and not ip", "ether broadcast",
    "not tcp", "(tcp or udp) and not port 22",
    "host 10.0.0.1 and (port 80 or port 443)",
    "not (icmp or arp) and ip",
    "tcp and (src net 10.0.0.0/24 or dst host 8.8.8.8) and not tcp port 22",
    "ip[6:2] & 0x1fff != 0", "ip[0] & 0xf > 5", "ip multicast",
    "ip broadcast", "ether proto 0x88cc", "udp[8:2] = 0x1234",
    "tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420",
    "ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2) > 0",
    "ip[2:2] / (ip[8] - 64) > 1", "ip[2:2] % (ip[8] - 64) == 0",
    "ip[2:2] << (ip[8] - 40) > 0", "ip[2:2] >> (ip[8] - 60) != 0",
    "len - 14 > 100 and not ip6", "ip[8] * 2 + 1 > 200",
]


def _tcpdump():
    if not shutil.which("tcpdump"):
        raise Skip("tcpdump not installed (make deps-test)")


def _empty_pcap():
    """A capture with no packets: tcpdump -r compiles for it as for any
    Ethernet file (snapshot length 262144, netmask 0)."""
    path = os.path.join(tmpdir(), "empty.pcap")
    netpkt.write_pcap(path, [])
    return path


def test_filter_dump_matches_tcpdump():
    _tcpdump()
    check(len(EXPRESSIONS) >= 40, "fewer than 40 expressions")
    empty = _empty_pcap()
    for expr in EXPRESSIONS:
        for flag in ("-d", "-dd", "-ddd"):
            rc, want, err = run_quiet(["tcpdump", "-r", empty, flag, expr])
            check(rc == 0, "tcpdump %s %r failed: %s" % (flag, expr, err))
            rc, got, err = run_quiet([LOUPE, "filter", flag, expr])
            check(rc == 0, "loupe filter %s %r: rc %s, %s" % (flag, expr, rc, err))
            if got != want:
                fail("loupe filter %s %r differs from tcpdump:\n%s\n---\n%s"
                     % (flag, expr, short(got, 600), short(want, 600)))
    # The words of an expression are joined as tcpdump joins them.
    rc, want, _ = run_quiet(["tcpdump", "-r", empty, "-d", "tcp", "port", "80"])
    rc, got, _ = run_quiet([LOUPE, "filter", "-d", "tcp", "port", "80"])
    check(got == want, "split words differ: %r / %r" % (got, want))


test_filter_dump_matches_tcpdump.timeout = 120


def test_filter_kernel_agrees_with_libpcap():
    frames = netpkt.packets()
    path = os.path.join(tmpdir(), "corpus.pcap")
    netpkt.write_pcap(path, frames)
    discriminating = 0
    refused = 0
    for expr in EXPRESSIONS:
        rc, out, err = run_quiet([LOUPE, "filter", "-j", "-r", path, expr],
                                 timeout=30)
        check(rc == 0, "loupe filter -r %r: rc %s, %s" % (expr, rc, err))
        rows = [json.loads(l) for l in out.splitlines()]
        check(len(rows) == len(frames),
              "%r: %d rows for %d packets" % (expr, len(rows), len(frames)))
        matches = 0
        for i, r in enumerate(rows):
            check(r["packet"] == i + 1 and r["len"] == len(frames[i]),
                  "%r: row %d is %r" % (expr, i, r))
            check(r["xdp"] == r["pcap"],
                  "%r: packet %d (%s): libpcap %s, XDP %s"
                  % (expr, i + 1, frames[i].hex(), r["pcap"], r["xdp"]))
            if r["tc"] == "refused":
                refused += 1
            else:
                check(r["tc"] == r["pcap"],
                      "%r: packet %d (%s): libpcap %s, TC %s"
                      % (expr, i + 1, frames[i].hex(), r["pcap"], r["tc"]))
            matches += r["pcap"] == "match"
        if 0 < matches < len(frames):
            discriminating += 1
    # The corpus tells the expressions apart: nearly all match some
    # packets and not others.
    check(discriminating >= len(EXPRESSIONS) - 3,
          "only %d of %d expressions both match and miss packets"
          % (discriminating, len(EXPRESSIONS)))
    # Only frames with a cut IP header are refused by the TC test run.
    check(refused <= 40 * len(EXPRESSIONS),
          "TC refused %d runs" % refused)


test_filter_kernel_agrees_with_libpcap.timeout = 120


def test_filter_usage_errors():
    rc, out, err = run_quiet([LOUPE, "filter", "-d", "tcp port"])
    check(rc == 2 and err.count("\n") == 1 and "invalid expression" in err,
          "bad expression: rc %s, %r" % (rc, err))
    rc, out, err = run_quiet([LOUPE, "filter", "ip"])
    check(rc == 2 and "nothing to do" in err, "no action: %s %r" % (rc, err))
    rc, out, err = run_quiet([LOUPE, "filter", "--dump", "x86", "ip"])
    check(rc == 2 and "--dump" in err, "bad --dump: %s %r" % (rc, err))
    rc, out, err = run_quiet([LOUPE, "filter", "-r", "/nonexistent.pcap", "ip"])
    check(rc == 1 and err.count("\n") == 1, "missing file: %s %r" % (rc, err))


def test_filter_dump_ebpf():
    for hook in ([], ["--tc"]):
        rc, out, err = run_quiet([LOUPE, "filter", "--dump", "ebpf"] + hook +
                                 ["tcp port 80"])
        check(rc == 0, "--dump ebpf %s: %s %s" % (hook, rc, err))
        lines = out.splitlines()
        helper = "skb_pull_data" if hook else "xdp_get_buff_len"
        check(helper in out, "%s: no %s call:\n%s" % (hook, helper, short(out)))
        # Every packet load follows a check against data_end (r7).
        for i, l in enumerate(lines):
            if "*(u16 *)(r2" in l or "*(u8 *)(r2" in l or "*(u32 *)(r2" in l:
                check("> r7 goto" in lines[i - 1],
                      "%s: load without bounds check: %s" % (hook, l))


# ---------------------------------------------------------------- loupe drop

PING_PY = r"""
import os, socket, struct, sys, time
dst, n, payload = sys.argv[1], int(sys.argv[2]), b"net17-" + sys.argv[3].encode()
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(0.3)
ident = os.getpid() & 0xffff

def csum(b):
    b += b"\0" * (len(b) & 1)
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xffff)
    t += t >> 16
    return ~t & 0xffff

replies = 0
for seq in range(n):
    h = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + payload
    h = h[:2] + struct.pack("!H", csum(h)) + h[4:]
    s.sendto(h, (dst, 0))
    end = time.monotonic() + 0.3
    while time.monotonic() < end:
        try:
            d = s.recv(2048)
        except socket.timeout:
            break
        ihl = (d[0] & 0xf) * 4
        t, _, _, i, q = struct.unpack("!BBHHH", d[ihl:ihl + 8])
        if t == 0 and i == ident and q == seq:
            replies += 1
            break
print(replies)
"""

TCP_SERVER_PY = r"""
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 0)); s.listen(4)
print(s.getsockname()[1], flush=True)
s.settimeout(20)
while True:
    c, _ = s.accept()
    c.settimeout(10)
    got = 0
    while got < 200000:
        d = c.recv(65536)
        if not d:
            break
        got += len(d)
    c.sendall(str(got).encode())
    c.close()
"""

TCP_CLIENT_PY = r"""
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
c.sendall(b"z" * 200000)
print(c.recv(64).decode())
"""


def _ns_pair():
    import uuid
    if not shutil.which("ip"):
        raise Skip("iproute2 'ip' not available")
    tag = uuid.uuid4().hex[:6]
    ns = ("net17a" + tag, "net17b" + tag)
    dev = ("net17a" + tag, "net17b" + tag)
    for n in ns:
        rc, _, err = run_quiet(["ip", "netns", "add", n])
        if rc != 0:
            raise Skip("cannot create a network namespace: %s" % err.strip())
        on_cleanup(lambda n=n: run_quiet(["ip", "netns", "del", n]))
    cmds = [["link", "add", dev[0], "netns", ns[0], "type", "veth", "peer",
             "name", dev[1], "netns", ns[1]]]
    for i in (0, 1):
        cmds += [["-n", ns[i], "addr", "add", "10.117.0.%d/24" % (i + 1),
                  "dev", dev[i]],
                 ["-n", ns[i], "link", "set", dev[i], "up"],
                 ["-n", ns[i], "link", "set", "lo", "up"]]
    for c in cmds:
        rc, _, err = run_quiet(["ip"] + c)
        check(rc == 0, "ip %s: %s" % (" ".join(c), err))
    return ns, dev


def _in_ns(ns, argv, timeout=20):
    return run_quiet(["ip", "netns", "exec", ns] + argv, timeout=timeout)


def _pings(ns, n, tag):
    rc, out, err = _in_ns(ns, [sys.executable, "-c", PING_PY, "10.117.0.2",
                               str(n), tag])
    check(rc == 0, "ping script: %s" % err)
    return int(out.strip())


def _tcp_flows(ns_client, port):
    rc, out, err = _in_ns(ns_client, [sys.executable, "-c", TCP_CLIENT_PY,
                                      "10.117.0.2", str(port)])
    check(rc == 0 and out.strip() == "200000",
          "TCP transfer failed: rc %s, %r %r" % (rc, out, err))


def _tcx(ns, dev, pid):
    """The tcx links process pid holds on dev (read from its fdinfo)."""
    _, idx, _ = _in_ns(ns, ["cat", "/sys/class/net/%s/ifindex" % dev])
    return sum(1 for t in fdinfo_texts(pid)
               if re.search(r"^link_type:\s*tcx$", t, re.M) and
               re.search(r"^ifindex:\s*%s$" % idx.strip(), t, re.M))


def _hooked(ns, dev, pid=None):
    """(an XDP program, a clsact qdisc or one of pid's tcx links) on dev."""
    _, link, _ = _in_ns(ns, ["ip", "link", "show", dev])
    _, qd, _ = _in_ns(ns, ["tc", "qdisc", "show", "dev", dev])
    tc = "clsact" in qd or (pid is not None and _tcx(ns, dev, pid) > 0)
    return "xdp" in link, tc


def _progs_of(pid):
    return fdinfo_ids(pid)[0]


def _gone(progs):
    """True once none of the programs exists any more: no XDP, tcx link or
    clsact filter holds them."""
    return poll_until(lambda: not (existing_bpf_ids()[0] & progs), 5)


def _drop_run(where, side=1):
    """loupe drop icmp on side's veth (0: the pinging end, 1: the other)."""
    ns, dev = _ns_pair()
    srv = spawn(["ip", "netns", "exec", ns[1], sys.executable, "-c",
                 TCP_SERVER_PY, "10.117.0.2"], stdout=subprocess.PIPE)
    port = int(srv.stdout.readline())
    tag = marker()
    check(_pings(ns[0], 2, tag) == 2, "pings fail before loupe drop")
    p = spawn(["ip", "netns", "exec", ns[side], LOUPE, "drop", "-i", dev[side],
               "-j"] + where + ["icmp"], stdout=subprocess.PIPE,
              stderr=subprocess.PIPE)
    want = (True, False) if not where else (False, True)
    check(poll_until(lambda: _hooked(ns[side], dev[side], p.pid) == want or
                     p.poll() is not None, 10) and p.poll() is None,
          "loupe drop did not attach: %r" % (p.stderr.read() if p.poll()
                                             is not None else ""))
    progs = _progs_of(p.pid)
    n = 5
    got = _pings(ns[0], n, tag)
    _tcp_flows(ns[0], port)
    check(got == 0, "%d of %d pings answered while dropping" % (got, n))
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=10)
    check(p.returncode == 0, "loupe drop: rc %s, %s" % (p.returncode, err))
    rows = [json.loads(l) for l in out.decode().splitlines()]
    check(len(rows) == 1 and rows[0]["type"] == "drop", "rows: %r" % rows)
    r = rows[0]
    frame = 14 + 20 + 8 + len("net17-" + tag)
    check(r["matched_packets"] == n and r["matched_bytes"] == n * frame,
          "matched %r, want %d packets of %d bytes" % (r, n, frame))
    # The TCP transfer passed (200000 bytes and more of segments).
    check(r["passed_packets"] > 10 and r["passed_bytes"] > 200000,
          "passed: %r" % r)
    check(_hooked(ns[side], dev[side]) == (False, False),
          "left behind after exit: xdp/clsact %r"
          % (_hooked(ns[side], dev[side]),))
    check(progs and _gone(progs), "programs left after exit: %r" % progs)
    check(_pings(ns[0], 2, tag) == 2, "pings fail after loupe drop")
    _tcp_flows(ns[0], port)


def test_drop_xdp_drops_exactly_the_pings():
    _drop_run([])


test_drop_xdp_drops_exactly_the_pings.timeout = 60


def test_drop_tc_ingress_drops_exactly_the_pings():
    _drop_run(["--tc", "ingress"])


test_drop_tc_ingress_drops_exactly_the_pings.timeout = 60


def test_drop_tc_egress_drops_exactly_the_pings():
    _drop_run(["--tc", "egress"], side=0)


test_drop_tc_egress_drops_exactly_the_pings.timeout = 60


def test_drop_keeps_a_clsact_it_did_not_create():
    ns, dev = _ns_pair()
    rc, _, err = _in_ns(ns[1], ["tc", "qdisc", "add", "dev", dev[1], "clsact"])
    check(rc == 0, "tc qdisc add: %s" % err)
    rc, out, err = _in_ns(ns[1], [LOUPE, "drop", "-i", dev[1], "--tc",
                                  "ingress", "-d", "0.3", "-j", "icmp"])
    check(rc == 0 and json.loads(out)["matched_packets"] == 0,
          "loupe drop: rc %s, %r %r" % (rc, out, err))
    check(_hooked(ns[1], dev[1]) == (False, True), "the clsact qdisc went away")
    _, filters, _ = _in_ns(ns[1], ["tc", "filter", "show", "dev", dev[1],
                                   "ingress"])
    check("bpf" not in filters, "a filter is left: %r" % filters)


def test_drop_usage_errors():
    for argv, what in ((["icmp"], "give the interface"),
                       (["-i", "net17nosuch", "icmp"], "no such interface"),
                       (["-i", "lo"], "give the expression"),
                       (["-i", "lo", "tcp port"], "invalid expression"),
                       (["-i", "lo", "--tc", "sideways", "icmp"], "--tc")):
        rc, out, err = run_quiet([LOUPE, "drop"] + argv)
        check(rc == 2 and what in err and err.count("\n") == 1,
              "%r: rc %s, %r" % (argv, rc, err))


# ---------------------------------------------------------------- loupe count

def test_count_per_expression_and_direction():
    ns, dev = _ns_pair()
    srv = spawn(["ip", "netns", "exec", ns[1], sys.executable, "-c",
                 TCP_SERVER_PY, "10.117.0.2"], stdout=subprocess.PIPE)
    port = int(srv.stdout.readline())
    tag = marker()
    exprs = ["icmp[icmptype] == icmp-echo", "icmp[icmptype] == icmp-echoreply",
             "tcp port %d" % port, "udp port 9"]
    p = spawn(["ip", "netns", "exec", ns[0], LOUPE, "count", "-i", dev[0],
               "-j"] + exprs, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def filters():
        _, f, _ = _in_ns(ns[0], ["tc", "filter", "show", "dev", dev[0],
                                 "egress"])
        return (f.count("bpf") >= len(exprs) or
                _tcx(ns[0], dev[0], p.pid) == 2 * len(exprs) or
                p.poll() is not None)

    check(poll_until(filters, 10) and p.poll() is None,
          "loupe count did not attach")
    n = 4
    check(_pings(ns[0], n, tag) == n, "pings not answered while counting")
    _tcp_flows(ns[0], port)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=10)
    check(p.returncode == 0, "loupe count: rc %s, %s" % (p.returncode, err))
    rows = {r["expression"]: r for r in map(json.loads, out.decode().splitlines())}
    check(sorted(rows) == sorted(exprs), "rows: %r" % rows)
    frame = 14 + 20 + 8 + len("net17-" + tag)
    want = {exprs[0]: (0, 0, n, n * frame), exprs[1]: (n, n * frame, 0, 0),
            exprs[3]: (0, 0, 0, 0)}
    for e, w in want.items():
        r = rows[e]
        got = (r["in_packets"], r["in_bytes"], r["out_packets"], r["out_bytes"])
        check(got == w, "%r: %r, want %r" % (e, got, w))
    t = rows[exprs[2]]
    check(t["out_bytes"] > 200000 and t["in_packets"] > 0, "tcp: %r" % t)
    check(_hooked(ns[0], dev[0]) == (False, False), "clsact left behind")


test_count_per_expression_and_direction.timeout = 60


# ---------------------------------------------------------------- loupe capture

def test_capture_writes_a_pcap_tcpdump_reads():
    _tcpdump()
    ns, dev = _ns_pair()
    srv = spawn(["ip", "netns", "exec", ns[1], sys.executable, "-c",
                 TCP_SERVER_PY, "10.117.0.2"], stdout=subprocess.PIPE)
    port = int(srv.stdout.readline())
    path = os.path.join(tmpdir(), "cap.pcap")
    p = spawn(["ip", "netns", "exec", ns[0], LOUPE, "capture", "-i", dev[0],
               "-w", path, "tcp port %d" % port], stdout=subprocess.PIPE,
              stderr=subprocess.PIPE)
    check(poll_until(lambda: _hooked(ns[0], dev[0], p.pid)[1] or
                     p.poll() is not None, 10) and p.poll() is None,
          "loupe capture did not attach")
    _tcp_flows(ns[0], port)
    # Something else on the link that the expression does not match.
    tag = marker()
    check(_pings(ns[0], 2, tag) == 2, "pings fail while capturing")
    # The kernel's copies arrive through a perf buffer: let them in.
    time.sleep(0.3)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=10)
    check(p.returncode == 0, "loupe capture: rc %s, %s" % (p.returncode, err))
    rc, text, terr = run_quiet(["tcpdump", "-r", path, "-nn"])
    check(rc == 0 and "snapshot length 65000" in terr,
          "tcpdump -r: rc %s, %s" % (rc, terr))
    lines = text.splitlines()
    check(all((".%d:" % port in l or ".%d >" % port in l) for l in lines),
          "a packet the expression does not match: %r" % lines)
    check(any("Flags [S]," in l for l in lines), "no SYN: %r" % lines[:3])
    sent = sum(int(l.rsplit("length ", 1)[1]) for l in lines
               if l.split()[2].startswith("10.117.0.1."))
    check(sent == 200000, "the capture holds %d bytes of the client's "
          "200000" % sent)
    check("%d packets captured" % len(lines) in err.decode(), "stderr: %r" % err)
    check(_hooked(ns[0], dev[0]) == (False, False), "clsact left behind")


test_capture_writes_a_pcap_tcpdump_reads.timeout = 60


def test_capture_lines_and_count():
    ns, dev = _ns_pair()
    tag = marker()
    p = spawn(["ip", "netns", "exec", ns[0], LOUPE, "capture", "-i", dev[0],
               "-j", "-c", "3", "icmp"], stdout=subprocess.PIPE,
              stderr=subprocess.PIPE)
    check(poll_until(lambda: _hooked(ns[0], dev[0], p.pid)[1] or
                     p.poll() is not None, 10) and p.poll() is None,
          "loupe capture did not attach")
    _pings(ns[0], 3, tag)
    out, err = p.communicate(timeout=10)
    check(p.returncode == 0, "loupe capture -c: rc %s, %s" % (p.returncode, err))
    rows = [json.loads(l) for l in out.decode().splitlines()]
    frame = 14 + 20 + 8 + len("net17-" + tag)
    want = [("out", "10.117.0.1", "10.117.0.2"), ("in", "10.117.0.2", "10.117.0.1"),
            ("out", "10.117.0.1", "10.117.0.2")]
    got = [(r["dir"], r["src"], r["dst"]) for r in rows]
    check(got == want and all(r["len"] == frame and r["proto"] == "icmp"
                              for r in rows), "rows: %r" % rows)


def test_drop_exit_paths_leave_nothing():
    """SIGTERM and --duration detach; a second drop --xdp on the same
    interface fails with one line and exit 1, leaving the first alone."""
    ns, dev = _ns_pair()
    tag = marker()
    p = spawn(["ip", "netns", "exec", ns[1], LOUPE, "drop", "-i", dev[1],
               "-j", "icmp"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    check(poll_until(lambda: _hooked(ns[1], dev[1])[0] or p.poll() is not None,
                     10) and p.poll() is None, "loupe drop did not attach")
    rc, out, err = _in_ns(ns[1], [LOUPE, "drop", "-i", dev[1], "--xdp",
                                  "udp"])
    check(rc == 1 and err.count("\n") == 1 and "XDP" in err,
          "second XDP drop: rc %s, %r" % (rc, err))
    check(_pings(ns[0], 2, tag) == 0, "the first drop stopped working")
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=10)
    check(p.returncode == 0 and json.loads(out)["matched_packets"] == 2,
          "SIGTERM: rc %s, %r %r" % (p.returncode, out, err))
    check(_hooked(ns[1], dev[1]) == (False, False), "left behind after SIGTERM")
    rc, out, err = _in_ns(ns[1], [LOUPE, "drop", "-i", dev[1], "--tc",
                                  "ingress", "-d", "0.5", "-j", "icmp"])
    check(rc == 0 and json.loads(out)["matched_packets"] == 0,
          "--duration: rc %s, %r %r" % (rc, out, err))
    check(_hooked(ns[1], dev[1]) == (False, False), "left behind after -d")
    check(_pings(ns[0], 2, tag) == 2, "pings fail afterwards")


test_drop_exit_paths_leave_nothing.timeout = 60


def test_drop_falls_back_to_tc_where_xdp_is_refused():
    """The interface already has an XDP program (another loupe drop's):
    the kernel refuses a second one, so drop says so on one line and
    drops at TC ingress instead, exactly the pings."""
    ns, dev = _ns_pair()
    tag = marker()
    first = spawn(["ip", "netns", "exec", ns[1], LOUPE, "drop", "-i", dev[1],
                   "udp port 9"], stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE)
    check(poll_until(lambda: _hooked(ns[1], dev[1])[0] or
                     first.poll() is not None, 10) and first.poll() is None,
          "the first loupe drop did not attach")
    p = spawn(["ip", "netns", "exec", ns[1], LOUPE, "drop", "-i", dev[1],
               "-j", "icmp"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    check(poll_until(lambda: _tcx(ns[1], dev[1], p.pid) > 0 or
                     "clsact" in _in_ns(ns[1], ["tc", "qdisc", "show", "dev",
                                                dev[1]])[1] or
                     p.poll() is not None, 10) and p.poll() is None,
          "the second loupe drop did not attach at TC")
    n = 3
    check(_pings(ns[0], n, tag) == 0, "pings answered while dropping")
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=10)
    err = err.decode()
    check(p.returncode == 0 and err.count("\n") == 1 and
          "cannot attach the XDP program" in err and
          "dropping at TC ingress" in err, "rc %s, stderr %r" %
          (p.returncode, err))
    frame = 14 + 20 + 8 + len("net17-" + tag)
    r = json.loads(out)
    check(r["matched_packets"] == n and r["matched_bytes"] == n * frame,
          "matched %r, want %d of %d bytes" % (r, n, frame))
    first.send_signal(signal.SIGINT)
    first.communicate(timeout=10)
    check(_hooked(ns[1], dev[1]) == (False, False), "left behind")
    check(_pings(ns[0], 2, tag) == 2, "pings fail afterwards")


test_drop_falls_back_to_tc_where_xdp_is_refused.timeout = 60


def test_sigkill_leaves_no_filter():
    """drop at TC and count are tcx links on this kernel (6.6+): the
    kernel detaches them when the process dies, even by SIGKILL."""
    ns, dev = _ns_pair()
    tag = marker()
    rc, out, _ = run_quiet([LOUPE, "list"], timeout=60)
    lines = out.splitlines()
    i = next(k for k, l in enumerate(lines) if l.startswith("count "))
    if lines[i + 1].split()[:2] == ["ingress", "tc"]:
        raise Skip("no tcx links on this kernel (Linux 6.6+): clsact filters "
                   "outlive a SIGKILL")
    check(lines[i + 1].split()[:2] == ["ingress", "tcx"] and
          lines[i + 2].split()[:2] == ["egress", "tcx"],
          "loupe list: %r" % lines[i:i + 3])
    for argv in (["drop", "--tc", "ingress", "icmp"],
                 ["drop", "--tc", "egress", "icmp"],
                 ["count", "icmp", "udp"]):
        p = spawn(["ip", "netns", "exec", ns[1], LOUPE, argv[0], "-i",
                   dev[1]] + argv[1:], stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE)
        nlinks = 1 if argv[0] == "drop" else 4
        if not poll_until(lambda: _tcx(ns[1], dev[1], p.pid) == nlinks or
                          p.poll() is not None, 10) or p.poll() is not None:
            fail("%r: no tcx link (%r)" % (argv, p.stderr.read()
                                           if p.poll() is not None else ""))
        progs = _progs_of(p.pid)
        if argv[0] == "drop":
            check(_pings(ns[0], 2, tag) == 0, "%r does not drop" % argv)
        p.kill()
        p.wait(timeout=10)
        check(_gone(progs), "%r: programs left after SIGKILL: %r"
              % (argv, existing_bpf_ids()[0] & progs))
        check(_hooked(ns[1], dev[1]) == (False, False),
              "%r: a qdisc or XDP program left" % argv)
        rc, f, _ = _in_ns(ns[1], ["tc", "filter", "show", "dev", dev[1],
                                  "ingress"])
        check("bpf" not in f, "%r: a tc filter left: %r" % (argv, f))
        check(_pings(ns[0], 2, tag) == 2, "%r: pings fail after" % argv)


test_sigkill_leaves_no_filter.timeout = 90


# ---------------------------------------------------------------- agent metrics

def test_agent_packet_counters_through_prometheus():
    """The agent's packets: entries in a test network namespace, scraped
    by a real Prometheus there: N pings give exactly N packets and N
    frames' bytes by PromQL, per direction."""
    if not shutil.which("prometheus") or not shutil.which("curl"):
        raise Skip("prometheus or curl is not installed (make deps-test)")
    ns, dev = _ns_pair()
    d = tmpdir()
    cfg = os.path.join(d, "agent.yaml")
    with open(cfg, "w") as f:
        f.write("packets:\n"
                "  - name: echo\n    interface: %s\n    direction: ingress\n"
                "    filter: 'icmp[icmptype] == icmp-echo'\n"
                "  - {name: icmp, interface: %s, filter: icmp}\n"
                "  - {name: unused, interface: %s, direction: egress, "
                "filter: 'udp port 9'}\n" % (dev[1], dev[1], dev[1]))
    err_path = os.path.join(d, "agent.err")
    agent = spawn(["ip", "netns", "exec", ns[1], LOUPE, "agent", "--config",
                   cfg, "--listen", "127.0.0.1:0", "--metrics", "none",
                   "--profile-hz", "0"], stderr=open(err_path, "w"))

    def port():
        m = re.search(r"\(port (\d+)\)", open(err_path).read())
        return m and int(m.group(1)) or agent.poll() is not None

    ap = poll_until(port, 20)
    check(ap and ap is not True, "agent did not start: %s"
          % short(open(err_path).read()))
    check(_tcx(ns[1], dev[1], agent.pid) == 4 or
          "clsact" in _in_ns(ns[1], ["tc", "qdisc", "show", "dev", dev[1]])[1],
          "the agent's filters are not attached")
    prom_cfg = os.path.join(d, "prometheus.yml")
    with open(prom_cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                "scrape_configs:\n  - job_name: loupe\n    static_configs:\n"
                "      - targets: ['127.0.0.1:%d']\n" % ap)
    pport = 9090
    prom = spawn(["ip", "netns", "exec", ns[1], "prometheus", "--config.file",
                  prom_cfg, "--storage.tsdb.path", os.path.join(d, "tsdb"),
                  "--web.listen-address", "127.0.0.1:%d" % pport],
                 stderr=open(os.path.join(d, "prometheus.err"), "w"))

    def query(q):
        rc, out, _ = _in_ns(ns[1], ["curl", "-s", "--max-time", "2", "-G",
                                    "http://127.0.0.1:%d/api/v1/query" % pport,
                                    "--data-urlencode", "query=" + q])
        try:
            return {tuple(sorted((k, v) for k, v in r["metric"].items()
                                 if k != "__name__")): r["value"][1]
                    for r in json.loads(out)["data"]["result"]}
        except (ValueError, KeyError):
            return None

    check(poll_until(lambda: query("loupe_packets_total") or
                     prom.poll() is not None, 40, 0.5) and prom.poll() is None,
          "prometheus never scraped the agent: %s" %
          short(open(os.path.join(d, "prometheus.err")).read()))
    tag = marker()
    n = 7
    check(_pings(ns[0], n, tag) == n, "pings not answered while counting")
    frame = 14 + 20 + 8 + len("net17-" + tag)
    base = (("iface", dev[1]), ("instance", "127.0.0.1:%d" % ap),
            ("job", "loupe"))
    want = {
        "loupe_packets_total": {("echo", "ingress"): n, ("icmp", "ingress"): n,
                                ("icmp", "egress"): n, ("unused", "egress"): 0},
        "loupe_packet_bytes_total": {
            ("echo", "ingress"): n * frame, ("icmp", "ingress"): n * frame,
            ("icmp", "egress"): n * frame, ("unused", "egress"): 0},
    }
    for metric, series in want.items():
        expect = {tuple(sorted(base + (("filter", f), ("direction", dr)))):
                  str(v) for (f, dr), v in series.items()}
        got = poll_until(lambda: query(metric) == expect, 20, 0.5)
        check(got, "PromQL %s: %r, want %r" % (metric, query(metric), expect))
    agent.send_signal(signal.SIGTERM)
    check(agent.wait(timeout=10) == 0, "agent exit: %s"
          % short(open(err_path).read()))
    check(_hooked(ns[1], dev[1]) == (False, False), "left behind")


test_agent_packet_counters_through_prometheus.timeout = 90


def test_capture_snaplen_and_drop_intervals():
    """capture -s keeps the first SNAPLEN bytes of each packet (the pcap
    records say so, with the whole length beside); drop --interval prints
    a row per interval whose matched packets add up to the pings sent."""
    import struct
    ns, dev = _ns_pair()
    tag = marker()
    path = os.path.join(tmpdir(), "snap.pcap")
    cap = spawn(["ip", "netns", "exec", ns[0], LOUPE, "capture", "-i", dev[0],
                 "-s", "40", "-w", path, "icmp"], stdout=subprocess.PIPE,
                stderr=subprocess.PIPE)
    drop = spawn(["ip", "netns", "exec", ns[1], LOUPE, "drop", "-i", dev[1],
                  "-j", "--interval", "0.3", "icmp"], stdout=subprocess.PIPE,
                 stderr=subprocess.PIPE)
    check(poll_until(lambda: (_hooked(ns[0], dev[0], cap.pid)[1] and
                              _hooked(ns[1], dev[1], drop.pid)[0]) or
                     cap.poll() is not None or drop.poll() is not None, 10)
          and cap.poll() is None and drop.poll() is None, "not attached")
    n = 4
    check(_pings(ns[0], n, tag) == 0, "pings answered")
    time.sleep(0.5)
    for p in (cap, drop):
        p.send_signal(signal.SIGINT)
    cout, cerr = cap.communicate(timeout=10)
    dout, derr = drop.communicate(timeout=10)
    check(cap.returncode == 0 and drop.returncode == 0,
          "rc %s %s: %r %r" % (cap.returncode, drop.returncode, cerr, derr))
    rows = [json.loads(l) for l in dout.decode().splitlines()]
    check(len(rows) >= 3 and sum(r["matched_packets"] for r in rows) == n,
          "drop rows: %r" % rows)
    frame = 14 + 20 + 8 + len("net17-" + tag)
    with open(path, "rb") as f:
        data = f.read()
    check(struct.unpack("<I", data[16:20])[0] == 40, "snaplen in the header")
    recs, off = [], 24
    while off < len(data):
        _, _, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        recs.append((incl, orig))
        off += 16 + incl
    check(recs == [(40, frame)] * n, "records %r, want %d of (40, %d)"
          % (recs, n, frame))


test_capture_snaplen_and_drop_intervals.timeout = 60
