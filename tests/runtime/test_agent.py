"""loupe agent: HTTP, exposition, config checks, reload, privileges, TLS and
basic auth, scraped by real clients (urllib, promtool, Prometheus 2.42)."""
import gzip
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings

from common import (LOUPE, Skip, check, poll_until, read_text, require_loupe, run_quiet, short,
                    spawn, tmpdir)

LISTEN_RE = re.compile(r"listening on (https?)://\S+ \(port (\d+)\)")
# One sample line of text format 0.0.4 as the agent writes it.
SAMPLE_RE = re.compile(
    r'^[a-zA-Z_:][a-zA-Z0-9_:]*'
    r'(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})?'
    r' (NaN|[+-]Inf|-?[0-9.]+(e[+-][0-9]+)?)$')


class Agent:
    """A `loupe agent` on a free loopback port; stderr kept in a file."""

    def __init__(self, *args, listen="127.0.0.1:0", wait=True):
        require_loupe()
        self.dir = tmpdir()
        self.err_path = os.path.join(self.dir, "agent.err")
        self.err_file = open(self.err_path, "w")
        argv = [LOUPE, "agent"] + (["--listen", listen] if listen else []) + list(args)
        self.proc = spawn(argv, stderr=self.err_file)
        self.port = None
        self.scheme = "http"
        if wait:
            m = poll_until(lambda: self.proc.poll() is not None or
                           LISTEN_RE.search(self.log()), 10)
            check(m and m is not True and self.proc.poll() is None,
                  "agent did not start listening: %s" % short(self.log()))
            self.scheme, self.port = m.group(1), int(m.group(2))

    def log(self):
        with open(self.err_path) as f:
            return f.read()

    def url(self, path="/metrics", host="127.0.0.1"):
        return "%s://%s:%d%s" % (self.scheme, host, self.port, path)

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=10)
        self.err_file.close()
        return rc


def get(url, headers=None, method="GET", timeout=5, context=None):
    """(status, headers, body bytes) of one request; HTTP errors included."""
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def samples(text):
    """{series: value} of an exposition, every sample line checked."""
    out = {}
    for line in text.split("\n"):
        if not line or line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        check(SAMPLE_RE.match(line), "not a valid sample line: %r" % line)
        series, value = line.rsplit(" ", 1)
        check(series not in out, "series %s twice" % series)
        out[series] = float(value)
    return out


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# ---------------------------------------------------------------- exposition

def test_agent_scrape_and_promtool():
    a = Agent()
    status, headers, body = get(a.url())
    check(status == 200, "status %d" % status)
    check(headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8",
          "content type %r" % headers["Content-Type"])
    text = body.decode("utf-8")
    s = samples(text)
    check(s.get('loupe_agent_build_info{version="0.1.0"}') == 1,
          "no build_info 1 in %s" % short(text))
    check(s.get("loupe_agent_config_last_reload_successful") == 1, short(text))
    check(abs(s["loupe_agent_config_last_reload_success_timestamp_seconds"] - time.time()) < 60,
          "reload timestamp is not now: %s" % short(text))
    check(s.get('loupe_agent_scrape_duration_seconds_bucket{le="+Inf"}') == 0 and
          s.get("loupe_agent_scrape_duration_seconds_count") == 0,
          "no empty scrape duration histogram before the first scrape: %s" % short(text))
    # the first scrape is counted once it is served
    _, _, body = get(a.url())
    s = samples(body.decode())
    check(s.get('loupe_agent_scrape_duration_seconds_bucket{le="+Inf"}') == 1 and
          s.get("loupe_agent_scrape_duration_seconds_count") == 1,
          "scrape duration histogram: %s" % short(body.decode(), 2000))
    if not shutil.which("promtool"):
        raise Skip("promtool is not installed (make deps)")
    p = subprocess.run(["promtool", "check", "metrics"], input=body,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
    check(p.returncode == 0 and p.stdout == b"",
          "promtool check metrics: rc %d: %s" % (p.returncode, short(p.stdout.decode())))


def test_agent_gzip_negotiation():
    a = Agent()
    _, _, plain = get(a.url())
    cases = [("gzip", True), ("deflate, gzip;q=0.5", True), ("x-gzip", True),
             ("*", True), ("gzip;q=0", False), ("*;q=0", False), ("identity", False),
             ("GZIP", True), ("br, *;q=0.1, gzip;q=0", False), (None, False)]
    for ae, want in cases:
        status, headers, body = get(a.url(), {"Accept-Encoding": ae} if ae else {})
        check(status == 200, "Accept-Encoding %r: status %d" % (ae, status))
        got = headers.get("Content-Encoding") == "gzip"
        check(got == want, "Accept-Encoding %r: gzip %s, want %s" % (ae, got, want))
        if got:
            body = gzip.decompress(body)
        text = body.decode()
        check(text.startswith("# HELP ") and 'loupe_agent_build_info{version="0.1.0"} 1\n' in text,
              "Accept-Encoding %r: body %s" % (ae, short(text)))
    check(plain.startswith(b"# HELP "), short(plain.decode()))


def test_agent_http_methods_and_paths():
    a = Agent()
    status, headers, body = get(a.url("/nope"))
    check(status == 404 and body == b"not found\n", "/nope: %d %r" % (status, body))
    for method in ("POST", "PUT", "DELETE", "OPTIONS", "PATCH"):
        status, headers, body = get(a.url(), method=method)
        check(status == 405, "%s: status %d" % (method, status))
        check(headers.get("Allow") == "GET, HEAD", "%s: Allow %r" % (method, headers.get("Allow")))
    # a body is never read: a big POST is answered at once
    conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=5)
    conn.putrequest("POST", "/metrics")
    conn.putheader("Content-Length", str(1 << 30))
    conn.endheaders()
    r = conn.getresponse()
    check(r.status == 405, "POST with a 1 GiB body: %d" % r.status)
    conn.close()
    # a GET with a body: refused, not read (a big one may see the reset
    # of a connection closed with data unread, before the answer)
    for size in (1000, 1 << 20):
        conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=5)
        try:
            conn.request("GET", "/metrics", body=b"x" * size)
            r = conn.getresponse()
            check(r.status == 413 and r.read() == b"no request body is accepted\n",
                  "GET with %d bytes of body: %d" % (size, r.status))
        except (ConnectionError, http.client.HTTPException):
            check(size > 1000, "GET with %d bytes of body: no answer" % size)
        conn.close()
    # keep-alive: scrapes reuse one connection
    conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=5)
    for i in range(3):
        conn.request("GET", "/healthz")
        r = conn.getresponse()
        check(r.status == 200 and r.read() == b"ok\n" and
              r.getheader("Connection") != "close", "keep-alive request %d" % i)
        if i == 0:
            sock = conn.sock
        check(conn.sock is sock, "request %d needed a new connection" % i)
    conn.close()
    # HEAD: the headers of GET, no body
    conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=5)
    conn.request("HEAD", "/metrics")
    r = conn.getresponse()
    body = r.read()
    check(r.status == 200 and body == b"" and int(r.getheader("Content-Length")) > 100,
          "HEAD: %d, Content-Length %s, body %r" % (r.status, r.getheader("Content-Length"), body))
    conn.close()
    status, headers, body = get(a.url("/healthz"))
    check(status == 200 and body == b"ok\n", "/healthz: %d %r" % (status, body))
    status, headers, body = get(a.url("/"))
    html = body.decode()
    check(status == 200 and headers["Content-Type"].startswith("text/html"), "/: %d" % status)
    for want in ("loupe_agent_build_info", "The loupe version serving these metrics",
                 "loupe_agent_scrape_duration_seconds", "No --config."):
        check(want in html, "index lacks %r: %s" % (want, short(html)))
    # headers beyond the request-size limit are refused, the agent goes on
    status, _, _ = get(a.url(), {"X-Big": "x" * 40000})
    check(status in (413, 431), "40 kB of headers: status %d" % status)
    check(get(a.url())[0] == 200, "no scrape after a big request")


