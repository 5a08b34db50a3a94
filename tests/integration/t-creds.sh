#!/bin/bash
# Dump and restore tests/progs/creds: non-root ids, groups, capability sets,
# securebits, no_new_privs.
. "$(dirname "$0")/lib.sh"
cr_cycle creds
