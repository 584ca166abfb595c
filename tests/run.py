#!/usr/bin/env python3
"""loupe test runner (Python 3 stdlib only; run as root from the repo root).

    python3 tests/run.py [-v] [FILTER...]

Runs build/unit_tests and build/unit_tests_asan (the same unit tests under
AddressSanitizer, LeakSanitizer and UBSan) if FILTER is empty or matches their
names, then every test_* function of tests/runtime/test_*.py whose "module.function" name
contains FILTER, each in its own process session with a hard timeout
(30 s, or the function's `timeout` attribute). With several FILTERs a test
runs if its name contains any of them (tests/vm/ runs a subset this way).
Prints PASS/FAIL/SKIP lines and, last, "N passed, N failed"; exit status 0
only if nothing failed.  -v prints the captured output of failing tests.
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
    AddressSanitizer and UBSan). Return (passed, failed)."""
    path = os.path.join(REPO, "build", name)
    if not os.access(path, os.X_OK):
        print("FAIL %s: build/%s not found" % (name, name), flush=True)
        return 0, 1
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1",
               UBSAN_OPTIONS="print_stacktrace=1")
    try:
        p = subprocess.run([path], cwd=REPO, stdout=subprocess.PIPE, env=env,
                           stderr=subprocess.STDOUT, timeout=UNIT_TIMEOUT)
        out, rc = p.stdout.decode(errors="replace"), p.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = (e.stdout or b"").decode(errors="replace"), None
    lines = out.splitlines()
    for line in lines:
        print("  %s: %s" % ("unit" if name == "unit_tests" else "asan", line))
    last = next((l for l in reversed(lines) if l.strip()), "")
    m = SUMMARY_RE.match(last)
    if rc is None:
        print("FAIL %s: timed out after %ds" % (name, UNIT_TIMEOUT), flush=True)
        return (int(m.group(1)) if m else 0), (int(m.group(2)) if m else 0) + 1
    if not m:
        print("FAIL %s: exit status %s and no 'N passed, N failed' summary"
              % (name, rc), flush=True)
        return 0, 1
    passed, failed = int(m.group(1)), int(m.group(2))
    if rc != 0 and failed == 0:
        print("FAIL %s: exit status %s although summary says 0 failed"
              % (name, rc), flush=True)
        failed = 1
    return passed, failed


def matches(filters, name):
    """No filter matches everything; otherwise any filter contained in name."""
    return not filters or any(f in name for f in filters)


def discover(filters):
    sys.path.insert(0, RUNTIME)
    tests = []
    for path in sorted(glob.glob(os.path.join(RUNTIME, "test_*.py"))):
        modname = os.path.splitext(os.path.basename(path))[0]
        try:
            mod = importlib.import_module(modname)
        except Exception as e:
            tests.append((modname, None, "import failed: %s: %s" % (type(e).__name__, e),
                          TEST_TIMEOUT))
            continue
        for name, obj in vars(mod).items():
            if name.startswith("test_") and callable(obj) \
                    and getattr(obj, "__module__", None) == modname:
                tests.append((modname, name, None, getattr(obj, "timeout", TEST_TIMEOUT)))
    return [t for t in tests if matches(filters, "%s.%s" % (t[0], t[1] or ""))]


def kill_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def run_one(mod, func, timeout, tmp, env, verbose):
    res_path = os.path.join(tmp, "result-%s-%s.json" % (mod, func))
    log_path = os.path.join(tmp, "log-%s-%s.txt" % (mod, func))
    with open(log_path, "wb") as log:
        p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--_worker",
                              mod, func, res_path], cwd=REPO, env=env,
                             stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                             start_new_session=True)
        timed_out = False
        try:
            p.wait(timeout=timeout)
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
    result = None
    try:
        with open(res_path) as f:
            result = json.load(f)
    except (OSError, ValueError):
        pass
    if timed_out:
        result = {"status": "fail", "reason": "timed out after %ds" % timeout,
                  "traceback": (result or {}).get("traceback", "")}
    elif result is None:
        result = {"status": "fail", "reason": "worker died (exit status %s)" % p.returncode}
    if verbose and result["status"] == "fail":
        with open(log_path, errors="replace") as f:
            out = f.read()
        sys.stdout.write(result.get("traceback", "") + out)
    return result


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


def main(argv):
    if argv and argv[0] == "--_worker":
        return worker(argv[1], argv[2], argv[3])
    verbose = "-v" in argv
    argv = [a for a in argv if a != "-v"]
    filters = [a for a in argv if a]
    os.chdir(REPO)
    if os.geteuid() != 0:
        print("warning: not running as root; runtime tests will fail", flush=True)
    ensure_tracefs()

    passed = failed = 0
    for name in ("unit_tests", "unit_tests_asan"):
        if filters and not any(f in name for f in filters):
            continue
        p, f = run_unit_tests(name)
        passed += p
        failed += f
        if f == 0:
            print("PASS %s (%d)" % (name, p), flush=True)

    tests = discover(filters)
    if tests:
        sys.path.insert(0, RUNTIME)
        import common  # noqa: E402
        tmp = tempfile.mkdtemp(prefix="loupe-run-")
        os.chmod(tmp, 0o755)
        env = dict(os.environ, LOUPE_TEST_TMP=tmp, LOUPE_RUN_ID=str(os.getpid()),
                   PYTHONDONTWRITEBYTECODE="1")
        # The kernel BTF cache of this run (written by its first tool run,
        # used by the others), never /var/cache/loupe.
        env.setdefault("LOUPE_BTF_CACHE", os.path.join(tmp, "kbtf"))
        helpers = common.build_helpers(tmp)
        if helpers:
            env["LOUPE_TEST_HELPERS"] = helpers
        else:
            print("note: gcc unavailable or C helper failed to build; "
                  "tests that need it will be skipped", flush=True)
        t_all = time.monotonic()
        try:
            for mod, func, err, timeout in tests:
                name = "%s.%s" % (mod, func) if func else mod
                if err:
                    print("FAIL %s: %s" % (name, err), flush=True)
                    failed += 1
                    continue
                t0 = time.monotonic()
                r = run_one(mod, func, timeout, tmp, env, verbose)
                dt = time.monotonic() - t0
                if r["status"] == "pass":
                    passed += 1
                    print("PASS %s (%.1fs)" % (name, dt), flush=True)
                elif r["status"] == "skip":
                    print("SKIP %s: %s" % (name, r["reason"]), flush=True)
                else:
                    failed += 1
                    print("FAIL %s: %s" % (name, " ".join(r["reason"].split("\n"))),
                          flush=True)
        finally:
            sweep_cgroups()
            shutil.rmtree(tmp, ignore_errors=True)
        print("runtime tests took %.1fs" % (time.monotonic() - t_all), flush=True)
    elif filters and not any(f in "unit_tests_asan" for f in filters):
        print("no tests match %s" % " ".join(repr(f) for f in filters), flush=True)

    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
