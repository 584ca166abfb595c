"""Runtime tests of loupe http: Debian's nginx (plain and https with a
certificate the test makes with openssl) and python3 http.server on
loopback, driven by curl, wrk and a bounded client of the test's own;
every row asserted exactly (paths carry a marker, so other traffic on
the machine is never counted)."""
import os
import re
import shutil
import socket
import subprocess
import sys
import time

from common import (Loupe, Skip, bpf_ids_owned_by, bpftool_list, check,
                    check_common, fail, marker, short, spawn, tmpdir, poll_until)

NGINX_CONF = """
daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {d}/tmp;
  proxy_temp_path {d}/tmp;
  fastcgi_temp_path {d}/tmp;
  uwsgi_temp_path {d}/tmp;
  scgi_temp_path {d}/tmp;
  sendfile on;
  keepalive_requests 100000;
  gzip on;
  gzip_min_length 1;
  gzip_types text/plain;
  server {{
    listen 127.0.0.1:{port};
    listen 127.0.0.1:{tls_port} ssl;
    ssl_certificate {d}/cert.pem;
    ssl_certificate_key {d}/key.pem;
    root {d}/html;
    location /{m}/post {{ default_type text/plain; return 201 "made"; }}
  }}
}}
"""


# Exiting detaches a uprobe per TLS function entry and return, each
# waiting for the kernel (about 100 ms here, one after another across
# processes): with three runs ending at once under load, over 5 s.
STOP_TIMEOUT = 20


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Nginx:
    """Debian's nginx, one process, on two free loopback ports."""

    def __init__(self):
        if not shutil.which("nginx") or not shutil.which("openssl"):
            raise Skip("nginx and openssl are needed (apt-get install nginx-light openssl)")
        self.m = marker("ht")
        self.d = d = tmpdir()
        os.makedirs(d + "/tmp")
        os.makedirs(d + "/html/" + self.m)
        self.files = {}
        for name, size in (("ok.txt", 13), ("big.txt", 100000), ("w.txt", 64)):
            data = (b"x" * (size - 1)) + b"\n"
            with open("%s/html/%s/%s" % (d, self.m, name), "wb") as f:
                f.write(data)
            self.files[name] = data
        r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-keyout", d + "/key.pem", "-out", d + "/cert.pem", "-days",
                            "1", "-subj", "/CN=localhost"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        check(r.returncode == 0, "openssl req failed: %s" % short(r.stdout))
        for _ in range(5):
            self.port, self.tls_port = free_port(), free_port()
            with open(d + "/nginx.conf", "w") as f:
                f.write(NGINX_CONF.format(d=d, port=self.port, tls_port=self.tls_port,
                                          m=self.m))
            self.proc = spawn(["nginx", "-c", d + "/nginx.conf", "-p", d],
                              stderr=subprocess.PIPE)
            if poll_until(lambda: self._up() or self.proc.poll() is not None, 10) and \
                    self.proc.poll() is None:
                break
        else:
            fail("nginx did not start: %s" % open(d + "/error.log").read()[-300:])
        self.pid = self.proc.pid

    def _up(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), 0.2).close()
            return True
        except OSError:
            return False

    def url(self, path, tls=False):
        return "%s://127.0.0.1:%d/%s/%s" % ("https" if tls else "http",
                                            self.tls_port if tls else self.port,
                                            self.m, path)


def exchange(port, *parts, timeout=10, half_close=False):
    """Sends each part in one write (50 ms apart, for the server to read
    each on its own), shuts the sending side if half_close, reads until
    the server closes."""
    s = socket.create_connection(("127.0.0.1", port), timeout)
    s.settimeout(timeout)
    for i, raw in enumerate(parts):
        if i:
            time.sleep(0.05)
        s.sendall(raw)
    if half_close:
        s.shutdown(socket.SHUT_WR)
    got = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        b = s.recv(65536)
        if not b:
            break
        got += b
    s.close()
    return got


def curl(url, *extra):
    r = subprocess.run(["curl", "-sk", "--max-time", "10", "-o", "/dev/null",
                        "-w", "%{http_code}"] + list(extra) + [url],
                       stdout=subprocess.PIPE, timeout=15)
    return int(r.stdout or 0)


def start_loupe(ngx, *args):
    """loupe http -j, ready once a warm-up request to nginx is seen."""
    lp = Loupe("http", "-j", *args)
    warm = "/%s/warm" % ngx.m
    lp.ready(lambda: curl(ngx.url("warm")), lambda e: e.get("path") == warm)
    return lp


