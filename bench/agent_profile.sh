#!/bin/sh
# Wrapper: see agent_profile.py --help and bench/README.md.
exec python3 "$(dirname "$0")/agent_profile.py" "$@"