def test_agent_silent_client_does_not_block():
    a = Agent()
    silent = []
    for _ in range(10):
        s = socket.create_connection(("127.0.0.1", a.port))
        silent.append(s)
    half = socket.create_connection(("127.0.0.1", a.port))
    half.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")   # never ends
    t0 = time.monotonic()
    for _ in range(5):
        status, _, _ = get(a.url(), timeout=2)
        check(status == 200, "scrape beside silent clients: %d" % status)
    took = time.monotonic() - t0
    check(took < 1.0, "5 scrapes beside 11 silent clients took %.2f s" % took)
    for s in silent + [half]:
        s.close()


def test_agent_scrape_storm():
    # the HTTP side's memory alone (the profiler's: bench/agent_profile.py)
    a = Agent("--profile-hz", "0")
    get(a.url())
    rss0 = rss_kb(a.proc.pid)
    stop = time.monotonic() + 4
    results = {"ok": 0, "failed": 0, "errors": []}
    lock = threading.Lock()

    def client():
        while time.monotonic() < stop:
            try:
                status, _, body = get(a.url(), {"Accept-Encoding": "gzip"}, timeout=5)
                ok = status == 200 and len(gzip.decompress(body)) > 100
                err = None if ok else "status %d" % status
            except Exception as e:  # noqa: B902 - any failure counts
                ok, err = False, repr(e)
            with lock:
                results["ok" if ok else "failed"] += 1
                if err and len(results["errors"]) < 3:
                    results["errors"].append(err)

    threads = [threading.Thread(target=client) for _ in range(50)]
    for t in threads:
        t.start()
    peak = 0
    while any(t.is_alive() for t in threads):
        peak = max(peak, rss_kb(a.proc.pid))
        time.sleep(0.1)
    for t in threads:
        t.join()
    check(results["failed"] == 0, "%d of %d scrapes failed: %s" %
          (results["failed"], results["ok"] + results["failed"], results["errors"]))
    check(results["ok"] >= 200, "only %d scrapes in 4 s" % results["ok"])
    check(peak < 16 * 1024 and peak - rss0 < 8 * 1024,
          "agent RSS %d kB at start, %d kB peak under 50 clients" % (rss0, peak))
    _, _, body = get(a.url())
    s = samples(body.decode())
    check(s["loupe_agent_scrape_duration_seconds_count"] >= results["ok"],
          "scrape count %s < %d served" % (s["loupe_agent_scrape_duration_seconds_count"],
                                          results["ok"]))


test_agent_scrape_storm.timeout = 60


# ---------------------------------------------------------------- command line

def test_agent_listen_errors_and_ipv6():
    require_loupe()
    for bad in ("localhost:9435", "127.0.0.1", "127.0.0.1:99999", "1.2.3:80",
                "[::1]9435", "::1:9435", "127.0.0.1:-1", ":9435"):
        rc, out, err = run_quiet([LOUPE, "agent", "--listen", bad])
        check(rc == 2 and out == "", "--listen %s: rc %s" % (bad, rc))
        check(err == "loupe: agent: invalid --listen '%s': give a numeric IPV4:PORT or "
              "[IPV6]:PORT, e.g. 127.0.0.1:9435 or [::1]:9435\n" % bad,
              "--listen %s: stderr %r" % (bad, err))
    rc, out, err = run_quiet([LOUPE, "agent", "--max-series", "0"])
    check(rc == 2 and err.count("\n") == 1 and "--max-series" in err, "--max-series 0: %r" % err)
    rc, out, err = run_quiet([LOUPE, "agent", "--metrics", "nosuch"])
    check(rc == 2 and err.startswith("loupe: agent: --metrics: unknown metric 'nosuch'; give "
                                     "all, none or names separated by commas from: runqueue, ") and
          err.count("\n") == 1, "--metrics nosuch: %r" % err)
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
        s.close()
    except OSError:
        raise Skip("no IPv6 loopback here")
    a = Agent(listen="[::1]:0")
    status, _, body = get("http://[::1]:%d/metrics" % a.port)
    check(status == 200 and b"loupe_agent_build_info" in body, "IPv6 scrape: %d" % status)
    check("listening on http://[::1]:0 (port %d)" % a.port in a.log(), short(a.log()))


def test_agent_port_in_use():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    rc, out, err = run_quiet([LOUPE, "agent", "--listen", "127.0.0.1:%d" % port])
    s.close()
    check(rc == 1 and err == "loupe: agent: cannot listen on 127.0.0.1:%d: Address already in use\n"
          % port, "port in use: rc %s, %r" % (rc, err))


