#!/usr/bin/env python3
"""loupe test runner (Python 3 stdlib only; run as root from the repo root).

    python3 tests/run.py [-v] [-j N] [FILTER...]

Runs build/unit_tests and build/unit_tests_asan (the same unit tests under
AddressSanitizer, LeakSanitizer and UBSan) if FILTER is empty or matches their
names, then every test_* function of tests/runtime/test_*.py whose "module.function" name
contains FILTER, each in its own process session with a hard timeout
(30 s, or the function's `timeout` attribute). With several FILTERs a test
runs if its name contains any of them; a FILTER !TEXT leaves out the tests
whose name contains TEXT, and of several filters that a name contains the
last one decides (tests/vm/ runs a subset this way).
Prints PASS/FAIL/SKIP lines (in the order tests end) and, last, "N passed,
N failed"; exit status 0 only if nothing failed.  -v prints the captured
output of failing tests.

-j N runs up to N tests at a time (default: LOUPE_TEST_JOBS, else twice
the CPUs online, at most 4: most tests wait on sleeps and children), the
unit tests among them. A test that must run alone is marked serial, with
the reason in a comment: a module with `SERIAL = True`, or a function with
a `serial = True` attribute (time bounds, system-wide counts or
leftovers, CPU floods, every program loaded); those run one at a time
after the others, with nothing else running. -j 1 runs everything one at
a time, in file order.
"""
import glob
import importlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
RUNTIME = os.path.join(HERE, "runtime")
TEST_TIMEOUT = 30
UNIT_TIMEOUT = 300
SUMMARY_RE = re.compile(r"^\s*(\d+) passed, (\d+) failed\s*$")


# ---------------------------------------------------------------- worker side

def worker(module, func, result_path):
    """Run one test in this (separate) process and write the result as JSON."""
    sys.path.insert(0, RUNTIME)
    result = {"status": "fail", "reason": "?"}

    def on_term(signum, frame):
        raise KeyboardInterrupt("killed by runner (timeout)")
    signal.signal(signal.SIGTERM, on_term)
    common = None
    try:
        common = importlib.import_module("common")
        mod = importlib.import_module(module)
        getattr(mod, func)()
        result = {"status": "pass"}
    except BaseException as e:  # noqa: B902 - report everything
        skip = common is not None and isinstance(e, common.Skip)
        tb = traceback.extract_tb(e.__traceback__)
        where = ""
        for fr in reversed(tb):
            if os.path.basename(fr.filename).startswith("test_"):
                where = "%s:%d: " % (os.path.basename(fr.filename), fr.lineno)
                break
        msg = str(e) or type(e).__name__
        if not isinstance(e, AssertionError) and not skip:
            msg = "%s: %s" % (type(e).__name__, msg)
        result = {"status": "skip" if skip else "fail",
                  "reason": msg if skip else where + msg,
                  "traceback": traceback.format_exc()}
    finally:
        if common is not None:
            try:
                common.run_cleanups()
            except BaseException:
                pass
        with open(result_path, "w") as f:
            json.dump(result, f)
    return 0


# ---------------------------------------------------------------- runner side

def ensure_tracefs():
    if os.path.isdir("/sys/kernel/tracing/events"):
        return
    os.makedirs("/sys/kernel/tracing", exist_ok=True)
    subprocess.run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not os.path.isdir("/sys/kernel/tracing/events"):
        print("warning: could not mount tracefs on /sys/kernel/tracing", flush=True)


def run_unit_tests(name):
    """Run build/NAME (unit_tests, or unit_tests_asan: the same tests under
    AddressSanitizer and UBSan). Return (passed, failed, text to print)."""
    path = os.path.join(REPO, "build", name)
    if not os.access(path, os.X_OK):
        return 0, 1, "FAIL %s: build/%s not found\n" % (name, name)
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1",
               UBSAN_OPTIONS="print_stacktrace=1")
    try:
        p = subprocess.run([path], cwd=REPO, stdout=subprocess.PIPE, env=env,
                           stderr=subprocess.STDOUT, timeout=UNIT_TIMEOUT)
        out, rc = p.stdout.decode(errors="replace"), p.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = (e.stdout or b"").decode(errors="replace"), None
    lines = out.splitlines()
    text = "".join("  %s: %s\n" % ("unit" if name == "unit_tests" else "asan", line)
                   for line in lines)
    last = next((l for l in reversed(lines) if l.strip()), "")
    m = SUMMARY_RE.match(last)
    if rc is None:
        text += "FAIL %s: timed out after %ds\n" % (name, UNIT_TIMEOUT)
        return ((int(m.group(1)) if m else 0),
                (int(m.group(2)) if m else 0) + 1, text)
    if not m:
        return 0, 1, text + ("FAIL %s: exit status %s and no 'N passed, N failed' "
                             "summary\n" % (name, rc))
    passed, failed = int(m.group(1)), int(m.group(2))
    if rc != 0 and failed == 0:
        text += "FAIL %s: exit status %s although summary says 0 failed\n" % (name, rc)
        failed = 1
    if failed == 0:
        text += "PASS %s (%d)\n" % (name, passed)
    return passed, failed, text


