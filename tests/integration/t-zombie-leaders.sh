#!/bin/bash
# Zombies that lead a process group or a session with live members, the
# root in a group led by a zombie child, and a group whose leader is gone
# (tests/progs/zombie-leaders.c): the same tree after restore, and its own
# checks pass.  Argument: group, session, gone or both (default: all).
. "$(dirname "$0")/lib.sh"
tree_cr_cycle zombie-leaders "${1:-both}"