GOOD_CONFIG = """\
# custom metrics
metrics:
  - name: test_opens_total
    help: openat() calls by command
    program: 'tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }'
    labels: [comm]
  - name: test_read_size_bytes
    help: read() sizes
    unit: bytes
    program: |
      tracepoint:syscalls:sys_exit_read
      /args->ret > 0/
      {
        @ = hist(args->ret);
      }
"""

# (config text, exact error after "FILE:")
BAD_CONFIGS = [
    ("metrics: [\n", "2:1: did not find expected node content while parsing a flow node"),
    ("metric:\n  - name: x\n", "1:1: unknown key 'metric' in the config (known: metrics, packets, http, profiling)"),
    ("- a\n", "1:1: the config must be a mapping (key: value)"),
    ("metrics: {}\n", "1:10: metrics must be a list of metrics"),
    ("metrics:\n  - name: a_total\n    help: h\n",
     "2:5: a metric has no 'program'"),
    ("metrics:\n  - name: a_total\n    help: h\n    progam: x\n    program: y\n",
     "4:5: unknown key 'progam' in a metric (known: name, help, program, labels, unit, map)"),
    ("metrics:\n  - name: a_total\n    name: b\n    help: h\n    program: y\n",
     "3:5: key 'name' is given twice"),
    ("metrics:\n  - name: 9lives\n    help: h\n    program: y\n",
     "2:11: invalid metric name '9lives': letters, digits, '_' and ':', not starting with a digit"),
    ("metrics:\n  - name: loupe_agent_x\n    help: h\n    program: y\n",
     "2:11: metric names starting with 'loupe_agent_' are the agent's own"),
    ("metrics:\n  - name: a\n    help: h\n    labels: [comm, __x]\n    program: y\n",
     "4:20: invalid label name '__x': letters, digits and '_', not starting with a digit or '__'"),
    ("metrics:\n  - name: a\n    help: h\n    labels: [comm, comm]\n    program: y\n",
     "4:20: label 'comm' is given twice"),
    ("metrics:\n  - name: a\n    help: h\n    labels: comm\n    program: y\n",
     "4:13: labels must be a list, e.g. [comm]"),
    ("metrics:\n  - name: a\n    help: h\n    unit: ns\n    program: y\n",
     "4:11: unknown unit 'ns' (known: nanoseconds, microseconds, milliseconds, seconds, "
     "bytes, none)"),
    ("metrics:\n  - {name: a_total, help: h, program: 'i:s:1 { @ = count(); }'}\n"
     "  - {name: a_total, help: h, program: 'i:s:1 { @ = count(); }'}\n",
     "3:12: metric 'a_total' is defined twice (first on line 2)"),
    # the compiler's errors, moved into the file through quotes and blocks
    ("metrics:\n  - name: a_total\n    help: h\n"
     "    program: 'tracepoint:syscalls:sys_enter_openat { @[comm] = count() + ; }'\n",
     "4:74: expected expression, found ';'"),
    ("metrics:\n  - name: a_total\n    help: h\n    program: |\n"
     "      tracepoint:syscalls:sys_enter_openat\n      {\n        @[comm] = nosuchfn();\n      }\n",
     "7:19: unknown function 'nosuchfn'"),
    ("metrics:\n  - name: a_total\n    help: h\n"
     "    program: \"tracepoint:syscalls:sys_enter_openat { @[\\\"a\\\"] = nosuch(); }\"\n",
     "4:65: unknown function 'nosuch'"),
    ("metrics:\n  - name: a_total\n    help: h\n"
     "    program: 'tracepoint:syscalls:sys_enter_openat { @[''x''] = 1; }'\n",
     "4:56: unexpected character '''"),
    # a map form without a sensible series, labels that do not fit the key
    ("metrics:\n  - name: a\n    help: h\n"
     "    program: 'tracepoint:syscalls:sys_enter_openat { @ = stats(1); }'\n",
     "4:58: @: stats() has no single series: use count(), sum() or avg() in maps of their own"),
    ("metrics:\n  - name: a_total\n    help: h\n    labels: [stack]\n"
     "    program: 'tracepoint:syscalls:sys_enter_openat { @[kstack] = count(); }'\n",
     "5:56: a stack as a key has no label form (one series per stack): keep stacks for loupe trace"),
    ("metrics:\n  - name: a_total\n    help: h\n"
     "    program: 'tracepoint:syscalls:sys_enter_openat { @ = count(); printf(\"x\"); }'\n",
     "4:67: printf() sends a record per event and the agent reads maps only: remove it"),
    ("metrics:\n  - name: a_total\n    help: h\n"
     "    program: 'tracepoint:syscalls:sys_enter_openat { @ = count(); exit(); }'\n",
     "4:67: exit() sends a record per event and the agent reads maps only: remove it"),
    ("metrics:\n  - name: a_total\n    help: h\n    labels: [comm]\n"
     "    program: 'tracepoint:syscalls:sys_enter_openat { @[comm, pid] = count(); }'\n",
     "4:13: the key of @ has 2 elements, (string[64], uint64), but 1 label is given: "
     "one label per element, in order"),
    ("metrics:\n  - name: a_total\n    help: h\n"
     "    program: 'tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }'\n",
     "4:56: the key of @ has 1 element, string[64], but 0 labels are given: "
     "one label per element, in order"),
    ("metrics:\n  - name: a_total\n    help: h\n"
     "    program: 'tracepoint:syscalls:sys_enter_openat { @a = count(); @b = count(); }'\n",
     "4:14: the program has 2 maps (@a, @b): say which one is the metric with map: \"@name\""),
    ("metrics:\n  - name: a_total\n    help: h\n    map: '@c'\n"
     "    program: 'tracepoint:syscalls:sys_enter_openat { @a = count(); @b = count(); }'\n",
     "4:10: the program has no map @c (its maps: @a, @b)"),
    ("metrics:\n  - name: a_total\n    help: h\n"
     "    program: 'BEGIN { @ = count(); }'\n",
     "4:15: BEGIN and END do not run in the agent: a metric program only fills maps from probes"),
    # packet counters: the interface here, libpcap's verdict on the filter
    ("packets:\n  - {name: a, interface: net17nosuch0, filter: icmp}\n",
     "2:26: no interface 'net17nosuch0' here"),
    ("packets:\n  - name: a\n    interface: lo\n    filter: 'tcp port'\n",
     "4:13: invalid expression 'tcp port': can't parse filter expression: syntax error"),
    ("packets:\n  - name: a\n    interface: lo\n    direction: in\n    filter: icmp\n",
     "4:16: unknown direction 'in' (known: ingress, egress, both)"),
    ("packets: {}\n", "1:10: packets must be a list, e.g. [{name: web, interface: eth0, "
     "filter: 'tcp port 80'}]"),
    ("packets:\n  - {name: a, interface: lo, filter: icmp}\n"
     "  - {name: a, interface: lo, filter: udp}\n",
     "3:12: packets 'a' is defined twice (first on line 2)"),
    ("packets:\n  - name: a\n    interface: lo\n", "2:5: a packets entry has no 'filter'"),
    ("packets:\n  - name: a\n    iface: lo\n    filter: icmp\n",
     "3:5: unknown key 'iface' in a packets entry (known: name, interface, direction, filter)"),
    # columns count characters, as editors and libyaml do
    ("metrics:\n  - {help: \"\u00e9\u00e9\u00e9\", name: a_total, program: "
     "'tracepoint:syscalls:sys_enter_openat { @[\"\u00e9\"] = nosuch(); }'}\n",
     "2:92: unknown function 'nosuch'"),
]