def matches(filters, name):
    """Whether name is selected: the last filter whose text it contains
    decides (FILTER takes it, !FILTER leaves it out); if none does, it is
    selected only when every filter is a !FILTER (or there is none)."""
    for f in reversed(filters):
        if f.startswith("!") and f[1:] in name:
            return False
        if not f.startswith("!") and f in name:
            return True
    return all(f.startswith("!") for f in filters)


class Test:
    """One runtime test function: module, function, timeout, whether it
    must run alone, or the import error of its module (func None)."""

    def __init__(self, mod, func, timeout=TEST_TIMEOUT, serial=False, err=None):
        self.mod, self.func, self.timeout = mod, func, timeout
        self.serial, self.err = bool(serial), err
        self.name = "%s.%s" % (mod, func) if func else mod


def discover(filters):
    sys.path.insert(0, RUNTIME)
    tests = []
    for path in sorted(glob.glob(os.path.join(RUNTIME, "test_*.py"))):
        modname = os.path.splitext(os.path.basename(path))[0]
        try:
            mod = importlib.import_module(modname)
        except Exception as e:
            tests.append(Test(modname, None, err="import failed: %s: %s"
                              % (type(e).__name__, e)))
            continue
        alone = getattr(mod, "SERIAL", False)
        for name, obj in vars(mod).items():
            if name.startswith("test_") and callable(obj) \
                    and getattr(obj, "__module__", None) == modname:
                tests.append(Test(modname, name, getattr(obj, "timeout", TEST_TIMEOUT),
                                  alone or getattr(obj, "serial", False)))
    return [t for t in tests if matches(filters, "%s.%s" % (t.mod, t.func or ""))]


def kill_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


# Sessions of the tests running now, killed if the runner is interrupted
# (then _stopping keeps further tests from starting).
_running = set()
_running_lock = threading.Lock()
_stopping = threading.Event()


