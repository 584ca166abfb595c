#!/usr/bin/env python3
"""loupe http overhead: Debian's nginx (one worker) serving a small file on
loopback at the machine's saturation rate under wrk (keep-alive), with and
without `loupe http` attached (system-wide: nginx and wrk are both traced;
rows to /dev/null), in interleaved rounds.

    bench/http_overhead.py [--rounds R] [--seconds S] [--conns C] [--paired]
                           [--tool ARGS]... [--peer CMD]... [--no-bpf-stats]

Each round runs wrk untraced, then under each --tool in turn (default
`http`; e.g. --tool http --tool 'http -s -i 100' --tool 'agent --metrics
none --profile-hz 0 --http'; a first word with a / is another loupe
binary, to compare builds in one run; `http -p {nginx}` traces nginx
alone). --peer runs any other command line the same way (a bpftrace
one-liner: a peer, or a floor such as an empty program on the same
hook). Prints a markdown table on stdout, medians of the rounds:
requests/s, the throughput loss, mean and p99 latency, CPU per request
of nginx, wrk and loupe (utime + stime), and the run time of loupe's BPF
programs per request (kernel.bpf_stats_enabled, turned on for the run
unless --no-bpf-stats: the statistics add two clock reads to every
program run, which weighs on a program that runs at every syscall).
CPU figures are steadier than throughput on a loaded machine. --paired
runs wrk untraced again after each traced run and prints, per tool, the
median and quartiles of each traced run's loss against the untraced runs
either side of it: the machine's speed drifts by 10-20 % within a minute
here, which medians of separate runs do not cancel.
As root, from the repo root; needs nginx (nginx-light) and wrk.
"""
import argparse
import os
import re
import shlex
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