def test_agent_check_configs():
    require_loupe()
    d = tmpdir()
    good = write(os.path.join(d, "good.yaml"), GOOD_CONFIG)
    rc, out, err = run_quiet([LOUPE, "agent", "--config", good, "--check"], timeout=30)
    check(rc == 0 and out == "%s: 2 metrics, ok\n" % good and err == "",
          "good config: rc %s, out %r, err %r" % (rc, out, err))
    empty = write(os.path.join(d, "empty.yaml"), "# nothing yet\n")
    rc, out, err = run_quiet([LOUPE, "agent", "--config", empty, "--check"])
    check(rc == 0 and out == "%s: 0 metrics, ok\n" % empty, "empty: %s %r %r" % (rc, out, err))
    for i, (text, want) in enumerate(BAD_CONFIGS + FLAG_KEY_ERRORS):
        path = write(os.path.join(d, "bad%d.yaml" % i), text)
        rc, out, err = run_quiet([LOUPE, "agent", "--config", path, "--check"], timeout=30)
        check(rc == 2 and out == "" and err == "%s:%s\n" % (path, want),
              "config %r: rc %s, stderr %r, want %r" % (text, rc, err, want))
    missing = os.path.join(d, "missing.yaml")
    rc, out, err = run_quiet([LOUPE, "agent", "--config", missing, "--check"])
    check(rc == 2 and err == "%s: cannot read: No such file or directory\n" % missing,
          "missing file: %s %r" % (rc, err))
    rc, out, err = run_quiet([LOUPE, "agent", "--check"])
    check(rc == 2 and err == "loupe: agent: --check needs --config FILE (or --web-config FILE)\n",
          "--check alone: %s %r" % (rc, err))
    # a bad config stops the start, with the same message
    rc, out, err = run_quiet([LOUPE, "agent", "--listen", "127.0.0.1:0", "--config",
                              os.path.join(d, "bad1.yaml")])
    check(rc == 2 and err == "loupe: agent: %s:%s\n" % (os.path.join(d, "bad1.yaml"),
                                                         BAD_CONFIGS[1][1]),
          "start with a bad config: %s %r" % (rc, err))


test_agent_check_configs.timeout = 60


def test_agent_sighup_reload():
    d = tmpdir()
    path = write(os.path.join(d, "agent.yaml"), GOOD_CONFIG)
    a = Agent("--config", path)
    check("0 custom metrics" not in a.log() and "2 custom metrics" in a.log(), short(a.log()))
    html = get(a.url("/"))[2].decode()
    check("test_opens_total" in html and "test_read_size_bytes" in html, short(html))
    # broken: refused, the old config keeps serving
    write(path, "metrics:\n  - name: x_total\n    help: h\n    program: 'i:s:1 { @ = nosuch(); }'\n")
    a.proc.send_signal(signal.SIGHUP)
    want = ("loupe: agent: reload refused, still serving the previous config: "
            "%s:4:27: unknown function 'nosuch'\n" % path)
    check(poll_until(lambda: want in a.log(), 10), "no refusal logged: %s" % short(a.log()))
    status, _, body = get(a.url())
    s = samples(body.decode())
    check(status == 200 and s["loupe_agent_config_last_reload_successful"] == 0,
          "after a bad reload: %d %s" % (status, short(body.decode())))
    html = get(a.url("/"))[2].decode()
    check("test_opens_total" in html and "x_total" not in html, short(html))
    # the old programs still count
    check(any(k.startswith("test_opens_total{") for k in s), short(body.decode()))
    # good: replaces it
    t0 = time.time()
    write(path, "metrics:\n  - name: y_total\n    help: the new one\n"
          "    program: 'tracepoint:syscalls:sys_enter_close { @ = count(); }'\n")
    a.proc.send_signal(signal.SIGHUP)
    check(poll_until(lambda: "config reloaded from %s: 1 custom metric\n" % path in a.log(), 10),
          short(a.log()))
    s = samples(get(a.url())[2].decode())
    check(s["loupe_agent_config_last_reload_successful"] == 1 and
          s["loupe_agent_config_last_reload_success_timestamp_seconds"] >= t0 - 1, str(s))
    html = get(a.url("/"))[2].decode()
    check("y_total" in html and "the new one" in html and "test_opens_total" not in html,
          short(html))
    check("tracepoint:syscalls:sys_enter_close" in html, "no probe on the index: %s" % short(html))
    # the new program serves, the old one is gone
    subprocess.run(["true"])
    s = samples(get(a.url())[2].decode())
    check(s.get("y_total", 0) > 0 and not any(k.startswith("test_opens_total") for k in s),
          "after the reload: %s" % s)
    check(s.get('loupe_agent_probe_attached{metric="y_total",'
                'probe="tracepoint:syscalls:sys_enter_close",hook="tracepoint"}') == 1, str(s))
    check(a.stop(signal.SIGINT) == 0, "SIGINT: exit status not 0")
    check(a.log().endswith("loupe: agent: Interrupt: stopping\n"), short(a.log()))