def rows(lp, ngx, role=None, pid=None):
    out = []
    for e in lp.events():
        if e.get("type") != "http" or not e["path"].startswith("/%s/" % ngx.m):
            continue
        if e["path"].endswith("/warm"):
            continue
        if (role and e["role"] != role) or (pid and e["pid"] != pid):
            continue
        out.append(e)
    return out


def settle(lp, ngx, n, role="server", timeout=10):
    poll_until(lambda: len(rows(lp, ngx, role)) >= n, timeout)
    time.sleep(0.3)


def test_nginx_plain_server_and_curl():
    """5 GETs (200), 3 GETs of a missing file (404), 2 POSTs with a
    7-byte body (201): exact rows for nginx (server) and curl (client)."""
    ngx = Nginx()
    lp = start_loupe(ngx)
    for _ in range(5):
        check(curl(ngx.url("ok.txt?q=1")) == 200, "curl: no 200")
    for _ in range(3):
        check(curl(ngx.url("missing")) == 404, "curl: no 404")
    for _ in range(2):
        check(curl(ngx.url("post"), "-d", "seven!!") == 201, "curl: no 201")
    settle(lp, ngx, 10)
    lp.stop(timeout=STOP_TIMEOUT)
    srv = rows(lp, ngx, "server")
    cli = rows(lp, ngx, "client")
    for got, who in ((srv, "nginx"), (cli, "curl")):
        check(len(got) == 10, "%d %s rows, want 10: %s" % (len(got), who,
                                                           short([(e["method"], e["path"], e["status"]) for e in got], 600)))
        seen = sorted((e["method"], e["path"], e["status"], e["req_bytes"], e["resp_bytes"])
                      for e in got)
        want = sorted([("GET", "/%s/ok.txt" % ngx.m, 200, 0, 13)] * 5 +
                      [("POST", "/%s/post" % ngx.m, 201, 7, 4)] * 2)
        got404 = [s for s in seen if s[2] == 404]
        check(len(got404) == 3 and all(s[0] == "GET" and s[1] == "/%s/missing" % ngx.m and
                                       s[3] == 0 and s[4] > 0 for s in got404),
              "%s 404 rows wrong: %s" % (who, got404))
        check([s for s in seen if s[2] != 404] == want,
              "%s rows differ:\n got %s\nwant %s" % (who, seen, want))
        for e in got:
            check_common(e, "http")
            check(e["complete"] is True and e["tls"] is False, "flags: %s" % short(e))
            check(0 < e["latency_ns"] < 5e9, "latency: %s" % short(e))
    check(all(e["pid"] == ngx.pid and e["comm"] == "nginx" for e in srv),
          "server rows not from nginx %d" % ngx.pid)
    check(all(e["comm"] == "curl" for e in cli), "client rows not from curl")
    check(lp.rc == 0, "exit status %s" % lp.rc)


# A client of the test's own, one connection per vector call pair:
# sendmsg()/recvmsg() for argv[2], writev()/readv() for argv[3].
VECTOR_CLIENT = r"""
import os, socket, struct, sys
port = int(sys.argv[1])
for path, vec in ((sys.argv[2], False), (sys.argv[3], True)):
    s = socket.create_connection(("127.0.0.1", port), 10)
    # blocking, as os.readv() needs, for at most 10 s
    s.settimeout(None)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 10, 0))
    head = [b"GET " + path.encode() + b" HTTP/1.1\r\n",
            b"Host: 127.0.0.1\r\nConnection: close\r\n\r\n"]
    if vec:
        os.writev(s.fileno(), head)
    else:
        s.sendmsg(head)
    while True:
        if vec:
            buf = bytearray(4096)
            n = os.readv(s.fileno(), [buf])
        else:
            n = len(s.recvmsg(4096)[0])
        if not n:
            break
    s.close()
"""


def test_vector_calls_sendmsg_recvmsg_writev_readv():
    """A request written by sendmsg() and its response read by recvmsg(),
    another by writev() and readv(), two buffers each: both rows of the
    client exact, and nginx's."""
    ngx = Nginx()
    lp = start_loupe(ngx)
    ok, w = "/%s/ok.txt" % ngx.m, "/%s/w.txt" % ngx.m
    p = spawn([sys.executable, "-c", VECTOR_CLIENT, str(ngx.port), ok, w],
              stderr=subprocess.PIPE)
    err = p.communicate(timeout=30)[1]
    check(p.returncode == 0, "the client exited %s: %s" % (p.returncode, short(err)))
    settle(lp, ngx, 2)
    lp.stop(timeout=STOP_TIMEOUT)
    cli = sorted((e["method"], e["path"], e["status"], e["req_bytes"], e["resp_bytes"],
                  e["complete"]) for e in rows(lp, ngx, "client", p.pid))
    want = [("GET", ok, 200, 0, 13, True), ("GET", w, 200, 0, 64, True)]
    check(cli == want, "client rows %s, want %s" % (cli, want))
    srv = sorted((e["path"], e["status"], e["resp_bytes"]) for e in rows(lp, ngx, "server"))
    check(srv == [(ok, 200, 13), (w, 200, 64)], "nginx rows %s" % srv)


