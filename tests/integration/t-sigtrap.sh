#!/bin/bash
# A program whose SIGTRAP handler is hit by int3 and raise(SIGTRAP) in a loop
# before, during and after the dump (tests/progs/sigtrap.c) keeps its handler
# after restore and does not die of SIGTRAP.
. "$(dirname "$0")/lib.sh"
cr_cycle sigtrap