test_agent_sighup_reload.timeout = 60


def test_agent_reload_refused_by_the_kernel():
    """A config that --check passes but the kernel refuses at attach (a
    sampling rate over kernel.perf_event_max_sample_rate), after another
    new metric was attached: the reload is refused, the new programs are
    detached again and the old ones keep counting."""
    d = tmpdir()
    path = write(os.path.join(d, "agent.yaml"), GOOD_CONFIG)
    a = Agent("--config", path, "--metrics", "none")
    get(a.url())
    before = bpf_ids(a.proc.pid)
    rate = int(read_text("/proc/sys/kernel/perf_event_max_sample_rate"))
    write(path, "metrics:\n  - name: z_total\n    help: attached first\n"
          "    program: 'tracepoint:syscalls:sys_enter_close { @ = count(); }'\n"
          "  - name: fast_total\n    help: too fast for the kernel\n"
          "    program: 'profile:hz:%d { @ = count(); }'\n" % (rate * 10))
    rc, out, err = run_quiet([LOUPE, "agent", "--config", path, "--check"], timeout=30)
    check(rc == 0, "--check refused what only the kernel refuses: %s %s" % (rc, short(err)))
    a.proc.send_signal(signal.SIGHUP)
    check(poll_until(lambda: "reload refused, still serving the previous config: "
                     "%s: fast_total: cannot attach profile:hz:%d" % (path, rate * 10)
                     in a.log(), 10),
          "no refusal logged: %s" % short(a.log()))
    s = samples(get(a.url())[2].decode())
    check(s["loupe_agent_config_last_reload_successful"] == 0, str(s))
    check(any(k.startswith("test_opens_total{") for k in s) and
          not any(k.startswith(("z_total", "fast_total")) for k in s),
          "after the refused reload: %s" % sorted(s)[:20])
    check(bpf_ids(a.proc.pid) == before, "programs or links changed: %s -> %s" %
          (sorted(before), sorted(bpf_ids(a.proc.pid))))
    check(a.stop() == 0, "SIGTERM: exit status not 0")


test_agent_reload_refused_by_the_kernel.timeout = 60


# CAP_DAC_READ_SEARCH (2), CAP_SYS_ADMIN (21), CAP_PERFMON (38), CAP_BPF (39)
KEPT_CAPS = "%016x" % ((1 << 2) | (1 << 21) | (1 << 38) | (1 << 39))


def test_agent_drops_capabilities():
    # without the profiler, whose thread keeps one (test_agent_pprof.py)
    a = Agent("--profile-hz", "0")
    status = open("/proc/%d/status" % a.proc.pid).read()
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    # kept for reloads, but only permitted: nothing is effective
    for f, want in (("CapInh", "0" * 16), ("CapPrm", KEPT_CAPS), ("CapEff", "0" * 16),
                    ("CapBnd", KEPT_CAPS), ("CapAmb", "0" * 16)):
        check(fields[f].strip() == want, "%s %s, want %s" % (f, fields[f], want))
    check(fields["NoNewPrivs"].strip() == "1", "NoNewPrivs %s" % fields["NoNewPrivs"])
    check("loupe: agent: capabilities dropped (CapEff 0000000000000000; CAP_BPF, CAP_PERFMON, "
          "CAP_SYS_ADMIN, CAP_DAC_READ_SEARCH kept permitted for reloads), no_new_privs set\n"
          in a.log(), short(a.log()))
    # every thread, not only the main one
    for tid in os.listdir("/proc/%d/task" % a.proc.pid):
        t = open("/proc/%d/task/%s/status" % (a.proc.pid, tid)).read()
        check("CapEff:\t0000000000000000" in t, "thread %s keeps capabilities" % tid)
    check(get(a.url())[0] == 200, "no scrape without capabilities")
    check(a.stop() == 0, "SIGTERM: exit status not 0")
    check(a.log().endswith("loupe: agent: Terminated: stopping\n"), short(a.log()))


# ---------------------------------------------------------------- custom metrics

# A child with a known workload: its comm is argv[1] (set before the work,
# after Python's own start-up I/O), then it opens a missing path N times,
# on CPU 0 and 1 in turns when pin is given, or reads known sizes.
CHILD = r"""
import ctypes, os, sys
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
mode = sys.argv[2]
if mode == "open":
    path, n, pin = sys.argv[3], int(sys.argv[4]), sys.argv[5] == "pin"
    cpus = sorted(os.sched_getaffinity(0))
    for i in range(n):
        if pin:
            os.sched_setaffinity(0, {cpus[i % len(cpus)]})
        try:
            open(path).close()
        except FileNotFoundError:
            pass
elif mode == "read":
    zero = os.open("/dev/zero", os.O_RDONLY)
    null = os.open("/dev/null", os.O_RDONLY)
    for size in sys.argv[3].split(","):
        os.read(null if size == "0" else zero, max(int(size), 1))
    try:
        os.read(987, 1)
    except OSError:
        pass
"""


def child(comm, *args):
    rc, out, err = run_quiet(["python3", "-c", CHILD, comm] + [str(a) for a in args],
                             timeout=60)
    check(rc == 0, "child %s: rc %s %s" % (comm, rc, err))


def unique_comm(prefix):
    return "%s%d" % (prefix, os.getpid() % 100000)


def open_count_config(d, comm, path):
    return write(os.path.join(d, "agent.yaml"),
                 "metrics:\n  - name: test_marker_opens_total\n    help: opens of the marker path\n"
                 "    labels: [comm]\n    program: |\n"
                 "      tracepoint:syscalls:sys_enter_openat\n"
                 "      /str(args->filename) == \"%s\"/ { @[comm] = count(); }\n" % path)


