"""loupe agent --http: HTTP/1 request latency histograms from real nginx
and curl traffic, read back through a real Prometheus 2.42 (PromQL):
exact counts by status for a marker path, routes templated, the series
cap respected with the refused label sets counted."""
import http.client
import json
import os
import shutil
import signal
import urllib.parse

from common import Skip, check, marker, poll_until, short, spawn, tmpdir
from test_agent import Agent, bpf_ids, free_port, get, samples, write
from test_http import Nginx, curl

FAMILY = "http_request_duration_seconds"


class Prometheus:
    """Debian's Prometheus scraping one target every second."""

    def __init__(self, target_port):
        if not shutil.which("prometheus"):
            raise Skip("prometheus is not installed (make deps-test)")
        d = tmpdir()
        cfg = write(os.path.join(d, "prometheus.yml"),
                    "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: loupe\n"
                    "    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % target_port)
        self.err = os.path.join(d, "prometheus.err")
        self.port = free_port()
        self.proc = spawn(["prometheus", "--config.file", cfg, "--storage.tsdb.path",
                           os.path.join(d, "tsdb"), "--web.listen-address",
                           "127.0.0.1:%d" % self.port], stderr=open(self.err, "w"))
        up = poll_until(lambda: self.proc.poll() is None and self.query('up{job="loupe"} == 1'),
                        40, 0.5)
        check(up, "prometheus never scraped the agent: %s" % short(open(self.err).read()))

    def query(self, q):
        url = "http://127.0.0.1:%d/api/v1/query?query=%s" % (self.port, urllib.parse.quote(q))
        try:
            _, _, body = get(url, timeout=2)
            return json.loads(body)["data"]["result"]
        except (OSError, ValueError, KeyError):
            return None

    def value(self, q):
        r = self.query(q)
        return float(r[0]["value"][1]) if r and len(r) == 1 else None

    def wait_value(self, q, want, timeout=20):
        poll_until(lambda: self.value(q) == want, timeout, 0.5)
        return self.value(q)


def test_agent_http_histograms_through_prometheus():
    """5 GETs answered 200 and 3 answered 404 by nginx, counted exactly
    by status for both nginx (server) and curl (client); the 404 paths
    (a number, a long hex string) share one templated route; then 150
    distinct paths against --max-series 100: the family holds exactly 100
    series and the refused ones are counted."""
    ngx = Nginx()
    a = Agent("--http", "--metrics", "none", "--profile-hz", "0", "--max-series", "100")
    prom = Prometheus(a.port)
    m = ngx.m
    # the agent is attached once a warm-up request is a series
    warm = '%s_count{role="server",route="/%s/warm"}' % (FAMILY, m)
    check(poll_until(lambda: curl(ngx.url("warm")) and prom.value(warm), 20, 0.5),
          "the warm-up request never became a series")
    for _ in range(5):
        check(curl(ngx.url("ok.txt")) == 200, "nginx did not answer 200")
    for tail in ("nope/1", "nope/22", "nope/0123456789abcdef"):
        check(curl(ngx.url(tail)) == 404, "nginx did not answer 404")
    for role in ("server", "client"):
        q = '%s_count{role="%s",method="GET",route="/%s/ok.txt",status="200"}' % (FAMILY, role, m)
        got = prom.wait_value(q, 5)
        check(got == 5, "PromQL %s: %r (want 5)" % (q, prom.query(q)))
        q = '%s_count{role="%s",method="GET",route="/%s/nope/:id",status="404"}' % (
            FAMILY, role, m)
        got = prom.wait_value(q, 3)
        check(got == 3, "PromQL %s: %r (want 3)" % (q, prom.query(q)))
    # buckets: every request is below +Inf, and its sum is a latency
    q = '%s_bucket{role="server",route="/%s/ok.txt",status="200",le="+Inf"}' % (FAMILY, m)
    check(prom.value(q) == 5, "PromQL %s: %r" % (q, prom.query(q)))
    q = '%s_sum{role="server",route="/%s/ok.txt",status="200"}' % (FAMILY, m)
    s = prom.value(q)
    check(s is not None and 0 < s < 5, "PromQL %s: %r" % (q, prom.query(q)))
    # a scan of 150 distinct paths on one keep-alive connection: two
    # label sets each (nginx's and this client's)
    c = http.client.HTTPConnection("127.0.0.1", ngx.port, timeout=10)
    for i in range(150):
        c.request("GET", "/%s/scan-%s" % (m, "".join(chr(97 + int(d)) for d in "%03d" % i)))
        r = c.getresponse()
        r.read()
        check(r.status == 404, "scan: status %d" % r.status)
    c.close()
    q = 'loupe_agent_series_dropped_total{metric="%s"}' % FAMILY
    poll_until(lambda: (prom.value(q) or 0) >= 200, 20, 0.5)
    dropped = prom.value(q)
    check(dropped is not None and dropped >= 200, "PromQL %s: %r" % (q, prom.query(q)))
    q = "count(%s_count)" % FAMILY
    check(prom.value(q) == 100, "PromQL %s: %r (want the cap, 100)" % (q, prom.query(q)))
    # the exact series are still there, unchanged
    q = '%s_count{role="server",route="/%s/ok.txt",status="200"}' % (FAMILY, m)
    check(prom.value(q) == 5, "PromQL %s after the scan: %r" % (q, prom.query(q)))
    _, _, body = get(a.url())
    n = sum(1 for line in body.decode().splitlines() if line.startswith(FAMILY + "_count{"))
    check(n == 100, "/metrics has %d %s series" % (n, FAMILY))
    lost = samples(body.decode()).get("loupe_http_requests_lost_total")
    check(lost == 0, "lost requests %r" % lost)
    check(a.stop() == 0, "agent exit status")


test_agent_http_histograms_through_prometheus.timeout = 120


def test_agent_http_by_container():
    """--by-container: busybox httpd in a podman container answers 4 GETs
    with 200 and 2 with 404; its series carry the container's name, curl's
    (on the host) an empty one, with exact counts."""
    from test_http import busybox_httpd
    c, m, url = busybox_httpd("ahc")
    a = Agent("--http", "--by-container", "--metrics", "none", "--profile-hz", "0")

    def series():
        return samples(get(a.url())[2].decode())

    def key(ctr, role, route, status):
        return ('%s_count{container="%s",pod="",namespace="",role="%s",method="GET",'
                'route="/%s/%s",status="%s"}' % (FAMILY, ctr, role, m, route, status))

    warm = key(c.name, "server", "warm", "404")
    check(poll_until(lambda: curl(url + "warm") and warm in series(), 20, 0.5),
          "the warm-up request never became a series")
    for _ in range(4):
        check(curl(url + "x.txt") == 200, "httpd: no 200")
    for _ in range(2):
        check(curl(url + "none") == 404, "httpd: no 404")
    want = {key(c.name, "server", "x.txt", 200): 4, key(c.name, "server", "none", 404): 2,
            key("", "client", "x.txt", 200): 4, key("", "client", "none", 404): 2}
    poll_until(lambda: all(series().get(k) == v for k, v in want.items()), 10, 0.3)
    got = series()
    check(all(got.get(k) == v for k, v in want.items()),
          "series %s, want %s" % ({k: got.get(k) for k in want}, want))
    check(a.stop() == 0, "agent exit status")


test_agent_http_by_container.timeout = 120


def progs_only(pid):
    return len([k for k in bpf_ids(pid) if k[0] == "prog"])


def test_agent_http_config_key_and_reload():
    """http: true in the config turns the HTTP metrics on without --http;
    a reload to http: false detaches their programs and removes the
    family, one back to true attaches them again (counting from zero); a
    reload that changes profiling: is refused and changes nothing."""
    ngx = Nginx()
    d = tmpdir()
    path = write(os.path.join(d, "agent.yaml"), "http: true\n")
    a = Agent("--config", path, "--metrics", "none", "--profile-hz", "19")
    m = ngx.m
    ok = '%s_count{role="server",method="GET",route="/%s/ok.txt",status="200"}' % (FAMILY, m)

    def value(series):
        return samples(get(a.url())[2].decode()).get(series)

    def warmed():
        """The warm-up request (nginx answers 404) is a series."""
        return any(k.startswith(FAMILY + "_count{") and 'route="/%s/warm"' % m in k
                   for k in samples(get(a.url())[2].decode()))

    def reload(text, want):
        write(path, text)
        n = a.log().count(want)
        a.proc.send_signal(signal.SIGHUP)
        check(poll_until(lambda: a.log().count(want) > n, 20), "no %r: %s" % (want, short(a.log())))

    try:
        check(poll_until(lambda: curl(ngx.url("warm")) and warmed(), 20, 0.5),
              "http: true: the warm-up request never became a series")
        for _ in range(3):
            check(curl(ngx.url("ok.txt")) == 200, "nginx did not answer 200")
        check(poll_until(lambda: value(ok) == 3, 10, 0.2), "ok.txt: %r, want 3" % value(ok))
        progs_on = len(bpf_ids(a.proc.pid))
        progs_on_only = progs_only(a.proc.pid)
        reload("http: false\n", "config reloaded from %s: 0 custom metrics\n" % path)
        text = get(a.url())[2].decode()
        check(FAMILY not in text and "loupe_http_requests_lost_total" not in text,
              "http: false: the family stays: %s" % short(text))
        progs_off = len(bpf_ids(a.proc.pid))
        check(progs_off < progs_on, "http: false: %d BPF objects held, %d before"
              % (progs_off, progs_on))
        # profiling's keys are read at start only: refused, nothing changes
        reload("http: true\nprofiling:\n  unwind: dwarf\n",
               "loupe: agent: reload refused, still serving the previous config: %s: "
               "profiling: unwind, inline and demangle are read at start only "
               "(restart the agent to change them)\n" % path)
        s = samples(get(a.url())[2].decode())
        check(s["loupe_agent_config_last_reload_successful"] == 0 and
              not any(k.startswith(FAMILY) for k in s), "after the refusal: %s" % s)
        check(len(bpf_ids(a.proc.pid)) == progs_off, "the refused reload attached something")
        reload("http: true\n", "config reloaded from %s: 0 custom metrics, "
               "HTTP request metrics on\n" % path)
        check(poll_until(lambda: curl(ngx.url("warm")) and warmed(), 20, 0.5),
              "http: true again: the warm-up request never became a series")
        for _ in range(2):
            check(curl(ngx.url("ok.txt")) == 200, "nginx did not answer 200")
        check(poll_until(lambda: value(ok) == 2, 10, 0.2),
              "ok.txt after turning it on again: %r, want 2" % value(ok))
        # programs, not links: a TLS library in a container that started
        # or stopped in between (another test's) adds or removes links
        check(progs_only(a.proc.pid) == progs_on_only, "http: true again: %d BPF programs, "
              "%d first" % (progs_only(a.proc.pid), progs_on_only))
    finally:
        check(a.stop() == 0, "agent exit status")


test_agent_http_config_key_and_reload.timeout = 120
