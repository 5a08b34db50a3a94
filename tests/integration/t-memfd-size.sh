#!/bin/bash
# memfds whose size is not a multiple of the page size (tests/progs/
# memfd-size.c): the image must restore (it was refused, "pages beyond its
# 5000 bytes", after the dump had killed the target) with the same sizes.
. "$(dirname "$0")/lib.sh"
cr_cycle memfd-size