def test_agent_hist_exact_buckets():
    d = tmpdir()
    comm = unique_comm("lphist")
    cfg = write(os.path.join(d, "agent.yaml"), (
        "metrics:\n"
        "  - name: test_read_bytes\n    help: read() results\n    unit: bytes\n"
        "    program: 'tracepoint:syscalls:sys_exit_read /comm == \"%s\"/ { @ = hist(args->ret); }'\n"
        "  - name: test_read_lin_bytes\n    help: read() results, linear\n    unit: bytes\n"
        "    program: 'tracepoint:syscalls:sys_exit_read /comm == \"%s\"/"
        " { @l = lhist(args->ret, 0, 200, 50); }'\n"
        "  - name: test_read_scaled_seconds\n    help: read() results as milliseconds\n"
        "    unit: milliseconds\n    labels: [comm]\n"
        "    program: 'tracepoint:syscalls:sys_exit_read /comm == \"%s\"/"
        " { @[comm] = hist(args->ret); }'\n") % (comm, comm, comm))
    a = Agent("--config", cfg)
    # sizes: 0 twice, 1 three times, 5, 5, 100, 4096 four times; and -EBADF
    child(comm, "read", "0,0,1,1,1,5,5,100,4096,4096,4096,4096")
    status, _, body = get(a.url())
    text = body.decode()
    s = samples(text)
    want = {"0": 3, "1": 6, "3": 6, "7": 8, "63": 8, "127": 9, "2047": 9, "4095": 9,
            "8191": 13, "+Inf": 13}
    for le, n in want.items():
        got = s.get('test_read_bytes_bucket{le="%s"}' % le)
        check(got == n, "bucket le=%s: %s, want %d: %s" % (le, got, n, short(text, 3000)))
    check(s.get("test_read_bytes_count") == 13, "count %s" % s.get("test_read_bytes_count"))
    check(s.get("test_read_bytes_sum") == 3 + 10 + 100 + 4 * 4096 - 9,
          "sum %s" % s.get("test_read_bytes_sum"))
    # every le is exact: 2^(k+1)-1, each above the one before
    les = [k.split('"')[1] for k in s if k.startswith("test_read_bytes_bucket")]
    check(les[:4] == ["0", "1", "3", "7"] and les[-2:] == ["9.223372036854776e+18", "+Inf"] and
          len(les) == 65, "le values %s" % les)
    # lhist: below 0 (-9), [0,50) 7, [50,100) 0, [100,150) 1, [150,200) 0, >= 200 4
    want = {"-1": 1, "49": 8, "99": 8, "149": 9, "199": 9, "+Inf": 13}
    for le, n in want.items():
        got = s.get('test_read_lin_bytes_bucket{le="%s"}' % le)
        check(got == n, "lhist le=%s: %s, want %d: %s" % (le, got, n, short(text, 3000)))
    # a unit scales the bounds and the sum to the base unit
    check(s.get('test_read_scaled_seconds_bucket{comm="%s",le="0.007"}' % comm) == 8 and
          s.get('test_read_scaled_seconds_sum{comm="%s"}' % comm) == (3 + 10 + 100 + 4 * 4096 - 9) / 1000,
          "milliseconds to seconds: %s" % short(text, 3000))
    if shutil.which("promtool"):
        p = subprocess.run(["promtool", "check", "metrics"], input=body,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
        check(p.returncode == 0 and p.stdout == b"",
              "promtool check metrics: rc %d: %s" % (p.returncode, short(p.stdout.decode())))
    check(a.stop() == 0, "SIGTERM: exit status not 0")


test_agent_hist_exact_buckets.timeout = 60


def test_agent_label_explosion_bounded():
    d = tmpdir()
    comm = unique_comm("lpburst")
    path = os.path.join(d, "missing")
    cfg = write(os.path.join(d, "agent.yaml"), (
        "metrics:\n  - name: test_burst_total\n    help: one series per nanosecond\n"
        "    labels: [ns]\n"
        "    program: 'tracepoint:syscalls:sys_enter_openat /comm == \"%s\"/"
        " { @[nsecs] = count(); }'\n") % comm)
    # the profiler's symbol tables follow what runs on the machine: off
    a = Agent("--config", cfg, "--max-series", "100", "--profile-hz", "0")
    get(a.url())
    rss0 = rss_kb(a.proc.pid)
    dropped = []
    for round in range(3):
        child(comm, "open", path, 20000, "nopin")
        s = samples(get(a.url())[2].decode())
        series = [k for k in s if k.startswith("test_burst_total{")]
        check(len(series) == 100, "round %d: %d series, want 100" % (round, len(series)))
        dropped.append(s.get('loupe_agent_series_dropped_total{metric="test_burst_total"}', 0))
        check(dropped[-1] > (dropped[-2] if round else 0),
              "round %d: dropped not counted: %s" % (round, dropped))
    rss1 = rss_kb(a.proc.pid)
    # 60,000 distinct keys went through: memory stays what it was
    check(rss1 - rss0 < 2048, "RSS grew from %d to %d kB" % (rss0, rss1))
    check(a.stop() == 0, "SIGTERM: exit status not 0")


test_agent_label_explosion_bounded.timeout = 120


def test_agent_map_memory_bounded_and_reported():
    """Kernel memory of the maps: a --max-series that would make a map
    preallocate more than 1 GiB is refused before the kernel is asked;
    histograms are not per-CPU; loupe_agent_map_kernel_bytes is the
    kernel's own figure (bpftool's bytes_memlock of the agent's maps)."""
    if not shutil.which("bpftool"):
        raise Skip("bpftool is not installed (make deps)")
    rc, out, err = run_quiet([LOUPE, "agent", "--listen", "127.0.0.1:0",
                              "--metrics", "block_io", "--max-series", "10000000"],
                             timeout=30)
    check(rc == 2 and re.search(r"block_io: map @block_io would take \d+ MB of kernel "
                                r"memory \(\d+ entries on \d+ CPUs\), over the 1024 MB "
                                r"a map may take: lower --max-series \(now 10000000\)", err),
          "huge --max-series: status %s: %s" % (rc, short(err)))
    # the metric's maps only, not the profiler's
    a = Agent("--metrics", "runqueue", "--profile-hz", "0")
    s = samples(get(a.url())[2].decode())
    got = s.get('loupe_agent_map_kernel_bytes{metric="runqueue"}')
    rc, out, err = run_quiet(["bpftool", "-j", "map", "show"], timeout=20)
    check(rc == 0, "bpftool map show: %s" % short(err))
    ids = set()
    for fd in os.listdir("/proc/%d/fdinfo" % a.proc.pid):
        m = re.search(r"^map_id:\s+(\d+)",
                      read_text("/proc/%d/fdinfo/%s" % (a.proc.pid, fd)), re.M)
        if m:
            ids.add(int(m.group(1)))
    mine = [m for m in json.loads(out) if m["id"] in ids]
    hist = [m for m in mine if m["bytes_value"] >= 512 and m["max_entries"] > 1]
    check(len(hist) == 1 and hist[0]["type"] == "lru_hash",
          "the histogram map is not one shared LRU hash: %s" % hist)
    # keyless: the free entries of the CPUs only, not --max-series
    check(hist[0]["max_entries"] < 1000,
          "keyless histogram map has %d entries" % hist[0]["max_entries"])
    want = sum(m["bytes_memlock"] for m in mine)
    check(got == want, "map kernel bytes %r, bpftool says %d for %s" %
          (got, want, [(m["type"], m["bytes_memlock"]) for m in mine]))
    check(a.stop() == 0, "SIGTERM: exit status not 0")


def bpf_ids(pid):
    """The BPF programs and links process pid holds (from its fdinfo)."""
    ids = set()
    for fd in os.listdir("/proc/%d/fdinfo" % pid):
        try:
            info = open("/proc/%d/fdinfo/%s" % (pid, fd)).read()
        except OSError:
            continue
        for key in ("prog_id", "link_id"):
            m = re.search(r"^%s:\s+(\d+)" % key, info, re.M)
            if m and not ("link_id" in info and key == "prog_id"):
                ids.add((key.split("_")[0], int(m.group(1))))
    return ids


def bpf_object_exists(kind, ident):
    rc, _, _ = run_quiet(["bpftool", kind, "show", "id", str(ident)])
    return rc == 0


def test_agent_kill9_leaves_nothing():
    if not shutil.which("bpftool"):
        raise Skip("bpftool is not installed (make deps)")
    d = tmpdir()
    cfg = open_count_config(d, "x", os.path.join(d, "missing"))
    a = Agent("--config", cfg)
    ids = bpf_ids(a.proc.pid)
    check(any(k == "prog" for k, _ in ids), "the agent holds no BPF program: %s" % ids)
    check(all(bpf_object_exists(k, i) for k, i in ids), "ids %s" % ids)
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait(timeout=10)
    left = poll_until(lambda: not any(bpf_object_exists(k, i) for k, i in ids), 20, 0.2)
    check(left, "left behind after kill -9: %s" %
          [x for x in ids if bpf_object_exists(*x)])


test_agent_kill9_leaves_nothing.timeout = 60


# ---------------------------------------------------------------- web config

def bcrypt(password):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
        return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))