def cpu_ticks(pid):
    """utime + stime of a process (all its threads), in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def bpf_run_ns(pid):
    """Run time of the BPF programs a process holds (kernel.bpf_stats)."""
    total, seen = 0, set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) != "anon_inode:bpf-prog":
                continue
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                info = dict(l.split(":", 1) for l in f if ":" in l)
        except OSError:
            continue
        pid_id = info.get("prog_id", "").strip()
        if pid_id in seen:
            continue
        seen.add(pid_id)
        total += int(info.get("run_time_ns", "0"))
    return total


def wrk(url, seconds, conns, watch):
    """One wrk run: requests/s, mean and p99 latency (ms), then per request
    the CPU (us) of each watched process and the BPF run time (us) of the
    last one's programs."""
    tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
    cpu0 = [cpu_ticks(p) for p in watch]
    bpf0 = bpf_run_ns(watch[-1]) if len(watch) > 1 else 0
    child0 = os.times()
    out = subprocess.run(["wrk", "-t1", "-c%d" % conns, "-d%ds" % seconds, "--latency",
                          url], capture_output=True, text=True,
                         timeout=seconds + 30).stdout
    child1 = os.times()
    cpu1 = [cpu_ticks(p) for p in watch]
    bpf1 = bpf_run_ns(watch[-1]) if len(watch) > 1 else 0
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    n = int(re.search(r"(\d+) requests in", out).group(1)) or 1
    m = re.search(r"Latency\s+([\d.]+)(us|ms|s)\s", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    wrk_us = (child1.children_user + child1.children_system -
              child0.children_user - child0.children_system) * 1e6 / n
    cpu = [(b - a) * tick_us / n for a, b in zip(cpu0, cpu1)]
    row = [rps, to_ms(*m.groups()), to_ms(*p99.groups()), cpu[0], wrk_us]
    if len(watch) > 1:
        row += [cpu[1], (bpf1 - bpf0) / 1e3 / n]
    return row


def tool_argv(loupe, tool, nginx_pid):
    if tool.startswith("peer:"):
        return shlex.split(tool[5:].replace("{nginx}", str(nginx_pid)))
    """The loupe command line of --tool (a first word with a / names
    another loupe binary, {nginx} is nginx's pid); the agent serves a
    free port."""
    argv = tool.replace("{nginx}", str(nginx_pid)).split()
    if "/" not in argv[0]:
        argv = [loupe] + argv
    if argv[1] == "agent" and "--listen" not in argv:
        argv += ["--listen", "127.0.0.1:%d" % free_port()]
    return argv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--loupe", default="build/loupe")
    ap.add_argument("--tool", action="append",
                    help="a loupe command line, repeatable: 'http' (the "
                    "default), 'http -s -i 100', 'agent --metrics none "
                    "--profile-hz 0 --http'; '/path/to/loupe http' runs "
                    "another build")
    ap.add_argument("--peer", action="append", default=[],
                    help="another command line, repeatable, e.g. a "
                    "bpftrace one-liner ({nginx}: nginx's pid)")
    ap.add_argument("--paired", action="store_true",
                    help="an untraced run after each traced one, and each "
                    "traced run's loss against the two either side of it "
                    "(steadier where the machine's speed drifts)")
    ap.add_argument("--no-bpf-stats", action="store_true",
                    help="leave kernel.bpf_stats_enabled as it is")
    a = ap.parse_args()
    tools = (a.tool or ([] if a.peer else ["http"])) + \
        ["peer:" + p for p in a.peer]
    for exe in ("nginx", "wrk"):
        if not shutil.which(exe):
            sys.exit("%s is needed (apt-get install nginx-light wrk)" % exe)
    with open("/proc/sys/kernel/bpf_stats_enabled") as f:
        stats_was = f.read().strip()
    if not a.no_bpf_stats:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write("1")
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
        wrk(url, 1, a.conns, [ngx.pid])   # warm-up
        res = {k: [] for k in ["untraced"] + tools}
        # each traced run's loss against the untraced runs either side
        paired = {k: [] for k in tools}
        for _ in range(a.rounds):
            res["untraced"].append(wrk(url, a.seconds, a.conns, [ngx.pid]))
            for tool in tools:
                tracer = subprocess.Popen(tool_argv(a.loupe, tool, ngx.pid),
                                          stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE, text=True)
                time.sleep(2.5)     # every probe attached
                if tracer.poll() is not None:
                    sys.exit("loupe %s exited %d: %s" % (
                        tool, tracer.returncode, tracer.communicate()[1]))
                res[tool].append(wrk(url, a.seconds, a.conns,
                                     [ngx.pid, tracer.pid]))
                tracer.send_signal(signal.SIGINT)
                err = tracer.communicate(timeout=30)[1]
                if tracer.returncode not in (0, -signal.SIGINT):
                    sys.exit("loupe exited %d: %s" % (tracer.returncode, err))
                for line in err.splitlines():
                    if "lost" in line:
                        print("%s: %s" % (tool, line), file=sys.stderr)
                if a.paired:
                    res["untraced"].append(wrk(url, a.seconds, a.conns,
                                               [ngx.pid]))
                    around = (res["untraced"][-2][0] +
                              res["untraced"][-1][0]) / 2
                    paired[tool].append(100 * (res[tool][-1][0] - around) /
                                        around)
                tracer = None
        med = {k: [statistics.median(r[i] for r in v) for i in range(len(v[0]))]
               for k, v in res.items()}
        u = med["untraced"]
        print("| nginx, wrk -c%d, %d s x %d rounds (medians) | requests/s | "
              "loss | mean latency ms | p99 latency ms | nginx us/req | "
              "wrk us/req | loupe us/req | BPF us/req |"
              % (a.conns, a.seconds, a.rounds))
        print("|---|---|---|---|---|---|---|---|---|")
        print("| untraced | %.0f | | %.3f | %.3f | %.1f | %.1f | | |"
              % tuple(u))
        for tool in tools:
            t = med[tool]
            name = tool[5:] if tool.startswith("peer:") else "loupe " + tool
            print("| `%s` | %.0f | %+.1f %% | %.3f | %.3f | %.1f | %.1f "
                  "| %.1f | %.2f |" % ((name, t[0], 100 * (t[0] - u[0]) / u[0])
                                      + tuple(t[1:])))
        for k, v in res.items():
            print("rounds %s: %s" % (k, [round(r[0]) for r in v]),
                  file=sys.stderr)
        for tool in tools if a.paired else []:
            q = statistics.quantiles(paired[tool], n=4) \
                if len(paired[tool]) > 1 else paired[tool] * 3
            print("paired loss `%s`: median %+.1f %% (quartiles %+.1f, "
                  "%+.1f) %s" % (tool, statistics.median(paired[tool]),
                                 q[0], q[2],
                                 [round(x, 1) for x in paired[tool]]))
    finally:
        if tracer and tracer.poll() is None:
            tracer.kill()
        ngx.kill()
        ngx.wait()
        shutil.rmtree(d, ignore_errors=True)
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write(stats_was)


if __name__ == "__main__":
    main()
