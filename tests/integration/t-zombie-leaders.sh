#!/bin/bash
# Zombies that lead a process group or a session with live members
# (tests/progs/zombie-leaders.c): the same tree after restore, and its own
# checks pass.  Argument: group, session or both (default).
. "$(dirname "$0")/lib.sh"
tree_cr_cycle zombie-leaders "${1:-both}"
