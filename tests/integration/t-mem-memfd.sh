#!/bin/bash
# Private mappings of memfds and mappings of /dev/zero (tests/progs/mem-memfd.c):
# copied pages stay the mapping's own, the others still follow the memfd
# after restore; shared /dev/zero memory is still shared with the child.
. "$(dirname "$0")/lib.sh"
tree_cr_cycle mem-memfd