def test_pipelined_three_in_one_write():
    """Three requests in one write on one connection: three pairs in order,
    for nginx and for the test's own client."""
    ngx = Nginx()
    lp = start_loupe(ngx)
    host = "Host: x\r\n"
    raw = ("GET /{m}/ok.txt HTTP/1.1\r\n{h}\r\n"
           "GET /{m}/nothere HTTP/1.1\r\n{h}\r\n"
           "HEAD /{m}/big.txt HTTP/1.1\r\n{h}Connection: close\r\n\r\n").format(m=ngx.m, h=host)
    got = exchange(ngx.port, raw.encode())
    check(got.count(b"HTTP/1.1 ") == 3, "nginx answered %r" % short(got))
    settle(lp, ngx, 3)
    settle(lp, ngx, 3, "client")
    lp.stop(timeout=STOP_TIMEOUT)
    want = [("GET", "/%s/ok.txt" % ngx.m, 200), ("GET", "/%s/nothere" % ngx.m, 404),
            ("HEAD", "/%s/big.txt" % ngx.m, 200)]
    for role, pid in (("server", ngx.pid), ("client", os.getpid())):
        got_rows = rows(lp, ngx, role, pid)
        seen = [(e["method"], e["path"], e["status"]) for e in got_rows]
        check(seen == want, "%s rows %s, want %s" % (role, seen, want))
        check(got_rows[0]["resp_bytes"] == 13 and got_rows[2]["resp_bytes"] == 0,
              "%s body bytes: %s" % (role, [e["resp_bytes"] for e in got_rows]))
        check(len({e["fd"] for e in got_rows}) == 1, "not one connection")


def dechunk(body):
    """The decoded length of a chunked body and its chunk count."""
    n, chunks = 0, 0
    while True:
        line, body = body.split(b"\r\n", 1)
        size = int(line.split(b";")[0], 16)
        if size == 0:
            return n, chunks
        n += size
        chunks += 1
        body = body[size + 2:]


def test_chunked_response():
    """nginx gzips the file on the fly: a chunked response; the row's body
    bytes are the decoded chunk bytes the client really got."""
    ngx = Nginx()
    lp = start_loupe(ngx)
    raw = ("GET /{m}/big.txt HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n"
           "Connection: close\r\n\r\n").format(m=ngx.m)
    got = exchange(ngx.port, raw.encode())
    head, body = got.split(b"\r\n\r\n", 1)
    check(b"transfer-encoding: chunked" in head.lower(), "not chunked: %r" % short(head))
    size, chunks = dechunk(body)
    settle(lp, ngx, 1)
    settle(lp, ngx, 1, "client")
    lp.stop(timeout=STOP_TIMEOUT)
    for role in ("server", "client"):
        r = rows(lp, ngx, role)
        check(len(r) == 1, "%s rows: %s" % (role, short(r)))
        check(r[0]["status"] == 200 and r[0]["resp_bytes"] == size and r[0]["complete"],
              "%s row %s, want %d body bytes (%d chunks)" % (role, short(r[0]), size, chunks))


def test_tls_nginx_curl_and_sslsniff():
    """curl to nginx's https port: rows from the TLS plaintext for both,
    and the marker request visible in loupe sslsniff too."""
    ngx = Nginx()
    lp = start_loupe(ngx)
    sn = Loupe("sslsniff", "-j", "-n", "curl")
    sn.wait_attached()
    for _ in range(3):
        check(curl(ngx.url("ok.txt", tls=True)) == 200, "curl https: no 200")
    check(curl(ngx.url("nope", tls=True)) == 404, "curl https: no 404")
    settle(lp, ngx, 4)
    settle(lp, ngx, 4, "client")
    lp.stop(timeout=STOP_TIMEOUT)
    want = sorted([("GET", "/%s/ok.txt" % ngx.m, 200, 13)] * 3)
    for role, comm in (("server", "nginx"), ("client", "curl")):
        r = [e for e in rows(lp, ngx, role) if e["tls"]]
        seen = sorted((e["method"], e["path"], e["status"], e["resp_bytes"]) for e in r
                      if e["status"] == 200)
        check(seen == want and len(r) == 4, "%s TLS rows: %s" % (role, short(r, 800)))
        check(all(e["comm"] == comm for e in r), "%s rows not from %s" % (role, comm))
    req = "GET /%s/ok.txt HTTP/1.1" % ngx.m
    ev = sn.wait_event(lambda e: e.get("func") == "WRITE/SEND" and req in e.get("data", ""),
                       5)
    check(ev is not None, "sslsniff did not show %r %s" % (req, sn.describe()))
    sn.stop(timeout=STOP_TIMEOUT)


