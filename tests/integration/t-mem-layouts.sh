#!/bin/bash
# Many layouts of mappings (tests/progs/mem-layouts.c) in a parent and its
# child: every page checksummed before the dump and compared after restore.
. "$(dirname "$0")/lib.sh"
tree_cr_cycle mem-layouts
