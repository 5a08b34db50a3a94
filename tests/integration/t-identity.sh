#!/bin/bash
# Dump and restore tests/progs/identity.c, which checks its own state after restore.
. "$(dirname "$0")/lib.sh"
cr_cycle identity
