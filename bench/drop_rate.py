#!/usr/bin/env python3
"""Drop rate of `loupe drop` (XDP, TC ingress) against nftables DROP rules
(input hook, netdev ingress hook) for the same expression, on one veth
flood: a sender in namespace A floods UDP at B with sendmmsg() for
SECONDS (through a packet socket that skips A's own stack, or with
--socket a UDP socket); B drops `udp dst port 9999`. Rounds interleave the methods.
Prints a markdown table: packets dropped per second (median of rounds)
and the sender's rate. As root, after `make` and `make -C bench`."""
import argparse
import json
import os
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


RAW = []    # [IFACE, DSTMAC] with --raw


def flood(ns, seconds):
    out = sh("ip", "netns", "exec", ns[0], FLOOD, "10.118.0.2", "9999",
             str(seconds), *RAW).stdout
    return int(out)


def run_loupe(ns, dev, where, seconds):
    p = subprocess.Popen(["ip", "netns", "exec", ns[1], LOUPE, "drop", "-i",
                          dev[1], "-j"] + where + [EXPR],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        time.sleep(0.5)
        sent = flood(ns, seconds)
    finally:
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=20)
    if p.returncode:
        sys.exit("loupe drop failed: %s" % err)
    return sent, json.loads(out.splitlines()[-1])["matched_packets"]


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
        sent = flood(ns, seconds)
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
                    return sent, e["counter"]["packets"]
    sys.exit("no nft counter")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--socket", action="store_true",
                    help="flood through a UDP socket (the sender's own stack "
                    "sets the pace) instead of a packet socket")
    a = ap.parse_args()
    if not os.access(FLOOD, os.X_OK):
        sys.exit("bench/build/udpflood missing: make -C bench")
    ns, dev = setup()
    if not a.socket:
        mac = sh("ip", "netns", "exec", ns[1], "cat",
                 "/sys/class/net/%s/address" % dev[1]).stdout.strip()
        RAW[:] = [dev[0], mac]
    methods = [
        ("loupe drop (XDP)", lambda: run_loupe(ns, dev, [], a.seconds)),
        ("loupe drop --tc ingress", lambda: run_loupe(ns, dev, ["--tc", "ingress"], a.seconds)),
        ("nft input hook DROP", lambda: run_nft(ns, dev, "input", a.seconds)),
        ("nft netdev ingress DROP", lambda: run_nft(ns, dev, "ingress", a.seconds)),
    ]
    res = {m: [] for m, _ in methods}
    try:
        for r in range(a.rounds):
            for m, fn in methods:
                sent, dropped = fn()
                res[m].append((sent / a.seconds, dropped / a.seconds))
                print("round %d %-24s sent %.0f/s dropped %.0f/s" % (
                    r + 1, m, sent / a.seconds, dropped / a.seconds),
                    file=sys.stderr)
    finally:
        for n in ns:
            sh("ip", "netns", "del", n, check=False)
    print("| method | dropped packets/s (median) | sender packets/s |")
    print("|---|---:|---:|")
    for m, _ in methods:
        print("| %s | %.0f | %.0f |" % (
            m, statistics.median(d for _, d in res[m]),
            statistics.median(s for s, _ in res[m])))


if __name__ == "__main__":
    main()