def run_one(test, tmp, env):
    """Run one test in a worker process; return its result dict, with the
    worker's captured output in "log"."""
    res_path = os.path.join(tmp, "result-%s-%s.json" % (test.mod, test.func))
    log_path = os.path.join(tmp, "log-%s-%s.txt" % (test.mod, test.func))
    with open(log_path, "wb") as log:
        p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--_worker",
                              test.mod, test.func, res_path], cwd=REPO, env=env,
                             stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                             start_new_session=True)
        with _running_lock:
            _running.add(p.pid)
        timed_out = False
        try:
            p.wait(timeout=test.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            kill_group(p.pid, signal.SIGTERM)      # lets the worker run its cleanups
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        kill_group(p.pid, signal.SIGKILL)          # stray children of the test
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        with _running_lock:
            _running.discard(p.pid)
    result = None
    try:
        with open(res_path) as f:
            result = json.load(f)
    except (OSError, ValueError):
        pass
    if timed_out:
        result = {"status": "fail", "reason": "timed out after %ds" % test.timeout,
                  "traceback": (result or {}).get("traceback", "")}
    elif result is None:
        result = {"status": "fail", "reason": "worker died (exit status %s)" % p.returncode}
    with open(log_path, errors="replace") as f:
        result["log"] = f.read()
    return result


def run_test(test, tmp, env, verbose):
    """Run a runtime test; return (passed, failed, text to print)."""
    if test.err:
        return 0, 1, "FAIL %s: %s\n" % (test.name, test.err)
    t0 = time.monotonic()
    r = run_one(test, tmp, env)
    dt = time.monotonic() - t0
    if r["status"] == "pass":
        return 1, 0, "PASS %s (%.1fs)\n" % (test.name, dt)
    if r["status"] == "skip":
        return 0, 0, "SKIP %s: %s\n" % (test.name, r["reason"])
    text = r.get("traceback", "") + r["log"] if verbose else ""
    return 0, 1, text + "FAIL %s: %s\n" % (test.name, " ".join(r["reason"].split("\n")))


def run_jobs(jobs, nproc):
    """Run jobs, (name, callable) pairs, up to nproc at a time, in list
    order; each callable returns (passed, failed, text), printed as soon as
    it ends. Return the sums (passed, failed)."""
    totals = [0, 0]
    lock = threading.Lock()
    todo = list(jobs)

    def drain():
        while True:
            with lock:
                if not todo or _stopping.is_set():
                    return
                name, job = todo.pop(0)
            try:
                p, f, text = job()
            except Exception as e:      # a runner bug must not lose a test
                p, f, text = 0, 1, "FAIL %s: runner: %s: %s\n" % (
                    name, type(e).__name__, e)
            with lock:
                totals[0] += p
                totals[1] += f
                sys.stdout.write(text)
                sys.stdout.flush()

    threads = [threading.Thread(target=drain, daemon=True)
               for _ in range(max(1, min(nproc, len(jobs))))]
    for t in threads:
        t.start()
    # join() with a timeout so that Ctrl-C reaches this thread.
    for t in threads:
        while t.is_alive():
            t.join(0.5)
    return totals[0], totals[1]


def default_jobs():
    env = os.environ.get("LOUPE_TEST_JOBS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, min(4, 2 * len(os.sched_getaffinity(0))))


def run_ends():
    """Let test modules drop what they kept for the whole run (e.g. a
    container image): each one's run_end(), if it has one."""
    for name, mod in list(sys.modules.items()):
        fn = getattr(mod, "run_end", None) if name.startswith("test_") else None
        if callable(fn):
            try:
                fn()
            except Exception as e:
                print("warning: %s.run_end: %s" % (name, e), flush=True)


def sweep_cgroups():
    """Remove cgroups left behind by tests killed hard."""
    sys.path.insert(0, RUNTIME)
    try:
        common = importlib.import_module("common")
        root = common.cgroup2_root()
    except BaseException:
        return
    # Only this run's cgroups: other runs may be going on at the same time.
    for d in glob.glob(os.path.join(root, "loupe-test-%d-*" % os.getpid())):
        common.remove_cgroup_tree(d, root)


def parse_args(argv):
    """(verbose, jobs, filters); -j N, -jN and --jobs N."""
    verbose, jobs, filters = False, default_jobs(), []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "-v":
            verbose = True
        elif a in ("-j", "--jobs") or a.startswith("-j"):
            if a in ("-j", "--jobs"):
                i += 1
                val = argv[i] if i < len(argv) else ""
            else:
                val = a[2:]
            if not val.isdigit() or int(val) < 1:
                sys.exit("usage: run.py [-v] [-j N] [FILTER...]: bad -j %r" % val)
            jobs = int(val)
        elif a:
            filters.append(a)
        i += 1
    return verbose, jobs, filters


def run_all(filters, nproc, verbose, tmp):
    """Run the unit tests and the runtime tests filters select, nproc at a
    time; return (passed, failed)."""
    units = [n for n in ("unit_tests", "unit_tests_asan") if matches(filters, n)]
    unit_jobs = [(n, lambda n=n: run_unit_tests(n)) for n in units]
    env = dict(os.environ, LOUPE_TEST_TMP=tmp, LOUPE_RUN_ID=str(os.getpid()),
               PYTHONDONTWRITEBYTECODE="1")
    # The kernel BTF cache of this run (written by its first tool run,
    # used by the others), never /var/cache/loupe.
    env.setdefault("LOUPE_BTF_CACHE", os.path.join(tmp, "kbtf"))
    os.environ["LOUPE_BTF_CACHE"] = env["LOUPE_BTF_CACHE"]
    # Modules that make a test per tool run `loupe list -j` at import
    # (common.loupe_list_json_cached): once here, in the run's temp dir,
    # rather than in the first tests running at the same time.
    os.environ["LOUPE_TEST_TMP"] = tmp
    tests = discover(filters)
    if not tests:
        if filters and not units:
            print("no tests match %s" % " ".join(repr(f) for f in filters), flush=True)
        return run_jobs(unit_jobs, nproc)

    sys.path.insert(0, RUNTIME)
    import common  # noqa: E402
    helpers = common.build_helpers(tmp)
    if helpers:
        env["LOUPE_TEST_HELPERS"] = helpers
    else:
        print("note: gcc unavailable or C helper failed to build; "
              "tests that need it will be skipped", flush=True)

    def job(t):
        return t.name, lambda: run_test(t, tmp, env, verbose)
    if nproc == 1:
        batches = [(unit_jobs + [job(t) for t in tests], 1)]
    else:
        # The longest first (by timeout, a rough hint), the unit tests with
        # them; the tests that must run alone after all others, one by one.
        shared = sorted((t for t in tests if not t.serial), key=lambda t: -t.timeout)
        batches = [(unit_jobs + [job(t) for t in shared], nproc),
                   ([job(t) for t in tests if t.serial], 1)]
    t_all = time.monotonic()
    passed = failed = 0
    for jobs, n in batches:
        p, f = run_jobs(jobs, n)
        passed += p
        failed += f
    print("tests took %.1fs (-j %d)" % (time.monotonic() - t_all, nproc), flush=True)
    return passed, failed


def main(argv):
    if argv and argv[0] == "--_worker":
        return worker(argv[1], argv[2], argv[3])
    verbose, nproc, filters = parse_args(argv)
    os.chdir(REPO)
    if os.geteuid() != 0:
        print("warning: not running as root; runtime tests will fail", flush=True)
    ensure_tracefs()
    tmp = tempfile.mkdtemp(prefix="loupe-run-")
    os.chmod(tmp, 0o755)
    try:
        passed, failed = run_all(filters, nproc, verbose, tmp)
    finally:
        _stopping.set()
        with _running_lock:
            for pid in _running:
                kill_group(pid, signal.SIGKILL)
        sweep_cgroups()
        run_ends()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
