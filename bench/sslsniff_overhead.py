#!/usr/bin/env python3
"""sslsniff overhead per TLS record: one process runs an OpenSSL 3 client
and server over memory BIOs (Python's ssl: SSL_write_ex + SSL_read_ex per
record, no sockets, so the loop is all TLS work), timed without loupe and
with `loupe sslsniff -p PID` (output to /dev/null), in interleaved rounds.

    bench/sslsniff_overhead.py [--records N] [--rounds R] [--size BYTES] [--tool CMD]

Prints a markdown table on stdout: ns per record (median of the rounds)
untraced and traced, and the difference. As root, from the repo root.
"""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import ssl, sys, time
d, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
sctx.load_cert_chain(d + "/cert.pem", d + "/key.pem")
cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
cctx.check_hostname = False
cctx.verify_mode = ssl.CERT_NONE
c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
cli = cctx.wrap_bio(c_in, c_out)
srv = sctx.wrap_bio(s_in, s_out, server_side=True)
for _ in range(10):
    for o in (cli, srv):
        try:
            o.do_handshake()
        except ssl.SSLWantReadError:
            pass
    s_in.write(c_out.read())
    c_in.write(s_out.read())
payload = b"x" * size
print("ready", flush=True)
for line in sys.stdin:
    t0 = time.perf_counter_ns()
    for _ in range(n):
        cli.write(payload)
        s_in.write(c_out.read())
        srv.read(size)
    print(time.perf_counter_ns() - t0, flush=True)
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--loupe", default="build/loupe")
    ap.add_argument("--tool", default="sslsniff",
                    help="the loupe command line before -p PID, for a floor: "
                    "'funclatency libssl:SSL_write_ex'")
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="sslbench")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    d + "/key.pem", "-out", d + "/cert.pem", "-days", "1", "-subj",
                    "/CN=localhost"], check=True, capture_output=True)
    child = subprocess.Popen([sys.executable, "-c", CHILD, d, str(a.records), str(a.size)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    tracer = None
    try:
        assert child.stdout.readline().strip() == "ready"

        def run():
            child.stdin.write("go\n")
            child.stdin.flush()
            return int(child.stdout.readline()) / a.records

        res = {"untraced": [], "traced": []}
        run()   # warm-up
        for _ in range(a.rounds):
            res["untraced"].append(run())
            tracer = subprocess.Popen([a.loupe] + a.tool.split() + ["-p", str(child.pid)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      text=True)
            # The header is written once every probe is attached; to
            # /dev/null it cannot be seen: wait for the links instead.
            time.sleep(2.0)
            res["traced"].append(run())
            tracer.send_signal(signal.SIGINT)
            err = tracer.communicate(timeout=30)[1]
            if tracer.returncode != 0:
                sys.exit("loupe exited %d: %s" % (tracer.returncode, err))
            if err.strip():
                print("loupe: " + err.strip(), file=sys.stderr)
            tracer = None
        u, t = statistics.median(res["untraced"]), statistics.median(res["traced"])
        print("| %d-byte records | untraced ns/record | traced ns/record | overhead ns/record |"
              % a.size)
        print("|---|---|---|---|")
        print("| median of %d rounds of %d | %.0f | %.0f | %.0f (%.0f %%) |"
              % (a.rounds, a.records, u, t, t - u, 100 * (t - u) / u))
        print("rounds untraced %s traced %s" % ([round(x) for x in res["untraced"]],
                                               [round(x) for x in res["traced"]]),
              file=sys.stderr)
    finally:
        if tracer and tracer.poll() is None:
            tracer.kill()
        child.kill()
        child.wait()


if __name__ == "__main__":
    main()
