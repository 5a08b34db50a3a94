#!/bin/sh
# Runs the vxcr benchmark (see bench/run.py).  usage: bench/run.sh BUILD [--quick]
BUILD=${1:-build}; shift
exec python3 "$(dirname "$0")/run.py" "$BUILD" "$@"
