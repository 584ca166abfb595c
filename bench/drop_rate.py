#!/usr/bin/env python3
"""Drop rate of `loupe drop` (XDP native and generic, TC ingress) against
nftables DROP rules (input hook, netdev ingress hook) and iptables (INPUT)
for the same expression, on one veth flood: namespace A floods UDP at B
for SECONDS, B drops `udp dst port 9999`. Rounds interleave the methods.

The flood (default --flood live) is made by the kernel: BPF_PROG_TEST_RUN
of an XDP program redirecting to A's veth with BPF_F_TEST_XDP_LIVE_FRAMES
(the xdp-trafficgen way), no socket buffer on A's side, so that B's work
sets the pace; B's veth takes the frames in its NAPI poll (GRO is turned
on for that; with XDP on B the program alone would do). --flood packet
sends through a packet socket (PACKET_QDISC_BYPASS, sendmmsg), --flood
socket through a UDP socket.

Prints a markdown table, medians of the rounds: packets dropped per
second, frames sent per second, the CPU time in softirq (where B's
receive path runs) per dropped packet from /proc/stat (all CPUs, tick
sampled: the machine's other work counts too), and the CPU time of the
flood and of the receive path it drives per dropped packet: the flood
process's own (the softirqs it raises run mostly in it) plus ksoftirqd's.
On a machine shared with other work the packet rates follow the CPU
share the flood gets; the CPU per packet does not. As root, after `make`
and `make -C bench`."""
import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
LOUPE = os.path.join(os.path.dirname(HERE), "build", "loupe")
FLOOD = os.path.join(HERE, "build", "udpflood")
EXPR = "udp dst port 9999"


def sh(*argv, check=True, **kw):
    return subprocess.run(argv, check=check, capture_output=True, text=True,
                          timeout=60, **kw)


def setup():
    tag = uuid.uuid4().hex[:6]
    ns = ("net17bench-a" + tag, "net17bench-b" + tag)
    dev = ("n17ba" + tag, "n17bb" + tag)
    for n in ns:
        sh("ip", "netns", "add", n)
    sh("ip", "link", "add", dev[0], "netns", ns[0], "type", "veth", "peer",
       "name", dev[1], "netns", ns[1])
    for i in (0, 1):
        sh("ip", "-n", ns[i], "addr", "add", "10.118.0.%d/24" % (i + 1), "dev",
           dev[i])
        sh("ip", "-n", ns[i], "link", "set", dev[i], "up")
    return ns, dev


RAW = []    # [IFACE, DSTMAC] or [IFACE, DSTMAC, "live"]

# Turns GRO on (ETHTOOL_SGRO through SIOCETHTOOL): a veth's NAPI poll,
# which takes redirected XDP frames, runs only with GRO or an XDP program.
GRO_PY = r"""
import ctypes, fcntl, socket, struct, sys
val = ctypes.create_string_buffer(struct.pack("II", 0x2c, 1))
ifr = struct.pack("16sQ", sys.argv[1].encode(), ctypes.addressof(val))
fcntl.ioctl(socket.socket(), 0x8946, ifr)
"""


def softirq_ns():
    """CPU time in softirq so far, all CPUs (ns)."""
    with open("/proc/stat") as f:
        ticks = int(f.readline().split()[7])
    return ticks * 1e9 / os.sysconf("SC_CLK_TCK")


def ksoftirqd_ns():
    """CPU time of the ksoftirqd threads so far (ns): softirq work the
    kernel deferred from where it was raised."""
    total = 0
    for pid in os.listdir("/proc"):
        try:
            with open("/proc/%s/stat" % pid) as f:
                st = f.read()
        except OSError:
            continue
        if "(ksoftirqd/" in st:
            f = st.rsplit(")", 1)[1].split()
            total += int(f[11]) + int(f[12])
    return total * 1e9 / os.sysconf("SC_CLK_TCK")


def flood(ns, seconds):
    """(frames sent, softirq ns, CPU ns of the flood and of the receive
    path it runs: the sender's own time, in which the softirqs it raises
    mostly run, and ksoftirqd's)."""
    t0, k0 = softirq_ns(), ksoftirqd_ns()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = sh("ip", "netns", "exec", ns[0], FLOOD, "10.118.0.2", "9999",
             str(seconds), *RAW).stdout
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) * 1e9
    return int(out), softirq_ns() - t0, cpu + ksoftirqd_ns() - k0


def run_loupe(ns, dev, where, seconds):
    p = subprocess.Popen(["ip", "netns", "exec", ns[1], LOUPE, "drop", "-i",
                          dev[1], "-j"] + where + [EXPR],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        time.sleep(0.5)
        sent, soft, cpu = flood(ns, seconds)
    finally:
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=20)
    if p.returncode:
        sys.exit("loupe drop failed: %s" % err)
    return (sent, json.loads(out.splitlines()[-1])["matched_packets"], soft,
            cpu)


