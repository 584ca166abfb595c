"""Runtime tests of loupe's packet filters (issue 17): tcpdump expressions
compiled by libpcap and translated to XDP and TC programs. loupe filter's
dumps are compared byte for byte with Debian's tcpdump; the translations
run in this kernel (BPF_PROG_TEST_RUN) on a generated packet corpus and
must agree with libpcap's pcap_offline_filter on every packet."""
import json
import os
import shutil
import struct

import netpkt
from common import LOUPE, Skip, check, fail, run_quiet, short, tmpdir

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