def test_python_http_server():
    """python3 -m http.server (HTTP/1.0, a connection per request):
    2 files served (200) and 1 missing (404), exact sizes."""
    d = tmpdir()
    m = marker("hp")
    os.makedirs(d + "/" + m)
    with open(d + "/%s/a.bin" % m, "wb") as f:
        f.write(b"a" * 1234)
    port = free_port()
    srv = spawn([sys.executable, "-m", "http.server", "-b", "127.0.0.1", "-d", d, str(port)])
    check(poll_until(lambda: _can_connect(port), 10), "http.server did not start")
    lp = Loupe("http", "-j", "-p", srv.pid)
    url = "http://127.0.0.1:%d/%s/" % (port, m)
    lp.ready(lambda: curl(url + "warm"), lambda e: e.get("path") == "/%s/warm" % m)
    check(curl(url + "a.bin") == 200 and curl(url + "a.bin") == 200, "no 200")
    check(curl(url + "none") == 404, "no 404")
    poll_until(lambda: len([e for e in lp.events() if "/warm" not in e.get("path", "/warm")])
               >= 3, 10)
    time.sleep(0.3)
    lp.stop(timeout=STOP_TIMEOUT)
    got = sorted((e["role"], e["method"], e["path"], e["status"], e["resp_bytes"])
                 for e in lp.events() if e.get("type") == "http" and
                 not e["path"].endswith("/warm"))
    want = sorted([("server", "GET", "/%s/a.bin" % m, 200, 1234)] * 2)
    check([g for g in got if g[3] == 200] == want, "rows: %s" % got)
    check([g[:4] for g in got if g[3] != 200] == [("server", "GET", "/%s/none" % m, 404)],
          "404 row: %s" % got)


def _can_connect(port):
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        return True
    except OSError:
        return False


def test_summary_routes():
    """-s: ids in paths fold into one route; count, errors and percentiles
    per role, method, route and status."""
    ngx = Nginx()
    # No TLS: its probes attach after the socket hooks' links (which
    # wait_attached sees), and a stop before they are all in would end
    # the run before its loop, with no table.
    lp = Loupe("http", "-j", "-s", "--no-tls", "-p", ngx.pid)
    lp.wait_attached()
    for i in (1, 22, 333, 4444):
        curl(ngx.url("items/%d" % i))
    curl(ngx.url("items/0123456789abcdef/x"))
    curl(ngx.url("items/123e4567-e89b-12d3-a456-426614174000/x"))
    time.sleep(0.5)
    lp.stop(timeout=STOP_TIMEOUT)
    got = {(e["role"], e["method"], e["route"], e["status"]): e for e in lp.events()
           if e.get("type") == "http_summary" and ngx.m in e["route"]}
    a = got.get(("server", "GET", "/%s/items/:id" % ngx.m, 404))
    b = got.get(("server", "GET", "/%s/items/:id/x" % ngx.m, 404))
    check(a and a["count"] == 4 and a["errors"] == 0, "route :id: %s" % short(got, 800))
    check(b and b["count"] == 2, "route :id/x: %s" % short(got, 800))
    check(len(got) == 2, "routes: %s" % list(got))
    check(0 < a["p50_ms"] <= a["p90_ms"] <= a["p99_ms"], "percentiles: %s" % a)


