#!/bin/sh
# Wrapper: see opensnoop_overhead.py --help and bench/README.md.
exec python3 "$(dirname "$0")/opensnoop_overhead.py" "$@"