def basic(user, password):
    import base64
    return {"Authorization": "Basic " + base64.b64encode(
        ("%s:%s" % (user, password)).encode()).decode()}


def test_agent_basic_auth():
    d = tmpdir()
    hash_b = bcrypt("s3cret")
    check(hash_b.startswith("$2b$04$"), "python's crypt made %r" % hash_b)
    hash_y = "$2y$" + bcrypt("other")[4:]
    web = write(os.path.join(d, "web.yaml"),
                "basic_auth_users:\n  alice: '%s'\n  bob: '%s'\n" % (hash_b, hash_y))
    rc, out, err = run_quiet([LOUPE, "agent", "--web-config", web, "--check"])
    check(rc == 0 and out == "%s: ok\n" % web, "--check web config: %s %r %r" % (rc, out, err))
    a = Agent("--web-config", web)
    check("basic auth" in a.log(), short(a.log()))
    for headers, want in ((basic("alice", "s3cret"), 200), (basic("bob", "other"), 200),
                          (basic("alice", "s3cret"), 200),   # remembered
                          (basic("alice", "s3creT"), 401), (basic("alice", ""), 401),
                          (basic("bob", "s3cret"), 401), (basic("carol", "s3cret"), 401),
                          ({}, 401), ({"Authorization": "Bearer x"}, 401)):
        for path in ("/metrics", "/", "/nope"):
            status, h, body = get(a.url(path), headers)
            w = 404 if want == 200 and path == "/nope" else want
            check(status == w, "%s %r: %d, want %d" % (path, headers, status, w))
            if status == 401:
                check(h.get("WWW-Authenticate") == 'Basic realm="loupe agent"',
                      "401 without the challenge: %r" % h.get("WWW-Authenticate"))
                check(b"loupe_agent" not in body, "401 leaks the metrics")


test_agent_basic_auth.timeout = 60


def test_agent_web_config_errors():
    require_loupe()
    d = tmpdir()
    cases = [
        ("basic_auth_users:\n  alice: plain\n",
         "2:10: the password of 'alice' must be a bcrypt hash ($2y$, $2b$ or $2a$, 60 "
         "characters; htpasswd -nBC 10 USER)"),
        ("basic_auth_users: [alice]\n",
         "1:19: basic_auth_users must be a mapping (user: bcrypt hash)"),
        ("tls_server_config:\n  cert_file: c.pem\n",
         "2:3: tls_server_config has no 'key_file'"),
        ("tls_server_config:\n  cert_file: nosuch.pem\n  key_file: k.pem\n",
         "2:14: cannot read cert_file %s/nosuch.pem: No such file or directory" % d),
        ("http_server_config:\n  http2: true\n",
         "1:1: unknown key 'http_server_config' in the web config (known: "
         "tls_server_config, basic_auth_users)"),
    ]
    for i, (text, want) in enumerate(cases):
        path = write(os.path.join(d, "web%d.yaml" % i), text)
        rc, out, err = run_quiet([LOUPE, "agent", "--web-config", path, "--check"])
        check(rc == 2 and err == "%s:%s\n" % (path, want),
              "web config %r: rc %s, %r, want %r" % (text, rc, err, want))