def test_wrk_keepalive_load():
    """wrk on 4 keep-alive connections for 2 s, nginx and wrk both traced
    (the default ring): every request nginx answered is a row or counted
    as lost, and without losses wrk's rows with status 200 are the count
    wrk reports (plus the responses it read after its clock stopped, at
    most one per connection)."""
    if not shutil.which("wrk"):
        raise Skip("wrk is needed (apt-get install wrk)")
    ngx = Nginx()
    lp = Loupe("http", "-j", "-s")
    lp.wait_attached()
    r = subprocess.run(["wrk", "-t1", "-c4", "-d2", ngx.url("w.txt")],
                       stdout=subprocess.PIPE, timeout=20)
    m = re.search(rb"(\d+) requests in", r.stdout)
    check(m, "wrk output: %r" % short(r.stdout))
    done = int(m.group(1))
    time.sleep(0.5)
    lp.stop(timeout=STOP_TIMEOUT)
    route = "/%s/w.txt" % ngx.m
    summary = [e for e in lp.events() if e.get("type") == "http_summary" and
               e["route"] == route]
    server = sum(e["count"] for e in summary if e["role"] == "server")
    client = sum(e["count"] for e in summary if e["role"] == "client" and e["status"] == 200)
    lost = sum(e["count"] for e in lp.events() if e.get("type") == "lost_requests")
    print("wrk completed %d; loupe: nginx %d, wrk %d with 200, lost %d" %
          (done, server, client, lost))
    check(done > 100, "wrk completed only %d requests" % done)
    # a request in flight when wrk stopped was answered but not counted
    check(done <= server + lost <= done + 4,
          "wrk completed %d, loupe reported %d for nginx and lost %d" % (done, server, lost))
    # wrk may read a response after its clock stopped without counting it
    check(lost or done <= client <= done + 4,
          "wrk completed %d, loupe reported %d of its requests with 200" % (done, client))


test_wrk_keepalive_load.timeout = 60


# The servers' start: a listening socket on a free loopback port, printed.
LISTEN = """
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
print(s.getsockname()[1], flush=True)
"""

# A server of the test's own: reads until a request's head ends (after
# whatever came before it), then answers by path: /partial sends 40 of 100
# promised body bytes and closes; /post (several requests, the last with
# "Connection: close") gets its answers in pieces: a sized body in two
# writes, a chunked body whose chunk is split across writes, and the next
# response starting in the write that ends the chunked one; others get a
# 5-byte body.
RAW_SERVER = r"""
import socket, sys, time
""" + LISTEN + r"""
def whole(got):
    if b"/post" in got:
        return got.endswith(b"Connection: close\r\n\r\n")
    return b"HTTP/1.1" in got and got.endswith(b"\r\n\r\n")

while True:
    c, _ = s.accept()
    c.settimeout(10)
    got = b""
    try:
        while not whole(got):
            b = c.recv(4096)
            if not b:
                break
            got += b
        if b"/partial" in got:
            parts = [b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"p" * 40]
        elif b"/post" in got:
            parts = [b"HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\n", b"made",
                     b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nma",
                     b"d\r\n1", b"\r\ne\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n",
                     b"x" * 13]
        else:
            parts = [b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"]
        for p in parts:
            c.sendall(p)
            time.sleep(0.05)
    except OSError:
        pass
    c.close()
"""


def test_split_request_garbage_and_close_mid_response():
    """A request split over three reads, non-HTTP bytes before a request
    on its connection, and a response cut short by the close: the rows
    say exactly that."""
    m = marker("hr")
    srv = spawn([sys.executable, "-c", RAW_SERVER], stdout=subprocess.PIPE)
    port = int(srv.stdout.readline())
    lp = Loupe("http", "-j", "-p", srv.pid)

    def send(*parts):
        s = socket.create_connection(("127.0.0.1", port), 5)
        s.settimeout(5)
        for p in parts:
            s.sendall(p)
            time.sleep(0.05)
        while s.recv(4096):
            pass
        s.close()

    lp.ready(lambda: send(b"GET /%s/warm HTTP/1.1\r\n\r\n" % m.encode()),
             lambda e: e.get("path") == "/%s/warm" % m)
    send(b"GET /%s/spl" % m.encode(), b"it HTTP/1.1\r\nHo", b"st: x\r\n\r\n")
    send(b"\x00\x01 not http at all\r\n\r\n", b"GET /%s/after HTTP/1.1\r\n\r\n" % m.encode())
    send(b"GET /%s/partial HTTP/1.1\r\n\r\n" % m.encode())
    poll_until(lambda: len([e for e in lp.events() if "/warm" not in e.get("path", "/warm")])
               >= 3, 10)
    time.sleep(0.3)
    lp.stop(timeout=STOP_TIMEOUT)
    got = [(e["method"], e["path"], e["status"], e["resp_bytes"], e["complete"])
           for e in lp.events() if e.get("type") == "http" and "/warm" not in e["path"]]
    want = [("GET", "/%s/split" % m, 200, 5, True), ("GET", "/%s/after" % m, 200, 5, True),
            ("GET", "/%s/partial" % m, 200, 40, False)]
    check(got == want, "rows %s, want %s" % (got, want))


