#!/bin/bash
# Dump and restore tests/progs/memory.c, which checks its own state after restore.
. "$(dirname "$0")/lib.sh"
cr_cycle memory
