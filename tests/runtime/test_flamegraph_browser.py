"""The flame graph SVG in a real browser: tests/browser/flamegraph.test.js
drives Debian's headless chromium through playwright-core (installed with
`npm ci` from tests/browser/package-lock.json): hover, click-to-zoom, Reset
Zoom, search by button and Ctrl-F with the matched percentage. Screenshots
are kept in build/test-output/."""
import json
import os
import shutil
import subprocess

from common import LOUPE, REPO, Skip, check, require_loupe, short

# tests/run.py runs these alone: chromium takes the CPUs, and the
# browser run is bounded at 90 s.
SERIAL = True

BROWSER_DIR = os.path.join(REPO, "tests", "browser")
CHROMIUM = "/usr/bin/chromium"
OUTPUT_DIR = os.path.join(REPO, "build", "test-output")


def _locked_version():
    with open(os.path.join(BROWSER_DIR, "package-lock.json")) as f:
        lock = json.load(f)
    return lock["packages"]["node_modules/playwright-core"]["version"]


def _installed_version():
    try:
        with open(os.path.join(BROWSER_DIR, "node_modules", "playwright-core",
                               "package.json")) as f:
            return json.load(f).get("version")
    except (OSError, ValueError):
        return None


def _npm_ci(npm):
    """Install exactly the locked playwright-core unless it is there."""
    if _installed_version() == _locked_version():
        return
    try:
        p = subprocess.run([npm, "ci", "--no-audit", "--no-fund"],
                           cwd=BROWSER_DIR, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
    except subprocess.TimeoutExpired:
        raise AssertionError("npm ci in tests/browser took over 60 s")
    check(p.returncode == 0, "npm ci in tests/browser failed: %s" %
          short(p.stdout.decode(errors="replace"), 800))


def test_flamegraph_browser():
    require_loupe()
    node, npm = shutil.which("node"), shutil.which("npm")
    if not os.access(CHROMIUM, os.X_OK):
        raise Skip("%s not installed (Debian package chromium; make deps)"
                   % CHROMIUM)
    if not node or not npm:
        raise Skip("node/npm not installed (Debian packages nodejs, npm)")
    _npm_ci(npm)
    os.makedirs(OUTPUT_DIR, exist_ok=True)
    try:
        p = subprocess.run([node, os.path.join(BROWSER_DIR,
                                               "flamegraph.test.js"),
                            "--loupe", LOUPE, "--out", OUTPUT_DIR],
                           cwd=REPO, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=90)
    except subprocess.TimeoutExpired:
        raise AssertionError("browser test took over 90 s")
    out = p.stdout.decode(errors="replace")
    print(out)
    check(p.returncode == 0 and "PASS flamegraph browser test" in out,
          "browser test failed (exit %s): %s" % (p.returncode, short(out, 2000)))
    png = os.path.join(OUTPUT_DIR, "flamegraph.png")
    check(os.path.getsize(png) > 1000, "screenshot %s is empty" % png)
    with open(png, "rb") as f:
        check(f.read(8) == b"\x89PNG\r\n\x1a\n", "%s is not a PNG" % png)


test_flamegraph_browser.timeout = 180