PEEK_DUP_SERVER = r"""
import os, socket
""" + LISTEN + r"""while True:
    c, _ = s.accept()
    c.settimeout(10)
    # A peek first: the same bytes come again in the read after it.
    c.recv(4096, socket.MSG_PEEK)
    got = b""
    while not got.endswith(b"\r\n\r\n"):
        b = c.recv(4096)
        if not b:
            break
        got += b
    # The response through a duplicate fd, closed at once: the socket
    # stays open under the first fd, and the body ends at its close.
    d = os.dup(c.fileno())
    os.write(d, b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
    os.close(d)
    c.sendall(b"y" * 21)
    c.close()
"""


def test_peek_dup_close_and_half_closed_client():
    """A server that peeks before reading, answers through a duplicate
    fd it closes before the body, and ends the body by closing (no
    length); a client that shuts its sending side after the request and
    reads to the end: one row each, the body's 21 bytes, complete. (A
    peeked request counted twice, a duplicate's close or the client's
    half close taken for the end would each change the rows.)"""
    m = marker("hp")
    srv = spawn([sys.executable, "-c", PEEK_DUP_SERVER], stdout=subprocess.PIPE)
    port = int(srv.stdout.readline())
    lp = Loupe("http", "-j")

    def ask(path):
        return exchange(port, b"GET /%s/%s HTTP/1.1\r\nHost: x\r\n\r\n"
                        % (m.encode(), path), timeout=5, half_close=True)

    lp.ready(lambda: ask(b"warm"), lambda e: e.get("path") == "/%s/warm" % m)
    got = ask(b"once")
    check(got.endswith(b"\r\n\r\n" + b"y" * 21), "the client got %r" % got[-60:])
    path = "/%s/once" % m
    poll_until(lambda: len([e for e in lp.events() if e.get("path") == path]) >= 2, 10)
    time.sleep(0.3)
    lp.stop(timeout=STOP_TIMEOUT)
    got = sorted((e["role"], e["pid"], e["method"], e["status"], e["resp_bytes"],
                  e["complete"]) for e in lp.events() if e.get("path") == path)
    want = [("client", os.getpid(), "GET", 200, 21, True),
            ("server", srv.pid, "GET", 200, 21, True)]
    check(got == want, "rows %s, want %s" % (got, want))


def test_socket_hooks_leave_other_syscalls_alone():
    """Where the kernel has the socket layer's tracepoints (6.3+), http
    hooks them and the TCP state, and nothing on the syscall path (which
    would put every syscall of every process on its slow path); before,
    one program on sys_exit."""
    lp = Loupe("http", "-j", "--no-tls")
    lp.wait_attached(settle=0.3)
    _, links = bpf_ids_owned_by(lp.pid)
    mine = sorted((e["type"], e.get("tp_name") or "") for e in bpftool_list("link")
                  if e["id"] in links)
    lp.stop()
    with open("/sys/kernel/btf/vmlinux", "rb") as f:
        has_sock_tps = b"btf_trace_sock_recv_length" in f.read()
    if has_sock_tps:
        want = [("perf_event", ""), ("raw_tracepoint", "inet_sock_set_state"),
                ("raw_tracepoint", "sock_recv_length"),
                ("raw_tracepoint", "sock_send_length")]
    else:
        want = [("perf_event", ""), ("raw_tracepoint", "sys_exit")]
    check(mine == want, "links %r, want %r" % (mine, want))


def test_bodies_split_over_writes_then_pipelined():
    """One connection, written in pieces both ways: a POST whose 35-byte
    body comes in five writes, a chunked POST starting inside the last of
    them and ending in the write that also carries a GET; the answers
    split the same way (RAW_SERVER). Three exact pairs in order for the
    server and the client, each row with its task (calls that start with
    body bytes carry no task fields: the connection's stand in)."""
    m = marker("hb")
    srv = spawn([sys.executable, "-c", RAW_SERVER], stdout=subprocess.PIPE)
    port = int(srv.stdout.readline())
    lp = Loupe("http", "-j", "--no-tls")
    lp.ready(lambda: exchange(port, b"GET /%s/warm HTTP/1.1\r\n\r\n" % m.encode()),
             lambda e: e.get("path") == "/%s/warm" % m)
    post, ok = "/%s/post" % m, "/%s/ok.txt" % m
    parts = [("POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 35\r\n\r\n" % post).encode()]
    parts += [b"a" * 7] * 4
    parts.append(b"a" * 7 + ("POST %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
                            "\r\n\r\n5\r\nhello\r\n" % post).encode())
    parts.append(("6\r\n world\r\n0\r\n\r\nGET %s HTTP/1.1\r\nHost: x\r\n"
                  "Connection: close\r\n\r\n" % ok).encode())
    got = exchange(port, *parts)
    check(got.count(b"HTTP/1.1 201") == 2 and got.endswith(b"x" * 13),
          "the server answered %r" % short(got))

    def mine(role, pid):
        return [e for e in lp.events() if e.get("type") == "http" and e["role"] == role
                and e["pid"] == pid and e["path"].startswith("/%s/" % m)
                and not e["path"].endswith("/warm")]

    poll_until(lambda: len(mine("server", srv.pid)) >= 3 and
               len(mine("client", os.getpid())) >= 3, 10)
    time.sleep(0.3)
    lp.stop(timeout=STOP_TIMEOUT)
    want = [("POST", post, 201, 35, 4), ("POST", post, 201, 11, 4), ("GET", ok, 200, 0, 13)]
    with open("/proc/self/comm") as f:
        comm = f.read().strip()
    for role, pid in (("server", srv.pid), ("client", os.getpid())):
        r = mine(role, pid)
        seen = [(e["method"], e["path"], e["status"], e["req_bytes"], e["resp_bytes"])
                for e in r]
        check(seen == want, "%s rows %s, want %s" % (role, seen, want))
        for e in r:
            check_common(e, "http")
            check(e["complete"] and e["comm"] == comm and e["uid"] == r[0]["uid"] and
                  e["ppid"] == r[0]["ppid"] and e["cgroup_id"] == r[0]["cgroup_id"] and
                  e["ppid"] > 0 and e["fd"] == r[0]["fd"], "%s row's task: %s" % (role, short(e)))
    check(lp.rc == 0, "exit status %s" % lp.rc)


