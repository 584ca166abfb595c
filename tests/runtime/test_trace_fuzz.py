"""A short libFuzzer run over the trace compiler (parser, probe expansion,
type checking, lowering and emission; nothing is loaded).

`make fuzz-trace-run` builds tests/fuzz/trace_parse_fuzz.c with clang's
-fsanitize=fuzzer,address,undefined and fuzzes the compiler from the seed
corpus; any crash, leak, sanitizer report or hang makes it exit non-zero.
"""
import glob
import os
import shutil
import subprocess

import common

FUZZ_SECONDS = 30


def _have_fuzzer_runtime():
    return bool(glob.glob("/usr/lib/llvm-*/lib/clang/*/lib/linux/"
                          "libclang_rt.fuzzer-*.a"))


def test_trace_parse_fuzz():
    if not shutil.which(os.environ.get("CLANG", "clang")):
        raise common.Skip("clang is not installed")
    if not _have_fuzzer_runtime():
        raise common.Skip("libFuzzer runtime missing "
                          "(apt-get install libclang-rt-14-dev)")
    # the sanitizer build of the compiler first, with its own time limit
    b = subprocess.run(["make", "-s", "fuzz-trace"], cwd=common.REPO,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=150)
    common.check(b.returncode == 0, "fuzzer build failed:\n%s" %
                 common.short(b.stdout[-3000:], 3000))
    p = subprocess.run(["make", "-s", "fuzz-trace-run",
                        "FUZZ_TIME=%d" % FUZZ_SECONDS],
                       cwd=common.REPO, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True,
                       timeout=FUZZ_SECONDS + 35)
    out = p.stdout
    common.check(p.returncode == 0,
                 "fuzzer failed (rc %d):\n%s" % (p.returncode,
                                                 common.short(out[-3000:],
                                                              3000)))
    common.check("Done " in out and "stat::number_of_executed_units" in out,
                 "fuzzer did not finish normally:\n" + common.short(out))


test_trace_parse_fuzz.timeout = 240
