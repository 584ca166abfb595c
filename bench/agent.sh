#!/bin/sh
# Wrapper: see agent.py --help and bench/README.md.
exec python3 "$(dirname "$0")/agent.py" "$@"
