#!/bin/bash
# Dump and restore tests/progs/tree-sessions.c (sessions, groups, a leaderless
# session, a stopped member, zombies): the same tree after restore, and its
# own checks pass.
. "$(dirname "$0")/lib.sh"
tree_cr_cycle tree-sessions
