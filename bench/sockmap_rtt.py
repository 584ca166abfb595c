#!/usr/bin/env python3
"""Round trips per second of a TCP ping-pong over loopback (1-byte
messages, one connection) in a cgroup v2, with `loupe sockmap --cgroup`
and without it, rounds interleaved. Prints a markdown table. As root,
after `make`."""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
LOUPE = os.path.join(os.path.dirname(HERE), "build", "loupe")

PINGPONG = r"""
import socket, sys, threading, time
n = int(sys.argv[1])
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
def serve():
    c, _ = s.accept()
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for _ in range(n):
        c.sendall(c.recv(1))
t = threading.Thread(target=serve); t.start()
c = socket.create_connection(("127.0.0.1", s.getsockname()[1]))
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
t0 = time.monotonic()
for _ in range(n):
    c.sendall(b"x"); c.recv(1)
print(n / (time.monotonic() - t0))
"""


def cgroup():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            if " - cgroup2 " in line:
                root = line.split()[4]
                break
        else:
            sys.exit("no cgroup v2 hierarchy")
    path = os.path.join(root, "net17-bench-" + uuid.uuid4().hex[:6])
    os.mkdir(path)
    return path


def pingpong(cg, n):
    out = subprocess.run(["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"',
                          cg, sys.executable, "-c", PINGPONG, str(n)],
                         capture_output=True, text=True, check=True,
                         timeout=300).stdout
    return float(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--trips", type=int, default=20000)
    a = ap.parse_args()
    cg = cgroup()
    res = {"loopback TCP": [], "loupe sockmap": []}
    try:
        for r in range(a.rounds):
            res["loopback TCP"].append(pingpong(cg, a.trips))
            p = subprocess.Popen([LOUPE, "sockmap", "--cgroup", cg],
                                 stdout=subprocess.DEVNULL)
            try:
                time.sleep(0.5)
                res["loupe sockmap"].append(pingpong(cg, a.trips))
            finally:
                p.send_signal(signal.SIGINT)
                p.wait(timeout=15)
            print("round %d: %s" % (r + 1, {k: round(v[-1]) for k, v in
                                            res.items()}), file=sys.stderr)
    finally:
        os.rmdir(cg)
    base = statistics.median(res["loopback TCP"])
    print("| ping-pong over loopback | round trips/s (median) | vs loopback |")
    print("|---|---:|---:|")
    for k, v in res.items():
        m = statistics.median(v)
        print("| %s | %.0f | %.2fx |" % (k, m, m / base))


if __name__ == "__main__":
    main()
