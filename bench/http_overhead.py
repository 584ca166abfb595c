#!/usr/bin/env python3
"""loupe http overhead: Debian's nginx (one worker) serving a small file on
loopback at the machine's saturation rate under wrk (keep-alive), with and
without `loupe http` attached (system-wide: nginx and wrk are both traced;
rows to /dev/null), in interleaved rounds.

    bench/http_overhead.py [--rounds R] [--seconds S] [--conns C] [--tool ARGS]

Prints a markdown table on stdout: requests/s, mean and p99 latency
(median of the rounds) untraced and traced, and the throughput loss. As
root, from the repo root; needs nginx (nginx-light), wrk and openssl.
"""
import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

CONF = """
daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {d}/tmp;
  proxy_temp_path {d}/tmp;
  fastcgi_temp_path {d}/tmp;
  uwsgi_temp_path {d}/tmp;
  scgi_temp_path {d}/tmp;
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{port};
    root {d}/html;
  }}
}}
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def to_ms(v, unit):
    return float(v) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def wrk(url, seconds, conns):
    out = subprocess.run(["wrk", "-t1", "-c%d" % conns, "-d%ds" % seconds, "--latency",
                          url], capture_output=True, text=True,
                         timeout=seconds + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"Latency\s+([\d.]+)(us|ms|s)\s", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    return rps, to_ms(*m.groups()), to_ms(*p99.groups())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--loupe", default="build/loupe")
    ap.add_argument("--tool", default="http",
                    help="the loupe command line, e.g. 'http -s'")
    a = ap.parse_args()
    for exe in ("nginx", "wrk"):
        if not shutil.which(exe):
            sys.exit("%s is needed (apt-get install nginx-light wrk)" % exe)
    d = tempfile.mkdtemp(prefix="httpbench")
    os.makedirs(d + "/tmp")
    os.makedirs(d + "/html")
    with open(d + "/html/index.html", "w") as f:
        f.write("x" * 612)
    port = free_port()
    with open(d + "/nginx.conf", "w") as f:
        f.write(CONF.format(d=d, port=port))
    ngx = subprocess.Popen(["nginx", "-c", d + "/nginx.conf", "-p", d])
    tracer = None
    try:
        time.sleep(0.5)
        url = "http://127.0.0.1:%d/index.html" % port
        wrk(url, 1, a.conns)   # warm-up
        res = {"untraced": [], "traced": []}
        for _ in range(a.rounds):
            res["untraced"].append(wrk(url, a.seconds, a.conns))
            tracer = subprocess.Popen([a.loupe] + a.tool.split(),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      text=True)
            time.sleep(2.0)     # every probe attached
            res["traced"].append(wrk(url, a.seconds, a.conns))
            tracer.send_signal(signal.SIGINT)
            err = tracer.communicate(timeout=30)[1]
            if tracer.returncode != 0:
                sys.exit("loupe exited %d: %s" % (tracer.returncode, err))
            if err.strip():
                print("loupe: " + err.strip(), file=sys.stderr)
            tracer = None
        med = {k: [statistics.median(r[i] for r in v) for i in range(3)]
               for k, v in res.items()}
        u, t = med["untraced"], med["traced"]
        print("| nginx, wrk -c%d, %d s x %d rounds | requests/s | mean latency ms | "
              "p99 latency ms |" % (a.conns, a.seconds, a.rounds))
        print("|---|---|---|---|")
        print("| untraced | %.0f | %.3f | %.3f |" % tuple(u))
        print("| `loupe %s` | %.0f | %.3f | %.3f |" % ((a.tool,) + tuple(t)))
        print("| difference | %.1f %% | %+.3f | %+.3f |"
              % (100 * (t[0] - u[0]) / u[0], t[1] - u[1], t[2] - u[2]))
        print("rounds untraced %s traced %s" % ([round(r[0]) for r in res["untraced"]],
                                               [round(r[0]) for r in res["traced"]]),
              file=sys.stderr)
    finally:
        if tracer and tracer.poll() is None:
            tracer.kill()
        ngx.kill()
        ngx.wait()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
