/*
 * A new time namespace for our children (timens.c): unshare(CLONE_NEWTIME)
 * and its clock offsets written before any child exists, as the context
 * supervisor (VIRT_UPTIME) and the restore of a tree that had a time
 * namespace of its own both need it.
 */
#ifndef VXCR_UTIL_TIMENS_H
#define VXCR_UTIL_TIMENS_H

#include <stdint.h>

/* CLOCK_MONOTONIC and CLOCK_BOOTTIME of the children we make from now on
 * run these offsets (ns, negative too) from ours.  0 or -errno. */
int timens_unshare(int64_t mono_off_ns, int64_t boot_off_ns);

#endif
