#!/bin/bash
# Dump and restore tests/progs/fds.c, which checks its own state after restore.
. "$(dirname "$0")/lib.sh"
cr_cycle fds