def busybox_httpd(tag):
    """busybox httpd in a podman container on the host's network, serving
    /MARKER/x.txt: (container, marker, base URL), once it listens."""
    from test_container import Container, _image
    image = _image()
    m = marker(tag)
    port = free_port()
    c = Container(image, "mkdir -p /www/%s && echo hello > /www/%s/x.txt && "
                  "exec /bin/busybox httpd -f -p 127.0.0.1:%d -h /www" % (m, m, port),
                  extra=["--network", "host"])
    check(poll_until(lambda: _can_connect(port), 20), "httpd in %s never listened" % c.name)
    return c, m, "http://127.0.0.1:%d/%s/" % (port, m)


def test_container_server():
    """busybox httpd in a podman container (host network): its rows carry
    the container, --container keeps only them, --containers shows its
    name in the table."""
    c, m, url = busybox_httpd("hc")
    only = Loupe("http", "-j", "--container", c.name)
    only.ready(lambda: curl(url + "x.txt"), lambda e: e.get("path") == "/%s/x.txt" % m)
    table = Loupe("http", "--containers", "--container", c.name)
    table.wait_header()
    check(curl(url + "none") == 404, "httpd: no 404")
    ev = only.expect_event(lambda e: e.get("path") == "/%s/none" % m, "the 404 row", 10)
    check(ev["status"] == 404 and ev["role"] == "server", "row: %s" % short(ev))
    check(ev["container"] and ev["container"]["id"] == c.id and
          ev["container"]["name"] == c.name, "container: %s" % short(ev))
    line = table.wait_line(lambda l: ("/%s/none" % m) in l, 10)
    check(line and line.split()[0] == c.name, "table row: %r" % line)
    only.stop(timeout=STOP_TIMEOUT)
    table.stop(timeout=STOP_TIMEOUT)
    others = [e for e in only.events() if e.get("container_id") != c.id]
    check(not others, "--container let other rows through: %s" % short(others))


PHASE_SERVER = r"""
import re, socket, time
""" + LISTEN + r"""
def read_request(c):
    got = b""
    while b"\r\n\r\n" not in got:
        b = c.recv(4096)
        if not b:
            return b""
        got += b
    head, _, body = got.partition(b"\r\n\r\n")
    m = re.search(rb"Content-Length: (\d+)", head)
    while m and len(body) < int(m.group(1)):
        body += c.recv(4096)
    return head

def send(c, *parts):
    for p in parts:
        c.sendall(p)
        time.sleep(0.05)

ok = b"HTTP/1.1 200 OK\r\n"
while True:
    c, _ = s.accept()
    c.settimeout(10)
    try:
        head = read_request(c)
        if b"/one " in head:
            send(c, ok + b"Content-Length: 5\r\n\r\nhello")
        elif b"/two " in head:
            send(c, ok + b"Content-Length: 10\r\n\r\n", b"01234", b"56789")
        elif b"/empty " in head:
            send(c, b"HTTP/1.1 204 No Content\r\n\r\n")
        elif b"/cut " in head:
            send(c, ok + b"Content-Length: 100\r\n\r\n" + b"p" * 40)
        elif b"/chunk " in head:
            send(c, ok + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhel", b"lo\r\n0\r\n\r\n")
        elif b"/f1 " in head:
            send(c, ok + b"Content-Length: 10\r\n\r\n01234")
            read_request(c)
            send(c, b"56789" + ok + b"Content-Length: 3\r\n\r\nabc")
        elif b"/post " in head:
            send(c, b"HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\nmade")
        elif b"HEAD " in head:
            send(c, ok + b"Content-Length: 50\r\n\r\n")
        elif b"/long" in head:
            send(c, ok + b"Content-Length: 2\r\n\r\nok")
    except OSError:
        pass
    c.close()
"""


