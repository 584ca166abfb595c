#!/bin/sh
# Wrapper: see startup.py --help and bench/README.md.
exec python3 "$(dirname "$0")/startup.py" "$@"