def run_iptables(ns, dev, seconds):
    rule = ["INPUT", "-p", "udp", "--dport", "9999", "-j", "DROP"]
    sh("ip", "netns", "exec", ns[1], "iptables", "-I", *rule)
    try:
        sent, soft, cpu = flood(ns, seconds)
        out = sh("ip", "netns", "exec", ns[1], "iptables", "-nvxL", "INPUT").stdout
    finally:
        sh("ip", "netns", "exec", ns[1], "iptables", "-D", *rule, check=False)
    for line in out.splitlines():
        if "DROP" in line and "dpt:9999" in line:
            return sent, int(line.split()[0]), soft, cpu
    sys.exit("no iptables counter")


NFT = {
    "input": "table inet %s {\n chain c {\n  type filter hook input "
             "priority 0;\n  udp dport 9999 counter drop\n }\n}\n",
    "ingress": "table netdev %s {\n chain c {\n  type filter hook ingress "
               "device %s priority 0;\n  udp dport 9999 counter drop\n }\n}\n",
}


def run_nft(ns, dev, hook, seconds):
    name = "net17bench"
    rule = NFT[hook] % ((name, dev[1]) if hook == "ingress" else (name,))
    fam = "netdev" if hook == "ingress" else "inet"
    sh("ip", "netns", "exec", ns[1], "nft", "-f", "-", input=rule)
    try:
        sent, soft, cpu = flood(ns, seconds)
        out = sh("ip", "netns", "exec", ns[1], "nft", "-j", "list", "table",
                 fam, name).stdout
    finally:
        sh("ip", "netns", "exec", ns[1], "nft", "delete", "table", fam, name,
           check=False)
    for item in json.loads(out)["nftables"]:
        rule = item.get("rule")
        if rule:
            for e in rule["expr"]:
                if "counter" in e:
                    return sent, e["counter"]["packets"], soft, cpu
    sys.exit("no nft counter")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--flood", choices=("live", "packet", "socket"),
                    default="live", help="how A makes the traffic (above)")
    a = ap.parse_args()
    if not os.access(FLOOD, os.X_OK):
        sys.exit("bench/build/udpflood missing: make -C bench")
    ns, dev = setup()
    if a.flood != "socket":
        mac = sh("ip", "netns", "exec", ns[1], "cat",
                 "/sys/class/net/%s/address" % dev[1]).stdout.strip()
        RAW[:] = [dev[0], mac] + (["live"] if a.flood == "live" else [])
    if a.flood == "live":
        sh("ip", "netns", "exec", ns[1], sys.executable, "-c", GRO_PY, dev[1])
    methods = [
        ("loupe drop (XDP native)",
         lambda: run_loupe(ns, dev, ["--xdp-mode", "native"], a.seconds)),
        ("loupe drop (XDP generic)",
         lambda: run_loupe(ns, dev, ["--xdp-mode", "generic"], a.seconds)),
        ("loupe drop --tc ingress",
         lambda: run_loupe(ns, dev, ["--tc", "ingress"], a.seconds)),
        ("nft input hook DROP", lambda: run_nft(ns, dev, "input", a.seconds)),
        ("nft netdev ingress DROP",
         lambda: run_nft(ns, dev, "ingress", a.seconds)),
        ("iptables INPUT DROP", lambda: run_iptables(ns, dev, a.seconds)),
    ]
    res = {m: [] for m, _ in methods}
    try:
        for r in range(a.rounds):
            for m, fn in methods:
                sent, dropped, soft, cpu = fn()
                row = (sent / a.seconds, dropped / a.seconds,
                       soft / max(dropped, 1), cpu / max(dropped, 1))
                res[m].append(row)
                print("round %d %-26s sent %.0f/s dropped %.0f/s softirq "
                      "%.0f ns/packet, flood+receive %.0f ns/packet"
                      % ((r + 1, m) + row), file=sys.stderr)
    finally:
        for n in ns:
            sh("ip", "netns", "del", n, check=False)

    def med(m, i):
        return statistics.median(row[i] for row in res[m])

    base = "nft input hook DROP"
    print("| method | dropped packets/s | frames sent/s | softirq ns per "
          "packet | flood+receive CPU ns per packet | nft input's CPU per "
          "packet / this one's |")
    print("|---|---:|---:|---:|---:|---:|")
    for m, _ in methods:
        print("| %s | %.0f | %.0f | %.0f | %.0f | %.2fx |" % (
            m, med(m, 1), med(m, 0), med(m, 2), med(m, 3),
            med(base, 3) / med(m, 3)))


if __name__ == "__main__":
    main()