def test_kernel_framing_and_handover_at_each_phase():
    """Where the kernel frames exchanges itself (6.3+), simple ones are
    reported from one record each, and a connection it cannot frame is
    handed over exactly where it stands: before a request (a POST whose
    body comes in a second write, a HEAD, a long request line), with a request unanswered (a
    chunked answer), or inside a response's body (the next request comes
    first; the rest of the body and the next answer in one write). Each
    row exact, with the body, the status, a close mid-body or before any
    answer; --verbose says how many went which way."""
    m = marker("hk")
    srv = spawn([sys.executable, "-c", PHASE_SERVER], stdout=subprocess.PIPE)
    port = int(srv.stdout.readline())
    lp = Loupe("http", "-j", "--no-tls", "-v", "-p", srv.pid)

    def get(path, method=b"GET", body=None, then=None):
        req = b"%s /%s/%s HTTP/1.1\r\nHost: x\r\n" % (method, m.encode(), path)
        if body is None:
            parts = [req + b"\r\n"]
        else:
            parts = [req + b"Content-Length: %d\r\n\r\n" % len(body), body]
        if then:
            parts.append(b"GET /%s/%s HTTP/1.1\r\nHost: x\r\n\r\n" % (m.encode(), then))
        return exchange(port, *parts, timeout=5)

    lp.ready(lambda: get(b"one"), lambda e: e.get("path") == "/%s/one" % m)
    got = {p: get(p) for p in (b"one", b"two", b"empty", b"cut", b"chunk", b"noresp")}
    got[b"f1"] = get(b"f1", then=b"f2")
    got[b"post"] = get(b"post", b"POST", b"payload")
    got[b"head"] = get(b"head", b"HEAD")
    longer = b"long" + b"-x" * 70      # a request line longer than the kernel keeps
    got[longer] = get(longer)
    check(got[b"two"].endswith(b"0123456789") and got[b"noresp"] == b"" and
          got[b"f1"].endswith(b"abc"), "the server answered %r" % got)
    want = [("GET", "one", 200, 0, 5, True), ("GET", "two", 200, 0, 10, True),
            ("GET", "empty", 204, 0, 0, True), ("GET", "cut", 200, 0, 40, False),
            ("GET", "chunk", 200, 0, 5, True), ("GET", "noresp", None, 0, 0, False),
            ("GET", "f1", 200, 0, 10, True), ("GET", "f2", 200, 0, 3, True),
            ("POST", "post", 201, 7, 4, True), ("HEAD", "head", 200, 0, 0, True),
            ("GET", longer.decode(), 200, 0, 2, True)]

    def mine():
        return [e for e in lp.events() if e.get("type") == "http" and e["pid"] == srv.pid]

    poll_until(lambda: len(mine()) >= len(want) + 1, 10)
    time.sleep(0.3)
    lp.stop(timeout=STOP_TIMEOUT)
    seen = [(e["method"], e["path"].rsplit("/", 1)[1], e["status"], e["req_bytes"],
             e["resp_bytes"], e["complete"]) for e in mine()][-len(want):]
    check(seen == want, "rows %s, want %s" % (seen, want))
    two = [e for e in mine() if e["path"].endswith("/two")][0]
    check(two["role"] == "server" and two["fd"] > 2 and
          100e6 <= two["latency_ns"] < 5e9, "the two-write answer: %s" % short(two))
    with open("/sys/kernel/btf/vmlinux", "rb") as f:
        kernel_frames = b"btf_trace_sock_recv_length" in f.read()
    # one (and its warm-ups), two, empty, cut, noresp; chunk and f1 handed
    # over with their request; post and head before theirs
    line = [l for l in lp.err.snapshot() if "framed in the kernel" in l]
    n_one = len([e for e in mine() if e["path"].endswith("/one")])
    if kernel_frames:
        want_line = ("%d requests framed in the kernel; 2 connections handed over to be "
                     "framed here" % (n_one + 4))
    else:
        want_line = "0 requests framed in the kernel; 0 connections handed over"
    check(line and want_line in line[0], "--verbose said %r, want %r" % (line, want_line))