def test_agent_tls():
    if not shutil.which("openssl"):
        raise Skip("openssl is not installed")
    d = tmpdir()
    rc, out, err = run_quiet(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                              "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                              "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                              "-keyout", os.path.join(d, "key.pem"),
                              "-out", os.path.join(d, "cert.pem")], timeout=30)
    check(rc == 0, "openssl: %s" % short(err))
    # relative to the web config's directory, as exporter-toolkit does
    web = write(os.path.join(d, "web.yaml"),
                "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n")
    a = Agent("--web-config", web)
    check(a.scheme == "https", "not https: %s" % short(a.log()))
    ctx = ssl.create_default_context(cafile=os.path.join(d, "cert.pem"))
    status, _, body = get(a.url(), context=ctx)
    check(status == 200 and b'loupe_agent_build_info{version="0.1.0"} 1' in body,
          "https scrape: %d" % status)
    # plain HTTP to a TLS port gets no metrics
    try:
        status, _, body = get("http://127.0.0.1:%d/metrics" % a.port, timeout=3)
        check(b"loupe_agent_build_info" not in body, "plain HTTP served the metrics")
    except (urllib.error.URLError, ConnectionError, http.client.HTTPException, OSError):
        pass
    check(get(a.url(), context=ctx)[0] == 200, "TLS scrape after a plain one")
    # a key where the certificate should be: the start fails, exit 1
    swapped = write(os.path.join(d, "swapped.yaml"),
                    "tls_server_config:\n  cert_file: key.pem\n  key_file: cert.pem\n")
    rc, out, err = run_quiet([LOUPE, "agent", "--listen", "127.0.0.1:0", "--web-config", swapped])
    check(rc == 1 and err.endswith("loupe: agent: cannot start the HTTP server (is the TLS "
                                   "certificate or key invalid?)\n") and "listening" not in err,
          "swapped certificate and key: rc %s, %r" % (rc, err))


test_agent_tls.timeout = 60


# ---------------------------------------------------------------- Prometheus

def test_agent_scraped_by_prometheus():
    if not shutil.which("prometheus"):
        raise Skip("prometheus is not installed (make deps)")
    d = tmpdir()
    comm = unique_comm("lpmark")
    marker = os.path.join(d, "marker-missing")
    a = Agent("--config", open_count_config(d, comm, marker))
    cfg = write(os.path.join(d, "prometheus.yml"),
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                "scrape_configs:\n  - job_name: loupe\n"
                "    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % a.port)
    port = free_port()
    prom = spawn(["prometheus", "--config.file", cfg, "--storage.tsdb.path",
                  os.path.join(d, "tsdb"), "--web.listen-address", "127.0.0.1:%d" % port],
                 stderr=open(os.path.join(d, "prometheus.err"), "w"))
    api = "http://127.0.0.1:%d/api/v1/query?query=" % port

    def query(q):
        try:
            _, _, body = get(api + urllib.parse.quote(q), timeout=2)
            return json.loads(body)["data"]["result"]
        except (OSError, ValueError, KeyError):
            return None

    result = poll_until(lambda: prom.poll() is None and query("loupe_agent_build_info"), 40, 0.5)
    check(prom.poll() is None, "prometheus exited: %s" %
          short(open(os.path.join(d, "prometheus.err")).read()))
    check(result, "prometheus never scraped the agent: %s" %
          short(open(os.path.join(d, "prometheus.err")).read()))
    check(len(result) == 1 and result[0]["value"][1] == "1" and
          result[0]["metric"].get("version") == "0.1.0" and
          result[0]["metric"].get("job") == "loupe", "query result %r" % result)
    up = query('up{job="loupe"}')
    check(up and up[0]["value"][1] == "1", "up %r" % up)
    # Prometheus asks for gzip: its scrapes show in the histogram
    count = poll_until(lambda: (query("loupe_agent_scrape_duration_seconds_count > 0")), 10, 0.5)
    check(count and float(count[0]["value"][1]) >= 1, "scrape count %r" % count)
    # a custom metric: the marker opens its path 123 times, migrating
    # between CPUs (per-CPU counts summed), then 0 more times
    child(comm, "open", marker, 100, "pin")
    child(comm, "open", marker, 23, "nopin")
    q = 'test_marker_opens_total{comm="%s"}' % comm
    result = poll_until(lambda: (query(q) or [{"value": [0, ""]}])[0]["value"][1] == "123"
                        and query(q), 20, 0.5)
    check(result and len(result) == 1 and result[0]["value"][1] == "123",
          "PromQL %s: %r" % (q, query(q)))


test_agent_scraped_by_prometheus.timeout = 90


# The keys that are flags too: each error as FILE:LINE:COL: message.
FLAG_KEY_ERRORS = [
    ("http: yes\n", "1:7: http must be true or false (got 'yes')"),
    ("http: [true]\n", "1:7: http must be true or false"),
    ("profiling: dwarf\n", "1:12: profiling must be a mapping (key: value)"),
    ("profiling:\n  unwind: frames\n",
     "2:11: unknown unwind 'frames' (known: fp, dwarf, auto)"),
    ("profiling:\n  unwind: [dwarf]\n", "2:11: unwind must be a string"),
    ("profiling:\n  inline: 1\n", "2:11: inline must be true or false (got '1')"),
    ("profiling:\n  demangle: no\n", "2:13: demangle must be true or false (got 'no')"),
    ("profiling:\n  unwind: dwarf\n  colors: true\n",
     "3:3: unknown key 'colors' in profiling (known: unwind, inline, demangle)"),
    ("http: true\nhttp: false\n", "2:1: key 'http' is given twice"),
]


def test_agent_config_flag_keys_errors():
    """http: and profiling: (unwind, inline, demangle): good values pass
    --check; a bad one stops the start with its exact FILE:LINE:COL, exit
    2 (each of FLAG_KEY_ERRORS at --check: test_agent_check_configs)."""
    require_loupe()
    d = tmpdir()
    good = write(os.path.join(d, "good.yaml"),
                 "http: false\nprofiling:\n  unwind: auto\n  inline: true\n  demangle: false\n")
    rc, out, err = run_quiet([LOUPE, "agent", "--config", good, "--check"], timeout=30)
    check(rc == 0 and out == "%s: 0 metrics, ok\n" % good and err == "",
          "good config: rc %s, out %r, err %r" % (rc, out, err))
    path = write(os.path.join(d, "bad.yaml"), FLAG_KEY_ERRORS[3][0])
    rc, out, err = run_quiet([LOUPE, "agent", "--listen", "127.0.0.1:0", "--config", path],
                             timeout=30)
    check(rc == 2 and err == "loupe: agent: %s:%s\n" % (path, FLAG_KEY_ERRORS[3][1]),
          "start with a bad key: %s %r" % (rc, err))


test_agent_config_flag_keys_errors.timeout = 60
